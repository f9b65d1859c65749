"""Render assignments/<name>.py (jupytext percent scripts) into nbgrader source notebooks.

A cell's header says what it is (`# %% kind="solution" grade_id="simple_by_hand"`):

  kind        becomes
  ----------  ---------------------------------------------------------------------------
  markdown    itself
  student_id  a plain code cell the student edits (their id, when not on JupyterHub)
  setup       a locked cell; the graded runs execute it too (it defines problem values)
  display     a locked cell shown to students only (pictures)
  selfcheck   a locked cell running bpkit.selfcheck on the student's code
  solution    an answer cell (### BEGIN/END SOLUTION inside); for a hand-computed exercise
              the release keeps a first line setting every answer to ... (not answered),
              which names what to define and clears answers left from an earlier part
  gate        expanded from the operation table: the class with its reference methods between
              solution markers, its test cells and its self-check
  test        a graded cell; its body is generated: the exercise's title (header key
              title="..."; gates get theirs from the table), a comment saying what is
              checked, the visible bpkit.validate line that Validate runs in the
              student's kernel (unfinished or self-contradicting work fails it) and,
              between hidden-test markers, the call the grader reads to know which check
              to run (in the instructor's kernel it runs that check in-process)

Gate knowledge is not written in the notebook: `gate` cells come from the operation table
(solutions/table.py).
Exercise knowledge neither: a setup, display, selfcheck or solution cell of a hand exercise, of
a function built on its graph or of a question with fixed answers (header key
exercise="simple_by_hand" on setup and display cells; the grade_id says it for the others) is
generated from the exercise's description (solutions/graphs.py, autograder/exercises.py) when
its body is empty, as every such cell of the kit's own notebook is, in both graph modes. A body
written by hand is kept only while the course gives everyone the lecture's graph: where it draws
that exercise's graph per student (course.yaml graphs: per-student), a cell written for one
graph would be wrong. A cell with the header key graphs="lecture" or graphs="per-student" is
kept only in that mode (prose about "the" graph or about "your" graph).
"""

import ast
import copy
import functools
import textwrap
from pathlib import Path

import jupytext
import nbformat
import numpy as np

from solutions import graphs as described
from solutions.table import BY_GRADE_ID as GATES

from .bpkit.i18n import EXERCISE_TITLE, N_, STUDENT_WORDS
from .exercises import BY_ID as GRAPH_EXERCISES
from .exercises import FUNCTIONS_BY_ID, HAND_ANSWERS, FixedAnswers
from .grading.registry import TEST_DEFAULT_POINTS, describe_check, gate_checks

_ = STUDENT_WORDS.gettext

# What the stub nbgrader puts in place of a solution says when it runs (nbgrader_config.py's
# ClearSolutions.code_stub, written in the course's language by course.write_config): the first
# thing a student's Validate or self-check shows of a gate not yet written.
CODE_STUB_MESSAGE = N_("replace this line with your code")

KINDS = ("student_id", "setup", "display", "selfcheck", "solution", "gate", "test")

# The prose frame of an exercise written in course.yaml (autograder/authored.py: authored_cells).
AUTHORED_GRAPH = N_("Your graph: {formula}.")
AUTHORED_HAND = N_(
    "**By hand**, with your numbers (the setup cell below prints them): give {answers}, each as a number."
)
AUTHORED_FUNCTION = N_(
    "**With your gates**: write `{function}`; it returns {output} and the gradients ({gradients}), in that order."
)


AUTHORED_NUMBERS = N_(
    "{nodes} take a number and have no gate: compute them, and their gradients, in the function itself."
)


