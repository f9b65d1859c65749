"""Reading a sanitized submission: which cells a check needs, and which check a graded cell names.

After nbgrader's sanitize pass every locked cell (setup cells and graded cells, hidden
tests included) holds the instructor's source from the gradebook, so what is read here
from locked cells is trusted; answer cells are the student's and are only ever run in
the sandbox.
"""

import ast
import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class GradedCall:
    exercise: str
    check: str


@functools.lru_cache(maxsize=1024)
def graded_call(source):
    """The grade(exercise, check, ...) call in a graded cell's hidden part, or None. Remembered
    by source: a graded cell holds the instructor's text, the same in every submission, and a
    grading process would otherwise parse each one anew per student (24 parses a submission)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "grade"
            and len(node.args) >= 2
            and isinstance(exercise := node.args[0], ast.Constant)
            and isinstance(check := node.args[1], ast.Constant)
            and isinstance(exercise.value, str)
            and isinstance(check.value, str)
        ):
            return GradedCall(exercise.value, check.value)
    return None


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {}) if cell.cell_type == "code" else {}


def is_graded(cell):
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_unanswered(cell):
    """An answer cell the student left as released: its checksum, which OverwriteCells restores
    from the gradebook, still matches. Decides a word (the status "not answered"), never points."""
    from nbgrader.utils import compute_checksum

    meta = nbgrader_meta(cell)
    return bool(meta.get("solution")) and "checksum" in meta and compute_checksum(cell) == meta["checksum"]


def is_setup(cell):
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked")) and str(meta.get("grade_id", "")).startswith("setup")


class Submission:
    """The cells of one sanitized notebook, by grade_id."""

    def __init__(self, nb):
        self.cells = list(nb.cells)
        self.index: dict = {}
        for i, cell in enumerate(self.cells):
            gid = nbgrader_meta(cell).get("grade_id")
            if gid and gid not in self.index:
                self.index[gid] = i

    def left_as_released(self, grade_id):
        """Whether the answer cell `grade_id` is there and unchanged from the release."""
        return grade_id in self.index and is_unanswered(self.cells[self.index[grade_id]])

    def program(self, cell_ids):
        """[(name, source)] to run for a check: the setup cells before the last needed cell,
        in notebook order, then the needed answer cells. Raises KeyError naming a missing cell."""
        missing = [c for c in cell_ids if c not in self.index]
        if missing:
            raise KeyError(missing[0])
        last = max(self.index[c] for c in cell_ids)
        setup = [(nbgrader_meta(c)["grade_id"], c.source) for c in self.cells[:last] if is_setup(c)]
        return setup + [(c, self.cells[self.index[c]].source) for c in cell_ids]


def graded_apart(submission, plan, importable):
    """Why the cells a plan asks for may fail where they are graded, in the student's words
    (bpkit/reach.py, the rule the self-checks and Validate apply before submission): a module
    the grading environment lacks (`importable`: the top-level modules it has), and, in a
    hand-answer cell, names the setup cells graded with it do not define. Read from the text of
    the student's cells: the worker only ran them."""
    from ..bpkit import reach

    said = []
    for ask in plan.asks:
        try:
            program = submission.program(ask.cell_ids)
        except KeyError:
            continue  # said already: the cell is missing
        setup = {"STUDENT_ID"}
        for name, source in program:
            python = reach.python_of(source)
            if name not in ask.cell_ids:
                setup.update(reach.bound_names(python))
                continue
            said += reach.not_available_said(reach.not_importable(python, importable))
            beyond = reach.beyond_setup(python, setup) if plan.by_hand else []
            if beyond:
                said.append(reach.outside_setup_said(beyond))
    return list(dict.fromkeys(said))
