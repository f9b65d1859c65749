"""The notebook's exercises that are not a single gate: hand-computed answers and
functions built from the student's gates, each derived from one description of
solutions/graphs.py (its graph or family of graphs, its values, its answers, its function).

The tables below are what the notebook builder, the hidden checks, the tests and (as data,
bpkit/exercise_table.json: see shipped_functions) the students' self-checks read. Which graph
a student has comes with their values (bpkit.problems: Problems.graphs); with graphs: lecture
it is the lecture's for everyone.
"""

import functools
import types
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from solutions import gates as reference
from solutions import graphs as described
from solutions import lecture
from solutions.misconceptions import (
    AND,
    AT_NODE,
    AT_VALUE,
    IN_EVERY_GATE,
    OR_ELSE,
    Seen,
    likeliest,
    overwrite,
)
from solutions.table import BY_NAME as GATE_ROWS_BY_NAME
from solutions.table import CATALOG, gates_named_by
from solutions.table import CATALOG_BY_ID as MISCONCEPTIONS
from solutions.table import GRADED as GATE_ROWS

from .bpkit import slips
from .bpkit.acceptance import (  # "clearly": the kit's one margin
    CLEAR_ABS,
    CLEAR_REL,
    Evaluation,
    discriminates,
)
from .bpkit.gradcheck import INPUT_RANGE  # where no gate saturates: the self-checks draw there too
from .bpkit.i18n import N_, STUDENT_WORDS  # N_: the case labels feedback shows (student catalog)
from .sandbox.protocol import backward_factor  # the worker scales a function's gates by it too

Values = dict[str, Any]  # one problem's values, as bpkit.problems draws them (numbers and arrays)
Answers = dict[str, Any]  # answer variable -> its value


class HandAnswers(Protocol):
    """The kind of exercise graded by the answers a student types (HAND_ANSWERS):
    GraphExercise (values on a graph: the lecture's or the student's own) and FixedAnswers (the same for
    everyone)."""

    # Read-only: GraphExercise reads them off its description, FixedAnswers holds them.
    @property
    def id(self) -> str:  # the grade_id of the answer cell; its test cell is test_<id>
        ...

    @property
    def problem(self) -> str | None:  # the key of the student's values in bpkit.problems; None: no values
        ...

    @property
    def answers(self) -> dict: ...

    def correct(self, values: Values, graph=None, mode: str = described.LECTURE) -> Answers:
        """The right answers for these values (on this graph: the student's own, by default the lecture's)."""
        ...

    def mistaken(self, values: Values, graph=None, mode: str = described.LECTURE) -> dict[str, list[Answers]]:
        """{misconception id: the answers it gives, one dict per variant}."""
        ...