def authored_frame(title, formula, answers, function=None, output="f", gradients=(), numbered=()):
    """The words around a course.yaml exercise's cells, in the course's language: (the hand
    exercise's markdown, the function's markdown or None). `numbered`: the nodes with a number
    (q = 2 · x), which the function computes without a gate."""
    hand = f"## {title}\n\n" + _(AUTHORED_GRAPH).format(formula=formula) + "\n\n"
    hand += _(AUTHORED_HAND).format(answers=", ".join(answers))
    said = None
    if function is not None:
        said = _(AUTHORED_FUNCTION).format(function=function, output=output, gradients=", ".join(gradients))
        if numbered:
            said += " " + _(AUTHORED_NUMBERS).format(nodes=", ".join(f"`{n}`" for n in numbered))
    return hand, said


class NotebookSourceError(ValueError):
    pass


def render(source_path, graph_mode=described.LECTURE, extra=""):
    """The nbgrader source notebook for one jupytext script, with the notebook's default
    points (course.yaml's overrides are spread over it by apply_points), for a course whose
    graphs are `graph_mode` (course.yaml's graphs). `extra`: cells in the same jupytext form put
    after the script's (course.yaml's own exercises and gates: autograder/authored.py)."""
    source_path = Path(source_path)
    nb = jupytext.reads(source_path.read_text() + extra, fmt="py:percent")
    cells = []
    for index, cell in enumerate(nb.cells):
        only = cell.metadata.pop("graphs", None)
        if only is not None and only not in described.GRAPH_MODES:
            raise NotebookSourceError(
                f"{source_path}: cell {index + 1} has graphs={only!r}; expected one of "
                f"{', '.join(described.GRAPH_MODES)}"
            )
        if only is not None and only != graph_mode:
            continue
        kind = cell.metadata.pop("kind", None)
        if cell.cell_type == "markdown" and cell.metadata.get("exercise"):
            cells.append(_question(cell, source_path))
            continue
        if cell.cell_type == "markdown" or kind is None:
            cells.append(_plain(cell))
            continue
        for key in ("title", "title_per_student"):  # a student reads them: messages, like the prose
            if key in cell.metadata:
                cell.metadata[key] = _(cell.metadata[key])
        if kind not in KINDS:
            raise NotebookSourceError(
                f"{source_path}: cell {index + 1} has kind={kind!r}; expected one of {', '.join(KINDS)}"
            )
        grade_id = cell.metadata.get("grade_id")
        if not grade_id:
            raise NotebookSourceError(f"{source_path}: cell {index + 1} (kind={kind}) has no grade_id")
        cells.extend(
            _expand(
                kind,
                grade_id,
                _derived(kind, grade_id, cell, source_path, graph_mode),
                source_path,
                graph_mode,
            )
        )
    out = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": nb.metadata.get(
                "kernelspec",
                {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            )
        },
    )
    _check_unique_ids(out, source_path)
    with_validate_summary(out)
    return out


def comment(text):
    """Lines of a code cell's comment, in the course's language (each line of the message a line)."""
    return "".join(f"# {line}\n" for line in text.splitlines())


def with_validate_summary(nb):
    """The notebook's last graded cell also runs bpkit.validate.summary(), after its own check:
    Validate then fails in that one place for the whole notebook (bpkit/validate.py says why)."""
    graded = [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
        and "from bpkit import validate" in c.source
    ]
    if graded:
        summary = (
            comment(
                _(
                    "Validate's report on the whole notebook: it fails here, once, listing every\n"
                    "unfinished exercise, then the first problem in detail."
                )
            )
            + "validate.summary()\n"
        )
        last = graded[-1]
        last.source = last.source.replace("### BEGIN HIDDEN TESTS", summary + "### BEGIN HIDDEN TESTS", 1)


def _plain(cell):
    """A markdown or plain code cell. Markdown is the kit's prose when the catalog knows it (the
    kit's own notebook sources: catalogs.py extracts every markdown cell); an instructor's own
    prose is no message id and stays as written."""
    cell.metadata.pop("lines_to_next_cell", None)
    if cell.cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(_(cell.source) if cell.source.strip() else cell.source)
    return nbformat.v4.new_code_cell(cell.source)


