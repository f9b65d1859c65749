"""Run by tests/test_new_row.py inside a copy of the checkout whose operation table had a
`softplus` row (and its words) added and whose solutions/graphs.py describes an exercise on it; not
collected on its own (the kit has no softplus). A course made of the softplus gate and the new
exercise (tests/data/softplus.py) is built, self-checked, validated and graded end to end with real
nbgrader, kernels and the sandbox, under `nbgrader autograde` and `backprop-kit autograde`, in
English and in Korean."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from submissions import as_student, outputs_of, run_in_kernel

from autograder import demo
from autograder.config import load_course
from autograder.course import init, nbgrader_environment
from autograder.grading.report import report_path
from solutions.table import BY_GRADE_ID

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT, NOTEBOOK = "softpluses", "softplus"
simulated_class = demo.load_simulated_class()
HANGUL = re.compile("[\uac00-\ud7a3]")

# A softplus whose backward flips the sign: the catalogued mistake every row has.
WRONG_SOFTPLUS = """
import numpy as np


class SoftplusGate:
    def forward(self, x):
        self.x = x
        return np.logaddexp(0.0, x)

    def backward(self, dout):
        return -dout / (1.0 + np.exp(-self.x))
"""

# A softplus whose local gradient is σ(−x) = 1 / (1 + e^x) instead of σ(x): the mistake the
# softplus row brings, with its model (tests/test_new_row.py).
SIGMOID_OF_MINUS_X = """
import numpy as np


class SoftplusGate:
    def forward(self, x):
        self.x = x
        return np.logaddexp(0.0, x)

    def backward(self, dout):
        return dout / (1.0 + np.exp(self.x))
