"""Every exercise on a computational graph, described once, as data.

A graph is its inputs, in order, and its gates, in an order where every gate comes after
the nodes it reads: (node name, operation, names of its inputs in the gate's argument
order). The operation is a symbol of the operation table (solutions/table.py): what a picture
writes inside the gate, how a formula writes it, and the engine's gate class.

A hand exercise is one `Exercise`: its graph (the lecture's, or a family of graphs of one
shape drawn per student with `graphs: per-student`), how its input values are drawn, the
answers a student gives (variable -> the value or the gradient of a node) and the function
exercise built on the same graph. The notebook's cells (setup, picture, stub, self-check,
Validate line, hidden test), the reference answers, the candidate mistakes, which draws are
accepted, show-values and the docs all derive from these entries; adding an exercise is
adding an entry here and its prose in the notebook.

No values, no gradients, no answers: shipped to students as bpkit/graphs.py (beside the
operation table, bpkit/table.py), where the draws and the pictures read it.
"""

from typing import NamedTuple

from .table import operation_of
from .variants import generate


def N_(message):
    """Marks a title with words in it for the student catalog (bpkit/locale): this file cannot
    import bpkit's i18n (solutions/ imports nothing of it); pictures translate titles where drawn."""
    return message


class GraphDescription(NamedTuple):
    title: str
    inputs: tuple  # names of the input nodes
    gates: tuple  # (name, operation, (input names...)) in topological order

    @property
    def output(self):
        return self.gates[-1][0]

    def operation(self, node):
        return next(op for name, op, _ in self.gates if name == node)

    def parents(self, node):
        return next(parents for name, _, parents in self.gates if name == node)

    def branching(self):
        """The nodes that feed more than one gate (or one gate twice)."""
        uses = [p for _, _, parents in self.gates for p in parents]
        return tuple(n for n in self.inputs + tuple(g[0] for g in self.gates) if uses.count(n) > 1)

    def depth(self):
        """The most gates on a way from an input to the output."""
        levels = dict.fromkeys(self.inputs, 0)
        for name, _, parents in self.gates:
            levels[name] = 1 + max(levels[p] for p in parents)
        return levels[self.output]

    def formula(self):
        """f written out from the gates: 'max(w, x) · (y + z)'."""
        return expression(self, self.output)

    def as_contract(self):
        """The graph as show-values --json prints it."""
        return {
            "inputs": list(self.inputs),
            "gates": [[n, op, list(ps)] for n, op, ps in self.gates],
            "output": self.output,
        }


def gate_expression(graph, node):
    """One gate written on its inputs' names, as its picture shows it: 's = p + w2', not the whole
    expression down to the graph's inputs."""
    operation, parents = graph.operation(node), graph.parents(node)
    return expression(
        GraphDescription("", tuple(dict.fromkeys(parents)), ((node, operation, parents),)), node
    )


def expression(graph, node, top=True):
    if node in graph.inputs:
        return node
    op, parents = graph.operation(node), graph.parents(node)
    try:
        row, _ = operation_of(op)
    except ValueError as e:
        raise ValueError(f"graph {graph.title!r}: {e} at {node}") from None
    args = [expression(graph, p, top=row.encloses(i)) for i, p in enumerate(parents)]
    return row.write(args, (op[1:],) if row.constants else (), top)  # constants as written: "*-1"


def gate_of(operation):
    """The engine's gate class for an operation, and its constants (solutions/table.py: the rows):
    'max' -> ('MaxGate', ()); '*-1' -> ('MulConstGate', (-1.0,))."""
    row, constants = operation_of(operation)
    return row.name, constants


def kind_of(operation):
    """What counts as one kind of operation when difficulty is held equal (×c and +c whatever c is)."""
    return gate_of(operation)[0]


_WEIGHTED_SUM = (
    ("w0x0", "*", ("w0", "x0")),
    ("w1x1", "*", ("w1", "x1")),
    ("p", "+", ("w0x0", "w1x1")),
    ("s", "+", ("p", "w2")),
)

