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
    tolerances: Tolerances = field(default_factory=Tolerances)  # course.yaml's, or its defaults


def check_rng(*key):
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def make_context(exercise, check, *, seed, course_id, assignment, randomization, student_id, tolerances=None):
    values = problems.draw(seed, course_id, assignment, randomization, student_id or "unknown").values
    return Context(rng=check_rng(seed, assignment, student_id, exercise, check), problem_values=values,
                   tolerances=tolerances if tolerances is not None else Tolerances())
