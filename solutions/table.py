"""The operation table: everything an operation is, written once, one row per operation.

A row holds an operation's symbol (what graph descriptions, pictures and formulas write), its
gate class's name, its arguments, its forward and its local gradient side by side (micrograd's
way: the reference engine's class is built from them, solutions/gates.py), its kind (gate_kinds.py:
its random inputs, its output's shape, its kink and the valid splits there), the catalogued
mistakes that apply to it, its words for students (`doc`, through the catalogs) and, for a graded
gate, its notebook cell and the lecture's numbers. Adding an operation is adding a row here and
its words to the catalogs; nothing else names an operation (tests/test_operation_literals.py).

Readers: the engine (solutions/gates.py), graph descriptions (solutions/graphs.py: symbols,
formulas), the notebook's gate cells and stubs (autograder/notebooks.py), the hidden checks,
misconception naming, the docs' tables, the table-driven tests, and on the students' side the
evaluator of draws (bpkit/acceptance.py), the self-checks and Validate.

Shipped to students as bpkit/table.py (numpy and the standard library only, relative imports
only), without the local gradients: the release builder removes every row's `backward=` line
(autograder/course.py: without_local_gradients), so each must stay on lines of its own.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .gate_kinds import KINDS, N_, Kind, Kink  # N_: words a student reads, translated where shown
from .misconceptions import Misconception, catalog, like, scaled


@dataclass(frozen=True)
class Kinks:
    """A gate's kink (its kind's, gate_kinds.py) and which graded check takes it."""

    kink: Kink
    check: str  # "ties": a graded check of its own; "backward": among the backward check's cases

    @property
    def distance(self) -> Callable:
        return self.kink.distance

    @property
    def cases(self) -> Callable:
        return self.kink.cases

    @property
    def shares_add_up(self) -> bool:
        return self.kink.shares_add_up

    @property
    def rule(self) -> str:
        return self.kink.rule

    def at(self, inputs: tuple) -> Any:
        return self.kink.at(inputs)


@dataclass(frozen=True)
class Graded:
    """What makes an operation a graded gate of the notebook."""

    grade_id: str  # the id of its notebook cell, forever in gradebooks: test_<grade_id>_<check>
    lecture: tuple = ()  # (label, inputs): the lecture's own numbers, checked first; () when it has none
    extra_cases: tuple = ()  # (label, make(rng) -> inputs) checked besides the random inputs
    kink_check: str | None = None  # where its kind has a kink: "ties" (a check of its own) or "backward"
    # True: one of the kit's own gates, in its notebook (GATES); False: a gate cell an assignment
    # asks for (course.yaml's `gates:`, or a function exercise on a graph that uses it)
    kit: bool = True


@dataclass(frozen=True)
class Operation:
    symbol: str  # what descriptions and pictures write: "+", "σ", "W·x"; "*c": c is a number ("*-1")
    name: str  # its gate class: the class students write and the engine's class of the same name
    inputs: tuple[str, ...]  # forward's arguments, in order (constants not included)
    kind: str  # a key of gate_kinds.py's KINDS: its random inputs, its output's shape, its kink
    written: str  # how a formula writes it: "{0} + {1}", "max({0}, {1})", "{c} · {0}"
    doc: str  # what its class says of it, a message of the student catalog
    # (*inputs, *constants) -> output, on floats and arrays. None in a release where the row says
    # forward_is_answer (a layer's forward is graded: the release builder removes it too).
    forward: Callable[..., Any] | None = None
    # The catalogued mistakes that apply to it, in naming order: the id of a mistake written elsewhere
    # (misconceptions.py's shared ones, another row's), or a Misconception this row brings, written
    # here with its model. Once the row is built, its ids (the mistakes it brings: `brings`).
    misconceptions: tuple[str | Misconception, ...] = ()
    # (dout, out, *inputs, *constants) -> the gradient of each input (one value for one input).
    # None in a release: removed by the release builder, it is the graded gates' answer.
    backward: Callable[..., Any] | None = None
    graded: Graded | None = None  # None: used in graphs, not a graded gate of its own
    constants: tuple[str, ...] = ()  # arguments of its constructor, written in the symbol ("*-1")
    grouped: bool = False  # written inside another operation, it needs parentheses: (x + y) · z
    # exp overflowing to inf is the right limit here (1 / (1 + inf) = 0): computed without a warning
    quiet_overflow: bool = False
    # (method, words): a hint the released stub keeps at the top of that method, a catalog message
    hints: tuple[tuple[str, str], ...] = ()
    # How an instructor writes it in course.yaml's `graph:` (Python): "{0} - {1}", "tanh({0})";
    # "{c}" a number (autograder/authored.py matches each statement's expressions against these)
    python: tuple[str, ...] = ()
    # Inputs that are integer class labels (a loss's y): forward takes them, backward returns no
    # gradient for them, and no check nudges them.
    labels: tuple[str, ...] = ()
    # True: forward is itself an answer (a layer's: the mean softmax loss), removed from releases
    # like backward; the students' side never runs it (no graph of the first notebook uses a layer).
    forward_is_answer: bool = False
    # True: its local gradients are numbers the row fixes, whatever its inputs (x + y: 1 and 1).
    # The method check leaves its backward unscaled (checks.py, function): a sum grouped another
    # way, a + (b + c) for (a + b) + c, has other add nodes but the same scaled ones, and keeps
    # every point; the gates whose local gradients read their inputs still tell a formula apart.
    constant_local_gradients: bool = False
    brings: tuple[Misconception, ...] = field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        # Readers (and rows written before a row could bring its mistakes) see ids only.
        brought = tuple(m for m in self.misconceptions if isinstance(m, Misconception))
        object.__setattr__(self, "brings", brought)
        object.__setattr__(self, "misconceptions", tuple(_id_of(m) for m in self.misconceptions))

    @property
    def differentiable(self) -> tuple[str, ...]:
        """The inputs backward returns a gradient for, in order: every input but the labels."""
        return tuple(name for name in self.inputs if name not in self.labels)

    def gradient_inputs(self, inputs: tuple) -> tuple:
        """Of a call's inputs (forward's arguments, in order), the differentiable ones."""
        return tuple(v for name, v in zip(self.inputs, inputs) if name not in self.labels)

    # ------------------------------------------------ a graded gate's row, as the checks read it

    @property
    def grade_id(self) -> str:
        return self._graded.grade_id

    @property
    def lecture(self) -> tuple:
        return self._graded.lecture

    @property
    def extra_cases(self) -> tuple:
        return self._graded.extra_cases

    @property
    def kink_check(self) -> str | None:
        return self._graded.kink_check if self.graded else None

    @property
    def _graded(self) -> Graded:
        if self.graded is None:
            raise ValueError(f"{self.name} ({self.symbol!r}) is not a graded gate")
        return self.graded

    @property
    def kind_of(self) -> Kind:
        return KINDS[self.kind]

    @property
    def kinks(self) -> Kinks | None:
        """Its kink and the check that takes it, or None for a smooth gate."""
        kink = self.kind_of.kink
        return None if kink is None else Kinks(kink, self.kink_check or "backward")

    @property
    def cls(self) -> type:
        """The reference engine's class, which solutions/gates.py registers for every row (grader side
        only: the engine is never shipped, and a release's rows have no backward to build it from)."""
        if self.name not in ENGINE:
            raise LookupError(
                f"{self.name}: no engine class yet (solutions/gates.py builds them when imported)"
            )
        return ENGINE[self.name]

    def encloses(self, argument: int) -> bool:
        """Whether its written form already brackets that argument, as a call does ("tanh({0})",
        "max({0}, {1})"): an argument written there needs no parentheses of its own."""
        return re.search(rf"[(,]\s*\{{{argument}\}}\s*[,)]", self.written) is not None

    def write(self, args: list[str], constants: tuple[str, ...] = (), top: bool = True) -> str:
        """The operation written on its arguments' texts (constants as the description wrote them)."""
        text = self.written.format(*args, **dict(zip(self.constants, constants)))
        return f"({text})" if self.grouped and not top else text