@dataclass(frozen=True)
class GraphExercise:  # a HandAnswers
    """A hand exercise: the answers a student gives on their graph with their numbers."""

    description: described.Exercise

    @property
    def id(self):  # the grade_id of the answer cell; its test cell is test_<id>
        return self.description.id

    @property
    def problem(self):  # the key of the student's values in bpkit.problems
        return self.description.problem

    def shape(self, mode=described.LECTURE):
        return described.shape(self.description, mode)

    @property
    def answers(self):
        """answer variable -> ("value" | "grad", node name), on the lecture's graph."""
        return self.description.answers

    def _graph_and_answers(self, graph, mode):
        s = self.shape(mode)
        return graph or s.graphs[0], s.answers, s.values

    def correct(self, values, graph=None, mode=described.LECTURE, gates=None, at=None, **backward_options):
        """{answer variable: its correct value} for one student's values ({group: value}) on their graph."""
        graph, answers, how = self._graph_and_answers(graph, mode)
        result = lecture.gradients(
            graph, described.flatten_inputs(how, values), gates=gates, at=at, **backward_options
        )
        return {
            name: (result.values if kind == "value" else result.grads)[node]
            for name, (kind, node) in answers.items()
        }

    def mistaken(self, values, graph=None, mode=described.LECTURE):
        """{misconception id: [answers the mistake produces]} for the mistakes this graph can show."""
        graph, answers, how = self._graph_and_answers(graph, mode)
        built = lecture.gradients(graph, described.flatten_inputs(how, values)).graph
        gates_used = {type(n.gate).__name__ for n in built.nodes if n.gate is not None}
        right = self.correct(values, graph, mode)
        found = {}
        for m in CATALOG:
            if m.scope == "graph":
                if graph.branching():
                    found[m.id] = [self.correct(values, graph, mode, combine=overwrite)]
            elif gates_used & set(gates_named_by(m.id)):
                answers_made = [
                    self.correct(values, graph, mode, gates=mistaken_gates(m, k)) for k in range(m.drawn_ways)
                ]  # the ways every draw shows (one input's flip may not)
                # A mistake that moves no answer clearly here (batch-not-summed without a batch, a
                # forgotten upstream gradient where it is about 1) cannot be told from rounding.
                if all(_clearly_differ(a, right) for a in answers_made):
                    found[m.id] = answers_made
        return found

    def lecture_answers(self):
        """{answer variable: its value} for the lecture's own worked example on the lecture's graph
        (Exercise.lecture_values), or {} where the lecture has none: bpkit/slips.py's, which the
        self-check computes too."""
        return slips.lecture_answers(self.problem)

    def rounded(self, values, graph=None, mode=described.LECTURE):
        """[{answer variable: its value}] as computed by hand writing every value and gradient down
        to one decimal, then to two (as the lecture's slides do), on the student's graph
        (bpkit/slips.py's, which the self-check computes too)."""
        return slips.rounded_answers(self.problem, values, graph, mode)

    def mistaken_at_nodes(self, values, graph=None, mode=described.LECTURE):
        """[NodeMistake]: every catalogued mistake made at one gate only (the node where a student
        computing by hand went wrong), in each of its ways, and one branch kept alone (either one)
        where a value feeds two gates. Only what this graph can show, and clearly."""
        graph, _, _ = self._graph_and_answers(graph, mode)
        right = self.correct(values, graph, mode)
        found = []
        for mid, way, nodes, options in node_mistakes(graph):
            made = self.correct(values, graph, mode, **options)
            if _clearly_differ(made, right):
                found.append(NodeMistake(mid, way, nodes, made))
        return found


class NodeMistake(NamedTuple):
    """A catalogued mistake made at some nodes of one graph, and what it gives there."""

    misconception: str
    way: int  # which of its ways (the model's order; Misconception.said_at words it)
    nodes: tuple  # where: one gate's node, a value feeding several gates, or every gate of one class
    made: Any  # what it gives: the hand answers, or a function's (f, gradients)


def node_mistakes(graph, every_gate_of_a_class=False):
    """[(misconception id, way, nodes, options for `correct`)]: each catalogued mistake that applies
    to a gate of the graph, made at that gate only, in each of its ways, in topological order; one
    branch kept alone (either one) at the first value that feeds two gates; and, with
    every_gate_of_a_class, each mistake made in a gate class at every node it is used at (a
    student's function built from one wrong gate). Nothing the graph's gates cannot show."""
    found: list = []
    used: dict = {}
    for node, operation, _ in graph.gates:
        used.setdefault(described.gate_of(operation)[0], []).append(node)
    for node, operation, parents in graph.gates:
        for m in _gate_mistakes(described.gate_of(operation)[0]):
            found += [
                (m.id, k, (node,), {"at": {node: mistaken_gates(m, k)}})
                for k in range(m.ways_at(len(parents)))
            ]
    if every_gate_of_a_class:
        for name, nodes in used.items():
            for m in _gate_mistakes(name) if len(nodes) > 1 else ():
                found += [
                    (m.id, k, tuple(nodes), {"at": dict.fromkeys(nodes, mistaken_gates(m, k))})
                    for k in range(m.ways_at(len(graph.parents(nodes[0]))))
                ]
    if graph.branching():
        found += [
            ("branch-overwrite", 0, graph.branching()[:1], {"combine": keep_one})
            for keep_one in (overwrite, _keep_first)
        ]
    return found


def _gate_mistakes(gate_name):
    return [m for m in CATALOG if m.scope == "gate" and gate_name in gates_named_by(m.id)]


def _keep_first(old, new):
    return old


