"""The course of instructor-written exercises (issue 35) that tests/test_course_exercises.py reads
in process and tests/test_course_exercises_e2e.py builds from an installed wheel: one description
of its exercises and its notebook, written once, so the two modules test the same course."""

from pathlib import Path

NOTEBOOK = "mine"

# Two exercises of the instructor's own: tanh of a ratio with its function built from gates, and
# a sum times a difference drawn per student.
EXERCISES = """\
# Its own exercises.
exercises:
  # tanh of a ratio, with the function built from gates.
  - id: tanh_ratio_by_hand
    notebook: mine
    title: "tanh of a ratio"
    graph: |
      r = x / y
      f = tanh(r) * z
    values: {x: [-4, 4], y: [-3, 3], z: [-4, 4]}
    answers: [r, f, dfdr, dfdx, dfdy, dfdz]
    function: tanh_ratio_with_gates
  # A sum times a difference, a variant per student.
  - id: sum_diff_by_hand
    notebook: mine
    title: "A sum times a difference"
    graph: |
      p = w + x
      q = y - z
      f = p * q
    values: {w: [-5, 5], x: [-5, 5], y: [-5, 5], z: [-5, 5]}
    answers: [p, q, f, dfdp, dfdq, dfdw, dfdx, dfdy, dfdz]
    per_student: true
"""

# The instructor's notebook the exercises go into: a student id, a setup, the kit's mul gate.
NOTEBOOK_SOURCE = """\
# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 나의 역전파 연습

# %% kind="student_id" grade_id="student_id"
STUDENT_ID = ""

# %% kind="setup" grade_id="setup"
import numpy as np

from bpkit import pictures, problems, selfcheck

P = problems.load(STUDENT_ID)
print(P.describe())

# %% kind="gate" grade_id="mul_gate"
"""


def course_yaml(course_id: str = "c", seed: int = 7, language: str = "en", exercises: str = EXERCISES) -> str:
    """course.yaml of a course whose one assignment, `own`, has the instructor's notebook."""
    return (
        "# A course of the instructor's own, outside the kit's checkout.\n"
        f"course_id: {course_id}\n"
        "# The course seed.\n"
        f"seed: {seed}\n"
        "# The language students and TAs read.\n"
        f"language: {language}\n"
        "# Its assignment.\n"
        "assignments:\n"
        "  # One notebook of the instructor's.\n"
        "  - name: own\n"
        "    # Its notebook.\n"
        f"    notebooks: [{NOTEBOOK}]\n" + exercises
    )


def course_folder(folder: Path, **options) -> Path:
    """A course folder as an instructor writes it: course.yaml and assignments/mine.py (no
    checkout here); `options` as course_yaml's. Returns course.yaml's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.yaml").write_text(course_yaml(**options))
    (folder / "assignments").mkdir(exist_ok=True)
    (folder / "assignments" / f"{NOTEBOOK}.py").write_text(NOTEBOOK_SOURCE)
    return folder / "course.yaml"
