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
  gate        expanded from the gate table: the class with its reference methods between
              solution markers, its test cells and its self-check
  test        a graded cell; its body is generated: the exercise's title (header key
              title="..."; gates get theirs from the table), a comment saying what is
              checked, the visible bpkit.validate line that Validate runs in the
              student's kernel (unfinished or self-contradicting work fails it) and,
              between hidden-test markers, the call the grader reads to know which check
              to run (in the instructor's kernel it runs that check in-process)

Gate knowledge is not written in the notebook: `gate` cells come from solutions.table.
"""
import ast
import functools
import inspect
import textwrap
from pathlib import Path

import jupytext
import nbformat
import numpy as np

from solutions.table import BY_GRADE_ID as GATES

from .exercises import BY_ID as HAND_EXERCISES, JACOBIAN_ANSWERS
from .grading.feedback import TITLE_PREFIX  # the first line of every graded cell: feedback reads the title
from .grading.registry import TEST_DEFAULT_POINTS, describe_check, gate_checks

KINDS = ("student_id", "setup", "display", "selfcheck", "solution", "gate", "test")


class NotebookSourceError(ValueError):
    pass


def render(source_path):
    """The nbgrader source notebook for one jupytext script, with the notebook's default
    points (course.yaml's overrides are spread over it by apply_points)."""
    source_path = Path(source_path)
    nb = jupytext.read(source_path, fmt="py:percent")
    cells = []
    for index, cell in enumerate(nb.cells):
        kind = cell.metadata.pop("kind", None)
        if cell.cell_type == "markdown" or kind is None:
            cells.append(_plain(cell))
            continue
        if kind not in KINDS:
            raise NotebookSourceError(f"{source_path}: cell {index + 1} has kind={kind!r}; expected one of {', '.join(KINDS)}")
        grade_id = cell.metadata.get("grade_id")
        if not grade_id:
            raise NotebookSourceError(f"{source_path}: cell {index + 1} (kind={kind}) has no grade_id")
        cells.extend(_expand(kind, grade_id, cell, source_path))
    out = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": nb.metadata.get("kernelspec", {
        "display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"})})
    _check_unique_ids(out, source_path)
    with_validate_summary(out)
    return out


VALIDATE_SUMMARY = ("# Validate's report on the whole notebook: it fails here, once, listing every\n"
                    "# unfinished exercise, then the first problem in detail.\n"
                    "validate.summary()\n")


def with_validate_summary(nb):
    """The notebook's last graded cell also runs bpkit.validate.summary(), after its own check:
    Validate then fails in that one place for the whole notebook (bpkit/validate.py says why)."""
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
              and not c.metadata["nbgrader"].get("solution") and "from bpkit import validate" in c.source]
    if graded:
        last = graded[-1]
        last.source = last.source.replace("### BEGIN HIDDEN TESTS", VALIDATE_SUMMARY + "### BEGIN HIDDEN TESTS", 1)


def _plain(cell):
    cell.metadata.pop("lines_to_next_cell", None)
    if cell.cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(cell.source)
    return nbformat.v4.new_code_cell(cell.source)


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"schema_version": 3, "grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _code(source, grade_id, **flags):
    return nbformat.v4.new_code_cell(source, metadata=_nbgrader(grade_id, **flags))


def _expand(kind, grade_id, cell, source_path):
    if kind == "student_id":
        return [nbformat.v4.new_code_cell(cell.source)]
    if kind in ("setup", "display", "selfcheck"):
        c = _code(cell.source, grade_id, locked=True)
        c.metadata["bpkit"] = {"kind": kind}
        return [c]
    if kind == "solution":
        if "### BEGIN SOLUTION" not in cell.source:
            raise NotebookSourceError(f"{source_path}: solution cell {grade_id!r} has no ### BEGIN SOLUTION")
        source = cell.source
        if grade_id in answer_shapes_by_exercise():
            source = unanswered_lines(answer_shapes_by_exercise()[grade_id]) + source
        return [_code(source, grade_id, solution=True)]
    if kind == "test":
        exercise = grade_id.removeprefix("test_")
        points = cell.metadata.get("points", TEST_DEFAULT_POINTS)
        return [test_cell(exercise, "answers_or_function", points, grade_id, title=cell.metadata.get("title"))]
    if kind == "gate":
        if grade_id not in GATES:
            raise NotebookSourceError(f"{source_path}: gate cell {grade_id!r} is not in the gate table "
                                      f"(known: {', '.join(GATES)})")
        return gate_cells(GATES[grade_id])
    raise AssertionError(kind)


