"""Exercises an instructor writes in course.yaml (`exercises:`), read into the same descriptions the
kit's own exercises are (solutions/graphs.py: GraphDescription, Exercise), so that everything the
kit derives for its own (cells, picture, self-check, Validate, hidden test, reference answers,
mistakes, draws, show-values) it derives for these.

A graph is written as Python assignments, one node each, in order:

    q = w * x + b
    f = tanh(q) * y

Every expression is matched against the operation table's Python forms (solutions/table.py: each
row's `python`, "{0} - {1}", "tanh({0})", "{c} * {0}"), so an operation the table gains is one
an instructor may write. An expression of several operations makes intermediate nodes, named in
order n1, n2, ... (skipping names the instructor uses); the free names are the inputs, in the order
they first appear. `-x`, `x - 2` and `x / 2` are written with the table's constant rows (×c, +c).

Every problem found is an `AuthoredProblem` naming the line of the graph (1 = its first line) and
the key, so check-config can report them all in one pass with course.yaml's own line numbers."""

import ast
import builtins
import itertools
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from solutions import graphs as described
from solutions.table import CONSTANT_SUFFIX, OPERATIONS, Operation, operation_of

from .bpkit import acceptance
from .words import _, student_words

ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Names a node or an input cannot take: the student's answer cell assigns each node's name, and a
# function exercise takes the inputs as its parameters, so a builtin (len, max) or a name the
# notebook's setup defines (np, P, the bpkit modules) would be shadowed in the student's kernel.
NOTEBOOK_NAMES = frozenset({"np", "P", "STUDENT_ID", "problems", "pictures", "selfcheck", "bpkit"})
TAKEN_NAMES = NOTEBOOK_NAMES | frozenset(dir(builtins))
MAX_VALUES = 1000  # values one input's range may hold: a hand exercise's numbers are few and small
DRAWS_TRIED = 4000  # draws of an exercise's ranges check-config tries before it says none is accepted


@dataclass(frozen=True)
class AuthoredProblem:
    key: str  # the entry's key: "graph", "values", "answers", "id", ...
    message: str
    line: int | None = None  # within the graph's text (1: its first line); None: the key's own line
    at: tuple[int, ...] = ()  # where within the key's value (vary's class 1, its operation 0: (1, 0))


class GraphError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


# ---------------------------------------------------------------- the graph, from Python


def _placeholder(index: int | str) -> str:
    return f"_{index}"


def _patterns() -> list[tuple[Operation, ast.expr]]:
    """Each row's Python forms as syntax trees, with its arguments as the names _0, _1 and a
    number as _c: what an instructor's expression is matched against, in table order."""
    found = []
    for row in OPERATIONS:
        for form in row.python:
            text = form.format(*[_placeholder(i) for i in range(len(row.inputs))], c=_placeholder("c"))
            found.append((row, ast.parse(text, mode="eval").body))
    return found


PATTERNS = _patterns()


def known_forms(elementwise_only: bool = False) -> str:
    """The operations as an instructor writes them, for an error message: 'a + b, a - b, ...'."""
    forms = []
    for row in OPERATIONS:
        if elementwise_only and not row.kind_of.elementwise:
            continue
        for form in row.python[:1]:
            forms.append(form.format(*"ab"[: len(row.inputs)], c="2"))
    return ", ".join(dict.fromkeys(forms))


def written_name(row: Operation) -> str:
    """How `vary:` names an operation: as the graph writes it, from the row's first Python form;
    a call by its function (max, tanh), an operator by itself (+, /, **2)."""
    form = row.python[0]
    call = re.match(r"^(\w+)\(", form)
    return call.group(1) if call else re.sub(r"\{\d\}|\s", "", form)


# The operations a variant may swap, by the name `vary:` writes: the rows an exercise's graph may
# use (on numbers) whose operation is not fixed by a number written beside it (2 * x, x + 1).
SWAPPABLE = {
    written_name(row): row
    for row in OPERATIONS
    if row.python and row.kind_of.elementwise and not row.constants
}


