"""How mistakes in backward passes are described and named, and the mistakes that are no one
operation's.

Each catalogued mistake (a `Misconception`) has a stable public ID (feedback, reports and
exports use it; the docs list them), one plain sentence saying what went wrong, a hint that does
not give the answer away, and an *error model*: the mistaken backward, as a function of what a
gate saw. A mistake one operation brings (the max routed to the smaller input) is written in that
operation's row of the operation table, model included (solutions/table.py); this module holds
the ones every gate can make (a forgotten upstream factor, a flipped sign) and the backward
loop's (a lost branch), and `catalog` puts them together with the rows' into table.CATALOG.

An error model takes a `Seen` (the gate's inputs, its output, the upstream gradient,
the correct input gradients and, where known, the correct gradients for any other
upstream gradient) and returns the gradients the mistake produces (one tuple per way
of making it). Models are written in terms of the correct gradients, never of the gate
formulas, so no model is reference code: the students' self-checks ship them and
feed them the numeric gradient of the student's own forward as `correct`, while the
grader feeds them the reference engine's.

A mistake is named only where its model reproduces the student's wrong gradients, all
of them at once; a wrong result no model reproduces is "not a known mistake" (UNKNOWN).

This module depends on numpy only, because it is copied into released assignments.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


def N_(message):
    """Marks a message for the student catalog (bpkit/locale): this file is shipped to students and
    also imported as solutions/, so it cannot import bpkit's i18n; the words are translated where
    they are shown (STUDENT_WORDS.gettext), or by the `gettext` the methods below are given."""
    return message


def _as_written(message):
    return message


AND = N_(" and ")  # between the names of a gate's inputs


class Seen(NamedTuple):
    """What one gate saw: inputs and output of forward, upstream and correct gradients."""

    inputs: tuple
    out: object
    dout: object
    correct: tuple
    correct_for: Callable | None = None  # another upstream gradient -> the correct gradients for it


# What feedback says about a wrong result that no catalogued mistake reproduces.
UNKNOWN = N_(
    "this is not one of the known mistakes. Hint: backward(dout) returns, for each input, dout times "
    "the derivative of the output with respect to that input, with that input's shape; the self-check "
    "under the exercise compares your code with the slope of your own forward"
)
# Where a mistake was made, said before what it did ("at q = max(x, y), the gradient went to the
# smaller input"): at a gate's node, at a value that feeds several gates, in one gate class
# wherever a function uses it.
AT_NODE = N_("at {node} = {formula}, {what}")
AT_VALUE = N_("at {node}, {what}")
IN_EVERY_GATE = N_("in every {gate} ({nodes}), {what}")
# Two places that give the same wrong gradients (a function returns only its inputs' gradients).
OR_ELSE = N_("{first}; or {second}")
# The same, for an answer computed by hand.
UNKNOWN_BY_HAND = N_(
    "this is not one of the known mistakes. Hint: walk the graph from f back to this value; at "
    "each gate multiply the gradient arriving from above by the gate's local derivative, and "
    "where a value feeds two gates add what comes back along each"
)


@dataclass(frozen=True)
class Misconception:
    id: str
    explanation: str
    hint: str
    model: Callable | None = field(repr=False, default=None)
    scope: str = "gate"  # "gate": a gate's backward; "graph": the backward loop over a graph
    ways: int = 1  # how many ways of making it the model gives at most (one gradient tuple each)
    # What went wrong at one gate, in a few words, one per way (the model's order): feedback says
    # "at q = max(x, y) <these words>". "{inputs}" is the gate's inputs, "{0}", "{1}" each one.
    said: tuple = ()
    # Its ways after the first are one per input of the gate (a sign flipped on one input only):
    # a gate of one input has the first way only.
    per_input: bool = False
    # How many of its ways every accepted draw must show (bpkit/acceptance.py); the others are
    # named where they show. A sign flipped on one input only is invisible on an input whose
    # gradient is 0 (the loser of a max), so only the flip of every input is required.
    ways_drawn: int | None = None
    # The hint for an answer computed by hand, where `hint` speaks of code (backward(dout), forward).
    hint_by_hand: str = ""
    # How many ways its model may give beyond `ways`, said in the last way's words: one sample's
    # product of a batch, whichever sample (table.BATCH_SAMPLES at most).
    more_ways: int = 0
    # How often students make it, of 100 catalogued mistakes in a class: the kit's estimate, not
    # yet a count (a forgotten upstream factor and a wrong sign are the commonest slips in backprop
    # homework, a max routed to the smaller input a rare one). Where two mistakes explain a
    # student's answers equally well, the likelier is said first (exercises.explaining); a class
    # report's misconceptions per cell is what to check it against.
    prior: float = 1.0
    # The (id, way) of other mistakes that give the same numbers as this one on every draw, at the
    # same gate (x - y's y not negated is a sign flip of y alone): feedback says the two once, in
    # the likelier one's words. Numbers that agree only by chance on a student's draw (a halved
    # upstream of 2 is 1, as an ignored upstream gives) are two mistakes, and both are said.
    same_numbers_as: tuple[tuple[str, int], ...] = ()
    # (way, number of the gate's differentiable inputs) -> the index in `said` of that way's words,
    # where one id has ways of its own at a layer (AffineGate's db and dW): None, the way itself.
    said_of: Callable | None = None
    # number of the gate's differentiable inputs -> how many ways it has there, where that depends on
    # the gate (a layer has ways a matrix product has not); None: `ways` and `more_ways`.
    ways_of: Callable | None = None

    def variants(self, seen):
        """The gradients this mistake produces for what a gate saw (possibly none)."""
        return [tuple(v) for v in self.model(seen)] if self.model is not None else []

    def said_at(self, way=0, inputs=(), gettext=_as_written):
        """The words for one way of making it at a gate whose inputs are named `inputs`, in the
        language `gettext` translates to (bpkit's STUDENT_WORDS.gettext; English as written)."""
        if not self.said:
            return gettext(self.explanation).rstrip(".")
        inputs = tuple(inputs)
        if self.per_input and len(inputs) == 1:
            way = 1  # of one input, every input's mistake is that input's: say it so
        if self.said_of is not None:
            way = self.said_of(way, len(inputs))
        way = min(way, len(self.said) - 1)
        return gettext(self.said[way]).format(*inputs, inputs=gettext(AND).join(inputs))

    def ways_at(self, n_inputs):
        """How many different ways of making it a gate of `n_inputs` inputs has."""
        if self.per_input:
            return 1 + n_inputs if n_inputs > 1 else 1
        if self.ways_of is not None:
            return self.ways_of(n_inputs)
        return self.ways + self.more_ways

    def hint_for(self, by_hand=False, gettext=_as_written):
        return gettext(self.hint_by_hand if by_hand and self.hint_by_hand else self.hint)

    @property
    def drawn_ways(self):
        return self.ways if self.ways_drawn is None else self.ways_drawn


def scaled(factor):
    """A model: every correct gradient times `factor` (a lost or an extra constant factor)."""
    return lambda s: [tuple(g * factor for g in s.correct)]


def like(value, ref):
    """`value` broadcast to `ref`'s shape as floats (a scalar stays a scalar): a model's gradient
    must have its input's shape."""
    return np.broadcast_to(value, np.shape(ref)).astype(float) if np.ndim(ref) else value


def _upstream_ignored(s):
    # Only the local gradient: what the correct backward returns for an upstream gradient of ones.
    if s.correct_for is not None:
        return [tuple(s.correct_for(like(1.0, s.dout)))]
    if any(np.shape(g) != np.shape(s.dout) for g in s.correct):
        return []  # not elementwise: the upstream factor cannot be divided back out
    with np.errstate(divide="ignore", invalid="ignore"):
        return [tuple(g / s.dout for g in s.correct)]


def _sign_flips(s):
    # Every input's gradient negated, then (for a gate of several inputs) one input's only: a
    # sign flipped on one input is a sign flip of that input.
    flipped = [tuple(-g for g in s.correct)]
    if len(s.correct) > 1:
        flipped += [
            tuple(-g if i == k else g for i, g in enumerate(s.correct)) for k in range(len(s.correct))
        ]
    return flipped


# The mistakes that are not one operation's: any gate's (a forgotten upstream factor, a flipped
# sign), and the backward loop's over a graph. A mistake one operation brings is written in that
# operation's row of solutions/table.py, with its model; table.CATALOG is the whole catalog.
UPSTREAM_IGNORED = Misconception(
    "upstream-ignored",
    N_("The local gradient was returned without multiplying it by the upstream gradient."),
    N_("backward(dout) receives dL/d(output); the chain rule multiplies it by the local gradient."),
    _upstream_ignored,
    said=(N_("the local gradient was sent on without multiplying it by the gradient from above"),),
    hint_by_hand=(
        N_(
            "At each gate the gradient arriving from above multiplies the gate's local derivative; only at f "
            "itself is that gradient 1."
        )
    ),
    prior=24,
)
BRANCH_OVERWRITE = Misconception(
    "branch-overwrite",
    N_("A value that feeds several gates kept only one branch's gradient instead of their sum."),
    N_("When a variable is used twice, nudging it moves both uses: add what comes back along every branch."),
    None,
    "graph",  # a mistake in the backward loop, modelled by Graph.backward(combine=overwrite)
    said=(N_("only one of the gradients coming back from the gates it feeds was kept, not their sum"),),
    prior=9,
)
SIGN_FLIP = Misconception(
    "sign-flip",
    N_("The gradient has the right size but the wrong sign."),
    N_("Check the sign of each local derivative, e.g. d(1/x)/dx and d(e^-x)/dx."),
    _sign_flips,
    ways=3,
    per_input=True,
    ways_drawn=1,
    said=(
        N_("the gradients to {inputs} both have the wrong sign"),
        N_("the gradient to input {0} has the wrong sign"),
        N_("the gradient to input {1} has the wrong sign"),
    ),
    hint_by_hand=N_(
        "Check the sign of each local derivative on the way back, e.g. of 1/x, of e^-x and of ×(−1)."
    ),
    prior=14,
)
SHARED = (UPSTREAM_IGNORED, BRANCH_OVERWRITE, SIGN_FLIP)


def catalog(brought_by_rows):
    """The whole catalog: the shared mistakes and those the operation table's rows bring (in row
    order), in the order naming lists mistakes that explain an answer equally well and as likely: a
    forgotten upstream factor, each row's own, a lost branch, a flipped sign. An id twice is refused."""
    whole = (UPSTREAM_IGNORED, *brought_by_rows, BRANCH_OVERWRITE, SIGN_FLIP)
    ids = [m.id for m in whole]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"solutions/table.py: two mistakes of the catalog share an id: {twice}")
    return whole


def likeliest(candidates):
    """Which of `candidates` ([(a Misconception, how many of the student's answers or cases it
    explains)]) to name, as indices: those that explain most, the likeliest first (`prior`), else
    in the given order. More than one: they explain the numbers equally well, and feedback says
    each ("X; or Y"). One rule for every feedback that names a mistake: hand answers, functions
    built from gates, gates' backward."""
    best = max((n for _, n in candidates), default=0)
    tied = [i for i, (_, n) in enumerate(candidates) if n == best and n > 0]
    return sorted(tied, key=lambda i: -candidates[i][0].prior)


def overwrite(old, new):
    """The `combine` of a backward loop that overwrites instead of summing (branch-overwrite)."""
    return new
