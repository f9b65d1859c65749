"""What a graded cell can reach where the notebook is graded, read from its text alone.

Two rules both sides share, each once: the self-checks and Validate apply them in the student's
own kernel, before submission, and the grader applies them to explain a failure in words the
student can act on.

* A hand-answer cell is graded with the setup cells only (the cells marked setup above it,
  which define the student's numbers): it may use the names those cells define, Python's
  builtins and nothing else. Calling the student's own MatMulGate there works in their kernel
  and fails at grading, so it is said before submission.
* A cell may import the standard library, numpy and the packages the course's grading
  environment installs (course.yaml: grading.packages): the release's course.json lists the
  importable top-level modules. scipy is usually there on JupyterHub and not where the
  notebook is graded.

Nothing here runs the cell: its names come from `symtable` and its imports from `ast`, on the
Python that IPython's transformation makes of it (magics become calls), as a kernel would run.

Shipped to students as bpkit/reach.py (standard library only).
"""

import ast
import builtins
import json
import re
import symtable
from pathlib import Path

from .i18n import N_, STUDENT_WORDS

_ = STUDENT_WORDS.gettext

OUTSIDE_SETUP = N_(
    "This answer cell uses {names}, which the setup cells do not define. Hand answers are graded "
    "with the setup cells only, not after your other cells: write your answers as numbers, or "
    "compute them in this cell from your numbers (numpy is there)."
)
NOT_AVAILABLE = N_("{module} is not available where your notebook is graded; use numpy.")

# Names every cell has without defining them: Python's builtins and what IPython's kernel adds.
ALWAYS_DEFINED = frozenset(dir(builtins)) | {"get_ipython", "display", "In", "Out", "exit", "quit"}