"""

SAID = {  # what the softplus gate's self-check says of a correct gate, in each language
    "en": "SoftplusGate: backward matches the slope of your forward",
    "ko": "SoftplusGate: float, 벡터, 행렬에서 backward가 여러분의 forward의 기울기와 일치합니다",
}
RIGHT_FORM = {"en": "Your answers have the right form", "ko": "답의 형식이 맞습니다"}
AGREES = {
    "en": "softplus_with_gates agrees with your hand answers",
    "ko": "softplus_with_gates이(가) 손으로 구한 답과 일치합니다",
}


@pytest.fixture(scope="module", params=["en", "ko"])
def course(request, tmp_path_factory):
    assert "softplus_gate" in BY_GRADE_ID, "run inside a checkout whose table has the softplus row"
    root = tmp_path_factory.mktemp(f"softplus_{request.param}")
    (root / "assignments").mkdir()
    shutil.copy(REPO / "tests" / "data" / "softplus.py", root / "assignments" / "softplus.py")
    text = (REPO / "course.yaml").read_text()
    text = re.sub(
        r"(?ms)^assignments:.*?(?=^\S)",
        f"assignments:\n  - name: {ASSIGNMENT}\n    notebooks: [{NOTEBOOK}]\n",
        text,
    )
    text = re.sub(r"(?m)^language:.*$", f"language: {request.param}", text)
    (root / "course.yaml").write_text(text)
    course_dir = root / "course"
    init(course_dir, load_course(root / "course.yaml"), root / "course.yaml", log=lambda m: None)
    return request.param, course_dir


def _notebook(course_dir, folder):
    return nbformat.read(course_dir / folder / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)


def _answers(course_dir, **replaced):
    return {**simulated_class.reference_answers(_notebook(course_dir, "source")), **replaced}


def test_the_release_has_the_softplus_gate_and_exercise_and_no_answer(course):
    language, course_dir = course
    release = _notebook(course_dir, "release")
    text = "\n".join(c.source for c in release.cells)
    assert "class SoftplusGate:" in text and "def softplus_with_gates(x, y, z):" in text
    assert "pictures.your_graph(P, 'softplus')" in text
    assert "BEGIN SOLUTION" not in text and "np.logaddexp" not in text and "np.tanh" not in text
    shipped = (course_dir / "release" / ASSIGNMENT / "bpkit" / "table.py").read_text()
    assert '"SoftplusGate"' in shipped and "backward=" not in shipped.split("OPERATIONS: tuple")[1]
    if language == "ko":  # the row's words, from the catalog
        assert "local gradient는 *입력*의 sigmoid인 σ(x)입니다" in text, text


def test_self_checks_and_validate_run_in_a_real_kernel(course, tmp_path):
    language, course_dir = course
    folder = tmp_path / "home"
    shutil.copytree(course_dir / "release" / ASSIGNMENT, folder)
    filled = as_student(simulated_class.fill(_notebook(course_dir, "release"), _answers(course_dir)), "ann")
    run_in_kernel(filled, folder)
    assert SAID[language] in outputs_of(filled, "selfcheck_softplus_gate"), outputs_of(
        filled, "selfcheck_softplus_gate"
    )
    assert RIGHT_FORM[language] in outputs_of(filled, "selfcheck_softplus_by_hand")
    assert AGREES[language] in outputs_of(filled, "selfcheck_softplus_with_gates")
    nbformat.write(filled, folder / f"{NOTEBOOK}.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(folder / f"{NOTEBOOK}.ipynb")],
        capture_output=True,
        text=True,
        cwd=folder,
        env=nbgrader_environment(),
    )
    assert "Success" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    for gate, mistake in ((WRONG_SOFTPLUS, "sign-flip"), (SIGMOID_OF_MINUS_X, "softplus-sigmoid-of-minus-x")):
        wrong = as_student(
            simulated_class.fill(_notebook(course_dir, "release"), _answers(course_dir, softplus_gate=gate)),
            "ann",
        )
        run_in_kernel(wrong, folder, allow_errors=True)  # Validate's lines fail it
        said = outputs_of(wrong, "selfcheck_softplus_gate")
        assert mistake in said, said
        if language == "ko":
            assert HANGUL.search(said) and "problem(s) found" not in said, said
    if language == "ko":  # the words the row brought with its mistake, from the catalog
        assert "softplus의 local gradient" in said, said


def _verdicts(course_dir, student):
    report = json.loads(report_path(course_dir, ASSIGNMENT, student, NOTEBOOK).read_text())
    return {
        c["grade_id"]: (c["points"], c["score"], c["status"], c["misconceptions"]) for c in report["cells"]
    }


def test_graded_end_to_end_by_both_graders(course, tmp_path):
    language, course_dir = course
    for student, answers in (
        ("ann", _answers(course_dir)),
        ("bo", _answers(course_dir, softplus_gate=WRONG_SOFTPLUS)),
        ("cy", _answers(course_dir, softplus_gate=SIGMOID_OF_MINUS_X)),
    ):
        folder = course_dir / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(
            as_student(simulated_class.fill(_notebook(course_dir, "release"), answers), student),
            folder / f"{NOTEBOOK}.ipynb",
        )
    kit = shutil.copytree(course_dir, tmp_path / "kit", symlinks=True)
    stock = demo.nbgrader(course_dir, "autograde", ASSIGNMENT)
    assert stock.returncode == 0, stock.stderr[-3000:]
    batch = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "autograde", ASSIGNMENT],
        cwd=kit,
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )
    assert batch.returncode == 0, batch.stdout[-3000:] + batch.stderr[-3000:]
    for graded in (course_dir, kit):
        ann, bo = _verdicts(graded, "ann"), _verdicts(graded, "bo")
        assert {
            "test_softplus_gate_forward",
            "test_softplus_gate_backward",
            "test_softplus_by_hand",
            "test_softplus_with_gates",
        } <= set(ann)
        assert all(points == score for points, score, _, _ in ann.values()), ann
        points, score, _, mistakes = bo["test_softplus_gate_backward"]
        assert score < points and "sign-flip" in mistakes, bo
        points, score, _, mistakes = bo["test_softplus_with_gates"]
        assert score < points and "sign-flip" in mistakes, bo
        assert (
            bo["test_softplus_by_hand"][1] == bo["test_softplus_by_hand"][0]
        )  # hand answers do not use the gate
        points, score, _, mistakes = _verdicts(graded, "cy")["test_softplus_gate_backward"]
        assert score < points and mistakes == ["softplus-sigmoid-of-minus-x"], (
            mistakes
        )  # named by the row's own model
    assert all(_verdicts(course_dir, s) == _verdicts(kit, s) for s in ("ann", "bo", "cy"))
    feedback = "".join(
        o.get("text", "")
        for c in nbformat.read(
            course_dir / "autograded" / "bo" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4
        ).cells
        if c.metadata.get("nbgrader", {}).get("grade")
        for o in c.get("outputs", [])
    )
    assert "SoftplusGate" in feedback
    if language == "ko":
        assert HANGUL.search(feedback), feedback[:2000]