GRAPHS = {
    "simple": GraphDescription(
        "f(x, y, z) = (x + y) · z", ("x", "y", "z"), (("q", "+", ("x", "y")), ("f", "*", ("q", "z")))
    ),
    "neuron_staged": GraphDescription(
        N_("f(w, x) = 1 / (1 + exp(-(w0·x0 + w1·x1 + w2))), gate by gate"),
        ("w0", "x0", "w1", "x1", "w2"),
        _WEIGHTED_SUM
        + (
            ("neg", "*-1", ("s",)),
            ("exp", "exp", ("neg",)),
            ("denom", "+1", ("exp",)),
            ("f", "1/x", ("denom",)),
        ),
    ),
    "neuron_shortcut": GraphDescription(
        "f(w, x) = σ(w0·x0 + w1·x1 + w2)",
        ("w0", "x0", "w1", "x1", "w2"),
        _WEIGHTED_SUM + (("f", "σ", ("s",)),),
    ),
    "branch": GraphDescription(
        N_("f(x, y) = (x + y) · x: x feeds two gates"),
        ("x", "y"),
        (("q", "+", ("x", "y")), ("f", "*", ("q", "x"))),
    ),
    "l2_of_matmul": GraphDescription(
        "f(W, x) = ‖W·x‖², q = W·x", ("W", "x"), (("q", "W·x", ("W", "x")), ("f", "‖·‖²", ("q",)))
    ),
    "max_sigmoid": GraphDescription(
        "f(x, y, z) = max(x, y) · σ(z)",
        ("x", "y", "z"),
        (("m", "max", ("x", "y")), ("s", "σ", ("z",)), ("f", "*", ("m", "s"))),
    ),
}


# ---------------------------------------------------------------- families drawn per student


def _graph(inputs, gates):
    g = GraphDescription("", tuple(inputs), tuple(gates))
    return g._replace(title=f"f({', '.join(inputs)}) = {g.formula()}")


class Family(NamedTuple):
    """Graphs of one shape: the same inputs, the same named nodes, the same operations (as a
    multiset), depth and branches; what differs is the operation at each node and which inputs
    feed it. Generated from one graph by solutions/variants.py (`family` below)."""

    name: str
    graphs: tuple
    keep: tuple = ()  # value rules every draw on these graphs obeys (see Rule)


# ---------------------------------------------------------------- how values are drawn


class Rule(NamedTuple):
    """A condition on a draw, stated on nodes: what keeps the numbers easy to work with by hand
    (the lecture's small, distinct numbers) or what the shape needs (the branching input winning
    its max). Whether the numbers tell the mistakes apart is not stated here: that rule is the
    same for every exercise (bpkit/acceptance.py).

      ("at least", node, lo[, hi])   lo <= |value| (<= hi); "∂node" for its gradient; entrywise
      ("apart", a, b, by)            |a - b| >= by
      ("apart in size", a, b, by)    ||a| - |b|| >= by
      ("wins", node)                 the first input of the max at node is the larger
    """

    kind: str
    args: tuple


def rule(kind, *args):
    return Rule(kind, args)


class Values(NamedTuple):
    """How an exercise's input values are drawn: a stream of bpkit/problems.py (STREAMS) with its
    ranges, and the groups the student is handed (their order is the function's arguments)."""

    stream: str  # "integers", "neuron" or "matrix"
    ranges: dict  # the stream's parameters
    groups: tuple  # ((name, (inputs...)) or (name, input)), in argument order


class Function(NamedTuple):
    """The function exercise built on a hand exercise's graph: it takes the groups of inputs, in
    order, and returns (f, (gradient of each group, in the same order))."""

    id: str  # its name and the grade_id of its cell (the gate cells it uses follow from its graph)
    cases: str  # which hidden inputs it is graded on (autograder/exercises.py: CASES)
    graph: str = ""  # a lecture graph of its own (the neuron's shortcut), else the exercise's


class Exercise(NamedTuple):
    id: str  # the grade_id of its answer cell; its test cell is test_<id>
    problem: str  # the key of the student's values (P.<problem>)
    graph: str  # the lecture's graph (GRAPHS)
    values: Values
    answers: dict  # answer variable -> ("value" | "grad", node)
    keep: tuple = ()  # Rules of the lecture's draw
    function: Function | None = None
    family: Family | None = None  # with graphs: per-student, the graph is drawn from these
    values_per_student: Values | None = None  # and its values like this (default: as `values`)
    answers_per_student: dict | None = None
    # Today's numbers, kept so existing courses and gradebooks do not change: the lecture's graph
    # is drawn under its own rules only. The acceptance rule agrees with them on nearly every
    # draw (tests/test_exercise_descriptions.py counts where it does not: ℓ2 draws with 2q ≈ 1,
    # where a forgotten upstream factor at W·x stays hidden and the grader does not name it).
    lecture_draws: bool = False
    # The lecture's own worked example on this graph ({group: value}, shared/LECTURE.md; the
    # notebook's picture of it shows the same numbers): a student who hands in its answers instead
    # of their own is told so.
    lecture_values: dict | None = None
    # An instructor's exercise (course.yaml) with per_student: true: its family is drawn from
    # whatever the course's graphs mode, as the instructor asked for this exercise.
    per_student: bool = False