def _id_of(mistake: str | Misconception) -> str:
    return mistake.id if isinstance(mistake, Misconception) else mistake


ENGINE: dict[str, type] = {}  # gate class name -> the reference engine's class (solutions/gates.py)


def _large(rng: np.random.Generator) -> tuple:
    return (np.array([-1000.0, -60.0, -20.0, 20.0, 60.0, 1000.0]),)


LECTURE = N_("the lecture's numbers")
BATCH_SAMPLES = 16  # one sample's product is recognised for each of a batch's first 16 columns


def _matmul_transpose(s):
    # W·x (W, x): dW transposed. A layer x·W + b (x, W, b), after the place of that first way:
    # dW transposed, dW as x·dout without x's transpose, dx with W instead of its transpose.
    # A product whose shapes do not fit gives no way (only a square W lets them run).
    if len(s.correct) == 2:
        dW, dx = s.correct
        return [(np.transpose(dW), dx)]
    x, W, _b = (np.asarray(v, dtype=float) for v in s.inputs)
    dx, dW, db = s.correct
    dout = np.asarray(s.dout, dtype=float)
    ways = [(), (dx, np.transpose(dW), db)]
    ways.append((dx, x @ dout, db) if x.shape[0] == x.shape[1] == dout.shape[1] else ())
    ways.append((dout @ W, dW, db) if W.shape[0] == W.shape[1] else ())
    return ways


def _transpose_words(way, n_inputs):
    return way if n_inputs == 3 else 0


def _batch_not_summed(s):
    # The mean over the batch; then one sample's product instead of the sum, sample by sample:
    # the first (dW from x[:, 0]) or any other (a loop over the batch that assigns instead of
    # adding keeps the last one's).
    if len(s.correct) == 3:
        return _batch_not_summed_layer(s)
    W, x = s.inputs
    dW, dx = s.correct
    if np.ndim(x) != 2:
        return []
    n = np.shape(x)[1]
    dout, x = np.asarray(s.dout), np.asarray(x)
    samples = [(np.outer(dout[:, i], x[:, i]), dx) for i in range(min(n, BATCH_SAMPLES))]
    return [(dW / n, dx), *samples]