def vary_of(entry: Any) -> tuple[tuple[tuple[str, ...], ...], list[AuthoredProblem]]:
    """The classes of `vary:` as the table's symbols (solutions/variants.py swaps within them),
    DEFAULT_VARY where it is left out, and the problems found, each at the class or operation."""
    if entry.vary is None:
        return described.DEFAULT_VARY, []
    problems = []
    if not entry.per_student:
        problems.append(
            AuthoredProblem(
                "vary",
                _(
                    "vary names the operations a per-student variant may swap, and this exercise has "
                    "no variants: add per_student: true, or leave vary out"
                ),
            )
        )
    first: dict[str, tuple[int, int]] = {}
    classes = []
    for i, written in enumerate(entry.vary):
        if len(written) < 2:
            problems.append(
                AuthoredProblem(
                    "vary",
                    _(
                        "a class swaps its operations with each other: name at least two, found {found}"
                    ).format(found="[" + ", ".join(written) + "]"),
                    at=(i,),
                )
            )
        rows = []
        for j, name in enumerate(written):
            row = SWAPPABLE.get(name)
            if row is None:
                problems.append(
                    AuthoredProblem(
                        "vary",
                        _("no operation is written {name!r}; the operations: {known}").format(
                            name=name, known=", ".join(SWAPPABLE)
                        ),
                        at=(i, j),
                    )
                )
                continue
            if name in first:
                problems.append(
                    AuthoredProblem(
                        "vary",
                        _(
                            "{name} is named twice (also at vary[{i}][{j}]): an operation swaps within one class"
                        ).format(name=name, i=first[name][0], j=first[name][1]),
                        at=(i, j),
                    )
                )
                continue
            first[name] = (i, j)
            rows.append((name, row))
        if len({len(row.inputs) for _, row in rows}) > 1:
            problems.append(
                AuthoredProblem(
                    "vary",
                    _(
                        "a class swaps operations taking as many inputs each, found {found}: put them "
                        "in classes of their own"
                    ).format(
                        found=", ".join(
                            _("{name} of {n} input(s)").format(name=name, n=len(row.inputs))
                            for name, row in rows
                        )
                    ),
                    at=(i,),
                )
            )
        classes.append(tuple(row.symbol for _, row in rows))
    return tuple(classes), problems


def _is_number(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    )


def _match(pattern: ast.AST, node: ast.AST, bound: dict) -> bool:
    if isinstance(pattern, ast.Name) and pattern.id.startswith("_"):
        key = pattern.id[1:]
        if key == "c":
            if not _is_number(node):
                return False
            bound["c"] = float(node.value)  # type: ignore[attr-defined]
            return True
        if _is_number(node):
            return False  # an argument is a node or an input, never a bare number
        bound[int(key)] = node
        return True
    if type(pattern) is not type(node):
        return False
    for field in pattern._fields:
        if field in ("ctx", "type_comment", "kind"):
            continue
        a, b = getattr(pattern, field, None), getattr(node, field, None)
        if isinstance(a, ast.AST):
            if not isinstance(b, ast.AST) or not _match(a, b, bound):
                return False
        elif isinstance(a, list):
            if not isinstance(b, list) or len(a) != len(b):
                return False
            if not all(_match(x, y, bound) for x, y in zip(a, b)):
                return False
        elif a != b:
            return False
    return True


def _desugared(node: ast.expr, line: int) -> ast.expr:
    """-x, x - 2, x / 2 and 2 / x written with the table's rows: (-1)·x, x + (-2), x · 0.5, 2 · (1 / x)."""
    for field in ("left", "right", "operand"):
        if hasattr(node, field):
            setattr(node, field, _desugared(getattr(node, field), line))
    if isinstance(node, ast.Call):
        node.args = [_desugared(a, line) for a in node.args]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return node.operand
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        if _is_number(node.operand):
            return ast.Constant(-node.operand.value)  # type: ignore[attr-defined]
        return ast.BinOp(ast.Constant(-1), ast.Mult(), node.operand)
    if isinstance(node, ast.BinOp) and _is_number(node.right) and not _is_number(node.left):
        c = node.right.value  # type: ignore[attr-defined]
        if isinstance(node.op, ast.Sub):
            return ast.BinOp(node.left, ast.Add(), ast.Constant(-c))
        if isinstance(node.op, ast.Div):
            if c == 0:
                raise GraphError(line, _("division by the number 0"))
            return ast.BinOp(node.left, ast.Mult(), ast.Constant(1 / c))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _is_number(node.left):
        c = node.left.value  # type: ignore[attr-defined]
        if c != 1 and not _is_number(node.right):
            return ast.BinOp(ast.Constant(c), ast.Mult(), ast.BinOp(ast.Constant(1), ast.Div(), node.right))
    return node