def where_said(graph, mistake: NodeMistake):
    """Where and what, for feedback: "at q = max(x, y), the gradient went to the smaller input"
    (in the language in force: the words are the student catalog's, solutions/misconceptions.py)."""
    _ = STUDENT_WORDS.gettext
    m, nodes = MISCONCEPTIONS[mistake.misconception], mistake.nodes
    if len(nodes) > 1:
        gate = described.gate_of(graph.operation(nodes[0]))[0]
        row = GATE_ROWS_BY_NAME.get(gate)
        what = m.said_at(mistake.way, row.inputs if row else graph.parents(nodes[0]), gettext=_)
        return _(IN_EVERY_GATE).format(
            gate=gate,
            what=what,
            nodes=_(AND).join(f"{n} = {described.gate_expression(graph, n)}" for n in nodes),
        )
    node = nodes[0]
    if node in graph.inputs:
        return _(AT_VALUE).format(node=node, what=m.said_at(mistake.way, gettext=_))
    return _(AT_NODE).format(
        node=node,
        formula=described.gate_expression(graph, node),
        what=m.said_at(mistake.way, graph.parents(node), gettext=_),
    )


def explaining(wrong, answers, at_nodes, same):
    """{name: the mistakes at one node that best explain the student's wrong answer `name`}, for
    each name in `wrong`: of the mistakes that give that answer, the ones that give most of the
    student's `answers` ({name: value}, right or wrong) too, the likeliest first
    (Misconception.prior), then in the graph's order; one per mistake and place (a mistake's
    first way there). More than one: they explain the answers equally well, and feedback says
    each (where_said_all). A student computing by hand may slip at several places, each answer
    its own: a mistake need not explain every wrong answer to be named for one."""

    def gives(made, given):
        if isinstance(made, float) and isinstance(given, float):  # the common case, fast
            return same(given, made)
        return np.shape(given) == np.shape(made) and same(given, made)

    # Only a mistake that gives one of the wrong answers is a candidate: the others are never compared.
    rows = [(m, {k: gives(m.made[k], answers[k]) for k in wrong}) for m in at_nodes]
    rows = [(m, e) for m, e in rows if any(e.values())]
    counts = [
        sum(gives(m.made[k], given) for k, given in answers.items() if k not in e) + sum(e.values())
        for m, e in rows
    ]
    named = {}
    for name in wrong:
        candidates = [(m, n) for (m, e), n in zip(rows, counts) if e[name]]
        ranked = likeliest(
            [(MISCONCEPTIONS[m.misconception], n) for m, n in candidates]
        )  # stable: the graph's order next
        said: dict = {}
        for m in (candidates[i][0] for i in ranked):
            if any(k[1] == m.nodes and _one_mistake(s, m) for k, s in said.items()):
                # one mistake under two names (a - b's b not negated is a sign flip of b alone),
                # said once, in the likelier one's words
                continue
            said.setdefault((m.misconception, m.nodes), m)
        named[name] = list(said.values())
    return named


def _one_mistake(a, b):
    """Two mistakes made at one place are one under two names: the catalog says they give the same
    numbers on every draw (Misconception.same_numbers_as), and here they did. Numbers that agree
    only on this draw are two mistakes, and feedback says both."""
    declared = (b.misconception, b.way) in MISCONCEPTIONS[a.misconception].same_numbers_as or (
        a.misconception,
        a.way,
    ) in MISCONCEPTIONS[b.misconception].same_numbers_as
    return declared and _same_made(a.made, b.made)


def _same_made(a, b):
    """Two mistakes give the same numbers: hand answers ({name: value}) or a function's (f, grads)."""
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = (tuple(x[k] for k in sorted(x)) if isinstance(x, dict) else () for x in (a, b))
    leaves_a, leaves_b = _leaves(a), _leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        np.shape(x) == np.shape(y) and np.array_equal(x, y) for x, y in zip(leaves_a, leaves_b)
    )


def where_said_all(graph, mistakes):
    """where_said of each, joined as alternatives: "at q = x + y, ...; or at p = max(w, x), ..."."""
    said = where_said(graph, mistakes[0])
    for other in mistakes[1:]:
        said = STUDENT_WORDS.gettext(OR_ELSE).format(first=said, second=where_said(graph, other))
    return said


