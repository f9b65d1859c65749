"""Numbers and counts as a person writes them, for every page and line the reports print."""

import math

import numpy as np

from ..words import N_, _


def for_people(value, decimals=2):
    """A number as a person writes it: at most `decimals` decimals, no trailing zeros or point
    (1, 1.5, 1.33; never "1." or "1.00", nor 0.22999999999999998)."""
    text = f"{float(value):.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def hand_decimals(abs_tol):
    """How many decimals a correct hand answer is shown with, so that rounding it moves it by at
    most a tenth of the hand tolerance's absolute part (course.yaml's 0.005: 3 decimals, -0.23
    and 0.137): a student's answer is then judged the same against the shown number. At least
    2, as scores; 6 where the tolerance is relative only."""
    if abs_tol <= 0:
        return 6
    return min(12, max(2, math.ceil(-math.log10(abs_tol / 5))))


def answer_for_people(value, decimals):
    """A correct answer as a TA reads it out: each number as for_people writes it, a vector or a
    matrix as nested brackets ([-0.29, -0.23])."""
    if np.ndim(value) == 0:
        return for_people(float(np.asarray(value)), decimals)
    return "[" + ", ".join(answer_for_people(item, decimals) for item in value) + "]"


# The nouns counted in the reports' lines, each with its plural, in the grader's catalog.
COUNTED = {
    "notebook": (N_("{n} notebook"), N_("{n} notebooks")),
    "hand answer": (N_("{n} hand answer"), N_("{n} hand answers")),
    "group": (N_("{n} group"), N_("{n} groups")),
}


def counted(n, noun, plural=None):
    """'1 notebook', '2 notebooks', '0 groups' (in the course's language for COUNTED's nouns)."""
    if noun in COUNTED and plural is None:
        one, many = COUNTED[noun]  # two messages, not ngettext: a language without plurals says one of them
        return _(one if n == 1 else many).format(n=n)
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