def _question(cell, source_path):
    """A markdown cell with the header key exercise="...": the question of a question with fixed
    answers, from its description (autograder/exercises.py), where its numbers and its answers
    are written once."""
    name = cell.metadata.pop("exercise")
    question = HAND_ANSWERS.get(name)
    if not isinstance(question, FixedAnswers) or cell.source.strip():
        known = ", ".join(e.id for e in HAND_ANSWERS.values() if isinstance(e, FixedAnswers))
        raise NotebookSourceError(
            f"{source_path}: markdown cell exercise={name!r}: only an empty cell of a question with "
            f"fixed answers is written from its description (known: {known})"
        )
    return nbformat.v4.new_markdown_cell(question.asked())


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"schema_version": 3, "grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _code(source, grade_id, **flags):
    return nbformat.v4.new_code_cell(source, metadata=_nbgrader(grade_id, **flags))


def _expand(kind, grade_id, cell, source_path, graph_mode=described.LECTURE):
    if kind == "student_id":
        return [nbformat.v4.new_code_cell(cell.source)]
    if kind in ("setup", "display", "selfcheck"):
        c = _code(cell.source, grade_id, locked=True)
        c.metadata["bpkit"] = {"kind": kind}
        return [c]
    if kind == "solution":
        if "### BEGIN SOLUTION" not in cell.source:
            raise NotebookSourceError(f"{source_path}: solution cell {grade_id!r} has no ### BEGIN SOLUTION")
        source = function_docstrings_said(cell.source)
        if grade_id in answer_shapes_by_exercise(graph_mode):
            source = unanswered_lines(answer_shapes_by_exercise(graph_mode)[grade_id]) + source
        return [_code(source, grade_id, solution=True)]
    if kind == "test":
        exercise = grade_id.removeprefix("test_")
        points = cell.metadata.get("points", TEST_DEFAULT_POINTS)
        title = cell.metadata.get("title")
        if graph_mode == described.PER_STUDENT and exercise in GRAPH_EXERCISES | FUNCTIONS_BY_ID:
            title = cell.metadata.get("title_per_student", title)  # the student's own graph
        return [
            test_cell(exercise, "answers_or_function", points, grade_id, title=title, graph_mode=graph_mode)
        ]
    if kind == "gate":
        if grade_id not in GATES:
            raise NotebookSourceError(
                f"{source_path}: gate cell {grade_id!r} is not in the gate table (known: {', '.join(GATES)})"
            )
        return gate_cells(GATES[grade_id])
    raise AssertionError(kind)


def test_cell(exercise, check, points, grade_id=None, title=None, graph_mode=described.LECTURE):
    """A graded cell: its title, what is checked, the visible line Validate runs, and the
    hidden call naming the check."""
    if check == "answers_or_function":
        check = "function" if exercise.endswith("_with_gates") else "answers"
    title = " ".join(str(title or default_title(exercise, check)).split())
    description = textwrap.fill(
        describe_check(exercise, check), 80, initial_indent="# ", subsequent_indent="# "
    )
    source = (
        _(EXERCISE_TITLE).format(title=title)
        + "\n"
        + comment(_("Graded after you submit, outside your kernel, on inputs you have not seen:"))
        + f"{description}\n"
        + comment(
            _(
                "Validate runs the lines below: they fail while this exercise is unfinished\n"
                "or your code disagrees with itself (they never tell whether it is right)."
            )
        )
        + "from bpkit import validate\n"
        f"{validate_call(exercise, check, title, graph_mode)}\n"
        "### BEGIN HIDDEN TESTS\n"
        f"from autograder.grading.inprocess import grade; grade({exercise!r}, {check!r}, globals(), points={points!r})\n"
        "### END HIDDEN TESTS"
    )
    return _code(source, grade_id or f"test_{exercise}_{check}", grade=True, locked=True, points=points)


def default_title(exercise, check):
    if exercise in GATES:
        return (
            _("{gate}.backward on ties").format(gate=GATES[exercise].name)
            if check == "ties"
            else f"{GATES[exercise].name}.{check}"
        )
    return exercise


