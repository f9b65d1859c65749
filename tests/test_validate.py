"""Validate tells the truth: real `nbgrader validate` on release notebooks, in a real kernel.

What nbgrader validate (and JupyterLab's Validate button) runs is the visible part of each
graded cell, which calls bpkit.validate: unfinished work and code that disagrees with itself
fail, a correct notebook passes, and nothing in the output gives an answer away."""

import re
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest
from kit_course import kit_course
from lanes import lane
from shipped import shipped_bpkit_module

from autograder import demo
from autograder.bpkit import problems
from autograder.config import load_course
from autograder.course import REPO_ROOT
from autograder.exercises import EXERCISES

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

STUDENT = "alice"


@pytest.fixture(scope="module")
@lane("e2e")  # every test of the course runs `nbgrader validate` on a notebook
def course(tmp_path_factory):
    return kit_course(tmp_path_factory, tmp_path_factory.mktemp("validate") / "course")


def notebook_for(course, answers, student=STUDENT):
    """The release notebook as a student on their own computer fills it: their id, their answers."""
    release = nbformat.read(course / "release" / "backprop" / "backprop.ipynb", as_version=4)
    nb = simulated_class.fill(release, answers)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
            cell.source = f'STUDENT_ID = "{student}"'
    return nb


def validate(course, nb, name):
    """`nbgrader validate` on the notebook, in a folder beside the release's bpkit/."""
    folder = course / "students" / name
    folder.mkdir(parents=True)
    (folder / "bpkit").symlink_to(course / "release" / "backprop" / "bpkit")
    nbformat.write(nb, folder / "backprop.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", "backprop.ipynb"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def failed_cells(output):
    """The titles of the graded cells nbgrader validate reports as failed."""
    return re.findall(r"The following cell failed:\s+# Exercise: (.*)", output)


def graded_titles(course):
    nb = nbformat.read(course / "release" / "backprop" / "backprop.ipynb", as_version=4)
    return [
        c.source.splitlines()[0].removeprefix("# Exercise: ")
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    ]


def correct_answers(course):
    source = nbformat.read(course / "source" / "backprop" / "backprop.ipynb", as_version=4)
    return simulated_class.reference_answers(source)


def hand_values(student):
    """Every correct hand answer of this student, as they would be printed."""
    course = load_course(REPO_ROOT / "course.yaml")
    values = problems.draw(course.seed, course.course_id, "backprop", course.randomization, student).values
    out = []
    for exercise in EXERCISES:
        for value in exercise.correct(values[exercise.problem]).values():
            out += [f"{v:.4f}" for v in np.ravel(value) if abs(v) > 0.01 and round(v) != v]
    return out


def summary_lines(output):
    """The lines of the one error nbgrader validate reports, without its indent."""
    error = output.split("The error was:", 1)[1]
    return [line[4:] for line in error.splitlines() if line.startswith("    ")]


def test_the_untouched_release_fails_in_one_place_listing_every_exercise_in_one_line(course):
    output = validate(course, notebook_for(course, {}), "untouched")
    titles = graded_titles(course)
    assert "VALIDATION FAILED ON 1 CELL(S)" in output, output[-3000:]
    assert failed_cells(output) == titles[-1:]  # the notebook's last graded cell: its source is shown once
    assert "Success!" not in output
    lines = summary_lines(output)
    assert lines[0].startswith(f"{len(titles)} exercises are not finished yet")
    listed = [line for line in lines if line.startswith("  - ")]
    assert len(listed) == len(titles) and all(
        line.startswith(f"  - {t}: ") for line, t in zip(listed, titles)
    )
    assert not [line for line in lines if line.startswith("    ")], lines  # each exercise in one line
    assert "  - f = (x + y) · z by hand (part 1): answer q, f, dfdq, dfdz, dfdx, dfdy" in lines
    assert "  - AddGate.forward: write forward in the AddGate cell" in lines
    assert "  - AddGate.backward: write forward, then backward, in the AddGate cell" in lines
    assert "not implemented yet" not in output  # plain words: what to do, not what the code lacks
    assert len(output.splitlines()) < len(titles) + 40  # short: one failing cell, one line per exercise
    assert all(len(line) <= 83 for line in lines), "nbgrader cuts longer lines (87 with its indent) with ..."
    assert "NameError" not in output and "Traceback" not in output


def test_a_correct_notebook_passes(course):
    output = validate(course, notebook_for(course, correct_answers(course)), "correct")
    assert "Success! Your notebook passes all the tests." in output, output[-3000:]


def test_wrong_and_unfinished_work_fails_naming_exactly_those_exercises(course):
    """Gates whose backward is not the slope of their forward, a function whose gradients are
    not the slope of its f, and a hand exercise left unfinished after an earlier one defined
    the same variable names: each fails, by name, and so do the functions built on the broken
    gates (their gradients are not the slope of their f either); the rest passes."""
    answers = {
        **correct_answers(course),
        "add_gate": simulated_class.MISTAKES["add-split"][1],
        "mul_gate": simulated_class.MISTAKES["mul-not-swapped"][1],
        "branch_with_gates": simulated_class.MISTAKES["branch-overwrite"][1],
        "branch_by_hand": 'raise NotImplementedError("replace this line with your code")',
    }
    release = nbformat.read(course / "release" / "backprop" / "backprop.ipynb", as_version=4)
    stub = next(
        c.source for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "branch_by_hand"
    )
    answers["branch_by_hand"] = stub  # exactly what the release ships: q, f, dfdx, dfdy = ... then the stub
    output = validate(course, notebook_for(course, answers), "wrong")
    assert "VALIDATION FAILED ON 1 CELL(S)" in output and failed_cells(output) == graded_titles(course)[-1:]
    lines = summary_lines(output)
    named = [line[4:].rsplit(": ", 1)[0] for line in lines if line.startswith("  - ")]
    assert sorted(named) == sorted(
        [
            "AddGate.backward",
            "MulGate.backward",
            "simple_with_gates, f = (x + y) · z with your gates (part 2)",
            "neuron_with_gates, the neuron with your gates (part 3)",
            "f = (x + y) · x by hand: gradients add at branches (part 4)",
            "branch_with_gates, f = (x + y) · x with your gates (part 4)",
        ]
    ), output[-4000:]
    assert lines[0].startswith("1 exercise is not finished yet (replace each ... with your answer")
    assert "  - f = (x + y) · x by hand: gradients add at branches (part 4): give its 4 answers" in lines
    assert (
        "5 exercises have a problem:" in lines
        and "  - MulGate.backward: your code disagrees with itself" in lines
    )
    detail = output.split("The first problem, in detail:", 1)[1]
    assert "AddGate.backward: your code disagrees with itself." in detail  # the first, in notebook order
    assert "This looks like 'add-split'" in detail and "mul-not-swapped" not in detail
    # Numbers come from the student's own code on random inputs; no correct answer is shown.
    assert not [v for v in hand_values(STUDENT) if v in output]


@pytest.fixture(scope="module")
def bpkit(tmp_path_factory):
    """bpkit/ as shipped, imported from a release folder."""
    with shipped_bpkit_module(tmp_path_factory.mktemp("release"), "validate") as module:
        yield module


def summary_of(bpkit, *checks):
    """Run checks as graded cells would, then the notebook's summary: its text, or None on success."""
    bpkit._FOUND.clear()
    for run in checks:
        run()
    try:
        bpkit.summary()
    except bpkit.NotebookNotReady as e:
        return e._render_traceback_()[0]
    return None


def test_wrong_shapes_and_types_fail_with_the_name_of_the_answer(bpkit):
    shapes = {"q": (2,), "f": (), "dfdW": (2, 3)}
    text = summary_of(
        bpkit,
        lambda: bpkit.answers(
            "l2_by_hand", {"q": np.zeros(2), "f": "0.5", "dfdW": np.zeros((3, 2))}, shapes, title="L2"
        ),
    )
    assert (
        "f is text ('0.5'), not a number" in text
        and "dfdW has shape (3, 2); it should have shape (2, 3)" in text
    )
    assert (
        summary_of(
            bpkit,
            lambda: bpkit.answers(
                "l2_by_hand", {"q": np.zeros(2), "f": 0.5, "dfdW": np.zeros((2, 3))}, shapes
            ),
        )
        is None
    )


def test_a_forward_of_the_wrong_shape_fails_the_forward_check(bpkit):
    ns = {}
    exec(
        textwrap.dedent("""
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                return x @ W.T if x.ndim == 1 else W @ x[:, 0]
            def backward(self, dq):
                raise NotImplementedError
        """),
        ns,
    )
    text = summary_of(bpkit, lambda: bpkit.gate("matmul_gate", "forward", ns))
    assert "forward returned shape (3,); for these inputs it should be (3, 4)" in text
    text = summary_of(bpkit, lambda: bpkit.gate("matmul_gate", "backward", ns))
    assert "MatMulGate.backward: write backward in the MatMulGate cell" in text  # its backward is the stub


def test_a_one_input_kink_is_checked_with_its_own_inputs_not_two_equal_ones(bpkit):
    """The kink check reads the gate's kind (bpkit/gate_kinds.py): ReLU's kink is at 0 with one
    input, MaxGate's at x == y with two; each is asked for one gradient per input."""
    ns = {}
    exec(
        textwrap.dedent("""
        import numpy as np
        class ReLUGate:
            def forward(self, x):
                self.x = x
                return np.maximum(0, x)
            def backward(self, dout):
                return dout * (self.x > 0)
        class BadReLUGate(ReLUGate):
            def backward(self, dout):
                return dout * (self.x > 0), dout
        class MaxGate:
            def forward(self, x, y):
                self.x, self.y = x, y
                return np.maximum(x, y)
            def backward(self, dout):
                return dout * (self.x >= self.y), dout * (self.x < self.y)
        """),
        ns,
    )
    spec = bpkit.selfcheck.GATE_BY_CELL["relu_gate"]
    assert bpkit._kink_findings(ns["ReLUGate"], spec) == []
    (found,) = bpkit._kink_findings(ns["BadReLUGate"], spec)
    assert found.lines == ["backward must return 1 gradient(s), one per input (dx)."]
    assert found.labels == ["a vector with zeros at every other entry"]
    assert bpkit._kink_findings(ns["MaxGate"], bpkit.selfcheck.GATE_BY_CELL["max_gate"]) == []
