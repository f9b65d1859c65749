"""The catalog of mistakes students make in backward passes.

Each entry has a stable public ID (feedback, reports and exports use it; the docs
list them), one plain sentence saying what went wrong, a hint that does not give the
answer away, and an *error model*: the mistaken backward, as a function of what a gate
saw. Which gates a mistake applies to is said by the gate table (solutions/table.py).

An error model takes a `Seen` (the gate's inputs, its output, the upstream gradient,
the correct input gradients and, where known, the correct gradients for any other
upstream gradient) and returns the gradients the mistake produces (one tuple per way
of making it). Models are written in terms of the correct gradients, never of the gate
formulas, so this module holds no reference code: the students' self-checks ship it and
feed it the numeric gradient of the student's own forward as `correct`, while the
grader feeds it the reference engine's.

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
    correct_for: Callable = None  # another upstream gradient -> the correct gradients for it


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
    model: Callable = field(repr=False, default=None)
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
    ways_drawn: int = None
    # The hint for an answer computed by hand, where `hint` speaks of code (backward(dout), forward).
    hint_by_hand: str = ""
    # How many ways its model may give beyond `ways`, said in the last way's words: one sample's
    # product of a batch, whichever sample (BATCH_SAMPLES at most).
    more_ways: int = 0
    # How often students make it, of 100 catalogued mistakes in a class: the kit's estimate, not
    # yet a count (a forgotten upstream factor and a wrong sign are the commonest slips in backprop
    # homework, a max routed to the smaller input a rare one). Where two mistakes explain a
    # student's answers equally well, the likelier is said first (exercises.explaining); a class
    # report's misconceptions per cell is what to check it against.
    prior: float = 1.0

    def variants(self, seen):
        """The gradients this mistake produces for what a gate saw (possibly none)."""
        return [tuple(v) for v in self.model(seen)] if self.model else []

    def said_at(self, way=0, inputs=(), gettext=_as_written):
        """The words for one way of making it at a gate whose inputs are named `inputs`, in the
        language `gettext` translates to (bpkit's STUDENT_WORDS.gettext; English as written)."""
        if not self.said:
            return gettext(self.explanation).rstrip(".")
        inputs = tuple(inputs)
        if self.per_input and len(inputs) == 1:
            way = 1  # of one input, every input's mistake is that input's: say it so
        way = min(way, len(self.said) - 1)
        return gettext(self.said[way]).format(*inputs, inputs=gettext(AND).join(inputs))

    def ways_at(self, n_inputs):
        """How many different ways of making it a gate of `n_inputs` inputs has."""
        if self.per_input:
            return 1 + n_inputs if n_inputs > 1 else 1
        return self.ways + self.more_ways

    def hint_for(self, by_hand=False, gettext=_as_written):
        return gettext(self.hint_by_hand if by_hand and self.hint_by_hand else self.hint)

    @property
    def drawn_ways(self):
        return self.ways if self.ways_drawn is None else self.ways_drawn


def _scaled(factor):
    return lambda s: [tuple(g * factor for g in s.correct)]


def _like(value, ref):
    return np.broadcast_to(value, np.shape(ref)).astype(float) if np.ndim(ref) else value


def _upstream_ignored(s):
    # Only the local gradient: what the correct backward returns for an upstream gradient of ones.
    if s.correct_for is not None:
        return [tuple(s.correct_for(_like(1.0, s.dout)))]
    if any(np.shape(g) != np.shape(s.dout) for g in s.correct):
        return []  # not elementwise: the upstream factor cannot be divided back out
    with np.errstate(divide="ignore", invalid="ignore"):
        return [tuple(g / s.dout for g in s.correct)]


def _mul_not_swapped(s):
    x, y = s.inputs
    return [(s.dout * x, s.dout * y)]


def _max_routes_both(s):
    x, y = s.inputs
    return [(_like(s.dout, x), _like(s.dout, y))]


def _max_routes_smaller(s):
    dx, dy = s.correct
    return [(dy, dx)]


def _relu_mask_of_upstream(s):
    # Where dout > 0 instead of where x > 0: np.maximum(0, dout) in place of dout * (x > 0).
    (x,) = s.inputs
    return [(_like(np.where(np.asarray(s.dout) > 0, s.dout, 0.0), x),)]


def _sigmoid_of_input(s):
    (x,) = s.inputs
    return [(s.dout * x * (1 - x),)]


def _sigmoid_missing_term(s):
    return [(s.dout * s.out,), (s.dout * (1 - s.out),)]


def _sign_flips(s):
    # Every input's gradient negated, then (for a gate of several inputs) one input's only: a
    # sign flipped on one input is a sign flip of that input.
    flipped = [tuple(-g for g in s.correct)]
    if len(s.correct) > 1:
        flipped += [
            tuple(-g if i == k else g for i, g in enumerate(s.correct)) for k in range(len(s.correct))
        ]
    return flipped


def _tanh_of_input(s):
    # 1 - x² where 1 - tanh² belongs: the local gradient written with the input, not the output.
    (x,) = s.inputs
    return [(s.dout * (1 - x * x),)]


def _log_not_reciprocal(s):
    # x where 1/x belongs: the local gradient of log written as its input.
    (x,) = s.inputs
    return [(s.dout * x,)]


def _denominator_not_squared(s):
    # d(x/y)/dy = -x/y², written -x/y: the correct gradient times y.
    dx, dy = s.correct
    _, y = s.inputs
    return [(dx, dy * y)]


def _denominator_sign(s):
    # d(x/y)/dy = -x/y², written x/y²: the minus sign of the power rule on y⁻¹ dropped.
    dx, dy = s.correct
    return [(dx, -dy)]


def _subtrahend_not_negated(s):
    # d(x - y)/dy = -1, written 1: the second input gets the first input's gradient.
    dx, _ = s.correct
    return [(dx, dx)]


def _matmul_transpose(s):
    dW, dx = s.correct
    return [(np.transpose(dW), dx)]


BATCH_SAMPLES = 16  # one sample's product is recognised for each of a batch's first 16 columns


def _batch_not_summed(s):
    # The mean over the batch; then one sample's product instead of the sum, sample by sample:
    # the first (dW from x[:, 0]) or any other (a loop over the batch that assigns instead of
    # adding keeps the last one's).
    W, x = s.inputs
    dW, dx = s.correct
    if np.ndim(x) != 2:
        return []
    n = np.shape(x)[1]
    dout, x = np.asarray(s.dout), np.asarray(x)
    samples = [(np.outer(dout[:, i], x[:, i]), dx) for i in range(min(n, BATCH_SAMPLES))]
    return [(dW / n, dx), *samples]


CATALOG = (
    Misconception(
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
    ),
    Misconception(
        "add-split",
        N_("The add gate halved the gradient between its inputs instead of copying it."),
        N_("How much does x + y change when x changes by a small h? Both inputs get that rate."),
        _scaled(0.5),
        said=(N_("the gradient was halved between {inputs} instead of copied to each"),),
        prior=4,
    ),
    Misconception(
        "mul-not-swapped",
        N_(
            "Each input of the mul gate got its own value times the upstream gradient, not the other input's."
        ),
        N_("d(x*y)/dx does not depend on x. The lecture calls the mul gate a switcher."),
        _mul_not_swapped,
        said=(N_("each input got its own value times the gradient from above, not the other input's"),),
        prior=10,
    ),
    Misconception(
        "max-routes-both",
        N_("The max gate sent the upstream gradient to both inputs."),
        N_("Only the input that won the max changes the output when nudged."),
        _max_routes_both,
        said=(N_("the gradient went to both inputs, not only to the larger one"),),
        hint_by_hand=N_(
            "Only the input that won the max changes the output when nudged; the other one gets 0."
        ),
        prior=7,
    ),
    Misconception(
        "max-routes-smaller",
        N_("The max gate routed the gradient to the smaller input."),
        N_("Which input's small change moves max(x, y)? Check the comparison you store in forward."),
        _max_routes_smaller,
        said=(N_("the gradient went to the smaller input"),),
        hint_by_hand=(
            N_(
                "Which input's small change moves max(x, y)? Compare the two values you computed on the way "
                "forward."
            )
        ),
        prior=3,
    ),
    Misconception(
        "relu-mask-of-upstream",
        N_("The ReLU passed the upstream gradient where the gradient was positive, not where its input was."),
        N_(
            "Which entries of x moved the output in forward? Their sign, not the sign of dout, decides where "
            "the gradient passes."
        ),
        _relu_mask_of_upstream,
        said=(N_("the gradient passed where the gradient from above was positive, not where the input was"),),
        hint_by_hand=(
            N_(
                "Whether the gradient passes a ReLU depends on the sign of the value that went into it on "
                "the way forward, not on the gradient arriving from above."
            )
        ),
        prior=3,
    ),
    Misconception(
        "sigmoid-of-input",
        N_("The sigmoid's local gradient was computed from its input x instead of from its output."),
        N_("The shortcut sigma'(x) = sigma(x) * (1 - sigma(x)) uses the value forward computed."),
        _sigmoid_of_input,
        said=(N_("σ's local gradient was computed from its input, not from its output σ"),),
        hint_by_hand=(
            N_(
                "σ'(s) = σ(s) · (1 − σ(s)) is written with the value σ(s) you computed on the way "
                "forward, not with s."
            )
        ),
        prior=6,
    ),
    Misconception(
        "sigmoid-missing-term",
        N_("The sigmoid's local gradient kept only one of its two factors."),
        N_("Differentiate 1 / (1 + e^-x) and write the result in terms of sigma itself: it has two factors."),
        _sigmoid_missing_term,
        ways=2,
        said=(
            N_("σ's local gradient kept only σ, not σ · (1 − σ)"),
            N_("σ's local gradient kept only (1 − σ), not σ · (1 − σ)"),
        ),
        prior=4,
    ),
    Misconception(
        "l2-missing-2",
        N_("The gradient of the sum of squares lost its factor 2."),
        N_("What is the derivative of q^2 with respect to q?"),
        _scaled(0.5),
        said=(N_("the gradient of the square lost its factor 2"),),
        prior=5,
    ),
    Misconception(
        "matmul-transpose",
        N_("dW or dx was formed with the wrong transpose or in the wrong order."),
        N_(
            "A gradient has the shape of its variable: match the shapes of dq, W and x to find the only product that fits."
        ),
        _matmul_transpose,
        said=(N_("the gradient to {0} came out transposed"),),
        prior=6,
    ),
    Misconception(
        "batch-not-summed",
        N_("dW of a batch was averaged, or taken from one sample, instead of summed over the batch."),
        N_(
            "Every column of the batch uses the same W, so W's gradient collects a contribution from each column."
        ),
        _batch_not_summed,
        ways=2,
        more_ways=BATCH_SAMPLES - 1,
        said=(
            N_("the gradient to {0} was averaged over the batch, not summed"),
            N_("the gradient to {0} was taken from one sample of the batch, not summed over all"),
        ),
        prior=5,
    ),
    Misconception(
        "tanh-of-input",
        N_(
            "tanh's local gradient was computed as 1 - x² from its input x instead of 1 - tanh² from its output."
        ),
        N_("tanh'(x) = 1 - tanh(x)^2 is written with the value forward computed, not with x."),
        _tanh_of_input,
        said=(N_("tanh's local gradient was 1 − x² of its input, not 1 − tanh² of its output"),),
        hint_by_hand=N_(
            "tanh'(s) = 1 − tanh(s)² is written with the value tanh(s) you computed on the way forward, not with s."
        ),
        prior=6,
    ),
    Misconception(
        "log-not-reciprocal",
        N_("log's local gradient was taken as x instead of 1/x."),
        N_("What is the derivative of log(x)? It gets smaller as x grows."),
        _log_not_reciprocal,
        said=(N_("log's local gradient was its input x, not 1/x"),),
        prior=5,
    ),
    Misconception(
        "div-denominator-not-squared",
        N_("The divisor's gradient of x / y was -x/y instead of -x/y²."),
        N_("Write x / y as x · y⁻¹ and differentiate y⁻¹ with the power rule."),
        _denominator_not_squared,
        said=(N_("the gradient to the divisor {1} was −x/y, not −x/y²"),),
        prior=6,
    ),
    Misconception(
        "div-denominator-sign",
        N_("The divisor's gradient of x / y lost its minus sign: x/y² instead of -x/y²."),
        N_("Does x / y grow or shrink when y grows a little (for x > 0, y > 0)? Its gradient says so."),
        _denominator_sign,
        said=(N_("the gradient to the divisor {1} lost its minus sign (x/y², not −x/y²)"),),
        prior=15,  # likelier than a sign flip of that one input, which gives the same numbers: said first
    ),
    Misconception(
        "sub-not-negated",
        N_("The subtract gate gave its second input the upstream gradient instead of its negative."),
        N_("How does x - y change when y grows by a small h?"),
        _subtrahend_not_negated,
        said=(N_("the gradient to {1}, which is subtracted, was not negated"),),
        prior=15,  # likelier than a sign flip of that one input, which gives the same numbers: said first
    ),
    Misconception(
        "power-missing-2",
        N_("The power rule lost its factor 2: the gradient of x² was x, not 2x."),
        N_("What is the derivative of x^2 with respect to x?"),
        _scaled(0.5),
        said=(N_("the gradient of the square lost its factor 2 (x, not 2x)"),),
        prior=5,
    ),
    Misconception(
        "branch-overwrite",
        N_("A value that feeds several gates kept only one branch's gradient instead of their sum."),
        N_(
            "When a variable is used twice, nudging it moves both uses: add what comes back along every branch."
        ),
        None,
        "graph",  # a mistake in the backward loop, modelled by Graph.backward(combine=overwrite)
        said=(N_("only one of the gradients coming back from the gates it feeds was kept, not their sum"),),
        prior=9,
    ),
    Misconception(
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
    ),
)

BY_ID = {m.id: m for m in CATALOG}


def overwrite(old, new):
    """The `combine` of a backward loop that overwrites instead of summing (branch-overwrite)."""
    return new