def validate_call(exercise, check, title, graph_mode=described.LECTURE):
    """The visible call of a graded cell (bpkit/validate.py), wrapped at 80 columns so that
    `nbgrader validate` shows it whole."""
    if exercise in GATES:
        head, args = "validate.gate(", [repr(exercise), repr(check), "globals()", f"title={title!r}"]
    elif check == "function":
        head, args = "validate.function(", [repr(exercise), "globals()", f"title={title!r}"]
    else:
        shapes = answer_shapes_by_exercise(graph_mode)[exercise]
        head, args = (
            "validate.answers(",
            [repr(exercise), "globals()", f"title={title!r}", "shapes=dict("]
            + [f"{name}={shape!r}" for name, shape in shapes.items()],
        )
    lines, line = [], head
    for i, arg in enumerate(args):
        text = arg + ("" if arg.endswith("(") or i == len(args) - 1 else ", ")
        if len(line) + len(text.rstrip()) > 80:
            lines.append(line.rstrip())
            line = " " * len(head)
        line += text
    closing = "))" if check == "answers" and exercise not in GATES else ")"
    return "\n".join(lines + [line + closing])


@functools.lru_cache(maxsize=2)
def answer_shapes_by_exercise(graph_mode=described.LECTURE):
    """{hand exercise id: {answer name: shape}}, in the order students give them. Shapes do not
    depend on the numbers or on which graph of the family, so any student's tell them."""
    from .bpkit import problems

    graph_exercises = tuple(e.id for e in HAND_ANSWERS.values() if e.problem is not None)  # the course's too
    drawn = problems.draw(
        0, "shapes", "shapes", problems.PER_COURSE, graph_mode=graph_mode, exercises=graph_exercises
    )
    return {
        e.id: {
            name: np.shape(v)
            for name, v in (
                e.correct(drawn.values[e.problem], drawn.graphs[e.problem], graph_mode)
                if e.problem is not None
                else e.correct({})  # the same for everyone: no values to read
            ).items()
        }
        for e in HAND_ANSWERS.values()
    }


# ---------------------------------------------------------------- cells derived from a description


def _exercise_of_cell(kind, grade_id, cell, source_path):
    """(the hand exercise or question, the function exercise or None) a cell belongs to, or None."""
    if kind in ("setup", "display") and cell.metadata.get("exercise"):
        name = cell.metadata["exercise"]
    elif kind == "selfcheck":
        name = grade_id.removeprefix("selfcheck_")
    elif kind == "solution":
        name = grade_id
    else:
        return None
    if name in HAND_ANSWERS:
        return HAND_ANSWERS[name], None
    if name in FUNCTIONS_BY_ID:
        fn = FUNCTIONS_BY_ID[name]
        return GRAPH_EXERCISES[fn.exercise.id], fn
    if kind in ("setup", "display"):
        raise NotebookSourceError(
            f"{source_path}: cell {grade_id!r} names exercise={name!r}, which "
            f"solutions/graphs.py does not describe (known: {', '.join(GRAPH_EXERCISES)})"
        )
    return None


def _derived(kind, grade_id, cell, source_path, graph_mode):
    """The cell, its body generated from the description where it is empty or where the course
    draws this exercise's graph per student."""
    found = _exercise_of_cell(kind, grade_id, cell, source_path)
    if found is None:
        return cell
    hand, fn = found
    drawn_per_student = not isinstance(hand, FixedAnswers) and len(hand.shape(graph_mode).graphs) > 1
    if cell.source.strip() and not drawn_per_student:
        return cell
    writer = CELL_WRITERS.get((kind, isinstance(hand, FixedAnswers)))
    if writer is None:
        raise NotebookSourceError(
            f"{source_path}: cell {grade_id!r} (kind={kind}) is empty and cannot be "
            f"generated from the description of {hand.id!r}, which has no values to set up or draw"
        )
    cell.source = writer(hand, fn, graph_mode)
    return cell