def _integers(lo, hi, inputs):
    return Values("integers", {"lo": lo, "hi": hi}, tuple((n, n) for n in inputs))


# What a per-student family may swap at a node where its author names nothing: a sum and a max
# (solutions/variants.py: vary), as the kit's own families do.
DEFAULT_VARY = (("+", "max"),)


def family(name, graph, keep=(), vary=DEFAULT_VARY):
    """The per-student family generated from one graph (solutions/variants.py), drawn under the
    author's rules `keep` and the "wins" rules the variants need (a max's sure winner)."""
    made = generate(graph, vary)
    return Family(name, made.graphs, tuple(rule("wins", n) for n in made.winners) + tuple(keep))


# The kit's own families: the generator's output from these graphs (w, x, y, z: one pair added,
# the other's max, their product; x, y, z: x feeding both), the same graphs in the same order as
# when they were chosen by hand, so every student keeps their graph and numbers.
SIMPLE_FAMILY = family(
    "simple",
    _graph(("w", "x", "y", "z"), (("p", "+", ("w", "x")), ("q", "max", ("y", "z")), ("f", "*", ("p", "q")))),
    (rule("at least", "∂p", 2), rule("at least", "∂q", 2), rule("apart in size", "p", "q", 1)),
)
BRANCH_FAMILY = family(
    "branch",
    _graph(("x", "y", "z"), (("p", "+", ("x", "y")), ("q", "max", ("x", "z")), ("f", "*", ("p", "q")))),
    (rule("at least", "∂p", 2), rule("at least", "∂q", 2), rule("apart in size", "p", "q", 1)),
)
_FAMILY_ANSWERS = {
    "p": ("value", "p"),
    "q": ("value", "q"),
    "f": ("value", "f"),
    "dfdp": ("grad", "p"),
    "dfdq": ("grad", "q"),
}

