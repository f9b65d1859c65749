"""What students really do, named under both graders and in both languages (issue 33, item 3):
two students of the kit's own course, each handing in several of these at once (one batch per
grader and language keeps it cheap), graded by `nbgrader autograde` and by `backprop-kit
autograde`, in English and in Korean. The two graders give the same grades and the same words;
the words say what the student did.

  lena  the lecture's numbers for simple_by_hand, the slides' for neuron_by_hand; a MatMulGate
        whose loop over the batch assigns (the last sample's dW); l2_with_gates returning (dx, dW)
  rudi  neuron_by_hand and l2_by_hand rounded to one decimal on the way; a MatMulGate taking
        the batch's mean; simple_with_gates returning (dz, dx, dy)
"""

import re
import shutil
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
from shared_class import backprop_kit, records

from autograder import demo
from autograder.bpkit import problems
from autograder.config import load_course
from autograder.course import init
from autograder.exercises import BY_ID as HAND

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
simulated_class = demo.load_simulated_class()
ONE_SAMPLE_OR_MEAN, IN_ANOTHER_ORDER = simulated_class.ONE_SAMPLE_OR_MEAN, simulated_class.IN_ANOTHER_ORDER
STUDENTS = ("lena", "rudi")

# What the two students do (demo/simulated_class.py: the in-process tests grade the same code).
LAST_SAMPLE = textwrap.dedent(ONE_SAMPLE_OR_MEAN["a loop that assigns instead of adding (the last sample)"])
MEAN = textwrap.dedent(ONE_SAMPLE_OR_MEAN["np.mean over the batch"])
L2_OTHER_ORDER = textwrap.dedent(IN_ANOTHER_ORDER[("l2_with_gates", "(dx, dW)", "(dW, dx)")])
SIMPLE_OTHER_ORDER = textwrap.dedent(IN_ANOTHER_ORDER[("simple_with_gates", "(dz, dx, dy)", "(dx, dy, dz)")])
SLIDES = {  # the neuron's numbers as the lecture's slides round them (shared/LECTURE.md)
    "f": 0.73, "dfd_denom": -0.53, "dfd_exp": -0.53, "dfd_neg": -0.20, "dfds": 0.20,
    "dfdw0": -0.20, "dfdx0": 0.39, "dfdw1": -0.39, "dfdx1": -0.59, "dfdw2": 0.20,
}  # fmt: skip


def typed(answers):
    """Hand answers as a student types them: plain numbers, lists for arrays."""
    return "\n".join(
        f"{k} = {np.asarray(v).tolist()!r}" if np.ndim(v) else f"{k} = {float(v)!r}"
        for k, v in answers.items()
    )


def answers_of(student, course):
    values = problems.draw(course.seed, course.course_id, "backprop", course.randomization, student).values

    def mine(exercise_id):
        e = HAND[exercise_id]
        return e, values[e.problem]

    if student == "lena":
        return {
            "simple_by_hand": typed(HAND["simple_by_hand"].lecture_answers()),
            "neuron_by_hand": typed(SLIDES),
            "matmul_gate": LAST_SAMPLE,
            "l2_with_gates": L2_OTHER_ORDER,
        }
    neuron, l2 = mine("neuron_by_hand"), mine("l2_by_hand")
    return {
        "neuron_by_hand": typed(neuron[0].rounded(neuron[1])[0]),
        "l2_by_hand": typed(l2[0].rounded(l2[1])[0]),
        "matmul_gate": MEAN,
        "simple_with_gates": SIMPLE_OTHER_ORDER,
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    root = tmp_path_factory.mktemp("students-do")
    course = load_course(REPO / "course.yaml")
    base = root / "en-nbgrader"
    init(base, course, REPO / "course.yaml", log=lambda m: None)
    release = nbformat.read(base / "release" / "backprop" / "backprop.ipynb", as_version=4)
    source = nbformat.read(base / "source" / "backprop" / "backprop.ipynb", as_version=4)
    for student in STUDENTS:
        nb = simulated_class.fill(
            release,
            {
                **simulated_class.reference_answers(source),
                **{k: textwrap.dedent(v) for k, v in answers_of(student, course).items()},
            },
        )
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
                cell.source = f'STUDENT_ID = "{student}"'
        folder = base / "submitted" / student / "backprop"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "backprop.ipynb")
    courses = {("en", "nbgrader"): base}
    for language in ("en", "ko"):
        for grader in ("nbgrader", "kit"):
            if (language, grader) in courses:
                continue
            where = root / f"{language}-{grader}"
            shutil.copytree(base, where, symlinks=True)
            yaml = where / "course.yaml"
            yaml.write_text(re.sub(r"(?m)^language:.*$", f"language: {language}", yaml.read_text()))
            courses[language, grader] = where
    out = {}
    for (language, grader), where in courses.items():
        done = (
            demo.nbgrader(where, "autograde", "backprop")
            if grader == "nbgrader"
            else backprop_kit(where, "autograde", "backprop")
        )
        assert done.returncode == 0, (language, grader, done.stdout[-2000:], done.stderr[-3000:])
        out[language, grader] = {s: {**records(where, s), "said": said(where, s)} for s in STUDENTS}
    return out


def said(course_dir, student):
    """{grade_id: what the graded test cell printed} of the autograded notebook: the feedback."""
    nb = nbformat.read(course_dir / "autograded" / student / "backprop" / "backprop.ipynb", as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: "".join(
            o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"
        )
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }


def comments(graded, language, grader, student):
    return graded[language, grader][student]["said"]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_both_graders_give_the_same_grades_and_words(graded, language):
    for student in STUDENTS:
        kit, stock = graded[language, "kit"][student], graded[language, "nbgrader"][student]
        assert kit["grades"] == stock["grades"], student
        assert kit["said"] == stock["said"], student


def test_in_english_each_is_named(graded):
    for grader in ("nbgrader", "kit"):
        lena, rudi = (comments(graded, "en", grader, s) for s in STUDENTS)
        assert "these are the lecture's numbers; yours are in the setup cell" in lena["test_simple_by_hand"]
        assert "these are the lecture's numbers" in lena["test_neuron_by_hand"]
        assert "taken from one sample of the batch, not summed" in lena["test_matmul_gate_backward"]
        assert (
            "you returned (dx, dW); return them in the order of the function's inputs, (dW, dx)"
            in (lena["test_l2_with_gates"])
        )
        assert "close: keep at least 3 decimals until the end" in rudi["test_neuron_by_hand"]
        assert "close: keep at least 3 decimals until the end" in rudi["test_l2_by_hand"]
        assert "averaged over the batch, not summed" in rudi["test_matmul_gate_backward"]
        assert "you returned (dz, dx, dy)" in rudi["test_simple_with_gates"]
        for said in (*lena.values(), *rudi.values()):
            assert "not one of the known mistakes" not in (said or "")


def test_in_korean_each_is_named_in_korean(graded):
    for grader in ("nbgrader", "kit"):
        lena, rudi = (comments(graded, "ko", grader, s) for s in STUDENTS)
        assert "이것은 강의의 숫자입니다" in lena["test_simple_by_hand"]
        assert "샘플 하나에서만 구했습니다" in lena["test_matmul_gate_backward"]
        assert "순서가 틀렸습니다" in lena["test_l2_with_gates"]
        assert "소수점 아래 3자리" in rudi["test_neuron_by_hand"]
        assert (
            "평균" in rudi["test_matmul_gate_backward"] or "averaged" not in rudi["test_matmul_gate_backward"]
        )
        for said in (*lena.values(), *rudi.values()):
            assert not re.search(r"lecture's|decimals|wrong order|one sample", said or ""), said