def _setup_source(hand, fn, mode):
    groups = described.group_names(hand.shape(mode).values)
    names = ", ".join(groups)
    lines = [f"{names} = " + ", ".join(f"P.{hand.problem}[{g!r}]" for g in groups)]
    if len(hand.shape(mode).graphs) > 1:
        your_graph = _("Your graph:")
        lines.append(f"print({your_graph!r}, P.graphs[{hand.problem!r}].title)")
    arrays = _array_groups(hand.problem, mode)  # printed as lists: numpy's layout is not the lecture's
    shown = (f"{g}.tolist()" if g in arrays else g for g in groups)
    lines.append('print(f"' + ", ".join(f"{g} = {{{s}}}" for g, s in zip(groups, shown)) + '")')
    return "\n".join(lines)


@functools.lru_cache(maxsize=16)
def _array_groups(problem, graph_mode):
    """The groups of one exercise's values that are numpy arrays (any student's draw tells)."""
    from .bpkit import problems

    exercise = described.BY_PROBLEM[problem].id
    drawn = problems.draw(
        0, "shapes", "shapes", problems.PER_COURSE, graph_mode=graph_mode, exercises=(exercise,)
    )
    return frozenset(g for g, v in drawn.values[problem].items() if isinstance(v, np.ndarray))


def _display_source(hand, fn, mode):
    return f"pictures.your_graph(P, {hand.problem!r})"


def _selfcheck_source(hand, fn, mode):
    shapes = answer_shapes_by_exercise(mode)[hand.id]
    if fn is not None:
        given = [n for n in ("f",) + fn.gradient_names_for(mode) if n in shapes]
        return f"selfcheck.function({fn.id!r}, globals(), answers={_tuple_text(map(repr, given))})"
    arrays = {n: s for n, s in shapes.items() if s}
    extra = f", shapes=dict({', '.join(f'{n}={s!r}' for n, s in arrays.items())})" if arrays else ""
    return f"selfcheck.answers(globals(), {', '.join(map(repr, shapes))}{extra})"