def _clearly_differ(answers, correct):
    return any(
        np.shape(answers[k]) != np.shape(v)
        or np.any(np.abs(np.asarray(answers[k], float) - v) > CLEAR_ABS + CLEAR_REL * np.abs(v))
        for k, v in correct.items()
    )


@functools.lru_cache(maxsize=256)
def mistaken_gates(misconception, variant=0):
    """The reference gates, with every gate the misconception applies to replaced by its
    error model: a gate module (like solutions.gates) for solutions.lecture's builders.
    Made once per (misconception, variant) and shared (the classes keep no state of their own,
    only their instances do): diagnosing one mistaken submission asks for it some 150 times."""
    module = types.SimpleNamespace(**{k: v for k, v in vars(reference).items() if isinstance(v, type)})
    for name in gates_named_by(misconception.id):
        setattr(module, name, _mistaken(getattr(module, name), misconception, variant))
    return module


@functools.lru_cache(maxsize=64)
def keyed_gates(scale, scaled=None):
    """The reference gates with every backward's gradients times protocol.backward_factor of the
    inputs its instance's forward was given: what a function built from gates returns when the
    grader's call scales the student's backward so (`scale`, a tuple: checks.py, the method).
    `scaled`: the gate classes the grader's call wraps (a tuple of names; None: every one). A node
    with a number (c · x, x + c) has no gate cell: the student computes it in the function, where
    no wrapper scales it, and so does the reference."""
    module = types.SimpleNamespace(**{k: v for k, v in vars(reference).items() if isinstance(v, type)})
    for name, cls in vars(module).items():
        if scaled is not None and name not in scaled:
            continue
        if callable(getattr(cls, "backward", None)):
            setattr(module, name, _keyed(cls, scale))
    return module


def _keyed(gate_class: type[Any], scale):  # any reference gate: forward and backward by duck typing
    class Keyed(gate_class):
        def forward(self, *inputs):
            self._factor = backward_factor(inputs, scale)
            return super().forward(*inputs)

        def backward(self, dout):
            grads = super().backward(dout)
            factor = getattr(self, "_factor", backward_factor((), scale))
            return tuple(g * factor for g in grads) if isinstance(grads, tuple) else grads * factor

    return Keyed


def _mistaken(gate_class: type[Any], misconception, variant):
    class Mistaken(gate_class):
        def forward(self, *inputs):
            self._seen_inputs = inputs
            self._seen_out = super().forward(*inputs)
            return self._seen_out

        def backward(self, dout):
            correct = super().backward(dout)
            single = not isinstance(correct, tuple)
            seen = Seen(
                self._seen_inputs,
                self._seen_out,
                dout,
                (correct,) if single else correct,
                lambda d: _as_tuple(gate_class.backward(self, d)),
            )
            variants = misconception.variants(seen)
            grads = variants[min(variant, len(variants) - 1)] if variants else seen.correct
            return grads[0] if single else grads

    Mistaken.__name__ = gate_class.__name__
    return Mistaken


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


EXERCISES = tuple(GraphExercise(e) for e in described.EXERCISES)
BY_ID = {e.id: e for e in EXERCISES}


@dataclass(frozen=True)
class FixedAnswers:  # a HandAnswers
    """A question whose answers are the same for everyone (the lecture's sizes), described once:
    the question as students read it (a message of the student catalog, whose {placeholders}
    are `given`), the numbers it gives and the answers those numbers make. The notebook's
    question, stub, solution, self-check and Validate line, and the hidden check, all read it."""

    id: str  # the grade_id of the answer cell; its test cell is test_<id>
    question: str
    given: dict  # placeholder -> the number the question states
    answers: dict  # answer variable -> its value
    problem = None  # no problem values

    def correct(self, values=None, graph=None, mode=None):
        return dict(self.answers)

    def mistaken(self, values=None, graph=None, mode=None):
        return {}

    def asked(self):
        """The question in the language in force, with its numbers (as typeset: 4096, 409,600)."""
        return STUDENT_WORDS.gettext(self.question).format(
            **{k: f"{v:,}" if v >= 10_000 else str(v) for k, v in self.given.items()}
        )