def _batch_not_summed_layer(s):
    # x·W + b on a batch of rows: db as the batch's mean, then as one sample's row (any of the
    # first BATCH_SAMPLES); then dW the same ways (the mean, one sample's outer product).
    x = np.asarray(s.inputs[0], dtype=float)
    dx, dW, db = s.correct
    dout = np.asarray(s.dout, dtype=float)
    n = min(len(x), BATCH_SAMPLES)
    unused = [()] * (BATCH_SAMPLES - n)  # no way: each way keeps its place (its words, _batch_words)
    return (
        [(dx, dW, db / len(x))]
        + [(dx, dW, dout[i]) for i in range(n)]
        + unused
        + [(dx, dW / len(x), db)]
        + [(dx, np.outer(x[i], dout[i]), db) for i in range(n)]
        + unused
    )


def _batch_words(way, n_inputs):
    """matmul: the mean (0), one sample (1); a layer: db's mean (2), db of one sample (3), dW's
    mean (4), dW of one sample (5)."""
    if n_inputs != 3:
        return min(way, 1)
    if way > BATCH_SAMPLES:
        return 4 if way == BATCH_SAMPLES + 1 else 5
    return 2 if way == 0 else 3


def _sum_wrong_axis(s):
    # db summed over the wrong axis of dout: one entry per sample, not per output (it has b's shape
    # only in the hidden square case, and is recognised by its numbers in either).
    if len(s.correct) != 3:
        return []
    dx, dW, _db = s.correct
    return [(dx, dW, np.sum(np.asarray(s.dout, dtype=float), axis=1))]


def _one_hot(s):
    """The labels of a loss gate (its inputs: scores of shape (N, C), labels y of shape (N,)) as
    rows of 0 with a 1 at the correct class, and N."""
    scores, y = s.inputs
    labels = np.asarray(y).astype(int)
    return np.eye(np.shape(scores)[1])[labels], len(labels)


def _loss_mean_scale(s):
    (dscores,) = s.correct
    _, n = _one_hot(s)
    return [(dscores * n,), (dscores / n,)]


def _softmax_missing_minus_one(s):
    (dscores,) = s.correct
    hot, n = _one_hot(s)
    return [(dscores + s.dout * hot / n,)]


def _softmax_correct_class_only(s):
    (dscores,) = s.correct
    hot, _ = _one_hot(s)
    return [(dscores * hot,)]


def _counts_correct_class(s):
    # The correct class's own margin (s_y - s_y + 1 = 1 > 0) counted: one more at y, below it.
    (dscores,) = s.correct
    hot, n = _one_hot(s)
    return [(dscores - s.dout * hot / n,)]


def _softmax_no_shift(s):
    # exp of a score above log(largest float) is inf: an unshifted softmax gives inf / inf = NaN
    # there and 0 at the row's other entries. Where no score overflows this is the correct
    # gradient, which names nothing (only a case that overflows can show this mistake).
    (dscores,) = s.correct
    hot, n = _one_hot(s)
    scores = np.asarray(s.inputs[0], dtype=float)
    overflows = scores > np.log(np.finfo(float).max)
    row = np.any(overflows, axis=1, keepdims=True)
    return [(np.where(overflows, np.nan, np.where(row, -s.dout * hot / n, dscores)),)]