def _check_numbers(expr: ast.expr, line: int) -> None:
    """Every number written is finite (1e400 reads as inf) and not a bool (True * x)."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            raise GraphError(
                line, _("{value} is not a number: write numbers and names only").format(value=node.value)
            )
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, (int, float))
            and not math.isfinite(float(node.value))
        ):
            raise GraphError(line, _("a number too large to compute with: {value}").format(value=node.value))


def _first_use(tree: ast.Module, name: str) -> int:
    """The line where an input first appears."""
    return min((n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name), default=1)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def parse_graph(text: str, title: str = "") -> described.GraphDescription:
    """The graph an exercise's `graph:` text describes. GraphError (with the line, 1 = the text's
    first) for the first problem found."""
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise GraphError(e.lineno or 1, _("not Python: {why}").format(why=e.msg)) from None
    if not tree.body:
        raise GraphError(1, _("the graph is empty: write one assignment per line, e.g. q = x + y"))
    assigned: dict[str, int] = {}
    for statement in tree.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            raise GraphError(
                statement.lineno,
                _("each line assigns one name, e.g. q = x + y; found {code!r}").format(
                    code=ast.get_source_segment(text, statement)
                ),
            )
        name = statement.targets[0].id
        if name in assigned:
            raise GraphError(
                statement.lineno,
                _("{name} is assigned twice (lines {first} and {second}): each node once").format(
                    name=name, first=assigned[name], second=statement.lineno
                ),
            )
        if name.startswith("_"):
            raise GraphError(
                statement.lineno, _("a node's name starts with a letter: {name}").format(name=name)
            )
        assigned[name] = statement.lineno
    taken = set(assigned) | {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    fresh = (f"n{k}" for k in itertools.count(1) if f"n{k}" not in taken)
    inputs: list[str] = []
    gates: list[tuple[str, str, tuple[str, ...]]] = []
    defined: set[str] = set()
    gate_line: dict[str, int] = {}  # each node's line, the intermediate ones' too

    def node_of(expr: ast.expr, line: int, name: str | None) -> str:
        if isinstance(expr, ast.Name):
            if expr.id in assigned and expr.id not in defined:
                raise GraphError(
                    line,
                    _("{name} is used before the line that assigns it ({name} = ...)").format(name=expr.id),
                )
            if expr.id not in assigned and expr.id not in inputs:
                if expr.id.startswith("_"):
                    raise GraphError(
                        line, _("an input's name starts with a letter: {name}").format(name=expr.id)
                    )
                inputs.append(expr.id)
            if name is not None:
                raise GraphError(
                    line,
                    _("{name} = {other} computes nothing: a node is an operation on its inputs").format(
                        name=name, other=expr.id
                    ),
                )
            return expr.id
        for row, pattern in PATTERNS:
            bound: dict = {}
            if _match(pattern, expr, bound):
                parents = tuple(node_of(bound[i], line, None) for i in range(len(row.inputs)))
                symbol = row.symbol
                if row.constants:
                    symbol = row.symbol.removesuffix(CONSTANT_SUFFIX) + _number(bound["c"])
                node = name if name is not None else next(fresh)
                gates.append((node, symbol, parents))
                gate_line[node] = line
                return node
        raise GraphError(
            line,
            _("no operation of the kit is written {code!r}; the operations: {known}").format(
                code=ast.unparse(expr), known=known_forms()
            ),
        )

    for statement in tree.body:
        assert isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
        name = statement.targets[0].id
        _check_numbers(statement.value, statement.lineno)
        node_of(_desugared(statement.value, statement.lineno), statement.lineno, name)
        defined.add(name)
    for name in [*inputs, *assigned]:
        if name in TAKEN_NAMES:
            raise GraphError(
                assigned.get(name) or _first_use(tree, name),
                _(
                    "{name} is a name the student's notebook already uses (a Python builtin or the "
                    "setup's np, P, problems, pictures, selfcheck): call the node or input something else"
                ).format(name=name),
            )
    output = gates[-1][0]
    used = {p for _, _, parents in gates for p in parents}
    for name, line in assigned.items():
        if name != output and name not in used:
            raise GraphError(
                line,
                _(
                    "{name} is computed but nothing uses it: the last line's {output} is the graph's output"
                ).format(name=name, output=output),
            )
    graph = described.GraphDescription("", tuple(inputs), tuple(gates))
    for node, symbol, parents in gates:
        row = operation_of(symbol)[0]
        if not row.kind_of.elementwise:
            raise GraphError(
                gate_line[node],
                _(
                    "{formula} works on arrays, and an exercise's values are numbers: write the graph "
                    "with the operations on numbers ({known})"
                ).format(
                    formula=described.gate_expression(graph, node), known=known_forms(elementwise_only=True)
                ),
            )
        if len(set(parents)) < len(parents):
            raise GraphError(
                gate_line[node],
                _(
                    "{node} = {formula} reads {name} twice: a gate's inputs are different nodes "
                    "(for a square write {name} ** 2)"
                ).format(
                    node=node,
                    formula=described.gate_expression(graph, node),
                    name=parents[0],
                ),
            )
    return graph._replace(title=title or f"{output}({', '.join(inputs)}) = {graph.formula()}")


# ---------------------------------------------------------------- the whole entry


def answer_of(name: str, graph: described.GraphDescription) -> tuple[str, str] | None:
    """What an answer variable asks: a node's name is its value; d<output>d<node> its gradient."""
    nodes = [n for n, _, _ in graph.gates]
    if name in nodes:
        return ("value", name)
    prefix = f"d{graph.output}d"
    if name.startswith(prefix) and name[len(prefix) :] in nodes + list(graph.inputs):
        return ("grad", name[len(prefix) :])
    return None