def _solution_source(hand, fn, mode):
    """The reference answers (or function) for the instructor's source notebook, written against
    the student's own graph (P.graphs), so that one cell is right for every student: hand answers
    from bpkit's evaluator of a graph given the exact local gradients of the operations the
    exercise's graphs use (their rows' backward, written out here: a release's bpkit has none),
    the function from the notebook's gates. nbgrader's ClearSolutions removes everything between
    the markers from the release."""
    shape, problem = hand.shape(mode), hand.problem
    if fn is None:
        rows = {row.name: row for g in shape.graphs for row in _rows_of(g)}
        local = [f"    {name!r}: {ast.unparse(_lambda_of(rows[name].backward))}," for name in sorted(rows)]
        lines = [
            "### BEGIN SOLUTION",
            "from bpkit.acceptance import Evaluation",
            "",
            "_local = {  # each operation's exact local gradient: (dout, out, *inputs, *constants) -> d(inputs)",
            *local,
            "}",
            f"_graph = Evaluation(P.graphs[{problem!r}], P.inputs({problem!r}), _local)",
            "_grads = _graph.backward()",
        ]
        lines += [
            f"{name} = _graph.values[{node!r}]" if kind == "value" else f"{name} = _grads[{node!r}]"
            for name, (kind, node) in shape.answers.items()
        ]
        return "\n".join(lines + ["### END SOLUTION"])
    groups = shape.values.groups
    args = [name for name, _ in groups]
    # Each input by name: a group's members need not be in the graph's input order (the neuron's
    # w0, x0, w1, x1, w2 come as w = (w0, w1, w2) and x = (x0, x1)).
    given = ", ".join(
        f"{member!r}: {name}[{i}]" if isinstance(members, tuple) else f"{member!r}: {name}"
        for name, members in groups
        for i, member in enumerate(members if isinstance(members, tuple) else (members,))
    )
    graphs_used = {fn.graph(g, mode) for g in shape.graphs}
    kinds = sorted({op for g in graphs_used for _, op, _ in g.gates})
    # A node with a number (2 · x, x + 1: course.yaml's graphs) has no gate cell: computed here,
    # from its row's forward and local gradient, where the grader's wrappers do not reach.
    numbered = {op: described.operation_of(op) for op in kinds if described.operation_of(op)[0].constants}
    made = ", ".join(
        f"{op!r}: {described.gate_of(op)[0]}"
        if op not in numbered
        else f"{op!r}: lambda: _WithNumber({ast.unparse(_lambda_of(numbered[op][0].forward))}, "
        f"{ast.unparse(_lambda_of(numbered[op][0].backward))}, {numbered[op][1][0]!r})"
        for op in kinds
    )
    with_number = (
        [
            "    class _WithNumber:  # a node with a number: no gate cell, its forward and local gradient here",
            "        def __init__(self, forward, backward, c):",
            "            self._forward, self._backward, self._c = forward, backward, c",
            "",
            "        def forward(self, x):",
            "            self._x, self._out = x, self._forward(x, self._c)",
            "            return self._out",
            "",
            "        def backward(self, dout):",
            "            return self._backward(dout, self._out, self._x, self._c)",
            "",
        ]
        if numbered
        else []
    )
    returned = _tuple_text(
        _tuple_text(f"grads[{m!r}]" for m in members) if isinstance(members, tuple) else f"grads[{members!r}]"
        for _, members in groups
    )
    own = fn.exercise.function.graph  # a lecture graph of its own (the neuron's shortcut), or the student's
    graph = f"bpkit_graphs.GRAPHS[{own!r}]" if own else f"P.graphs[{problem!r}]"
    return "\n".join(
        [
            f"def {fn.id}({', '.join(args)}):",
            f'    """{_function_docstring(fn, mode)}"""',
            "    ### BEGIN SOLUTION",
            *(["    from bpkit import graphs as bpkit_graphs"] if own else []),
            *with_number,
            f"    graph, kinds = {graph}, {{{made}}}",
            f"    values, gates = {{{given}}}, {{}}",
            "    for node, op, parents in graph.gates:",
            "        gates[node] = kinds[op]()",
            "        values[node] = gates[node].forward(*(values[p] for p in parents))",
            "    grads = {graph.output: 1.0}",
            "    for node, op, parents in reversed(graph.gates):",
            "        back = gates[node].backward(grads[node])",
            # a gate of two inputs may return a list: how many gradients come back is its arity
            "        for p, g in zip(parents, back if len(parents) > 1 else (back,)):",
            "            grads[p] = grads[p] + g if p in grads else g  # gradients add at branches",
            f"    return values[graph.output], {returned}",
            "    ### END SOLUTION",
        ]
    )


def _rows_of(graph):
    """The operation table's rows a graph description uses, in its order."""
    return [described.operation_of(op)[0] for _, op, _ in graph.gates]


def _function_docstring(fn, mode):
    """What the released stub of a function exercise says it returns (the def line and this
    docstring are what ClearSolutions leaves): f of its arguments when everyone computes the same
    graph (the prose above the cell shows it), the student's own graph otherwise, and how many
    entries each gradient of a group of inputs has."""
    shape = described.shape(fn.exercise, mode)
    gradients = ", ".join(f"d{name}" for name, _ in shape.values.groups)
    text = (
        _("Return f and the gradients ({gradients}) of your graph, using your gates.")
        if len({fn.graph(g, mode) for g in shape.graphs}) > 1
        else _("Return f and the gradients ({gradients}) of f({arguments}), using your gates.")
    ).format(gradients=gradients, arguments=", ".join(described.group_names(shape.values)))
    sizes = [
        (f"d{name}", len(members)) for name, members in shape.values.groups if isinstance(members, tuple)
    ]
    if sizes:
        text += " " + ", ".join(
            _("{gradient} has {count} entries").format(gradient=g, count=n) for g, n in sizes
        )
        text += "."
    return textwrap.fill(text, 96, subsequent_indent="    ")


