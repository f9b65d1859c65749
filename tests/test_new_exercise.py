"""A new hand exercise is one description (solutions/graphs.py: f = max(x, y) · σ(z), the graph
`max_sigmoid` and the exercise `max_sigmoid_by_hand` with its function) plus its prose
(tests/data/max_sigmoid.py, whose exercise cells are empty: every one is generated). Built,
self-checked, validated and graded end to end with real nbgrader, kernels and the sandbox."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from lanes import lane, require_sandbox
from submissions import as_student, outputs_of, run_in_kernel

from autograder import demo
from autograder.bpkit import problems
from autograder.config import load_course
from autograder.course import init, nbgrader_environment
from autograder.exercises import BY_ID as HAND_EXERCISES

REPO = Path(__file__).resolve().parent.parent
simulated_class = demo.load_simulated_class()


@lane("e2e")
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    # Its own grading, not the shared class's (shared_class.py): another assignment, made
    # from a new exercise's description.
    require_sandbox()
    root = tmp_path_factory.mktemp("new_exercise")
    (root / "assignments").mkdir()
    shutil.copy(REPO / "tests" / "data" / "max_sigmoid.py", root / "assignments" / "max_sigmoid.py")
    text = (REPO / "course.yaml").read_text()
    text = re.sub(
        r"(?ms)^assignments:.*?(?=^\S)",
        "assignments:\n  - name: maxsig\n    notebooks: [max_sigmoid]\n",
        text,
    )
    (root / "course.yaml").write_text(text)
    course_dir = root / "course"
    init(course_dir, load_course(root / "course.yaml"), root / "course.yaml", log=lambda m: None)
    return course_dir


def _release(course_dir):
    return nbformat.read(course_dir / "release" / "maxsig" / "max_sigmoid.ipynb", as_version=4)


def _source(course_dir):
    return nbformat.read(course_dir / "source" / "maxsig" / "max_sigmoid.ipynb", as_version=4)


WRONG_MAX = simulated_class.MISTAKES["max-routes-smaller"][1]


def test_the_release_is_built_from_the_description_and_carries_no_answer(course):
    release = _release(course)
    text = "\n".join(c.source for c in release.cells)
    assert "pictures.your_graph(P, 'max_sigmoid')" in text
    assert "m = ...\ns = ...\nf = ...\ndfdm = ...\ndfds = ...\ndfdx = ...\ndfdy = ...\ndfdz = ...\n" in text
    assert "def max_sigmoid_with_gates(x, y, z):" in text
    assert "Evaluation" not in text and "BEGIN SOLUTION" not in text and "grade(" not in text
    settings = json.loads((course / "release" / "maxsig" / "bpkit" / "course.json").read_text())
    assert settings["exercises"] == ["max_sigmoid_by_hand"]


def test_self_checks_and_validate_run_in_a_real_kernel(course, tmp_path):
    folder = tmp_path / "home"
    shutil.copytree(course / "release" / "maxsig", folder)
    filled = as_student(
        simulated_class.fill(_release(course), simulated_class.reference_answers(_source(course))), "ann"
    )
    run_in_kernel(filled, folder)
    assert "right form" in outputs_of(filled, "selfcheck_max_sigmoid_by_hand")
    assert "agrees with your hand answers" in outputs_of(filled, "selfcheck_max_sigmoid_with_gates")
    picture = next(
        c for c in filled.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "picture_max_sigmoid"
    )
    assert any("image/svg+xml" in o.get("data", {}) for o in picture.outputs)
    nbformat.write(filled, folder / "max_sigmoid.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(folder / "max_sigmoid.ipynb")],
        capture_output=True,
        text=True,
        cwd=folder,
        env=nbgrader_environment(),
    )
    assert "Success" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    wrong = as_student(
        simulated_class.fill(
            _release(course), {**simulated_class.reference_answers(_source(course)), "max_gate": WRONG_MAX}
        ),
        "ann",
    )
    run_in_kernel(wrong, folder, allow_errors=True)  # Validate's lines fail it
    assert "max-routes-smaller" in outputs_of(wrong, "selfcheck_max_gate")


def test_graded_end_to_end_full_marks_when_right_less_and_named_when_wrong(course):
    correct = simulated_class.reference_answers(_source(course))
    anns = problems.draw(
        *(lambda c: (c.seed, c.course_id))(load_course(course / "course.yaml")),
        "maxsig",
        "per-student",
        "bo",
        exercises=("max_sigmoid_by_hand",),
    )
    right_for_bo = HAND_EXERCISES["max_sigmoid_by_hand"].correct(anns.values["max_sigmoid"])
    swapped = {
        **right_for_bo,
        "dfdx": right_for_bo["dfdy"],
        "dfdy": right_for_bo["dfdx"],
    }  # routed to the smaller
    typed = "\n".join(f"{k} = {float(v)!r}" for k, v in swapped.items())
    for student, answers in (
        ("ann", correct),
        ("bo", {**correct, "max_sigmoid_by_hand": typed, "max_gate": WRONG_MAX}),
    ):
        folder = course / "submitted" / student / "maxsig"
        folder.mkdir(parents=True)
        nbformat.write(
            as_student(simulated_class.fill(_release(course), answers), student), folder / "max_sigmoid.ipynb"
        )
    done = demo.nbgrader(course, "autograde", "maxsig")
    assert done.returncode == 0, done.stderr[-3000:]

    def report(student):
        return json.loads(
            (course / "backprop-kit" / "reports" / "maxsig" / student / "max_sigmoid.json").read_text()
        )

    ann = {c["grade_id"]: c for c in report("ann")["cells"]}
    assert all(c["score"] == c["points"] for c in ann.values()), ann
    assert {"test_max_sigmoid_by_hand", "test_max_sigmoid_with_gates"} <= set(ann)
    bo = {c["grade_id"]: c for c in report("bo")["cells"]}
    hand = bo["test_max_sigmoid_by_hand"]
    assert 0 < hand["score"] < hand["points"] and "max-routes-smaller" in hand["misconceptions"], hand
    assert bo["test_max_sigmoid_with_gates"]["score"] < bo["test_max_sigmoid_with_gates"]["points"]
    assert "max-routes-smaller" in bo["test_max_sigmoid_with_gates"]["misconceptions"]
    assert np.isclose(ann["test_max_sigmoid_by_hand"]["points"], 3)