_WIDTH, _BATCH = 4096, 100  # an elementwise gate's input size, and a minibatch of that many inputs
JACOBIAN = FixedAnswers(
    "jacobian_question",
    N_(
        "**Why nobody builds the Jacobian.** An elementwise gate (say a max with 0) on a\n"
        "{width}-dimensional input has a {width} × {width} Jacobian. How many entries does it have, and how\n"
        "many of them can be nonzero? With a minibatch of {batch} the input has {batch_inputs} numbers: how\n"
        "many entries would that Jacobian have? Give whole numbers."
    ),
    {"width": _WIDTH, "batch": _BATCH, "batch_inputs": _WIDTH * _BATCH},
    {
        "jacobian_entries": _WIDTH * _WIDTH,
        "jacobian_nonzero": _WIDTH,  # the diagonal: each output reads its own input only
        "batch_jacobian_entries": (_WIDTH * _BATCH) ** 2,
    },
)
JACOBIAN_ANSWERS = JACOBIAN.answers
HAND_ANSWERS: dict[str, HandAnswers] = {
    e.id: e for e in EXERCISES + (JACOBIAN,)
}  # every exercise graded by its answers


@dataclass(frozen=True)
class FunctionExercise:
    """A function the student builds from their gates: f and its gradients for any inputs. It
    takes its exercise's groups of inputs in order and returns (f, (gradient of each group))."""

    exercise: described.Exercise

    def __post_init__(self):
        if self.exercise.function is None:
            raise ValueError(f"exercise {self.exercise.id!r} describes no function to build from gates")

    @property
    def function(self) -> described.Function:
        """The description's function (every FunctionExercise has one: __post_init__)."""
        assert self.exercise.function is not None
        return self.exercise.function

    @property
    def id(self):  # the function's name and the grade_id of its cell
        return self.function.id

    @property
    def problem(self):  # the key of the student's values; self-checks run it on inputs shaped like them
        return self.exercise.problem

    @property
    def needs(self):
        return self.needs_for(described.LECTURE)

    def needs_for(self, mode):
        """The grade_ids of the gate cells its graphs use (every graph of the family), in table order."""
        used = {
            described.gate_of(op)[0]
            for g in described.shape(self.exercise, mode).graphs
            for _, op, _ in self.graph(g, mode).gates
        }
        return tuple(g.grade_id for g in GATE_ROWS if g.name in used)

    def graph(self, hand_graph=None, mode=described.LECTURE):
        """The graph it computes: the lecture's own (the neuron's shortcut), or the student's hand graph."""
        return described.function_graph(
            self.exercise, hand_graph or described.shape(self.exercise, mode).graphs[0]
        )

    @property
    def outputs(self):
        return self.outputs_for(described.LECTURE)

    @property
    def gradient_names(self):
        return self.gradient_names_for(described.LECTURE)

    def outputs_for(self, mode):
        """The gradient structure it returns, as graph node names: the groups, in order."""
        return tuple(members for _, members in described.shape(self.exercise, mode).values.groups)

    def cases(self, rng, graph=None, mode=described.LECTURE):
        """The hidden inputs it is graded on: [(label, args)]."""
        return CASES[self.function.cases](rng, self, self.graph(graph, mode), mode)

    def correct(self, args, graph=None, mode=described.LECTURE, gates=None, **backward_options):
        how = described.shape(self.exercise, mode).values
        grouped = dict(zip(described.group_names(how), args))
        result = lecture.gradients(
            self.graph(graph, mode), described.flatten_inputs(how, grouped), gates=gates, **backward_options
        )
        return result.values[result.output.name], _pick(result.grads, self.outputs_for(mode))

    def mistaken_at_nodes(self, args, graph=None, mode=described.LECTURE):
        """[NodeMistake]: what the function returns with each catalogued mistake made at one node of
        the graph it computes (the student's own), or in one gate class wherever it is used, or with
        one branch kept alone; only mistakes that change a gradient here."""
        computed = self.graph(graph, mode)
        right = self.correct(args, graph, mode)
        found = []
        for mid, way, nodes, options in node_mistakes(computed, every_gate_of_a_class=True):
            try:
                made = self.correct(args, graph, mode, **options)
            except (ValueError, TypeError):
                continue  # a mistake that cannot even run on these shapes (a transposed dW, not square)
            if any(
                np.shape(a) != np.shape(b) or not np.allclose(a, b)
                for a, b in zip(_leaves(made[1]), _leaves(right[1]))
            ):
                found.append(NodeMistake(mid, way, nodes, made))
        return found

    def gradient_names_for(self, mode):
        """The gradients it returns, flattened in order and named as the hand answers name
        them: (("w0", "w1"), ("x0",)) -> dfdw0, dfdw1, dfdx0."""
        return tuple(f"dfd{node}" for node in _leaves(self.outputs_for(mode)))


