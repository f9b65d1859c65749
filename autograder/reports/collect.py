"""One assignment's results for the whole class: the gradebook's scores beside the kit's reports.

Scores always come from nbgrader's gradebook (a TA's manual override included), so every
export agrees with `nbgrader export`; the per-student reports add what the gradebook has
no column for: each cell's status and the misconceptions named."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..grading.cells import is_graded
from ..grading.report import report_path


class ReportError(RuntimeError):
    """The class report cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""

    @property
    def name(self):
        """'Last, First' as LMS gradebooks write it; '' when nbgrader knows no name."""
        return ", ".join(part for part in (self.last_name, self.first_name) if part)


@dataclass(frozen=True)
class CellRow:
    student_id: str
    assignment: str
    notebook: str
    grade_id: str
    score: float
    max_score: float
    status: str  # from the kit's report; "" when there is none (graded without the kit)
    misconceptions: tuple = ()


@dataclass
class ClassResults:
    course_dir: Path
    assignment: str
    cells: list  # [(notebook, grade_id)] in notebook order
    students: dict  # id -> Student, everyone in the gradebook
    totals: dict  # id -> the assignment's score, for students with a submission
    max_score: float
    rows: list  # CellRow, by student then notebook order
    reports: dict = field(default_factory=dict)  # (student, notebook) -> report dict
    not_graded: dict = field(default_factory=dict)  # id -> why: a submission folder with no grade (never a 0)

    @property
    def submitted(self):
        return list(self.totals)

    def rows_for(self, student):
        return self._index("student", lambda r: r.student_id).get(student, [])

    def rows_of_cell(self, notebook, grade_id):
        return self._index("cell", lambda r: (r.notebook, r.grade_id)).get((notebook, grade_id), [])

    def _index(self, name, key):
        """Rows grouped by key, built once: a class of hundreds asks for every student and cell."""
        cache = self.__dict__.setdefault("_indexes", {})
        if name not in cache:
            groups: dict = {}
            for r in self.rows:
                groups.setdefault(key(r), []).append(r)
            cache[name] = groups
        return cache[name]


def find_course_dir(course_dir):
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise ReportError(
            f"{course_dir} is not a course directory: it has no nbgrader_config.py. Run this inside "
            "a course made by `backprop-kit init` (or pass --course DIR)."
        )
    return course_dir


def db_url(course_dir):
    """The gradebook's URL as nbgrader itself sees it: CourseDirectory.db_url from the course's
    nbgrader_config.py (a PostgreSQL server, say), else sqlite:///<course>/gradebook.db."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    except Exception as e:  # a config file with an error: say which file and what
        raise ReportError(
            f"{Path(course_dir) / 'nbgrader_config.py'} cannot be read: {type(e).__name__}: {e}"
        ) from None
    return CourseDirectory(config=config, root=str(course_dir)).db_url


def shown_url(url):
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def graded_cells(course_dir, assignment, notebooks):
    """[(notebook, grade_id)] in the order of the source notebooks."""
    cells = []
    for notebook in notebooks:
        path = Path(course_dir) / "source" / assignment / f"{notebook}.ipynb"
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            continue
        cells += [(notebook, c.metadata["nbgrader"]["grade_id"]) for c in nb.cells if is_graded(c)]
    return cells


def collect(course_dir, assignment):
    """The ClassResults of `assignment` in the course at `course_dir`."""
    from nbgrader.api import Gradebook, MissingEntry

    course_dir = find_course_dir(course_dir)
    url = db_url(course_dir)
    try:
        gb = Gradebook(url)
    except Exception as e:
        raise ReportError(f"cannot open the gradebook at {shown_url(url)}: {e}") from None
    with gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            names = ", ".join(a.name for a in gb.assignments) or "none"
            raise ReportError(
                f"no assignment {assignment!r} in the gradebook at {shown_url(url)} "
                f"(assignments there: {names})"
            ) from None
        notebooks = [n.name for n in found.notebooks]
        students = {
            s.id: Student(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
            for s in gb.students
        }
        order = graded_cells(course_dir, assignment, notebooks)
        position = {cell: i for i, cell in enumerate(order)}
        totals, rows, reports, extra_cells = {}, [], {}, []
        for submission in sorted(found.submissions, key=lambda s: s.student_id):
            student = submission.student_id
            totals[student] = float(submission.score)
            for nb in submission.notebooks:
                report = _read_report(course_dir, assignment, student, nb.name)
                if report is not None:
                    reports[(student, nb.name)] = report
                by_id = {c.get("grade_id"): c for c in (report or {}).get("cells", []) if isinstance(c, dict)}
                grades = sorted(nb.grades, key=lambda g: position.get((nb.name, g.name), len(position)))
                for grade in grades:
                    if (nb.name, grade.name) not in position and (nb.name, grade.name) not in extra_cells:
                        extra_cells.append((nb.name, grade.name))
                    entry = by_id.get(grade.name, {})
                    rows.append(
                        CellRow(
                            student,
                            assignment,
                            nb.name,
                            grade.name,
                            float(grade.score or 0),
                            float(grade.max_score or 0),
                            str(entry.get("status", "")),
                            tuple(str(m) for m in entry.get("misconceptions", [])),
                        )
                    )
        max_score = float(found.max_score or 0)
        cells = {nb.name: {c.name for c in nb.source_cells} for nb in found.notebooks}
    not_graded = find_not_graded(course_dir, assignment, cells, set(totals))
    if not totals:
        raise ReportError(
            f"nothing of {assignment!r} is graded yet: run `nbgrader autograde {assignment}` first"
        )
    return ClassResults(
        course_dir, assignment, order + extra_cells, students, totals, max_score, rows, reports, not_graded
    )


def find_not_graded(course_dir, assignment, cells, graded):
    """{student: why} for every submission folder of `assignment` without a submission in the
    gradebook: why autograde left it alone (its intake record), or the same rule asked now."""
    from ..grading.naming import NotebookChoice, choose_notebooks
    from ..intake import read_record

    out = {}
    for folder in sorted(Path(course_dir, "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        if student in graded or not folder.is_dir():
            continue
        choice = NotebookChoice.from_record(read_record(course_dir, assignment, student))
        if choice is None or not choice.not_graded:
            choice = choose_notebooks(folder, cells)
        why = choice.not_graded or f"not autograded yet: run `nbgrader autograde {assignment}`"
        out[student] = why.replace(
            str(folder), folder.relative_to(course_dir).as_posix()
        )  # the course can move
    return out


def _read_report(course_dir, assignment, student, notebook):
    """A per-student report, or None when missing or unreadable (the gradebook still has the scores)."""
    path = report_path(course_dir, assignment, student, notebook)
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None
