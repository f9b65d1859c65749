"""What a check needs to know about the student it grades: their problem values, the
course's tolerances (course.yaml's `tolerances`, the one place they are set), and a random
stream that is the same every time the same student's same cell is graded (so regrading
gives the same feedback)."""

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..bpkit import problems
from ..config import Tolerances


@dataclass
class Context:
    rng: np.random.Generator
    draw: Callable[[], "problems.Problems"]  # this student's bpkit.problems draw, a fresh copy per call
    graph_mode: str = "lecture"  # course.yaml's graphs
    tolerances: Tolerances = field(default_factory=Tolerances)  # course.yaml's, or its defaults
    method_points: float = (
        0.5  # course.yaml's grading.method_points: a function exercise's share for its method
    )

    # Drawn on first use: only the hand-answer and function checks read them (6 of a
    # notebook's 24 graded cells), and each copy of the draw costs about a millisecond.
    @functools.cached_property
    def _drawn(self):
        return self.draw()

    @property
    def problem_values(self) -> dict:
        """This student's bpkit.problems values: problem -> {group: value}."""
        return self._drawn.values

    @property
    def problem_graphs(self) -> dict:
        """problem -> this student's graph (bpkit.problems)."""
        return self._drawn.graphs


def check_rng(*key):
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def make_context(
    exercise,
    check,
    *,
    seed,
    course_id,
    assignment,
    randomization,
    student_id,
    tolerances=None,
    graphs="lecture",
    method_points=0.5,
    draw_rule=None,
):
    """draw_rule: the rule the course's release was made with (course.released_draw_rule);
    today's by default."""
    rule = problems.acceptance.DRAW_RULE if draw_rule is None else draw_rule

    def draw():
        return problems.draw(
            seed, course_id, assignment, randomization, student_id or "unknown", graphs, draw_rule=rule
        )

    return Context(
        rng=check_rng(seed, assignment, student_id, exercise, check),
        draw=draw,
        graph_mode=graphs,
        tolerances=tolerances if tolerances is not None else Tolerances(),
        method_points=method_points,
    )