def _large_scores(rng: np.random.Generator) -> tuple:
    """Scores with a row near 800, where exp overflows in float64 (its largest is e^709.8): a
    softmax that does not subtract the row's largest score first gives inf / inf = NaN there."""
    scores = rng.normal(size=(3, 4)) * 2.0
    scores[1] += 800.0
    labels = rng.integers(0, 4, size=3)
    labels[0] = int(np.argmin(scores[0]))
    return scores, labels


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "+",
        "AddGate",
        ("x", "y"),
        "pair",
        "{0} + {1}",
        N_("Distributor: the upstream gradient goes unchanged to both inputs."),
        forward=lambda x, y: x + y,
        backward=lambda dout, out, x, y: (dout, dout),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "add-split",
                N_("The add gate halved the gradient between its inputs instead of copying it."),
                N_("How much does x + y change when x changes by a small h? Both inputs get that rate."),
                model=scaled(0.5),
                said=(N_("the gradient was halved between {inputs} instead of copied to each"),),
                prior=4,
            ),
            "sign-flip",
        ),
        graded=Graded("add_gate", (LECTURE, (-2.0, 5.0))),
        grouped=True,
        python=("{0} + {1}",),
        constant_local_gradients=True,
    ),
    Operation(
        "*",
        "MulGate",
        ("x", "y"),
        "pair",
        "{0} · {1}",
        N_("Switcher: each input's gradient is the upstream gradient times the *other* input."),
        forward=lambda x, y: x * y,
        backward=lambda dout, out, x, y: (dout * y, dout * x),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "mul-not-swapped",
                N_(
                    "Each input of the mul gate got its own value times the upstream gradient, not the "
                    "other input's."
                ),
                N_("d(x*y)/dx does not depend on x. The lecture calls the mul gate a switcher."),
                model=lambda s: [tuple(s.dout * v for v in s.inputs)],
                said=(
                    N_("each input got its own value times the gradient from above, not the other input's"),
                ),
                prior=10,
            ),
            "sign-flip",
        ),
        graded=Graded("mul_gate", (LECTURE, (3.0, -4.0))),
        grouped=True,
        python=("{0} * {1}",),
    ),
    Operation(
        "max",
        "MaxGate",
        ("x", "y"),
        "max of a pair",
        "max({0}, {1})",
        N_("Router: the whole upstream gradient goes to the larger input (to x on a tie)."),
        forward=lambda x, y: np.maximum(x, y),
        backward=lambda dout, out, x, y: (np.where(x >= y, dout, 0.0), np.where(x >= y, 0.0, dout)),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "max-routes-both",
                N_("The max gate sent the upstream gradient to both inputs."),
                N_("Only the input that won the max changes the output when nudged."),
                model=lambda s: [tuple(like(s.dout, v) for v in s.inputs)],
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
                model=lambda s: [s.correct[::-1]],
                said=(N_("the gradient went to the smaller input"),),
                hint_by_hand=N_(
                    "Which input's small change moves max(x, y)? Compare the two values you computed on "
                    "the way forward."
                ),
                prior=3,
            ),
            "sign-flip",
        ),
        graded=Graded("max_gate", (LECTURE, (-1.0, 2.0)), kink_check="ties"),
        python=("max({0}, {1})",),
    ),
    Operation(
        "relu",
        "ReLUGate",
        ("x",),
        "rectifier",
        "relu({0})",
        N_("max(0, x), the router with one input fixed at 0: the gradient passes where x > 0."),
        forward=lambda x: np.maximum(x, 0.0),
        backward=lambda dout, out, x: np.where(x > 0, dout, 0.0),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "relu-mask-of-upstream",
                N_(
                    "The ReLU passed the upstream gradient where the gradient was positive, not where its "
                    "input was."
                ),
                N_(
                    "Which entries of x moved the output in forward? Their sign, not the sign of dout, "
                    "decides where the gradient passes."
                ),
                # np.maximum(0, dout) in place of dout * (x > 0)
                model=lambda s: [(like(np.where(np.asarray(s.dout) > 0, s.dout, 0.0), s.inputs[0]),)],
                said=(
                    N_(
                        "the gradient passed where the gradient from above was positive, not where the input was"
                    ),
                ),
                hint_by_hand=N_(
                    "Whether the gradient passes a ReLU depends on the sign of the value that went into "
                    "it on the way forward, not on the gradient arriving from above."
                ),
                prior=3,
            ),
            "sign-flip",
        ),
        graded=Graded("relu_gate", kink_check="backward"),
        python=("relu({0})",),
    ),
    Operation(
        "σ",
        "SigmoidGate",
        ("x",),
        "one input",
        "σ({0})",
        N_("sigma(x) = 1 / (1 + e^-x); its local gradient sigma * (1 - sigma) uses the *output*."),
        forward=lambda x: 1.0 / (1.0 + np.exp(-x)),
        backward=lambda dout, out, x: dout * out * (1.0 - out),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "sigmoid-of-input",
                N_("The sigmoid's local gradient was computed from its input x instead of from its output."),
                N_("The shortcut sigma'(x) = sigma(x) * (1 - sigma(x)) uses the value forward computed."),
                model=lambda s: [(s.dout * s.inputs[0] * (1 - s.inputs[0]),)],
                said=(N_("σ's local gradient was computed from its input, not from its output σ"),),
                hint_by_hand=N_(
                    "σ'(s) = σ(s) · (1 − σ(s)) is written with the value σ(s) you computed on the way "
                    "forward, not with s."
                ),
                prior=6,
            ),
            Misconception(
                "sigmoid-missing-term",
                N_("The sigmoid's local gradient kept only one of its two factors."),
                N_(
                    "Differentiate 1 / (1 + e^-x) and write the result in terms of sigma itself: it has "
                    "two factors."
                ),
                model=lambda s: [(s.dout * s.out,), (s.dout * (1 - s.out),)],
                ways=2,
                said=(
                    N_("σ's local gradient kept only σ, not σ · (1 − σ)"),
                    N_("σ's local gradient kept only (1 − σ), not σ · (1 − σ)"),
                ),
                prior=4,
            ),
            "sign-flip",
        ),
        graded=Graded("sigmoid_gate", (LECTURE, (1.0,)), extra_cases=((N_("large |x|"), _large),)),
        quiet_overflow=True,
        hints=(("forward", N_("exp(-|x|) never overflows, so x = +-1000 gives 1 and 0 without a warning.")),),
        python=("sigmoid({0})",),
    ),
    Operation(
        "W·x",
        "MatMulGate",
        ("W", "x"),
        "matmul",
        "{0}·{1}",
        N_("q = W @ x for W of shape (H, D) and x of shape (D,) or a batch (D, N)."),
        forward=lambda W, x: W @ x,
        backward=lambda dout, out, W, x: (np.outer(dout, x) if np.ndim(x) == 1 else dout @ x.T, W.T @ dout),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "matmul-transpose",
                N_("dW or dx was formed with the wrong transpose or in the wrong order."),
                N_(
                    "A gradient has the shape of its variable: match the shapes of dq, W and x to find the "
                    "only product that fits."
                ),
                model=_matmul_transpose,
                said=(
                    N_("the gradient to {0} came out transposed"),
                    N_("the gradient to {1} came out transposed"),
                    N_("the gradient to {1} was {0} · dout, without the transpose of {0}"),
                    N_("the gradient to {0} used {1} instead of its transpose"),
                ),
                said_of=_transpose_words,
                ways_of=lambda n_inputs: 4 if n_inputs == 3 else 1,
                prior=6,
            ),
            Misconception(
                "batch-not-summed",
                N_(
                    "A gradient of a batch (dW, db) was averaged, or taken from one sample, instead of summed "
                    "over the batch."
                ),
                N_(
                    "Every sample of the batch uses the same W (and b), so their gradients collect a "
                    "contribution from each sample."
                ),
                model=_batch_not_summed,
                ways=2,
                more_ways=BATCH_SAMPLES - 1,
                said=(
                    N_("the gradient to {0} was averaged over the batch, not summed"),
                    N_("the gradient to {0} was taken from one sample of the batch, not summed over all"),
                    N_("the gradient to {2} was averaged over the batch, not summed"),
                    N_("the gradient to {2} was taken from one sample of the batch, not summed over all"),
                    N_("the gradient to {1} was averaged over the batch, not summed"),
                    N_("the gradient to {1} was taken from one sample of the batch, not summed over all"),
                ),
                said_of=_batch_words,
                ways_of=lambda n_inputs: 2 * (1 + BATCH_SAMPLES) if n_inputs == 3 else 1 + BATCH_SAMPLES,
                prior=5,
            ),
            "sign-flip",
        ),
        hints=(
            ("backward", N_("A batch's dW sums the per-sample outer products, which is one matrix product.")),
        ),
        graded=Graded(
            "matmul_gate",
            (N_("the lecture's W and x"), (np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4]))),
        ),
        python=("{0} @ {1}",),
    ),
    Operation(
        "‖·‖²",
        "L2Gate",
        ("q",),
        "reduce",
        "‖{0}‖²",
        N_("f = the sum of the squares of q's entries, a scalar."),
        forward=lambda q: np.sum(q * q),
        backward=lambda dout, out, q: 2.0 * q * dout,
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "l2-missing-2",
                N_("The gradient of the sum of squares lost its factor 2."),
                N_("What is the derivative of q^2 with respect to q?"),
                model=scaled(0.5),
                said=(N_("the gradient of the square lost its factor 2"),),
                prior=5,
            ),
            "sign-flip",
        ),
        graded=Graded("l2_gate", (N_("the lecture's q"), (np.array([0.22, 0.26]),))),
        python=("l2({0})",),
    ),
    # The layers of a network (the `network` assignment): x·W + b on a batch and two losses of class
    # scores. Their forwards are answers too: each stands on lines of its own, removed from releases.
    Operation(
        "affine",
        "AffineGate",
        ("x", "W", "b"),
        "layer on a batch",
        "{0}·{1} + {2}",
        N_("out = x @ W + b for a batch x of shape (N, D), W of shape (D, M) and b of shape (M,)."),
        forward=lambda x, W, b: x @ W + b,
        backward=lambda dout, out, x, W, b: (dout @ W.T, x.T @ dout, np.sum(dout, axis=0)),
        misconceptions=(
            "upstream-ignored",
            "matmul-transpose",
            "batch-not-summed",
            Misconception(
                "sum-wrong-axis",
                N_("A gradient was summed over the wrong axis."),
                N_(
                    "b is added to every row of the batch: its gradient sums dout over the rows (the batch), "
                    "leaving one entry per output."
                ),
                model=_sum_wrong_axis,
                said=(N_("the gradient to {2} was summed over the wrong axis of dout"),),
                prior=4,
            ),
        ),
        hints=(
            ("backward", N_("Each gradient has its variable's shape: let the shapes pick the products.")),
        ),
        graded=Graded("affine_gate", kit=False),
        forward_is_answer=True,
    ),
    Operation(
        "softmax-loss",
        "SoftmaxCrossEntropyGate",
        ("scores", "y"),
        "loss of class scores",
        "softmax-loss({0}, {1})",
        N_(
            "The mean over the batch of -log(softmax(scores)[y]): scores of shape (N, C), integer "
            "labels y of shape (N,)."
        ),
        forward=lambda scores, y: float(
            np.mean(
                np.log(np.sum(np.exp(shifted := scores - np.max(scores, axis=1, keepdims=True)), axis=1))
                - shifted[np.arange(len(y)), y]
            )
        ),
        backward=lambda dout, out, scores, y: (
            dout
            * (
                (e := np.exp(scores - np.max(scores, axis=1, keepdims=True)))
                / np.sum(e, axis=1, keepdims=True)
                - np.eye(scores.shape[1])[y]
            )
            / len(y)
        ),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "loss-mean-scale",
                N_("The loss's mean over the batch lost its 1/N in the gradient, or got it twice."),
                N_("The loss is the mean over the N samples: each sample's gradient carries that 1/N once."),
                model=_loss_mean_scale,
                ways=2,
                said=(
                    N_("the gradient misses the 1/N of the mean over the batch"),
                    N_("the 1/N of the mean over the batch was applied twice"),
                ),
                prior=6,
            ),
            Misconception(
                "softmax-missing-minus-one",
                N_(
                    "The softmax loss's gradient kept the probabilities but forgot the -1 at the correct class."
                ),
                N_("The gradient of -log p_y with respect to the scores is p minus 1 at the correct class."),
                model=_softmax_missing_minus_one,
                said=(N_("the -1 at the correct class was forgotten: the gradient is p, not p - 1 at y"),),
                prior=6,
            ),
            Misconception(
                "softmax-correct-class-only",
                N_("The softmax loss's gradient was put at the correct class only."),
                N_(
                    "Every score enters the softmax's sum, so every class's score gets a gradient, not only y's."
                ),
                model=_softmax_correct_class_only,
                said=(N_("the gradient was put at the correct class only; every class's score gets one"),),
                prior=4,
            ),
            Misconception(
                "softmax-no-shift",
                N_(
                    "The softmax was computed without subtracting each row's largest score, so exp overflowed."
                ),
                N_(
                    "softmax(s) = softmax(s - max(s)): subtract each row's largest score before exp, and nothing "
                    "overflows."
                ),
                model=_softmax_no_shift,
                said=(
                    N_(
                        "exp overflowed on large scores: the softmax was computed without shifting by the row's max"
                    ),
                ),
                prior=5,
            ),
            "sign-flip",
        ),
        hints=(("forward", N_("Subtract each row's largest score before exp: the softmax stays the same.")),),
        graded=Graded("softmax_ce_gate", extra_cases=((N_("scores near 800"), _large_scores),), kit=False),
        labels=("y",),
        forward_is_answer=True,
    ),
    Operation(
        "svm-loss",
        "SVMLossGate",
        ("scores", "y"),
        "loss of class scores",
        "svm-loss({0}, {1})",
        N_(
            "The mean over the batch of the sum over classes j != y of max(0, s_j - s_y + 1): scores of "
            "shape (N, C), integer labels y of shape (N,)."
        ),
        forward=lambda scores, y: float(
            np.sum(
                np.maximum(0.0, scores - scores[np.arange(len(y)), y][:, None] + 1.0)
                * (1.0 - np.eye(scores.shape[1])[y])
            )
            / len(y)
        ),
        backward=lambda dout, out, scores, y: (
            dout
            * (
                (
                    m := (scores - scores[np.arange(len(y)), y][:, None] + 1.0 > 0)
                    * (1.0 - np.eye(scores.shape[1])[y])
                )
                - np.eye(scores.shape[1])[y] * np.sum(m, axis=1, keepdims=True)
            )
            / len(y)
        ),
        misconceptions=(
            "upstream-ignored",
            "loss-mean-scale",
            Misconception(
                "svm-counts-correct-class",
                N_("The hinge loss counted the correct class's own margin too."),
                N_("The sum of the hinge loss runs over the classes j other than the correct one y."),
                model=_counts_correct_class,
                said=(
                    N_(
                        "the correct class's own margin was counted too: its score's gradient has one 1/N too many"
                    ),
                ),
                prior=5,
            ),
            "sign-flip",
        ),
        graded=Graded("svm_loss_gate", kit=False),
        labels=("y",),
        forward_is_answer=True,
    ),
    # The primitive gates of the lecture's staged sigmoid, 1 / (1 + exp(-1 * x)): in the hand
    # exercises and the functions built from gates, not graded on their own.
    Operation(
        "*c",
        "MulConstGate",
        ("x",),
        "one input",
        "{c} · {0}",
        N_("x -> c * x."),
        forward=lambda x, c: c * x,
        backward=lambda dout, out, x, c: c * dout,
        misconceptions=("sign-flip",),
        constants=("c",),
        constant_local_gradients=True,
        grouped=True,
        python=("{c} * {0}", "{0} * {c}"),
    ),
    Operation(
        "exp",
        "ExpGate",
        ("x",),
        "one input",
        "exp({0})",
        N_("x -> e^x; the local gradient is the output itself."),
        forward=lambda x: np.exp(x),
        backward=lambda dout, out, x: dout * out,
        misconceptions=("sign-flip",),
        python=("exp({0})",),
    ),
    Operation(
        "+c",
        "AddConstGate",
        ("x",),
        "one input",
        "{0} + {c}",
        N_("x -> x + c."),
        forward=lambda x, c: x + c,
        backward=lambda dout, out, x, c: dout,
        misconceptions=("sign-flip",),
        constants=("c",),
        constant_local_gradients=True,
        grouped=True,
        python=("{0} + {c}", "{c} + {0}"),
    ),
    Operation(
        "1/x",
        "ReciprocalGate",
        ("x",),
        "one input",
        "1 / {0}",
        N_("x -> 1 / x; the local gradient is -1 / x^2."),
        forward=lambda x: 1.0 / x,
        backward=lambda dout, out, x: -dout / (x * x),
        misconceptions=("sign-flip",),
        grouped=True,
        python=("1 / {0}",),
    ),
    # Operations an instructor's own exercises may use (course.yaml's exercises: graph), beside the
    # lecture's: each a row, its mistakes in the catalog. A binary one takes its arguments in order.
    Operation(
        "-",
        "SubGate",
        ("x", "y"),
        "pair",
        "{0} - {1}",
        N_("x - y: the upstream gradient goes to x unchanged and to y negated."),
        forward=lambda x, y: x - y,
        backward=lambda dout, out, x, y: (dout, -dout),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "sub-not-negated",
                N_("The subtract gate gave its second input the upstream gradient instead of its negative."),
                N_("How does x - y change when y grows by a small h?"),
                # d(x - y)/dy = -1, written 1: the second input gets the first input's gradient
                model=lambda s: [(s.correct[0], s.correct[0])],
                said=(N_("the gradient to {1}, which is subtracted, was not negated"),),
                prior=15,  # likelier than a sign flip of that one input, which gives the same numbers: said first
                same_numbers_as=(("sign-flip", 2),),  # the sign of the second input's gradient
            ),
            "sign-flip",
        ),
        grouped=True,
        graded=Graded("sub_gate", kit=False),
        python=("{0} - {1}",),
        constant_local_gradients=True,
    ),
    Operation(
        "/",
        "DivGate",
        ("x", "y"),
        "quotient",
        "{0} / {1}",
        N_("x / y for y away from 0: x gets dout / y, y gets -dout * x / y^2."),
        forward=lambda x, y: x / y,
        backward=lambda dout, out, x, y: (dout / y, -dout * x / (y * y)),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "div-denominator-not-squared",
                N_("The divisor's gradient of x / y was -x/y instead of -x/y²."),
                N_("Write x / y as x · y⁻¹ and differentiate y⁻¹ with the power rule."),
                # d(x/y)/dy = -x/y², written -x/y: the correct gradient times y
                model=lambda s: [(s.correct[0], s.correct[1] * s.inputs[1])],
                said=(N_("the gradient to the divisor {1} was −x/y, not −x/y²"),),
                prior=6,
            ),
            Misconception(
                "div-denominator-sign",
                N_("The divisor's gradient of x / y lost its minus sign: x/y² instead of -x/y²."),
                N_(
                    "Does x / y grow or shrink when y grows a little (for x > 0, y > 0)? Its gradient says so."
                ),
                # the minus sign of the power rule on y⁻¹ dropped
                model=lambda s: [(s.correct[0], -s.correct[1])],
                said=(N_("the gradient to the divisor {1} lost its minus sign (x/y², not −x/y²)"),),
                prior=15,  # likelier than a sign flip of that one input, which gives the same numbers: said first
                same_numbers_as=(("sign-flip", 2),),  # the sign of the second input's gradient
            ),
            "sign-flip",
        ),
        grouped=True,
        graded=Graded("div_gate", kit=False),
        python=("{0} / {1}",),
    ),
    Operation(
        "**2",
        "SquareGate",
        ("x",),
        "one input",
        "{0}²",
        N_("x -> x^2; the power rule gives the local gradient 2 * x."),
        forward=lambda x: x * x,
        backward=lambda dout, out, x: 2.0 * x * dout,
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "power-missing-2",
                N_("The power rule lost its factor 2: the gradient of x² was x, not 2x."),
                N_("What is the derivative of x^2 with respect to x?"),
                model=scaled(0.5),
                said=(N_("the gradient of the square lost its factor 2 (x, not 2x)"),),
                prior=5,
            ),
            "sign-flip",
        ),
        graded=Graded("square_gate", kit=False),
        python=("{0} ** 2",),
    ),
    Operation(
        "tanh",
        "TanhGate",
        ("x",),
        "one input",
        "tanh({0})",
        N_("tanh(x) = (e^x - e^-x) / (e^x + e^-x); its local gradient 1 - tanh^2 uses the *output*."),
        forward=lambda x: np.tanh(x),
        backward=lambda dout, out, x: dout * (1.0 - out * out),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "tanh-of-input",
                N_(
                    "tanh's local gradient was computed as 1 - x² from its input x instead of 1 - tanh² "
                    "from its output."
                ),
                N_("tanh'(x) = 1 - tanh(x)^2 is written with the value forward computed, not with x."),
                model=lambda s: [(s.dout * (1 - s.inputs[0] * s.inputs[0]),)],  # 1 - x² for 1 - tanh²
                said=(N_("tanh's local gradient was 1 − x² of its input, not 1 − tanh² of its output"),),
                hint_by_hand=N_(
                    "tanh'(s) = 1 − tanh(s)² is written with the value tanh(s) you computed on the way "
                    "forward, not with s."
                ),
                prior=6,
            ),
            "sign-flip",
        ),
        graded=Graded("tanh_gate", extra_cases=((N_("large |x|"), _large),), kit=False),
        python=("tanh({0})",),
    ),
    Operation(
        "log",
        "LogGate",
        ("x",),
        "positive",
        "log({0})",
        N_("x -> the natural log of x, for x above 0; the local gradient is 1 / x."),
        forward=lambda x: np.log(x),
        backward=lambda dout, out, x: dout / x,
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "log-not-reciprocal",
                N_("log's local gradient was taken as x instead of 1/x."),
                N_("What is the derivative of log(x)? It gets smaller as x grows."),
                model=lambda s: [(s.dout * s.inputs[0],)],  # x where 1/x belongs
                said=(N_("log's local gradient was its input x, not 1/x"),),
                prior=5,
            ),
            "sign-flip",
        ),
        graded=Graded("log_gate", kit=False),
        python=("log({0})",),
    ),
)