def values_of(ranges: dict, graph: described.GraphDescription) -> tuple[described.Values | None, list[str]]:
    """The draw of an exercise's inputs, each in its own range [lo, hi] or [lo, hi, step], and the
    problems found."""
    problems = []
    missing = [n for n in graph.inputs if n not in ranges]
    extra = [n for n in ranges if n not in graph.inputs]
    if missing:
        problems.append(_("no range for the input(s) {names}").format(names=", ".join(missing)))
    if extra:
        problems.append(
            _("{names}: not an input of the graph (its inputs: {inputs})").format(
                names=", ".join(extra), inputs=", ".join(graph.inputs)
            )
        )
    parsed = {}
    for name, value in ranges.items():
        if name in extra:
            continue
        if not (isinstance(value, (list, tuple)) and len(value) in (2, 3)):
            problems.append(
                _("{name}: expected [lo, hi] or [lo, hi, step], found {value!r}").format(
                    name=name, value=value
                )
            )
            continue
        lo, hi, step = (*value, 1)[:3]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi, step)):
            problems.append(_("{name}: expected numbers, found {value!r}").format(name=name, value=value))
            continue
        count = (hi - lo) / step if step > 0 else -1
        if not (lo < hi and step > 0 and abs(count - round(count)) < 1e-9):
            problems.append(
                _("{name}: expected lo < hi and a step that divides hi - lo, found {value!r}").format(
                    name=name, value=value
                )
            )
            continue
        if round(count) + 1 > MAX_VALUES:
            problems.append(
                _(
                    "{name}: {lo} to {hi} by {step} is {n} values, at most {most}: a hand exercise's "
                    "numbers are few and small (widen the step or narrow the range)"
                ).format(name=name, lo=lo, hi=hi, step=step, n=round(count) + 1, most=MAX_VALUES)
            )
            continue
        parsed[name] = (lo, hi, step)
    if problems:
        return None, problems
    return described.Values("ranges", parsed, tuple((n, n) for n in graph.inputs)), []