def python_of(source):
    """The Python a kernel runs for a cell's source (IPython's static transformation, where
    IPython is there; the source as it is otherwise)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # the cell fails on its own, with its own error, when it runs
        return source


# Magics that run their code in the notebook's own namespace, so the names it binds are defined
# after the cell (line or cell magic): %time, %%time, %%capture (which also binds its variable),
# %prun, %%prun. %timeit runs its code apart, and binds nothing.
RUN_IN_NAMESPACE = frozenset({"time", "capture", "prun"})


def _magic(node):
    """(name, line, cell or None) of a statement that is only a magic's call, as IPython's
    transformation writes it (get_ipython().run_line_magic(name, line) or
    .run_cell_magic(name, line, cell) with literal arguments); None otherwise."""
    call = node.value if isinstance(node, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return None
    kind = call.func.attr
    args = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if len(args) != len(call.args):
        return None
    if kind == "run_line_magic" and len(args) == 2:
        return args[0], args[1], None
    if kind == "run_cell_magic" and len(args) == 3:
        return args[0], args[1], args[2]
    return None


def _in_namespace(python, depth=0):
    """`python` with each magic that runs code in the notebook's namespace replaced by that code
    (and %%capture's variable bound), as far as names are concerned: what the cell defines and
    reads where it is graded. The rest stays as it is."""
    try:
        tree = ast.parse(python)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return python
    body, changed = [], False
    for node in tree.body:
        magic = _magic(node) if depth < 3 else None
        if magic is None or magic[0] not in RUN_IN_NAMESPACE:
            body.append(node)
            continue
        name, line, cell = magic
        changed = True
        if name == "capture":
            words = [w for w in line.split() if not w.startswith("-")]
            if words and words[-1].isidentifier():
                body += ast.parse(f"{words[-1]} = None").body
        code = cell if cell is not None else ("" if name == "capture" else line)
        try:
            body += ast.parse(_in_namespace(python_of(code), depth + 1)).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the magic's code fails on its own, with its own error
    return ast.unparse(ast.Module(body=body, type_ignores=[])) if changed else python


def _tables(table):
    yield table
    for child in table.get_children():
        yield from _tables(child)


def free_names(python):
    """The global names a cell's Python reads and never binds anywhere in it (in the order
    symtable lists them); [] for a cell that does not compile: it fails with its own error."""
    python = _in_namespace(python)
    try:
        top = symtable.symtable(python, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    read = []
    for table in _tables(top):
        for symbol in table.get_symbols():
            is_global = table is top or symbol.is_global()
            if is_global and symbol.is_referenced() and symbol.get_name() not in bound:
                read.append(symbol.get_name())
    return list(dict.fromkeys(read))


def bound_names(python):
    """The global names a cell binds (assignments, imports, defs, classes; in the code of a magic
    that runs it in the notebook's namespace too)."""
    python = _in_namespace(python)
    try:
        top = symtable.symtable(python, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return sorted(s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported())


def beyond_setup(python, setup_names):
    """The names a hand-answer cell uses that the setup cells do not define (nor Python): what
    fails when it is graded with the setup cells only."""
    allowed = ALWAYS_DEFINED | set(setup_names)
    return [name for name in free_names(python) if name not in allowed]


def imported_modules(python):
    """The top-level modules a cell imports (absolute imports; `from . import x` is no module)."""
    try:
        tree = ast.parse(_in_namespace(python))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module.split(".")[0])
    return list(dict.fromkeys(found))


def not_importable(python, importable):
    """The modules a cell imports that the grading environment does not have."""
    return [m for m in imported_modules(python) if m not in importable]


def _course(course_file=None):
    path = Path(course_file) if course_file else Path(__file__).with_name("course.json")
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return settings if isinstance(settings, dict) else {}


def importable(course_file=None):
    """The top-level modules a notebook may import where it is graded (the release's course.json),
    or None where it does not say (the kit's checkout): nothing is then checked."""
    modules = _course(course_file).get("importable")
    return frozenset(modules) if isinstance(modules, list) else None


def cell_binding(history, names):
    """The latest cell of a kernel's input history (IPython's `In`, the current cell last) that
    binds one of `names`: the cell holding those answers, or None."""
    for python in reversed(list(history)[:-1]):
        if isinstance(python, str) and set(bound_names(python)) & set(names):
            return python
    return None


# ---------------------------------------------------------------- in words


def outside_setup_said(names):
    return _(OUTSIDE_SETUP).format(names=", ".join(names))


def not_available_said(modules):
    return [_(NOT_AVAILABLE).format(module=module) for module in modules]


# The instructor's part of a graded cell in a source notebook (nbgrader's markers): grader code
# that never runs in a student's kernel, so not what the student's cells import.
# The words are joined here, not written out: the release test refuses any shipped file holding
# the marker itself (there it would mean a hidden test had leaked).
_MARKER = "HIDDEN" + " TESTS"
HIDDEN_TESTS = re.compile(rf"^[ \t]*### BEGIN {_MARKER}.*?^[ \t]*### END {_MARKER}[^\n]*$", re.S | re.M)


def history(namespace):
    """The Python of the cells a kernel ran, in order, the current one last (IPython's `In`),
    hidden tests left out."""
    cells = namespace.get("In") if isinstance(namespace, dict) else None
    cells = [c for c in cells if isinstance(c, str)] if isinstance(cells, list) else []
    return [HIDDEN_TESTS.sub("", c) for c in cells]


def hand_cell_said(namespace, names, course_file=None):
    """What would fail where the hand answers `names` are graded, read from the cell that gives
    them (the kernel's history): names the setup cells do not define, modules the grading
    environment lacks. [] when all is well, or nothing tells (no history, no course.json)."""
    python = cell_binding(history(namespace), names)
    if python is None:
        return []
    said = []
    hand = _course(course_file).get("hand_cells", {})
    setups = [cell["setup"] for cell in hand.values() if set(names) & set(cell.get("answers", ()))]
    if setups:
        beyond = beyond_setup(python, setups[0])
        if beyond:
            said.append(outside_setup_said(beyond))
    modules = importable(course_file)
    if modules is not None:
        said += not_available_said(not_importable(python, modules))
    return said


def notebook_imports_said(namespace, course_file=None):
    """Every module the notebook's cells import that the grading environment lacks, in words."""
    modules = importable(course_file)
    if modules is None:
        return []
    missing = [m for python in history(namespace) for m in not_importable(python, modules)]
    return not_available_said(list(dict.fromkeys(missing)))