def _fixed_solution_source(question, fn, mode):
    """The answers of a question that are the same for everyone, for the instructor's source
    notebook (ClearSolutions removes them from the release)."""
    lines = [f"{name} = {value!r}" for name, value in question.correct().items()]
    return "\n".join(["### BEGIN SOLUTION", *lines, "### END SOLUTION"])


def _tuple_text(items):
    items = list(items)
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


CELL_WRITERS = {  # (kind, a question with fixed answers?): how the cell is written from the description
    ("setup", False): _setup_source,
    ("display", False): _display_source,
    ("selfcheck", False): _selfcheck_source,
    ("solution", False): _solution_source,
    ("selfcheck", True): _selfcheck_source,
    ("solution", True): _fixed_solution_source,
}


def unanswered_lines(shapes):
    """The first lines of a hand exercise's answer cell: every answer set to ..., so the stub
    names what to define and an answer left from an earlier part cannot pass for this one."""
    words = (
        _(
            "Your answers: replace each ... with a number or a numpy array of the shape asked for,\n"
            "and delete the YOUR CODE HERE lines."
        )
        if any(shapes.values())
        else _("Your answers: replace each ... with a number,\nand delete the YOUR CODE HERE lines.")
    )
    return comment(words) + "".join(f"{name} = ...\n" for name in shapes)


def gate_cells(spec):
    """The class cell (the row's forward and local gradient between solution markers), its tests
    and its self-check."""
    selfcheck = _code(f"selfcheck.gate({spec.name})", f"selfcheck_{spec.grade_id}", locked=True)
    selfcheck.metadata["bpkit"] = {"kind": "selfcheck"}
    cells = [_code(class_with_solution_markers(spec), spec.grade_id, solution=True), selfcheck]
    return cells + [test_cell(spec.grade_id, check, points) for check, points in gate_checks(spec)]


