"""Randomized problem values: the numbers each student works by hand.

Values come from (course seed, assignment, student id) through SHA-256 and Python's
`random.Random.random()`, the one part of `random` whose sequence Python guarantees
across versions, so a student's laptop and the grader always agree.

The draws are constrained so that every catalogued mistake gives an answer clearly
away from the correct one (the test suite checks this over thousands of seeds); the
constraints are stated on the inputs only, so this file holds no gradient code.

Shipped to students as bpkit/problems.py: standard library and numpy only.
"""
import copy
import functools
import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PER_COURSE, PER_STUDENT = "per-course", "per-student"
STUDENT_ID_VARIABLES = ("BPKIT_STUDENT_ID", "JUPYTERHUB_USER")


class MissingStudentId(ValueError):
    """Per-student numbers asked for without a student id. IPython shows only the message
    (`_render_traceback_`): the frames would show bpkit's code, not the student's mistake."""

    MESSAGE = ("Your student id is missing: type it between the quotes of STUDENT_ID = \"\" in the cell "
               "above, then run that cell and this one again. (On JupyterHub it is read for you.)")

    def __init__(self):
        super().__init__(self.MESSAGE)

    def _render_traceback_(self):
        return [self.MESSAGE]


class Draw:
    """Small integers and one-decimal numbers from a stable stream."""

    def __init__(self, *key):
        digest = hashlib.sha256(json.dumps([str(k) for k in key]).encode()).digest()
        self._random = random.Random(int.from_bytes(digest[:16], "big"))

    def integer(self, lo, hi, exclude=()):
        while True:
            n = lo + int(self._random.random() * (hi - lo + 1))
            if n not in exclude:
                return n

    def tenths(self, lo, hi, exclude=()):
        """A number with one decimal in [lo, hi]."""
        return self.integer(round(lo * 10), round(hi * 10), {round(e * 10) for e in exclude}) / 10


def _until(make, ok):
    while True:
        values = make()
        if ok(**values):
            return values


def simple(d):
    """f = (x + y) * z with small integers."""
    def ok(x, y, z):
        q = x + y
        # Every gradient nonzero and away from +-1 (so a forgotten upstream factor shows),
        # and q and z distinct in size (so swapping the mul gate's inputs shows).
        return abs(q) >= 2 and abs(z) >= 2 and abs(q) != abs(z) and x != y
    return _until(lambda: {"x": d.integer(-9, 9), "y": d.integer(-9, 9), "z": d.integer(-9, 9)}, ok)


def neuron(d):
    """sigma(w0*x0 + w1*x1 + w2), with the pre-activation kept out of saturation."""
    def make():
        # s is drawn first, where sigma is far from 0, 1/2 and 1 and s(1 - s) is far from
        # sigma'(s); w2 then closes the sum.
        s = d.tenths(-1.5, -0.5) if d.integer(0, 1) else d.tenths(1.0, 1.5)
        x0, x1 = d.integer(-3, 3, {0}), d.integer(-3, 3, {0})
        w0, w1 = d.tenths(-2, 2, {0}), d.tenths(-2, 2, {0})
        w2 = round(s - w0 * x0 - w1 * x1, 1)
        return {"w": (w0, w1, w2), "x": (float(x0), float(x1))}

    def ok(w, x):
        (w0, w1, w2), (x0, x1) = w, x
        return (abs(w2) <= 4 and abs(w2) >= 0.3 and abs(w0 - x0) >= 0.5 and abs(w1 - x1) >= 0.5
                and abs(w0) >= 0.3 and abs(w1) >= 0.3)
    return _until(make, ok)


def branch(d):
    """f = (x + y) * x, where x feeds two gates."""
    def ok(x, y):
        q = x + y
        # Both branches of x nonzero and different, so keeping either one alone shows.
        return abs(q) >= 2 and abs(x) >= 2 and abs(q) != abs(x) and abs(q + x) >= 2
    return _until(lambda: {"x": d.integer(-6, 6), "y": d.integer(-6, 6)}, ok)


def l2(d, H=2, D=3):
    """f = ||W x||^2 with a non-square W, so a wrong transpose cannot fit."""
    def make():
        W = [[d.tenths(-0.9, 0.9, {0}) for _ in range(D)] for _ in range(H)]
        x = [d.tenths(-0.9, 0.9, {0}) for _ in range(D)]
        return {"W": np.array(W), "x": np.array(x)}

    def ok(W, x):
        return bool(np.all(np.abs(W @ x) >= 0.15))
    return _until(make, ok)


DRAWS = {"simple": simple, "neuron": neuron, "branch": branch, "l2": l2}


@dataclass
class Problems:
    """The values of one student (or of the whole course, in per-course mode)."""

    course_id: str
    assignment: str
    mode: str
    student_id: str  # "" in per-course mode
    values: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def describe(self):
        who = (f"student id {self.student_id!r}" if self.mode == PER_STUDENT
               else "everyone in the course")
        return f"These numbers belong to {who} ({self.course_id}, assignment {self.assignment})."


def draw(seed, course_id, assignment, mode=PER_STUDENT, student_id=""):
    """This student's values: a fresh copy each call (the caller may change it), drawn once."""
    return copy.deepcopy(_drawn(seed, course_id, assignment, mode, student_id))


@functools.lru_cache(maxsize=64)
def _drawn(seed, course_id, assignment, mode, student_id):
    if mode not in (PER_COURSE, PER_STUDENT):
        raise ValueError(f"randomization must be {PER_COURSE!r} or {PER_STUDENT!r}, found {mode!r}")
    student_id = str(student_id or "").strip() if mode == PER_STUDENT else ""
    if mode == PER_STUDENT and not student_id:
        raise MissingStudentId()
    values = {name: make(Draw(seed, course_id, assignment, student_id, name)) for name, make in DRAWS.items()}
    return Problems(course_id, assignment, mode, student_id, values)


def student_id_from_environment(fallback=""):
    for variable in STUDENT_ID_VARIABLES:
        if os.environ.get(variable, "").strip():
            return os.environ[variable].strip()
    return fallback


def load(student_id="", course_file=None):
    """The values for this notebook: the course settings come from bpkit/course.json."""
    course = json.loads(Path(course_file or Path(__file__).with_name("course.json")).read_text())
    return draw(course["seed"], course["course_id"], course["assignment"], course["randomization"],
                student_id_from_environment(student_id))


def warm():
    """Called by the grader's sandboxed worker once, before any student code runs: the
    sandbox's student (BPKIT_STUDENT_ID) gets their values drawn there, so that each check,
    a fresh fork of that worker running the setup cell, finds them drawn (about 0.7 ms less
    for each of a submission's thirty-odd checks)."""
    load()