def hidden_mistakes(graph, values, answers, keep=()) -> str | None:
    """Why no draw of these ranges is accepted (bpkit/acceptance.py's rule), or None when one is: the
    draws are tried in a fixed shuffled order, as many as DRAWS_TRIED."""
    grid = [
        [lo + k * step for k in range(round((hi - lo) / step) + 1)]
        for lo, hi, step in (values.ranges[n] for n in graph.inputs)
    ]
    total = int(np.prod([len(g) for g in grid]))
    rng = np.random.default_rng(0)
    picks = (
        itertools.product(*grid)
        if total <= DRAWS_TRIED
        else (tuple(g[rng.integers(len(g))] for g in grid) for _ in range(DRAWS_TRIED))
    )
    shown: dict[tuple, int] = {}
    usable = 0
    edge = None
    for draw in picks:
        inputs = dict(zip(graph.inputs, (_as_drawn(v) for v in draw)))
        if acceptance.accepted(graph, inputs, answers, keep):
            return None
        evaluation = acceptance.Evaluation(graph, inputs)
        if evaluation.outside is not None:
            edge = edge or evaluation.outside
            continue
        if evaluation.at_kink():
            continue
        usable += 1
        for key, visible in acceptance.mistakes_shown(evaluation, answers).items():
            shown[key] = shown.get(key, 0) + int(visible)
    if usable == 0:
        row = _row_at(graph, edge) if edge else None
        if row is not None and row.kind_of.domain is not None:
            return _("every draw leaves the domain of {node} = {formula}: {domain}").format(
                node=edge,
                formula=described.gate_expression(graph, edge),
                domain=student_words(row.kind_of.domain.words),
            )
        return _("every draw sits on a kink (a max tie or a ReLU at 0)")
    never = [(mid, node) for (mid, node), n in shown.items() if n == 0]
    mid, node = never[0] if never else min(shown, key=lambda k: shown[k])
    how = (
        _("in no draw")
        if never
        else _("in {n} of {total} draws only").format(n=shown[(mid, node)], total=usable)
    )
    where = (
        f"{node} = {described.gate_expression(graph, node)}"
        if node in {n for n, _, _ in graph.gates}
        else student_words(node)  # a branch kept alone (acceptance.BRANCH) is made at no one node
    )
    return _(
        "no draw of these ranges shows every mistake: {mistake} at {where} changes the answers {how}; "
        "widen the ranges or ask for more answers"
    ).format(mistake=mid, where=where, how=how)


def _row_at(graph, node):
    return operation_of(graph.operation(node))[0]


def _as_drawn(value: float) -> Any:
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True)
class Authored:
    """One course.yaml exercise, read."""

    exercise: described.Exercise
    graph: described.GraphDescription
    notebook: str
    title: str
    points: float


