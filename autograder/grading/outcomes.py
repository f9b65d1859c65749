"""Small named checks, each returning an Outcome: passed or not, and words a student can act on.

Values here are already decoded by `autograder.runner.decode` (plain floats and float64
arrays); the comparisons run in the grader's process only. Messages describe the
student's own result and how far off it is, never the expected value.
"""
from dataclasses import dataclass, field

import numpy as np

from solutions.misconceptions import BY_ID as MISCONCEPTIONS

from ..bpkit.gradcheck import rel_error as relative_error  # the cs231n relative error, written once


@dataclass
class Outcome:
    name: str  # what was checked, e.g. "backward, vector input: dx"
    passed: bool
    message: str = ""
    misconception: str = ""  # a catalog id when the wrong result matches a known mistake

    def text(self):
        mark = "ok " if self.passed else "FAIL"
        line = f"[{mark}] {self.name}" + (f": {self.message}" if self.message else "")
        if self.misconception:
            m = MISCONCEPTIONS[self.misconception]
            line += f"\n       This looks like '{m.id}': {m.explanation}\n       Hint: {m.hint}"
        return line


@dataclass
class CheckResult:
    outcomes: list = field(default_factory=list)
    error: str = ""  # the whole check could not run (crash, timeout, missing cell...)
    error_kind: str = ""  # why: the runner's status ("timeout", "error", "crashed", ...) or "missing"
    answers: dict = field(default_factory=dict)  # hand answers as decoded {variable: value}, for reports

    @property
    def fraction(self):
        if self.error or not self.outcomes:
            return 0.0
        return sum(o.passed for o in self.outcomes) / len(self.outcomes)

    @property
    def misconceptions(self):
        return sorted({o.misconception for o in self.outcomes if o.misconception})

    def add(self, outcome):
        self.outcomes.append(outcome)
        return outcome

    def feedback(self, title, points):
        earned = round(points * self.fraction, 3)
        lines = [f"{title}: {earned:g} / {points:g} points"]
        if self.error:
            lines.append(f"[FAIL] {self.error}")
        seen_misconceptions = set()
        for o in self.outcomes:
            if o.misconception and o.misconception in seen_misconceptions:
                o = Outcome(o.name, o.passed, o.message + f" (again '{o.misconception}')")
            seen_misconceptions.add(o.misconception)
            lines.append(o.text())
        return "\n".join(lines)


def shapes_match(value, expected):
    return np.shape(value) == np.shape(expected)


def check_close(name, value, expected, rel_tol, atol=1e-9):
    """Same shape and every entry within rel_tol relative error (or atol absolutely)."""
    if not shapes_match(value, expected):
        return Outcome(name, False, f"your result has shape {np.shape(value)}, expected shape {np.shape(expected)}")
    diff = np.abs(np.asarray(value, float) - np.asarray(expected, float))
    if np.all((diff <= atol) | (diff <= rel_tol * (np.abs(value) + np.abs(expected)))):
        return Outcome(name, True)
    return Outcome(name, False, f"off by a relative error of {relative_error(value, expected):.2g}")


def check_hand_answer(name, value, expected, abs_tol, rel_tol):
    if not shapes_match(value, expected):
        return Outcome(name, False, f"your answer has shape {np.shape(value)}, expected shape {np.shape(expected)}")
    diff = np.abs(np.asarray(value, float) - np.asarray(expected, float))
    if np.all(diff <= abs_tol + rel_tol * np.abs(expected)):
        return Outcome(name, True)
    return Outcome(name, False, "not right")


def explaining_misconception(results, candidates, correct, close):
    """The first misconception id one of whose models reproduces every one of `results` at
    once (same shapes, `close`) while differing somewhere from the `correct` ones; "" when no
    model does: a partial match is no explanation. candidates: {id: [results it produces, ...]}."""
    for mid, variants in candidates.items():
        for wrong in variants:
            if (len(wrong) == len(results) and all(shapes_match(r, w) and close(r, w) for r, w in zip(results, wrong))
                    and not all(shapes_match(w, c) and close(w, c) for w, c in zip(wrong, correct))):
                return mid
    return ""