GRADED = tuple(op for op in OPERATIONS if op.graded is not None)  # every gate a notebook may grade
GATES = tuple(op for op in GRADED if op._graded.kit)  # the kit's own graded gates, in notebook order
STAGED = tuple(op for op in OPERATIONS if op.graded is None)
BY_NAME = {op.name: op for op in OPERATIONS}
BY_SYMBOL = {op.symbol: op for op in OPERATIONS}
BY_GRADE_ID = {g.grade_id: g for g in GRADED}
# The whole catalog of mistakes: the shared ones (misconceptions.py) and those the rows bring.
CATALOG: tuple[Misconception, ...] = catalog(tuple(m for op in OPERATIONS for m in op.brings))
CATALOG_BY_ID = {m.id: m for m in CATALOG}
CONSTANT_SUFFIX = "c"  # a symbol ending in it takes a number in its place: "*c" is written "*-1", "*2"


def operation_of(symbol: str) -> tuple[Operation, tuple[float, ...]]:
    """The row a description's operation is, and its constants: 'max' -> (max's row, ());
    '*-1' -> (×c's row, (-1.0,))."""
    if symbol in BY_SYMBOL:
        return BY_SYMBOL[symbol], ()
    row = BY_SYMBOL.get(symbol[:1] + CONSTANT_SUFFIX)
    if row is not None and row.constants and symbol[1:]:
        try:
            return row, (float(symbol[1:]),)
        except ValueError:
            pass
    with_constant = [op.symbol for op in OPERATIONS if op.constants]
    raise ValueError(
        f"unknown operation {symbol!r}: expected one of "
        f"{', '.join(op.symbol for op in OPERATIONS if not op.constants)}, or "
        f"{' or '.join(with_constant)} with a number for c"
    )


