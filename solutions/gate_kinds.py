"""What each kind of gate means for its checks, written once for both sides of the sandbox:
the grader's hidden checks (autograder/grading/checks.py, through the gate table) and the
students' self-checks and Validate (bpkit/selfcheck.py and bpkit/validate.py, which get this
file as bpkit/gate_kinds.py). The gate table names a row's kind; nothing infers a gate's
behaviour from how many inputs it takes.

A kind says how many inputs forward takes, the random inputs each side draws (the grader's
and the self-checks' differ on purpose: the grader's are hidden), the shape forward must
return, and its kink, if it has one: where its slope is not defined, and which splits of the
upstream gradient are valid there.

Numpy and the standard library only: it is shipped to students. It holds no answers."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def N_(message):
    """Marks a message for the student catalog (bpkit/locale): the kinds of input and what the
    checks accept are words a student reads, translated where they are shown (this file is
    shipped to students and imported as solutions/ too, so it imports no i18n)."""
    return message


@dataclass(frozen=True)
class Kink:
    """Where a kind of gate has no derivative (max at x == y, max(0, x) at x == 0): there every
    split of the upstream gradient the gate could route is a valid subgradient, and is accepted."""

    distance: Callable  # inputs -> each output entry's distance from the nearest kink (0: at one)
    cases: Callable  # rng -> [(label, inputs)] with entries exactly at a kink
    shares_add_up: bool  # True: the inputs' shares add up to all of it (max(x, y)); False: one share
    #                      between none and all of it (max(0, x): the rest goes to the constant 0)
    rule: str  # the rule in words, for the graded cell and for feedback

    def at(self, inputs):
        return np.asarray(self.distance(inputs)) == 0


@dataclass(frozen=True)
class Domain:
    """Where a kind of gate is defined only on part of its inputs (a divisor away from 0, a log's
    input above 0): draws of a graph keep every such gate's inputs DOMAIN_MARGIN inside it, so a
    student never divides by 0 or takes the log of 0 by hand, and no slope near the edge is asked."""

    distance: Callable  # inputs -> each output entry's distance inside the domain (<= 0: outside)
    words: str  # the domain in words, for the docs and for an instructor whose ranges leave it


DOMAIN_MARGIN = 0.5  # draws keep this far inside a domain: |divisor| >= 0.5, a log's input >= 0.5


def outside(domain, inputs, margin=DOMAIN_MARGIN):
    """Whether any entry of the inputs is less than `margin` inside the domain."""
    with np.errstate(invalid="ignore"):
        return bool(np.any(~(np.asarray(domain.distance(inputs), float) >= margin)))


@dataclass(frozen=True)
class Kind:
    name: str
    arity: int  # how many inputs forward takes
    elementwise: bool  # forward works entry by entry: the output has its inputs' shape
    graded_words: str  # what the graded cell says the hidden checks draw
    graded_cases: Callable  # rng -> [(label, inputs)]: the hidden checks' random inputs
    self_check_cases: Callable  # (rng, kink distance) -> [(label, inputs)]: the self-checks' inputs
    output_shape: Callable  # inputs -> the shape forward must return
    kink: Kink | None = None
    domain: Domain | None = None


# ---------------------------------------------------------------- random inputs


def _graded_distinct(rng, shape, arity):
    """`arity` inputs whose entries differ pairwise by at least 0.1 (no max ties)."""
    first = rng.normal(size=shape) * 2
    if arity == 1:
        return (first,)
    gap = rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return first, first + gap


def _graded_elementwise(arity):
    def draw(rng):
        return [
            (N_("Python floats"), tuple(float(v) for v in _graded_distinct(rng, (), arity))),
            (N_("0-d arrays"), tuple(np.array(v) for v in _graded_distinct(rng, (), arity))),
            (N_("vectors"), _graded_distinct(rng, (7,), arity)),
            (N_("matrices"), _graded_distinct(rng, (3, 4), arity)),
        ]

    return draw


def _self_check_elementwise(arity):
    def draw(rng, kink_distance):
        def distinct(shape):
            """Entries away from kinks: one input kink_distance away from 0 (max(0, x)), two
            inputs away from each other (max(x, y)). A centered difference across a kink is no slope."""
            first = rng.normal(size=shape) * 2
            if arity == 1:
                return (first + np.copysign(kink_distance, first),)
            return first, first + rng.uniform(0.2, 1.5, shape) * rng.choice([-1, 1], shape)

        return [
            (N_("Python floats"), tuple(float(v) for v in distinct(()))),
            (N_("vectors"), distinct((6,))),
            (N_("matrices"), distinct((3, 4))),
        ]

    return draw


def _same_shape(inputs):
    return np.shape(inputs[0])


# ---------------------------------------------------------------- kinks


def _max_ties(rng):
    x = rng.normal(size=8)
    y = np.where(np.arange(8) % 2 == 0, x, x + rng.choice([-1, 1], 8) * rng.uniform(0.5, 2, 8))
    return [(N_("vectors with ties at every other entry"), (x, y)), (N_("equal Python floats"), (1.5, 1.5))]


def _zeros(rng):
    x = rng.normal(size=8) * 2
    x[::2] = 0.0
    return [(N_("a vector with zeros at every other entry"), (x,)), (N_("0.0 as a Python float"), (0.0,))]


TIES = Kink(
    lambda i: np.abs(np.asarray(i[0]) - np.asarray(i[1])),
    _max_ties,
    True,
    N_("where x == y, any split of the upstream gradient into non-negative parts is accepted"),
)
AT_ZERO = Kink(
    lambda i: np.abs(np.asarray(i[0])),
    _zeros,
    False,
    N_("where x == 0, any share of the upstream gradient from none to all of it is accepted"),
)

NONZERO_DIVISOR = Domain(
    lambda i: np.abs(np.asarray(i[1], float)), N_("the divisor y is never 0 (draws keep |y| >= 0.5)")
)
POSITIVE = Domain(lambda i: np.asarray(i[0], float), N_("x is above 0 (draws keep x >= 0.5)"))


# ---------------------------------------------------------------- layers of a network


def _affine(rng, n, d, m):
    return rng.normal(size=(n, d)), rng.normal(size=(d, m)) * 0.5, rng.normal(size=m)


def _graded_affine(rng):
    # A square case (N = D = M) lets a transposed dW, dW as x·dout, dx with W and a sum over the
    # wrong axis run, so they are named rather than failing on shapes; the other is never square.
    return [
        (N_("x of shape (4, 5), W of shape (5, 3), b of shape (3,)"), _affine(rng, 4, 5, 3)),
        (N_("x, W of shape (4, 4), b of shape (4,)"), _affine(rng, 4, 4, 4)),
    ]


def _self_check_affine(rng, kink_distance):
    return [
        (N_("a batch x of shape (3, 5), W of shape (5, 2)"), _affine(rng, 3, 5, 2)),
        (N_("a square W and batch"), _affine(rng, 3, 3, 3)),
    ]


HINGE_MARGIN = 1.0  # the multiclass SVM's margin (cs231n's delta)


def margins_away_from_kink(scores, labels, distance):
    """Whether every hinge s_j - s_y + 1 (j != y) is at least `distance` from 0: there the SVM
    loss has a slope, and a centered difference does not straddle its kink."""
    correct = scores[np.arange(len(labels)), labels][:, None]
    margins = np.abs(scores - correct + HINGE_MARGIN)
    margins[np.arange(len(labels)), labels] = np.inf
    return bool(np.min(margins) >= distance)


def _scores_and_labels(rng, n, c, distance=0.1):
    """Scores of shape (n, c) and integer labels y of shape (n,): at least one sample's correct
    class is not its top score (a loss gradient then has both signs in that row), and every hinge
    is `distance` away from its kink (for the SVM; the softmax does not mind)."""
    while True:
        scores = rng.normal(size=(n, c)) * 2.0
        labels = rng.integers(0, c, size=n)
        labels[0] = int(np.argmin(scores[0]))  # not the top score
        if margins_away_from_kink(scores, labels, distance):
            return scores, labels


def _graded_losses(rng):
    return [
        (N_("scores of shape (5, 4) with integer labels"), _scores_and_labels(rng, 5, 4)),
        (N_("scores of shape (3, 6) with integer labels"), _scores_and_labels(rng, 3, 6)),
    ]


def _self_check_losses(rng, kink_distance):
    return [(N_("scores of shape (4, 3) with integer labels"), _scores_and_labels(rng, 4, 3, kink_distance))]


ELEMENTWISE_WORDS = N_("random Python floats, 0-d arrays, vectors and matrices")


def _inside(domain, draw):
    """A kind's random inputs moved inside its domain: an entry too close to its edge (a divisor near
    0, a log's input at or below it) is replaced by its distance from the edge plus 0.5, signed as
    the entry for a divisor; only the input the domain reads changes, so max-free pairs stay distinct."""

    def moved(inputs):
        inputs = list(inputs)
        k = 1 if domain is NONZERO_DIVISOR else 0
        value = inputs[k]
        size = np.abs(np.asarray(value, float)) + 0.5
        fixed = np.copysign(size, np.asarray(value, float)) if domain is NONZERO_DIVISOR else size
        inputs[k] = float(fixed) if isinstance(value, float) else np.asarray(fixed).reshape(np.shape(value))
        return tuple(inputs)

    def cases(*args):
        return [(label, moved(inputs)) for label, inputs in draw(*args)]

    return cases


def _elementwise(name, arity, kink=None, domain=None):
    graded, self_checked = _graded_elementwise(arity), _self_check_elementwise(arity)
    if domain is not None:
        graded, self_checked = _inside(domain, graded), _inside(domain, self_checked)
    return Kind(
        name,
        arity,
        True,
        ELEMENTWISE_WORDS,
        graded,
        self_checked,
        _same_shape,
        kink,
        domain,
    )


KINDS = {
    kind.name: kind
    for kind in (
        _elementwise("pair", 2),  # f(x, y) entry by entry, smooth: x + y, x * y
        _elementwise("max of a pair", 2, TIES),  # max(x, y): a kink where x == y
        _elementwise("one input", 1),  # f(x) entry by entry, smooth: the sigmoid
        _elementwise("rectifier", 1, AT_ZERO),  # max(0, x): a kink at 0
        _elementwise("quotient", 2, domain=NONZERO_DIVISOR),  # x / y: y away from 0
        _elementwise("positive", 1, domain=POSITIVE),  # log(x): x above 0
        Kind(
            "matmul",
            2,
            False,
            N_("a random non-square W with a vector x and with a batch of columns"),
            lambda rng: [
                (N_("W of shape (3, 5), x of shape (5,)"), (rng.normal(size=(3, 5)), rng.normal(size=5))),
                (
                    N_("W of shape (3, 5), a batch x of shape (5, 4)"),
                    (rng.normal(size=(3, 5)), rng.normal(size=(5, 4))),
                ),
            ],
            lambda rng, kink_distance: [
                (N_("a vector x"), (rng.normal(size=(3, 5)), rng.normal(size=5))),
                (N_("a batch x"), (rng.normal(size=(3, 5)), rng.normal(size=(5, 4)))),
            ],
            lambda inputs: (np.shape(inputs[0])[0],) + tuple(np.shape(inputs[1])[1:]),
        ),  # (H,) or (H, N)
        Kind(
            "reduce",
            1,
            False,
            N_("a random vector and matrix"),
            lambda rng: [
                (N_("a vector"), (rng.normal(size=6),)),
                (N_("a matrix"), (rng.normal(size=(3, 4)),)),
            ],
            lambda rng, kink_distance: [
                (N_("a vector"), (rng.normal(size=6),)),
                (N_("a matrix"), (rng.normal(size=(3, 4)),)),
            ],
            lambda inputs: (),
        ),  # a single number
        Kind(
            "layer on a batch",
            3,
            False,
            N_("a random batch x, W and b, one case with a square W"),
            _graded_affine,
            _self_check_affine,
            lambda inputs: (np.shape(inputs[0])[0], np.shape(inputs[1])[1]),
        ),  # (N, M)
        Kind(
            "loss of class scores",
            2,
            False,
            N_("random class scores of a batch with integer labels"),
            _graded_losses,
            _self_check_losses,
            lambda inputs: (),
        ),  # the batch's mean loss, a single number
    )
}