def read_entry(
    entry: Any, kit_ids: Iterable[str], notebooks: Iterable[str]
) -> tuple[Authored | None, list[AuthoredProblem]]:
    """One `exercises:` entry (the schema's AuthoredExercise) read, or the problems that refuse it."""
    problems: list[AuthoredProblem] = []
    if not ID.match(entry.id):
        problems.append(
            AuthoredProblem(
                "id", _("an id is letters, digits and _, starting with a letter: {id!r}").format(id=entry.id)
            )
        )
    for key, name in (("id", entry.id), ("function", entry.function)):
        if name is not None and name in set(kit_ids):
            problems.append(
                AuthoredProblem(
                    key, _("{id} is the id of one of the kit's exercises: choose another").format(id=name)
                )
            )
    if entry.function is not None and entry.function == entry.id:
        problems.append(
            AuthoredProblem(
                "function",
                _(
                    "{id} is the exercise's own id: its function is another cell and needs another name"
                ).format(id=entry.id),
            )
        )
    known = list(notebooks)
    if entry.notebook not in known:
        problems.append(
            AuthoredProblem(
                "notebook",
                _("no assignment has a notebook {name} (notebooks: {known})").format(
                    name=entry.notebook, known=", ".join(known)
                ),
            )
        )
    try:
        graph = parse_graph(entry.graph, entry.title)
    except GraphError as e:
        problems.append(AuthoredProblem("graph", str(e), e.line))
        return None, problems
    answers: dict[str, tuple[str, str]] = {}
    for name in entry.answers:
        if name in answers:
            problems.append(
                AuthoredProblem("answers", _("{name} is asked twice: each answer once").format(name=name))
            )
            continue
        asked = answer_of(name, graph)
        if asked is None:
            nodes = [n for n, _, _ in graph.gates]
            problems.append(
                AuthoredProblem(
                    "answers",
                    _(
                        "{name} names no node: a node's name asks its value ({nodes}), d{output}dNODE its gradient"
                    ).format(name=name, nodes=", ".join(nodes), output=graph.output),
                )
            )
        else:
            answers[name] = asked
    values, wrong = values_of(entry.values, graph)
    problems += [AuthoredProblem("values", w) for w in wrong]
    vary, wrong_vary = vary_of(entry)
    problems += wrong_vary
    if problems or values is None:
        return None, problems
    if entry.function:
        # A node with a number (2 · x, x + 1) needs no gate cell: the student computes it and its
        # gradient in the function itself (notebooks.py's solution does; the method check scales
        # only the gates' cells). Another operation without a cell (exp, 1 / x) cannot be built.
        ungraded = [
            (n, described.gate_expression(graph, n))
            for n, op, _ in graph.gates
            if operation_of(op)[0].graded is None and not operation_of(op)[0].constants
        ]
        if ungraded:
            problems.append(
                AuthoredProblem(
                    "function",
                    _(
                        "a function is built from gate cells, and {nodes} has no gate cell: leave "
                        "function out, or write the graph with operations that have one ({known})"
                    ).format(
                        nodes=", ".join(f"{n} = {formula}" for n, formula in ungraded),
                        known=", ".join(
                            row.python[0].format(*"ab"[: len(row.inputs)])
                            for row in OPERATIONS
                            if row.graded is not None and row.kind_of.elementwise
                        ),
                    ),
                )
            )
    family = None
    if entry.per_student:
        from solutions.variants import FamilyRefused

        try:
            family = described.family(entry.id, graph, vary=vary)
        except FamilyRefused as e:
            problems.append(AuthoredProblem("per_student", e.said(student_words)))
    if problems:
        return None, problems
    for drawn in family.graphs if family is not None else (graph,):
        hidden = hidden_mistakes(drawn, values, answers, family.keep if family is not None else ())
        if hidden:
            where = "" if family is None else _(" (on the variant {formula})").format(formula=drawn.title)
            return None, [AuthoredProblem("values", hidden + where)]
    exercise = described.Exercise(
        entry.id,
        entry.id,
        entry.id,
        values,
        answers,
        function=described.Function(entry.function, "small numbers") if entry.function else None,
        family=family,
        per_student=bool(entry.per_student),
    )
    return Authored(exercise, graph, entry.notebook, entry.title or graph.title, entry.points), []


# ---------------------------------------------------------------- into the course


def install(read: Iterable[Authored]) -> None:
    """The course's own exercises found by id wherever the kit's are (solutions/graphs.py and
    autograder/exercises.py: register); the caches drawn before them forgotten."""
    from . import exercises, notebooks
    from .bpkit import graphs as shipped
    from .bpkit import problems

    for a in read:
        described.register(a.exercise, a.graph)
        exercises.register(a.exercise)
        # bpkit's copy of solutions/graphs.py (what draws and pictures read) gets it as the
        # students' side does: from the release's data
        shipped.register(*shipped.from_contract(described.as_contract(a.exercise)))
    notebooks.answer_shapes_by_exercise.cache_clear()
    notebooks._array_groups.cache_clear()
    problems._drawn.cache_clear()