def test_cell(exercise, check, points, grade_id=None, title=None):
    """A graded cell: its title, what is checked, the visible line Validate runs, and the
    hidden call naming the check."""
    if check == "answers_or_function":
        check = "function" if exercise.endswith("_with_gates") else "answers"
    title = " ".join(str(title or default_title(exercise, check)).split())
    description = textwrap.fill(describe_check(exercise, check), 80, initial_indent="# ", subsequent_indent="# ")
    source = (
        f"{TITLE_PREFIX}{title}\n"
        "# Graded after you submit, outside your kernel, on inputs you have not seen:\n"
        f"{description}\n"
        "# Validate runs the lines below: they fail while this exercise is unfinished\n"
        "# or your code disagrees with itself (they never tell whether it is right).\n"
        "from bpkit import validate\n"
        f"{validate_call(exercise, check, title)}\n"
        "### BEGIN HIDDEN TESTS\n"
        f"from autograder.grading.inprocess import grade; grade({exercise!r}, {check!r}, globals(), points={points!r})\n"
        "### END HIDDEN TESTS"
    )
    return _code(source, grade_id or f"test_{exercise}_{check}", grade=True, locked=True, points=points)


def default_title(exercise, check):
    if exercise in GATES:
        return f"{GATES[exercise].name}.{'backward on ties' if check == 'ties' else check}"
    return exercise


def validate_call(exercise, check, title):
    """The visible call of a graded cell (bpkit/validate.py), wrapped at 80 columns so that
    `nbgrader validate` shows it whole."""
    if exercise in GATES:
        head, args = "validate.gate(", [repr(exercise), repr(check), "globals()", f"title={title!r}"]
    elif check == "function":
        head, args = "validate.function(", [repr(exercise), "globals()", f"title={title!r}"]
    else:
        shapes = answer_shapes_by_exercise()[exercise]
        head, args = "validate.answers(", [repr(exercise), "globals()", f"title={title!r}", "shapes=dict("] + [
            f"{name}={shape!r}" for name, shape in shapes.items()]
    lines, line = [], head
    for i, arg in enumerate(args):
        text = arg + ("" if arg.endswith("(") or i == len(args) - 1 else ", ")
        if len(line) + len(text.rstrip()) > 80:
            lines.append(line.rstrip())
            line = " " * len(head)
        line += text
    closing = "))" if check == "answers" and exercise not in GATES else ")"
    return "\n".join(lines + [line + closing])


@functools.lru_cache(maxsize=1)
def answer_shapes_by_exercise():
    """{hand exercise id: {answer name: shape}}, in the order students give them. Shapes do not
    depend on the numbers, so any student's numbers tell them."""
    from .bpkit import problems

    values = problems.draw(0, "shapes", "shapes", problems.PER_COURSE).values
    shapes = {e.id: {name: np.shape(v) for name, v in e.correct(values[e.problem]).items()}
              for e in HAND_EXERCISES.values()}
    shapes["jacobian_question"] = {name: () for name in JACOBIAN_ANSWERS}
    return shapes


def unanswered_lines(shapes):
    """The first lines of a hand exercise's answer cell: every answer set to ..., so the stub
    names what to define and an answer left from an earlier part cannot pass for this one."""
    kind = "a number or a numpy array of the shape asked for" if any(shapes.values()) else "a number"
    return (f"# Your answers: replace each ... with {kind},\n"
            "# and delete the YOUR CODE HERE lines.\n"
            + "".join(f"{name} = ...\n" for name in shapes))


def gate_cells(spec):
    """The class cell (reference method bodies between solution markers), its tests and its self-check."""
    selfcheck = _code(f"selfcheck.gate({spec.name})", f"selfcheck_{spec.grade_id}", locked=True)
    selfcheck.metadata["bpkit"] = {"kind": "selfcheck"}
    cells = [_code(class_with_solution_markers(spec.cls), spec.grade_id, solution=True), selfcheck]
    return cells + [test_cell(spec.grade_id, check, points) for check, points in gate_checks(spec)]


def class_with_solution_markers(cls):
    """The reference class's source with every method body between solution markers, so that
    nbgrader's ClearSolutions leaves the signatures and docstrings and removes the code."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    tree = ast.parse(source)
    inserts = []  # (line index, text), applied bottom-up
    for node in tree.body[0].body:
        if not isinstance(node, ast.FunctionDef) or node.name == "__init__":
            continue
        body = node.body
        first = body[1] if ast.get_docstring(node) and len(body) > 1 else body[0]
        indent = " " * first.col_offset
        inserts.append((node.end_lineno, f"{indent}### END SOLUTION"))
        inserts.append((first.lineno - 1, f"{indent}### BEGIN SOLUTION"))
    for at, text in sorted(inserts, reverse=True):
        lines.insert(at, text)
    return "import numpy as np\n\n\n" + "\n".join(lines)


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
    cells = {}
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
