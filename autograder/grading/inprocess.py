"""Run a graded cell's check inside the instructor's own kernel (source notebooks).

In a source notebook the hidden part of every graded cell calls grade(...): the check runs
in-process against the reference solution, which is how the source notebook proves that
its own tests pass. During `nbgrader autograde` graded cells are never executed in the
student's kernel: the TrustedChecks preprocessor reads the same call and runs the check
out of process.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..bpkit import problems
from ..config import Tolerances
from ..sandbox.protocol import perform_call
from ..sandbox.runner import RunResult
from .context import make_context
from .registry import run_check
from .subject import Call


class InProcessSubject:  # a Subject (subject.py)
    """A Subject whose student code is already defined in a namespace (a kernel's globals)."""

    def __init__(self, namespace: dict[str, Any]):
        self.namespace = namespace

    def run(self, cell_ids: Sequence[str], calls: list[Call]) -> RunResult:
        return RunResult("ok", results=[perform_call(self.namespace, call) for call in calls])


def grade(exercise, check, namespace, points):
    """Print the check's feedback and return the points earned (a plain float, which nbgrader
    reads as the cell's score)."""
    course = json.loads(Path("bpkit/course.json").read_text())
    problems_object = namespace.get("P")
    ctx = make_context(
        exercise,
        check,
        seed=course["seed"],
        course_id=course["course_id"],
        assignment=course["assignment"],
        randomization=course["randomization"],
        student_id=getattr(problems_object, "student_id", ""),
        tolerances=Tolerances(**course.get("tolerances", {})),
        graphs=course.get("graphs", "lecture"),
        draw_rule=problems.released_rule(course),
    )
    result = run_check(exercise, check, InProcessSubject(namespace), ctx)
    print(result.feedback(f"{exercise} ({check})", points))
    return round(points * result.fraction, 3)
