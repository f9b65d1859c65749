"""One small class graded once per test run with real nbgrader, for the tests of what
students and TAs see (feedback HTML, logs, the student-id check, the feedback in a browser).

Its own grading, not the shared class's (shared_class.py): its tests read nbgrader's log of
one pass over these six (one checksum warning: edgar's), and its notebooks in the shared
course would be graded again by each of the five tests that regrade that course whole.

  carol  correct, STUDENT_ID left empty (on JupyterHub), with a notes cell of her own in LaTeX
  b      correct for student "a": run on a's JupyterHub account (the setup cell printed "a"),
         hand answers typed as numbers, submitted as "b"
  dora   hand answers typed for "a" with STUDENT_ID = "a", never run, submitted as "dora"
  edgar  correct, but edited one test cell (test_add_gate_forward)
  ben    add-split and mul-not-swapped gates
  fay    a notebook cut off mid-upload: not JSON, so it cannot be read
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
from kit_course import kit_course
from nbclient import NotebookClient

from autograder import demo
from autograder.bpkit import problems
from autograder.config import load_course
from autograder.course import REPO_ROOT
from autograder.exercises import EXERCISES
from autograder.grading.report import report_path

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

ASSIGNMENT = NOTEBOOK = "backprop"
# A student's own markdown, with math inline and displayed: the feedback renders it offline.
CAROLS_NOTES = (
    "My notes: the chain rule $\\frac{\\partial f}{\\partial x} = \\frac{\\partial f}{\\partial q}"
    "\\,\\frac{\\partial q}{\\partial x}$, and for the L2 gate\n\n$$\\nabla_W \\|W x\\|^2 = 2\\, q\\, x^T$$"
)


@dataclass
class GradedCourse:
    root: Path
    autograde_log: str
    feedback_log: str

    def report(self, student):
        import json

        return json.loads(report_path(self.root, ASSIGNMENT, student, NOTEBOOK).read_text())

    def feedback(self, student):
        return self.root / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"


def typed_answers(student):
    """Hand answers typed as plain numbers, right for `student`'s numbers."""
    course = load_course(REPO_ROOT / "course.yaml")
    values = problems.draw(course.seed, course.course_id, ASSIGNMENT, course.randomization, student).values
    out = {}
    for exercise in EXERCISES:
        lines = []
        for name, value in exercise.correct(values[exercise.problem]).items():
            value = np.asarray(value, dtype=float)
            lines.append(
                f"{name} = {float(value)!r}" if value.ndim == 0 else f"{name} = np.array({value.tolist()!r})"
            )
        out[exercise.id] = "\n".join(lines)
    return out


def copy_nb(nb):
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def build(base, tmp_path_factory):
    """The class graded in base/course (b's notebook was run in base/a-home); returns the logs."""
    course_dir = kit_course(tmp_path_factory, base / "course")
    source = nbformat.read(course_dir / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    release = nbformat.read(course_dir / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    correct = simulated_class.reference_answers(source)
    for_a = simulated_class.fill(release, {**correct, **typed_answers("a")})

    def submit(student, nb):
        folder = course_dir / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")

    carol = simulated_class.fill(release, correct)
    carol.cells.insert(3, nbformat.v4.new_markdown_cell(CAROLS_NOTES))
    submit("carol", carol)
    # b: the notebook ran on a's JupyterHub account, so its setup cell printed a's id.
    home = base / "a-home"
    shutil.copytree(course_dir / "release" / ASSIGNMENT, home)
    ran = copy_nb(for_a)
    os.environ["JUPYTERHUB_USER"] = "a"
    try:
        NotebookClient(
            ran, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(home)}}
        ).execute()
    finally:
        del os.environ["JUPYTERHUB_USER"]
    submit("b", ran)
    typed = copy_nb(for_a)
    for cell in typed.cells:
        if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
            cell.source = 'STUDENT_ID = "a"'
    submit("dora", typed)
    edited = simulated_class.fill(release, correct)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_add_gate_forward":
            cell.source = "print('full marks please')\n1.0"
    submit("edgar", edited)
    submit(
        "ben",
        simulated_class.fill(
            release,
            {
                **correct,
                "add_gate": simulated_class.MISTAKES["add-split"][1],
                "mul_gate": simulated_class.MISTAKES["mul-not-swapped"][1],
            },
        ),
    )
    fay = course_dir / "submitted" / "fay" / ASSIGNMENT
    fay.mkdir(parents=True)
    (fay / f"{NOTEBOOK}.ipynb").write_text(nbformat.writes(release)[:4000])
    graded = demo.nbgrader(course_dir, "autograde", ASSIGNMENT)
    assert graded.returncode == 0, graded.stderr[-3000:]
    feedback = demo.nbgrader(course_dir, "generate_feedback", ASSIGNMENT)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    return {"autograde_log": graded.stdout + graded.stderr, "feedback_log": feedback.stdout + feedback.stderr}


def opened(base, built):
    return GradedCourse(base / "course", built["autograde_log"], built["feedback_log"])