def function_docstrings_said(source):
    """A solution cell's source with each of its functions' docstrings (what the released stub says
    the function returns: nbgrader's ClearSolutions keeps it) in the course's language: each is a
    message as it stands (catalogs.extract_notebook_prose)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython's syntax: left as written
        return source
    lines = source.split("\n")
    for node in reversed(tree.body):
        if isinstance(node, ast.FunctionDef) and (text := ast.get_docstring(node, clean=False)) is not None:
            docstring = node.body[0]  # the statement that holds `text`
            said = _(text)
            if said != text:
                lines[docstring.lineno - 1 : docstring.end_lineno] = [
                    f'{" " * docstring.col_offset}"""{said}"""'
                ]
    return "\n".join(lines)


def class_with_solution_markers(row):
    """A row of the operation table as the class students write: its docstring (the row's words,
    in the course's language), forward keeping what backward reads, and backward, each method's
    body between solution markers, so that nbgrader's ClearSolutions leaves the signatures and
    the docstring and removes the code. Written from the row's own forward and backward."""
    forward, backward = _lambda_of(row.forward), _lambda_of(row.backward)
    given = (*row.inputs, *row.constants)
    dout, out = (a.arg for a in backward.args.args[:2])
    own = {a.arg: f"self.{name}" for a, name in zip(backward.args.args[2:], given)} | {out: "self.out"}
    read = {n.id for n in ast.walk(backward.body) if isinstance(n, ast.Name)}
    returned = _As(own).visit(copy.deepcopy(backward.body))
    kept = [name for a, name in zip(backward.args.args[2:], row.inputs) if a.arg in read]
    computed = _As(
        {a.arg: name for a, name in zip(forward.args.args, row.inputs)}
        | {a.arg: f"self.{name}" for a, name in zip(forward.args.args[len(row.inputs) :], row.constants)}
    ).visit(copy.deepcopy(forward.body))
    lines = [f"class {row.name}:", f'    """{_(row.doc)}"""', ""]
    if row.constants:
        lines += [f"    def __init__(self, {', '.join(row.constants)}):"]
        lines += [f"        self.{c} = {c}" for c in row.constants] + [""]
    hints = {method: f"        # {_(words)}" for method, words in row.hints}  # kept by ClearSolutions
    lines += [f"    def forward(self, {', '.join(row.inputs)}):", *hints.get("forward", "").splitlines()]
    lines += ["        ### BEGIN SOLUTION"]
    if kept:
        lines.append(f"        {', '.join(f'self.{k}' for k in kept)} = {', '.join(kept)}")
    expression, target = ast.unparse(computed), "self.out" if out in read else "out"
    if row.quiet_overflow:  # exp(1000) is inf, and 1 / (1 + inf) the limit 0: without a warning
        lines += ['        with np.errstate(over="ignore"):', f"            {target} = {expression}"]
        lines += [f"        return {target}"]
    elif out in read:
        lines += [f"        self.out = {expression}", "        return self.out"]
    else:
        lines += [f"        return {expression}"]
    lines += ["        ### END SOLUTION", ""]
    lines += [
        f"    def backward(self, {dout}):",
        *hints.get("backward", "").splitlines(),
        "        ### BEGIN SOLUTION",
    ]
    lines += [f"        return {_returned(returned)}", "        ### END SOLUTION"]
    return "import numpy as np\n\n\n" + "\n".join(lines)


class _As(ast.NodeTransformer):
    """Names of a row's lambda as the class writes them: an input kept by forward is self.x."""

    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        return ast.Name(self.names.get(node.id, node.id), node.ctx)


def _returned(expression):
    """A tuple returned bare, as a method writes it: `return dout * self.y, dout * self.x`."""
    if isinstance(expression, ast.Tuple):
        return ", ".join(
            f"({ast.unparse(e)})" if isinstance(e, ast.IfExp) else ast.unparse(e) for e in expression.elts
        )
    return ast.unparse(expression)


def _lambda_of(function):
    """The lambda a row's forward or backward is, parsed from the table's source (one per line)."""
    if function is None:
        raise NotebookSourceError("a row without its backward (a release's table?) cannot make a gate cell")
    code = function.__code__
    tree = _parsed(code.co_filename)
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno]
    if len(found) != 1:
        raise NotebookSourceError(
            f"{code.co_filename}:{code.co_firstlineno}: a row's forward and backward are one lambda each, on a line of its own"
        )
    return found[0]


@functools.cache
def _parsed(path):
    return ast.parse(Path(path).read_text())


def graded_exercises(nb):
    """The ids of the exercises a notebook grades, in the order of their cells."""
    return list(_graded_cells(nb))


def apply_points(nb, points):
    """Spread course.yaml's per-exercise totals over each exercise's graded cells, in
    proportion to the notebook's defaults. `points` holds the overrides of the whole
    assignment, already checked (Course.points_for): those of exercises this notebook does
    not grade belong to its other notebooks."""
    cells = _graded_cells(nb)
    for exercise, total in points.items():
        metas = cells.get(exercise, [])
        default = sum(m["points"] for m in metas)
        for meta in metas:
            meta["points"] = round(total * meta["points"] / default, 3)


def _graded_cells(nb):
    """{exercise id: the nbgrader metadata of its graded cells}."""
    cells: dict = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cells.setdefault(exercise_of(meta["grade_id"]), []).append(meta)
    return cells


def exercise_of(test_grade_id):
    """test_mul_gate_backward -> mul_gate; test_simple_by_hand -> simple_by_hand."""
    name = test_grade_id.removeprefix("test_")
    for gate_id in GATES:
        if name.startswith(gate_id + "_"):
            return gate_id
    return name


def _check_unique_ids(nb, source_path):
    seen = set()
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid is None:
            continue
        if gid in seen:
            raise NotebookSourceError(f"{source_path}: grade_id {gid!r} is used twice")
        seen.add(gid)