def _pick(grads, structure):
    return tuple(_pick(grads, s) if isinstance(s, tuple) else grads[s] for s in structure)


def _leaves(structure):
    return [leaf for s in structure for leaf in (_leaves(s) if isinstance(s, tuple) else [s])]


def _small_numbers(rng, exercise, graph, mode):
    """Python floats, whole numbers plus a quarter, half or three quarters (exact in binary), one per
    input, away from every kink of the graph (a max tie). Where the hand exercise's draws must tell
    the mistakes apart (graphs drawn per student, new exercises), so must these inputs, by the same
    rule on the gradients the function returns: else a branch kept alone passes wherever the
    branching input loses its max. The lecture's own exercises keep the inputs they always had."""
    n = len(exercise.outputs_for(mode))
    discriminate = described.shape(exercise.exercise, mode).discriminate
    returned = {f"d{name}": ("grad", name) for name in graph.inputs}
    while True:
        args = tuple(float(v) for v in rng.integers(-9, 10, size=n) + rng.choice([0.25, 0.5, 0.75], n))
        drawn = Evaluation(graph, dict(zip(graph.inputs, args)))
        inside = drawn.outside is None and not drawn.at_kink()  # no divisor near 0, no max tie
        if inside and (not discriminate or discriminates(drawn, returned)):
            return args


def _twice_small(rng, exercise, graph, mode):
    return [
        (N_("random inputs"), _small_numbers(rng, exercise, graph, mode)),
        (N_("more random inputs"), _small_numbers(rng, exercise, graph, mode)),
    ]


def _neuron_cases(rng, exercise, graph, mode):
    return [
        (N_("the lecture's neuron"), ((2.0, -3.0, -3.0), (-1.0, -2.0))),
        (
            N_("random weights"),
            (
                tuple(rng.uniform(-INPUT_RANGE, INPUT_RANGE, 3)),
                tuple(rng.uniform(-INPUT_RANGE, INPUT_RANGE, 2)),
            ),
        ),
    ]


def _matmul_cases(rng, exercise, graph, mode):
    return [
        (N_("a vector x"), (rng.normal(size=(3, 5)), rng.normal(size=5))),
        (N_("a batch x of 4 columns"), (rng.normal(size=(3, 5)), rng.normal(size=(5, 4)))),
    ]


# The hidden inputs of function exercises, by the description's `cases`.
CASES = {"small numbers": _twice_small, "neuron": _neuron_cases, "matmul": _matmul_cases}

FUNCTIONS = tuple(FunctionExercise(e) for e in described.EXERCISES if e.function is not None)

FUNCTIONS_BY_ID = {e.id: e for e in FUNCTIONS}


def register(exercise):
    """A course's own exercise (solutions/graphs.py: register) graded like the kit's: its hand
    answers and its function found by id (the grader, the notebook builder, show-values)."""
    hand = GraphExercise(exercise)
    BY_ID[exercise.id] = HAND_ANSWERS[exercise.id] = hand
    if exercise.function is not None:
        FUNCTIONS_BY_ID[exercise.function.id] = FunctionExercise(exercise)


def shipped_functions(mode=described.LECTURE):
    """What the students' self-checks and Validate know of the functions
    (bpkit/exercise_table.json): each one's problem values and the names of the gradients it
    returns. Both are in the released notebook's text already; no inputs it is graded on, no
    answers."""
    return {
        e.id: {"problem": e.problem, "gradients": list(e.gradient_names_for(mode))}
        for e in FUNCTIONS_BY_ID.values()  # the kit's and a course's own (register)
    }
