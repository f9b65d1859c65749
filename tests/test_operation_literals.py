"""An operation is one row of the operation table (solutions/table.py), and nothing else names one:
no module of the kit writes a gate class's name or an operation's symbol in a string literal, so
adding an operation is adding a row (tests/test_new_row.py proves it end to end).

Docstrings and comments may talk about gates; code may not branch on them. Student code as
students write it (demo/, tests/data/) and the tests themselves are not the kit's modules."""

import ast
import re
from pathlib import Path

from solutions.table import OPERATIONS

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("autograder", "solutions")
TEMPLATES = "templates"  # str.format templates of other programs' files, not Python until filled in

# Where a literal is allowed, and why. A file here for one reason does not get the others.
TABLE = {"solutions/table.py": "the operation table itself"}
DESCRIPTIONS = {
    # Exercise descriptions are data written in the table's symbols (as a program is written in its
    # language's operators); solutions/graphs.py checks each against the table at import.
    "solutions/graphs.py": "exercise descriptions, written in the table's symbols",
}
# "+" and "*" are also punctuation: these literals are not operations.
PUNCTUATION = {
    ("autograder/sandbox/runner.py", "*"): "a glob",
    ("autograder/course.py", "*"): "a glob",
    ("autograder/gradescope/bundle.py", "*"): "a glob",
    ("autograder/batch/record.py", "*"): "a glob",
    ("autograder/batch/snapshot.py", "*"): "a glob",
    ("autograder/batch/run.py", "*"): "nbgrader's 'every student' in a path",
    ("autograder/grading/submitted_files.py", "*"): "nbgrader's 'every notebook'",
    ("autograder/hub/names.py", "+"): "a character nbgrader's exchange splits names on",
    ("autograder/hub/exchange.py", "+"): "a character nbgrader's exchange splits names on",
    ("autograder/hub/exchange.py", "*"): "nbgrader's 'any student' value of CourseDirectory.student_id",
    ("autograder/hub/on_submit.py", "+"): "a character nbgrader's exchange splits names on",
    (
        "autograder/hub/on_submit.py",
        "*",
    ): "nbgrader's 'every student' value of CourseDirectory.student_id and its paths",
    ("autograder/reports/exports.py", "+"): "a character a spreadsheet reads as a formula",
    ("autograder/config/describe.py", "+"): "an exponent's sign in a number's repr",
    ("autograder/course.py", "-"): "the separator of a distribution's name ('_' and '-' are one)",
    ("autograder/grading/submitted_files.py", "/"): "a path's separator",
    ("autograder/hub/names.py", "/"): "a character a name may not hold",
    ("autograder/hub/on_submit.py", "log"): "a key of the grading result: its log",
    ("autograder/reports/exports.py", "-"): "a character a spreadsheet reads as a formula",
}


def kit_modules():
    """The kit's own Python files, each once (bpkit/'s links are solutions/'s files)."""
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if not path.is_symlink() and TEMPLATES not in path.parts:
                yield path.relative_to(REPO).as_posix(), path


def docstrings(tree):
    """The string constants that are docstrings (of the module, a class or a function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


# A hyphen and a slash are in every path, option, date and URL the kit writes: as these two symbols
# (subtraction, division) a literal is caught where code branches on it, compared with it or
# keyed on it, not wherever it is written.
EVERYWHERE = {"-", "/"}


def _branched_on(tree):
    """The string constants code compares with (==, in, a match case) or uses as a dict key."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                found.update(id(n) for n in ast.walk(operand) if isinstance(n, ast.Constant))
        elif isinstance(node, ast.Dict):
            found.update(id(k) for k in node.keys if isinstance(k, ast.Constant))
        elif isinstance(node, ast.MatchValue):
            found.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Constant))
    return found


def literals_naming_operations(tree, relative):
    symbols = {op.symbol for op in OPERATIONS}
    class_name = re.compile(r"\b(" + "|".join(re.escape(op.name) for op in OPERATIONS) + r")\b")
    skip = docstrings(tree)
    branched = _branched_on(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        text = node.value
        if text in EVERYWHERE and id(node) not in branched:
            continue
        if relative not in TABLE and class_name.search(text):
            yield node.lineno, text, "a gate class"
        if (
            relative not in TABLE
            and relative not in DESCRIPTIONS
            and text in symbols
            and (relative, text) not in PUNCTUATION
        ):
            yield node.lineno, text, "an operation symbol"


def test_no_module_outside_the_table_names_an_operation():
    found = []
    for relative, path in kit_modules():
        tree = ast.parse(path.read_text())
        found += [
            f"{relative}:{line}: {what} {text!r}"
            for line, text, what in literals_naming_operations(tree, relative)
        ]
    assert not found, "read the operation table (solutions/table.py) instead:\n" + "\n".join(found)


def test_the_allow_list_is_not_stale():
    """Every allowed punctuation literal is still there: an allow-list that outlives its reason
    would hide the next literal written in that file."""
    for (relative, symbol), why in PUNCTUATION.items():
        tree = ast.parse((REPO / relative).read_text())
        assert any(isinstance(n, ast.Constant) and n.value == symbol for n in ast.walk(tree)), (relative, why)


def test_the_check_finds_a_gate_class_and_a_symbol():
    """The check itself, on code that names what it should not."""
    tree = ast.parse('"""A docstring may name AddGate."""\nKIND = {"MulGate": 1}\nif op == "σ":\n    pass\n')
    assert [what for _, _, what in literals_naming_operations(tree, "autograder/x.py")] == [
        "a gate class",
        "an operation symbol",
    ]
    # a slash in a path is punctuation; compared with, it is the division's symbol
    tree = ast.parse('path = root + "/" + name\nif op == "/":\n    pass\nWORDS = {"-": 1}\n')
    assert [line for line, _, _ in literals_naming_operations(tree, "autograder/x.py")] == [2, 4]