EXERCISES = (
    Exercise(
        "simple_by_hand",
        "simple",
        "simple",
        _integers(-9, 9, ("x", "y", "z")),
        {
            "q": ("value", "q"),
            "f": ("value", "f"),
            "dfdq": ("grad", "q"),
            "dfdz": ("grad", "z"),
            "dfdx": ("grad", "x"),
            "dfdy": ("grad", "y"),
        },
        lecture_draws=True,
        keep=(
            rule("at least", "q", 2),
            rule("at least", "z", 2),
            rule("apart in size", "q", "z", 1),
            rule("apart", "x", "y", 1),
        ),
        function=Function("simple_with_gates", "small numbers"),
        lecture_values={"x": -2.0, "y": 5.0, "z": -4.0},
        family=SIMPLE_FAMILY,
        values_per_student=_integers(-9, 9, ("w", "x", "y", "z")),
        answers_per_student={
            **_FAMILY_ANSWERS,
            "dfdw": ("grad", "w"),
            "dfdx": ("grad", "x"),
            "dfdy": ("grad", "y"),
            "dfdz": ("grad", "z"),
        },
    ),
    Exercise(
        "neuron_by_hand",
        "neuron",
        "neuron_staged",
        Values(
            "neuron",
            {"s": ((-1.5, -0.5), (1.0, 1.5)), "x": (-3, 3), "w": (-2, 2)},
            (("w", ("w0", "w1", "w2")), ("x", ("x0", "x1"))),
        ),
        {
            "f": ("value", "f"),
            "dfd_denom": ("grad", "denom"),
            "dfd_exp": ("grad", "exp"),
            "dfd_neg": ("grad", "neg"),
            "dfds": ("grad", "s"),
            "dfdw0": ("grad", "w0"),
            "dfdx0": ("grad", "x0"),
            "dfdw1": ("grad", "w1"),
            "dfdx1": ("grad", "x1"),
            "dfdw2": ("grad", "w2"),
        },
        lecture_draws=True,
        keep=(
            rule("at least", "w2", 0.3, 4),
            rule("apart", "w0", "x0", 0.5),
            rule("apart", "w1", "x1", 0.5),
            rule("at least", "w0", 0.3),
            rule("at least", "w1", 0.3),
        ),
        function=Function("neuron_with_gates", "neuron", graph="neuron_shortcut"),
        lecture_values={"w": (2.0, -3.0, -3.0), "x": (-1.0, -2.0)},
    ),
    Exercise(
        "branch_by_hand",
        "branch",
        "branch",
        _integers(-6, 6, ("x", "y")),
        {
            "q": ("value", "q"),
            "f": ("value", "f"),
            "dfdx": ("grad", "x"),
            "dfdy": ("grad", "y"),
        },
        lecture_draws=True,
        keep=(
            rule("at least", "q", 2),
            rule("at least", "x", 2),
            rule("apart in size", "q", "x", 1),
            rule("at least", "∂x", 2),
        ),
        function=Function("branch_with_gates", "small numbers"),
        family=BRANCH_FAMILY,
        values_per_student=_integers(-6, 6, ("x", "y", "z")),
        answers_per_student={
            **_FAMILY_ANSWERS,
            "dfdx": ("grad", "x"),
            "dfdy": ("grad", "y"),
            "dfdz": ("grad", "z"),
        },
    ),
    Exercise(
        "l2_by_hand",
        "l2",
        "l2_of_matmul",
        Values("matrix", {"shape": (2, 3), "lo": -0.9, "hi": 0.9}, (("W", "W"), ("x", "x"))),
        {
            "q": ("value", "q"),
            "f": ("value", "f"),
            "dfdq": ("grad", "q"),
            "dfdW": ("grad", "W"),
            "dfdx": ("grad", "x"),
        },
        lecture_draws=True,
        keep=(rule("at least", "q", 0.15),),
        function=Function("l2_with_gates", "matmul"),
        # W is 2 × 2 in the lecture, 2 × 3 here: its q, f and ∂f/∂q can still be copied
        lecture_values={"W": ((0.1, 0.5), (-0.3, 0.8)), "x": (0.2, 0.4)},
    ),
    Exercise(
        "max_sigmoid_by_hand",
        "max_sigmoid",
        "max_sigmoid",
        _integers(-4, 4, ("x", "y", "z")),
        {
            "m": ("value", "m"),
            "s": ("value", "s"),
            "f": ("value", "f"),
            "dfdm": ("grad", "m"),
            "dfds": ("grad", "s"),
            "dfdx": ("grad", "x"),
            "dfdy": ("grad", "y"),
            "dfdz": ("grad", "z"),
        },
        function=Function("max_sigmoid_with_gates", "small numbers"),
    ),
)

BY_ID = {e.id: e for e in EXERCISES}
BY_PROBLEM = {e.problem: e for e in EXERCISES}
LECTURE, PER_STUDENT = "lecture", "per-student"
GRAPH_MODES = (LECTURE, PER_STUDENT)


class Shape(NamedTuple):
    """One exercise as one course sees it (the graph mode decides): the same for every student
    but for the graph, which is `graphs[0]` with graphs: lecture."""

    exercise: Exercise
    graphs: tuple  # the graphs students may get
    values: Values
    answers: dict
    keep: tuple
    discriminate: bool = True  # draws must pass bpkit/acceptance.py's rule (not for lecture_draws)

    @property
    def id(self):
        return self.exercise.id

    @property
    def problem(self):
        return self.exercise.problem

    @property
    def inputs(self):
        return self.graphs[0].inputs


def shape(exercise, mode=LECTURE):
    """The exercise as a course in this graph mode gives it."""
    if mode not in GRAPH_MODES:
        raise ValueError(f"graphs must be one of {', '.join(GRAPH_MODES)}, found {mode!r}")
    if (mode == PER_STUDENT or exercise.per_student) and exercise.family is not None:
        return Shape(
            exercise,
            exercise.family.graphs,
            exercise.values_per_student or exercise.values,
            exercise.answers_per_student or exercise.answers,
            exercise.family.keep,
        )
    return Shape(
        exercise,
        (GRAPHS[exercise.graph],),
        exercise.values,
        exercise.answers,
        exercise.keep,
        not exercise.lecture_draws,
    )


def function_graph(exercise, graph):
    """The graph a function exercise computes: the lecture's own, or the student's hand graph."""
    fn = exercise.function
    return GRAPHS[fn.graph] if fn is not None and fn.graph else graph


def group_names(values):
    """The group names in order, as the student's P.<problem> and the function's arguments."""
    return tuple(name for name, _ in values.groups)


def group_inputs(values):
    """{group: its inputs (a tuple) or its one input (a name)}."""
    return dict(values.groups)


