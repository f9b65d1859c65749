"""What a check needs to know about the student it grades: their problem values, the
course's tolerances (course.yaml's `tolerances`, the one place they are set), and a random
stream that is the same every time the same student's same cell is graded (so regrading
gives the same feedback)."""
import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..bpkit import problems
from ..config import Tolerances


@dataclass
class Context:
    rng: np.random.Generator
    problem_values: dict  # this student's bpkit.problems values
    problem_graphs: dict = field(default_factory=dict)  # problem -> this student's graph (bpkit.problems)
    graph_mode: str = "lecture"  # course.yaml's graphs
    tolerances: Tolerances = field(default_factory=Tolerances)  # course.yaml's, or its defaults


def check_rng(*key):
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def make_context(exercise, check, *, seed, course_id, assignment, randomization, student_id, tolerances=None,
                 graphs="lecture"):
    drawn = problems.draw(seed, course_id, assignment, randomization, student_id or "unknown", graphs)
    return Context(rng=check_rng(seed, assignment, student_id, exercise, check), problem_values=drawn.values,
                   problem_graphs=drawn.graphs, graph_mode=graphs,
                   tolerances=tolerances if tolerances is not None else Tolerances())
