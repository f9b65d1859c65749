"""Slips that are no catalogued mistake, recognised by one rule and said in the same words by the
student's self-check (before submission) and by the grader's feedback (after): both call these
functions, so what a student reads in the notebook is what the feedback will say.

- The lecture's own numbers handed in for the student's (`lecture_copies`).
- Rounding on the way (`rounded_early`): within the kit's clear margin of the right answer, or
  what writing every value down to one or two decimals gives (`rounded_answers`).
- A function's right gradients in another order than its inputs' (`another_order`).

Each side brings its own idea of "right": the grader its reference engine, the self-check the
student's own function once it matches the slope of its own f (a function that is right gives
the right answers for the student's numbers). Nothing here holds an answer.

Shipped to students as bpkit/slips.py (numpy + standard library).
"""

import itertools
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from . import graphs as described
from .acceptance import CLEAR_ABS, CLEAR_REL, Evaluation
from .i18n import N_

LECTURE_NUMBERS = N_(
    "these are the lecture's numbers; yours are in the setup cell of this exercise (P.{problem}): "
    "compute with those"
)
LECTURE_NUMBERS_AGAIN = N_("the lecture's number again")
ROUNDED_EARLY = N_(
    "close: keep at least 3 decimals until the end. Rounding each value to one or two decimals on "
    "the way, as the slides do, moves the answer this far"
)
ROUNDED_EARLY_AGAIN = N_("close again: rounded on the way")
IN_ANOTHER_ORDER = N_(
    "the right gradients in the wrong order: you returned {returned}; return them in the order of the "
    "function's inputs, {order}"
)
IN_ANOTHER_ORDER_AGAIN = N_("again the right gradients in the wrong order")

Same = Callable[[object, object], bool]  # whether a hand answer counts as this value (the course's tolerance)


def _gives(made, given, same: Same) -> bool:
    return np.shape(made) == np.shape(given) and bool(same(given, made))


# ---------------------------------------------------------------- the lecture's numbers


def lecture_answers(problem: str) -> dict:
    """{answer variable: its value} of the lecture's own worked example for this problem (its
    graph and numbers, solutions/graphs.py: lecture_values), or {} where the lecture has none.
    The lecture's numbers are public (they are on the slides): computing them gives nothing away."""
    description = described.BY_PROBLEM.get(problem)
    if description is None or description.lecture_values is None:
        return {}
    shape = described.shape(description, described.LECTURE)
    matrices = shape.values.stream == "matrix"
    grouped = {k: np.array(v, dtype=float) if matrices else v for k, v in description.lecture_values.items()}
    evaluation = Evaluation(
        described.GRAPHS[description.graph], described.flatten_inputs(shape.values, grouped)
    )
    return evaluation.answers(shape.answers, evaluation.backward())


def lecture_copies(
    wrong: Iterable[str], given: Mapping, lecture: Mapping, total: int, same: Same
) -> list[str]:
    """The names among `wrong` whose answer `given` is the lecture's, when they are a copy: one
    answer alike may be chance, and so may a few where the student's numbers are near the
    lecture's; a student who copied the lecture's answers copied most of them (at least 2, and
    half of the exercise's `total`). [] otherwise."""
    copied = [n for n in wrong if n in lecture and n in given and _gives(lecture[n], given[n], same)]
    return copied if len(copied) >= max(2, total / 2) else []


# ---------------------------------------------------------------- rounding on the way


def rounded_answers(problem: str, values: Mapping, graph, mode: str = described.LECTURE) -> list[dict]:
    """[{answer variable: its value}] as computed by hand writing every value and gradient down to
    one decimal, then to two (as the lecture's slides do), on the student's graph."""
    shape = described.shape(described.BY_PROBLEM[problem], mode)
    inputs = described.flatten_inputs(shape.values, values)
    found = []
    for decimals in (1, 2):
        by_hand = Evaluation(graph or shape.graphs[0], inputs, decimals=decimals)
        found.append(by_hand.answers(shape.answers, by_hand.backward(decimals=decimals)))
    return found


def rounded_early(value, expected, by_hand: Iterable[object], same: Same) -> bool:
    """Whether a wrong hand answer is what rounding on the way gives: within the kit's clear margin
    of the right one (closer than any catalogued mistake on an accepted draw), or one of `by_hand`
    (this answer as rounded_answers computes it)."""
    if np.shape(value) != np.shape(expected):
        return False
    try:
        off = np.abs(np.asarray(value, dtype=float) - np.asarray(expected, dtype=float))
    except (TypeError, ValueError):
        return False
    margin = CLEAR_ABS + CLEAR_REL * np.abs(np.asarray(expected, dtype=float))
    return bool(np.all(off <= margin)) or any(_gives(made, value, same) for made in by_hand)


# ---------------------------------------------------------------- gradients in another order


def another_order(count: int, right_in: Callable[[tuple], bool]) -> tuple | None:
    """The first order other than the given one (a permutation of range(count)) in which the
    returned gradients are right (`right_in(order)`: the student's order[i]-th gradient put in
    place i), or None; a function with one gradient has no other order."""
    for order in itertools.permutations(range(count)):
        if list(order) != sorted(order) and right_in(order):
            return order
    return None


def another_order_said(order: tuple, groups: tuple, gettext: Callable[[str], str]) -> str:
    """IN_ANOTHER_ORDER for `order` (another_order's) over the function's input groups, in the
    language of `gettext`."""
    return gettext(IN_ANOTHER_ORDER).format(
        order="(" + ", ".join(f"d{g}" for g in groups) + ")",
        # the student's i-th gradient is the one of the group whose place `order` gives it
        returned="(" + ", ".join(f"d{groups[order.index(i)]}" for i in range(len(order))) + ")",
    )
