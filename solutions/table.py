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
from dataclasses import dataclass
from typing import Any

import numpy as np

from .gate_kinds import KINDS, N_, Kind, Kink  # N_: words a student reads, translated where shown
from .misconceptions import BY_ID as CATALOG_BY_ID
from .misconceptions import Misconception


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
    forward: Callable[..., Any]  # (*inputs, *constants) -> output, on floats and arrays
    misconceptions: tuple[str, ...]  # ids of the catalogued mistakes that apply to it, in naming order
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


ENGINE: dict[str, type] = {}  # gate class name -> the reference engine's class (solutions/gates.py)


def _large(rng: np.random.Generator) -> tuple:
    return (np.array([-1000.0, -60.0, -20.0, 20.0, 60.0, 1000.0]),)


LECTURE = N_("the lecture's numbers")

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
        misconceptions=("upstream-ignored", "add-split", "sign-flip"),
        graded=Graded("add_gate", (LECTURE, (-2.0, 5.0))),
        grouped=True,
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
        misconceptions=("upstream-ignored", "mul-not-swapped", "sign-flip"),
        graded=Graded("mul_gate", (LECTURE, (3.0, -4.0))),
        grouped=True,
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
        misconceptions=("upstream-ignored", "max-routes-both", "max-routes-smaller", "sign-flip"),
        graded=Graded("max_gate", (LECTURE, (-1.0, 2.0)), kink_check="ties"),
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
        misconceptions=("upstream-ignored", "relu-mask-of-upstream", "sign-flip"),
        graded=Graded("relu_gate", kink_check="backward"),
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
        misconceptions=("upstream-ignored", "sigmoid-of-input", "sigmoid-missing-term", "sign-flip"),
        graded=Graded("sigmoid_gate", (LECTURE, (1.0,)), extra_cases=((N_("large |x|"), _large),)),
        quiet_overflow=True,
        hints=(("forward", N_("exp(-|x|) never overflows, so x = +-1000 gives 1 and 0 without a warning.")),),
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
        misconceptions=("upstream-ignored", "matmul-transpose", "batch-not-summed", "sign-flip"),
        hints=(
            ("backward", N_("A batch's dW sums the per-sample outer products, which is one matrix product.")),
        ),
        graded=Graded(
            "matmul_gate",
            (N_("the lecture's W and x"), (np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4]))),
        ),
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
        misconceptions=("upstream-ignored", "l2-missing-2", "sign-flip"),
        graded=Graded("l2_gate", (N_("the lecture's q"), (np.array([0.22, 0.26]),))),
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
        grouped=True,
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
        grouped=True,
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
        misconceptions=("upstream-ignored", "sub-not-negated", "sign-flip"),
        grouped=True,
        graded=Graded("sub_gate", kit=False),
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
            "div-denominator-not-squared",
            "div-denominator-sign",
            "sign-flip",
        ),
        grouped=True,
        graded=Graded("div_gate", kit=False),
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
        misconceptions=("upstream-ignored", "power-missing-2", "sign-flip"),
        graded=Graded("square_gate", kit=False),
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
        misconceptions=("upstream-ignored", "tanh-of-input", "sign-flip"),
        graded=Graded("tanh_gate", extra_cases=((N_("large |x|"), _large),), kit=False),
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
        misconceptions=("upstream-ignored", "log-not-reciprocal", "sign-flip"),
        graded=Graded("log_gate", kit=False),
    ),
)

GRADED = tuple(op for op in OPERATIONS if op.graded is not None)  # every gate a notebook may grade
GATES = tuple(op for op in GRADED if op._graded.kit)  # the kit's own graded gates, in notebook order
STAGED = tuple(op for op in OPERATIONS if op.graded is None)
BY_NAME = {op.name: op for op in OPERATIONS}
BY_SYMBOL = {op.symbol: op for op in OPERATIONS}
BY_GRADE_ID = {g.grade_id: g for g in GRADED}
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


def misconceptions_of(spec: Operation) -> tuple[Misconception, ...]:
    """The catalog entries that apply to a gate, in the row's order."""
    return tuple(CATALOG_BY_ID[mid] for mid in spec.misconceptions)


def _check_rows(rows: tuple[Operation, ...]) -> None:
    """A row that names a mistake the catalog lacks, a kind that does not fit, or a symbol, name
    or grade_id twice would break grading far from here: refuse at import, naming the row."""
    where = "solutions/table.py"
    for op in rows:
        unknown = [m for m in op.misconceptions if m not in CATALOG_BY_ID]
        if unknown:
            raise ValueError(f"{where}: {op.name} names {unknown}, not in solutions/misconceptions.py")
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