def _cell(kind: str, grade_id: str, **metadata: Any) -> str:
    extra = "".join(f" {k}={json.dumps(v)}" for k, v in metadata.items() if v is not None)
    return f'\n# %% kind="{kind}" grade_id="{grade_id}"{extra}\n'


def _markdown(text: str) -> str:
    return "\n# %% [markdown]\n" + "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


def authored_cells(course: Any, assignment: Any, notebook: str, path: Any) -> str:
    """The cells course.yaml adds to one notebook, in its jupytext form, after the notebook's own:
    the gate cells the assignment asks for (`gates:`, in its first notebook) and those the
    exercises' functions need that the notebook lacks, then each exercise put in this notebook:
    its prose frame, setup, picture, answer cell, self-check and graded cell, and its function's."""
    from . import notebooks
    from .exercises import BY_ID as HAND
    from .exercises import FUNCTIONS_BY_ID

    text = Path(path).read_text() if Path(path).is_file() else ""
    have = set(re.findall(r'grade_id="([^"]+)"', text))
    wanted = [g + "_gate" for g in assignment.gates] if notebook == assignment.notebooks[0] else []
    mine = [a for a in course.authored if a.notebook == notebook]
    for a in mine:
        if a.exercise.function is not None:
            wanted += list(FUNCTIONS_BY_ID[a.exercise.function.id].needs_for(course.graphs))
    out = "".join(_cell("gate", gate) for gate in dict.fromkeys(wanted) if gate not in have)
    for a in mine:
        e, fn = a.exercise, a.exercise.function
        hand = HAND[e.id]
        shape = hand.shape(course.graphs)
        hand_words, function_words = notebooks.authored_frame(
            a.title,
            shape.graphs[0].formula() if len(shape.graphs) == 1 else a.graph.title,
            list(shape.answers),
            fn.id if fn is not None else None,
            a.graph.output,
            [f"d{n}" for n in a.graph.inputs],
            [
                f"{n} = {described.gate_expression(a.graph, n)}"
                for n, op, _ in a.graph.gates
                if operation_of(op)[0].constants
            ],
        )
        out += _markdown(hand_words)
        out += _cell("setup", f"setup_{e.id}", exercise=e.id)
        out += _cell("display", f"picture_{e.id}", exercise=e.id)
        out += _cell("solution", e.id)
        out += _cell("selfcheck", f"selfcheck_{e.id}")
        out += _cell("test", f"test_{e.id}", points=a.points, title=a.title)
        if fn is not None and function_words is not None:
            out += _markdown(function_words)
            out += _cell("solution", fn.id)
            out += _cell("selfcheck", f"selfcheck_{fn.id}")
            out += _cell("test", f"test_{fn.id}", points=2, title=fn.id)
    return out


def uninstall() -> None:
    """Every course exercise registered in this process forgotten (a test that loaded a course
    with its own exercises leaves the kit's registries as it found them)."""
    from . import exercises, notebooks
    from .bpkit import graphs as shipped
    from .bpkit import problems

    for module in (described, shipped):
        for e in list(module.AUTHORED.values()):
            module.GRAPHS.pop(e.graph, None)
            module.BY_ID.pop(e.id, None)
            module.BY_PROBLEM.pop(e.problem, None)
        module.AUTHORED.clear()
    kit = {e.id for e in described.EXERCISES}
    for registry in (exercises.BY_ID, exercises.HAND_ANSWERS):
        for name in [n for n, e in registry.items() if getattr(e, "problem", None) and n not in kit]:
            registry.pop(name)
    kit_functions = {e.id for e in exercises.FUNCTIONS}
    for name in [n for n in exercises.FUNCTIONS_BY_ID if n not in kit_functions]:
        exercises.FUNCTIONS_BY_ID.pop(name)
    notebooks.answer_shapes_by_exercise.cache_clear()
    notebooks._array_groups.cache_clear()
    problems._drawn.cache_clear()
