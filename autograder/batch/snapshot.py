"""What grading one submission needs from the course, read once by the coordinator.

nbgrader's sanitize steps (OverwriteKernelspec, OverwriteCells; the kit's SanitizeCells and
RestoreHiddenTests)
open the gradebook for every notebook to read the *source* notebook: its kernelspec and its
locked cells, hidden tests included. The coordinator reads that once into an
AssignmentSnapshot, plain picklable data, and the grading function works from it alone: it
never touches the gradebook, so it can run in any process or on another machine, and
only the coordinator writes grades.

An AssignmentSnapshot answers the few Gradebook queries those steps make
(`find_notebook`, `find_source_cell`, `find_graded_cell`) with the same objects' fields and
the same MissingEntry, so nbgrader's own OverwriteCells runs on it unchanged.
"""

import py_compile
import tempfile
from dataclasses import dataclass, field
from importlib.util import cache_from_source
from pathlib import Path
from typing import TYPE_CHECKING

from nbgrader.api import Gradebook, MissingEntry

if TYPE_CHECKING:
    from ..config import Course


@dataclass(frozen=True)
class SourceCell:
    name: str
    cell_type: str
    locked: bool
    checksum: str | None
    source: str


@dataclass(frozen=True)
class GradedCell:  # a grade cell or a task cell
    name: str
    max_score: float
    cell_type: str


@dataclass(frozen=True)
class SolutionCell:
    name: str


@dataclass
class NotebookSnapshot:
    name: str
    kernelspec: str | None
    source_cells: list  # [SourceCell], in the gradebook's order (OverwriteCells relies on it)
    grade_cells: list  # [GradedCell]
    solution_cells: list  # [SolutionCell]
    task_cells: list  # [GradedCell]


@dataclass
class AssignmentSnapshot:
    """The source side of one assignment, the course's settings and its pipeline."""

    course_id: str
    assignment: str
    notebooks: dict  # {name: NotebookSnapshot}
    course: "Course"  # course.yaml
    config: object  # the course's nbgrader configuration (traitlets Config)
    helper_files: dict = field(default_factory=dict)  # {"bpkit/...": bytes}: the student-side helpers

    # -- the Gradebook queries nbgrader's sanitize steps make

    def find_notebook(self, name, assignment):
        if assignment != self.assignment or name not in self.notebooks:
            raise MissingEntry(f"No such notebook: {assignment}/{name}")
        return self.notebooks[name]

    def find_source_cell(self, name, notebook, assignment):
        for cell in self.find_notebook(notebook, assignment).source_cells:
            if cell.name == name:
                return cell
        raise MissingEntry(f"No such source cell: {assignment}/{notebook}/{name}")

    def find_graded_cell(self, name, notebook, assignment):
        nb = self.find_notebook(notebook, assignment)
        for cell in [*nb.grade_cells, *nb.task_cells]:
            if cell.name == name:
                return cell
        raise MissingEntry(f"No such graded cell: {assignment}/{notebook}/{name}")


def read_snapshot(db_url, course_id, assignment, course, config, source_dir):
    """The snapshot of `assignment` from the gradebook at db_url (MissingEntry when the
    assignment is not there: `generate_assignment` has not run)."""
    notebooks = {}
    with Gradebook(db_url, course_id) as gb:
        for nb in gb.find_assignment(assignment).notebooks:
            notebooks[nb.name] = NotebookSnapshot(
                name=nb.name,
                kernelspec=nb.kernelspec,
                source_cells=[
                    SourceCell(c.name, c.cell_type, bool(c.locked), c.checksum, c.source)
                    for c in nb.source_cells
                ],
                grade_cells=[GradedCell(c.name, float(c.max_score), c.cell_type) for c in nb.grade_cells],
                solution_cells=[SolutionCell(c.name) for c in nb.solution_cells],
                task_cells=[GradedCell(c.name, float(c.max_score), c.cell_type) for c in nb.task_cells],
            )
    return AssignmentSnapshot(
        course_id=course_id,
        assignment=assignment,
        notebooks=notebooks,
        course=course,
        config=config,
        helper_files=helper_files(Path(source_dir) / "bpkit"),
    )


def helper_files(folder):
    """{"bpkit/<relative path>": bytes} of the student-side helper package, the same copy
    `nbgrader autograde` gives the sandbox (source/<assignment>/bpkit), with its bytecode."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    sources = [p for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    files = {f"{folder.name}/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in sources}
    for path in sources:
        if path.suffix == ".py":
            files[f"{folder.name}/{Path(cache_from_source(str(path))).relative_to(folder).as_posix()}"] = (
                _checked_bytecode(path)
            )
    return files


def _checked_bytecode(path):
    """The module's bytecode, checked against its source's hash when imported. Every
    submission's sandbox imports the helpers afresh and may not write bytecode itself; compiling
    them once here saves each sandbox start some 12 ms of CPU. A hash-checked .pyc is used only
    while it matches the source beside it (a copy's new mtime does not matter), and only by the
    Python that made it (its name holds the interpreter's tag)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "module.pyc"
        py_compile.compile(
            str(path),
            cfile=str(target),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
        return target.read_bytes()