def gates_named_by(misconception_id: str) -> tuple[str, ...]:
    """The names of the gates (graded, then staged) a catalogued mistake applies to, in table order."""
    return tuple(op.name for op in GRADED + STAGED if misconception_id in op.misconceptions)


def kit_catalog() -> tuple[Misconception, ...]:
    """The mistakes the kit's own course can make: the shared ones (no row owns them) and those of
    its own gates and its graphs' operations. Rows an assignment or course.yaml asks for
    (kit=False: the network's layers, the added operations) are made by their own courses."""
    kit_operations = {op.name for op in GATES + STAGED}
    return tuple(m for m in CATALOG if not gates_named_by(m.id) or set(gates_named_by(m.id)) & kit_operations)


def misconceptions_of(spec: Operation) -> tuple[Misconception, ...]:
    """The catalog entries that apply to a gate, in the row's order."""
    return tuple(CATALOG_BY_ID[_id_of(m)] for m in spec.misconceptions)


def _check_rows(rows: tuple[Operation, ...]) -> None:
    """A row that names a mistake the catalog lacks, a kind that does not fit, or a symbol, name
    or grade_id twice would break grading far from here: refuse at import, naming the row."""
    where = "solutions/table.py"
    for op in rows:
        if any(name not in op.inputs for name in op.labels):
            raise ValueError(f"{where}: {op.name}: labels {op.labels} are not among its inputs {op.inputs}")
        unknown = [m for m in op.misconceptions if m not in CATALOG_BY_ID]
        if unknown:
            raise ValueError(
                f"{where}: {op.name} names {unknown}: neither a row brings it nor solutions/misconceptions.py "
                f"has it (known: {', '.join(CATALOG_BY_ID)})"
            )
        if op.kind not in KINDS:
            raise ValueError(f"{where}: {op.name} has kind {op.kind!r}; the kinds are {', '.join(KINDS)}")
        if KINDS[op.kind].arity != len(op.inputs):
            raise ValueError(
                f"{where}: {op.name} has {len(op.inputs)} input(s), but a {op.kind!r} gate "
                f"takes {KINDS[op.kind].arity}"
            )
        if any(method not in ("forward", "backward") for method, _ in op.hints):
            raise ValueError(f"{where}: {op.name}: a hint is for forward or backward, found {op.hints}")
        if op.constants and not op.symbol.endswith(CONSTANT_SUFFIX):
            raise ValueError(
                f"{where}: {op.name} takes constants: its symbol must end in {CONSTANT_SUFFIX!r}"
            )
        if op.graded is not None and (
            (KINDS[op.kind].kink is None) != (op.graded.kink_check is None)
            or op.graded.kink_check not in (None, "ties", "backward")
        ):
            raise ValueError(
                f"{where}: {op.name}: kink_check {op.graded.kink_check!r} does not fit its kind "
                f"{op.kind!r} (one of 'ties' or 'backward' where the kind has a kink, else none)"
            )
        try:
            op.write([f"a{i}" for i in range(len(op.inputs))], tuple("1" for _ in op.constants))
        except (IndexError, KeyError) as e:
            raise ValueError(f"{where}: {op.name}: written {op.written!r} does not fit its arguments") from e
    for what, key in (("symbol", "symbol"), ("name", "name")):
        values = [getattr(op, key) for op in rows]
        if len(set(values)) != len(values):
            raise ValueError(
                f"{where}: two rows share a {what}: {sorted(v for v in values if values.count(v) > 1)}"
            )
    ids = [op.graded.grade_id for op in rows if op.graded is not None]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{where}: two rows share a grade_id")


_check_rows(OPERATIONS)