def flatten_inputs(values, grouped):
    """{input: value} from {group: value} (a tuple group spreads over its inputs)."""
    out: dict = {}
    for name, members in values.groups:
        if isinstance(members, tuple):
            out.update(zip(members, grouped[name]))
        else:
            out[members] = grouped[name]
    return out


def _check_descriptions():
    """A description naming an input or node its graph lacks would break every exercise far from
    here: refuse at import, naming the exercise."""
    for e in EXERCISES:
        for mode in GRAPH_MODES:
            s = shape(e, mode)
            for g in s.graphs:
                nodes = set(g.inputs) | {n for n, _, _ in g.gates}
                for n, op, parents in g.gates:
                    gate_of(op)
                    missing = [p for p in parents if p not in nodes]
                    if missing:
                        raise ValueError(f"solutions/graphs.py: {e.id}: gate {n} reads {missing}, not nodes")
                wanted = {node for _, node in s.answers.values()}
                if wanted - nodes:
                    raise ValueError(
                        f"solutions/graphs.py: {e.id} asks for {sorted(wanted - nodes)}, not in its graph"
                    )
                grouped = [m for _, ms in s.values.groups for m in (ms if isinstance(ms, tuple) else (ms,))]
                if sorted(grouped) != sorted(g.inputs):
                    raise ValueError(
                        f"solutions/graphs.py: {e.id}: its value groups {grouped} are not its "
                        f"graph's inputs {list(g.inputs)}"
                    )
            if (
                len(
                    {
                        (tuple(sorted(kind_of(op) for _, op, _ in g.gates)), len(g.branching()), g.depth())
                        for g in s.graphs
                    }
                )
                != 1
            ):
                raise ValueError(
                    f"solutions/graphs.py: {e.id}: its graphs differ in operations, branches or depth"
                )


_check_descriptions()


# ---------------------------------------------------------------- exercises a course writes


AUTHORED: dict[
    str, Exercise
] = {}  # id -> Exercise written in a course's course.yaml (autograder/authored.py), once registered


def register(exercise, graph):
    """Add a course's own exercise (course.yaml, read by autograder/authored.py; on the students'
    side, from the release's course.json) beside the kit's: found by id and by problem like
    them, its graph under its id. EXERCISES stays the kit's own (what is drawn by default)."""
    kit = exercise.id not in AUTHORED and (exercise.id in BY_ID or exercise.graph in GRAPHS)
    if kit:
        raise ValueError(f"{exercise.id}: the kit has an exercise or graph of that name")
    GRAPHS[exercise.graph] = graph
    AUTHORED[exercise.id] = BY_ID[exercise.id] = BY_PROBLEM[exercise.problem] = exercise


def as_contract(exercise):
    """A course's own exercise as data (the release's course.json): what `from_contract` reads back."""
    graph = GRAPHS[exercise.graph]
    return {
        "id": exercise.id,
        "title": graph.title,
        "graph": graph.as_contract(),
        "values": {"stream": exercise.values.stream, "ranges": exercise.values.ranges},
        "answers": {name: list(what) for name, what in exercise.answers.items()},
        "function": exercise.function.id if exercise.function else None,
        "family": [g.as_contract() for g in exercise.family.graphs] if exercise.family else None,
        "keep": [[r.kind, *r.args] for r in exercise.family.keep] if exercise.family else [],
        "per_student": exercise.per_student,
    }


def _graph_from(data, title=""):
    return GraphDescription(
        title, tuple(data["inputs"]), tuple((n, op, tuple(ps)) for n, op, ps in data["gates"])
    )


def from_contract(data):
    """(Exercise, its graph) from as_contract's data."""
    graph = _graph_from(data["graph"], data["title"])
    values = Values(
        data["values"]["stream"],
        {k: tuple(v) for k, v in data["values"]["ranges"].items()},
        tuple((n, n) for n in graph.inputs),
    )
    family = None
    if data.get("family"):
        graphs = tuple(_graph_from(g) for g in data["family"])
        graphs = tuple(g._replace(title=f"{g.output}({', '.join(g.inputs)}) = {g.formula()}") for g in graphs)
        family = Family(data["id"], graphs, tuple(rule(k, *args) for k, *args in data.get("keep", [])))
    exercise = Exercise(
        data["id"],
        data["id"],
        data["id"],
        values,
        {name: tuple(what) for name, what in data["answers"].items()},
        function=Function(data["function"], "small numbers") if data.get("function") else None,
        family=family,
        per_student=bool(data.get("per_student")),
    )
    return exercise, graph
