"""The coordinator's side: what `nbgrader autograde` writes, written once per student.

Only the coordinator writes, and only here: the gradebook (student, submission with its
timestamp, one grade per graded cell, one comment per answer cell, the late penalty), the
autograded/ folder (the submission's other files, the source's files over them, the
autograded notebooks, read-only like nbgrader's) and the per-student reports. What each
record holds follows nbgrader 0.9's Autograde.init_assignment, SaveAutoGrades and
AssignLatePenalties line for line; they are not called as they are because each opens its
own gradebook session and commits per cell, which would make one process the bottleneck of
a class of 1,000.

A student's records are committed before their autograded/ folder is moved into place, and
that folder is what marks a student as graded: interrupted anywhere, a rerun regrades at
most the student who was being recorded, and nothing is written twice.
"""

import contextlib
import fnmatch
import os
import shutil
import signal
import tempfile
import threading
import warnings
from pathlib import Path

from nbgrader import utils
from nbgrader.api import (
    Comment,
    Grade,
    Gradebook,
    MissingEntry,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    new_uuid,
)
from nbgrader.preprocessors import AssignLatePenalties
from sqlalchemy import insert
from sqlalchemy.exc import SAWarning

from ..grading.naming import choose_notebooks
from ..grading.report import write_report
from ..grading.steps import save_records
from ..intake import DEFAULT_MAX_FILE_BYTES, copy_submission, refused_entries, write_record


@contextlib.contextmanager
def _quiet():
    """add_submission builds its rows through relationships, which SQLAlchemy warns about on a
    long-lived session; nbgrader opens a fresh session per step instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


@contextlib.contextmanager
def _sigint_held():
    """One student's writes, whole: a Ctrl-C arriving in the middle (a KeyboardInterrupt inside
    SQLAlchemy's commit leaves the session unusable, and the rollback then fails with a
    traceback) is held until they are done, then raised."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


class Recorder:
    def __init__(self, coursedir, config, assignment, root, cells, max_file_bytes=DEFAULT_MAX_FILE_BYTES):
        self.coursedir, self.assignment, self.root = coursedir, assignment, Path(root)
        self.max_file_bytes = max_file_bytes  # course.yaml's grading.max_file_mb
        self.cells = cells  # {notebook: the grade_ids of its cells}: how a renamed notebook is recognised
        self.notebooks = set(cells)  # the assignment's notebook names
        self.gradebook = Gradebook(coursedir.db_url, coursedir.course_id)
        self.late = AssignLatePenalties(config=config)
        self.late.init_plugin()
        self.permissions = 0o664 if coursedir.groupshared else 0o444
        exclude = config.get("Autograde", {}).get("exclude_overwriting", {}) or {}
        self.keep_students_copy = set(exclude.get(assignment, []))

    def close(self):
        self.gradebook.close()

    # ---------------------------------------------------------------- paths

    def submitted(self, student):
        return Path(self.coursedir.format_path(self.coursedir.submitted_directory, student, self.assignment))

    def autograded(self, student):
        return Path(self.coursedir.format_path(self.coursedir.autograded_directory, student, self.assignment))

    def needs_grading(self, student, force):
        """nbgrader's rule (BaseConverter.init_destination): grade when nothing is autograded
        yet, with --force, or when the submission is newer than its autograded copy."""
        if force or not self.autograded(student).exists():
            return True
        new = self.coursedir.get_existing_timestamp(str(self.submitted(student)))
        old = self.coursedir.get_existing_timestamp(str(self.autograded(student)))
        return new is not None and old is not None and new > old

    # ---------------------------------------------------------------- before grading

    def stage(self, student):
        """(staging folder, intake, {notebook: bytes}, NotebookChoice): the submission copied
        following no link (autograder.intake), minus nbgrader's ignored files, the source's
        files over it; the notebooks, chosen by grading.naming.choose_notebooks (as `nbgrader
        autograde` chooses them in a kit course), read out to travel to a grader."""
        parent = self.autograded(student).parent
        parent.mkdir(parents=True, exist_ok=True)
        for stale in parent.glob(f".{self.assignment}.grading-*"):  # left by a run killed outright
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.assignment}.grading-", dir=parent))
        try:
            return staging, *self._fill(student, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _fill(self, student, staging):
        intake = copy_submission(self.submitted(student), staging, max_file_bytes=self.max_file_bytes)
        choice = choose_notebooks(
            self.submitted(student), self.cells, self.max_file_bytes, skip=self.coursedir.ignore
        )
        notebooks = {
            nb: (staging / rel).read_bytes() for nb, rel in choice.files.items() if rel in intake.copied
        }
        for rel in intake.copied:
            path = staging / rel
            if self._ignored(rel) or path.suffix == ".ipynb":  # autograded/ holds only the notebooks graded
                path.unlink()
        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", self.assignment))
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source).as_posix()
            if (
                path.is_file()
                and not self._ignored(rel)
                and path.suffix != ".ipynb"
                and rel not in self.keep_students_copy
            ):
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists() or target.is_symlink():
                    target.unlink()
                shutil.copyfile(path, target)
        return intake, notebooks, choice

    def unreadable(self, student, intake, choice):
        """{notebook: why} for the notebooks chosen that did not travel (a link, a pipe, too
        large): graded 0 with the reason, as `nbgrader autograde` grades them in a kit course."""
        from ..grading.reading import read_bytes  # the reason nbgrader autograde's reader gives

        return {
            nb: read_bytes(self.submitted(student) / rel, self.max_file_bytes)[1] or "it could not be copied"
            for nb, rel in choice.files.items()
            if rel not in intake.copied
        }

    def _ignored(self, rel):
        parts = rel.split("/")
        return any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in self.coursedir.ignore)

    # ---------------------------------------------------------------- after grading

    def begin(self, student, submitted_notebooks):
        """Before grading, in the order nbgrader goes (so `nbgrader export` lists students in
        the same order): the student, the submission with its timestamp, zeros for the
        notebooks not submitted (Autograde.init_assignment), in one commit."""
        with _sigint_held(), _quiet():
            try:
                timestamp = self.coursedir.get_existing_timestamp(str(self.submitted(student)))
                self._student_and_submission(student, timestamp)
                missing = self.notebooks - set(submitted_notebooks)
                for notebook in sorted(missing):
                    for grade in self.gradebook.find_submission_notebook(
                        notebook, self.assignment, student
                    ).grades:
                        grade.auto_score = 0
                        grade.needs_manual_grade = False
                self.gradebook.db.commit()
            except BaseException:
                self.gradebook.db.rollback()
                raise

    def _student_and_submission(self, student, timestamp):
        """Gradebook.update_or_create_student, then update_or_create_submission (with the
        timestamp when there is one), uncommitted: one commit for both instead of one each."""
        try:
            self.gradebook.find_student(student)
        except MissingEntry:
            self.gradebook.db.add(Student(id=student))
        try:
            submission = self.gradebook.find_submission(self.assignment, student)
        except MissingEntry:
            add_submission(self.gradebook, self.assignment, student, timestamp)
        else:
            if timestamp:
                submission.timestamp = utils.parse_utc(timestamp)

    def not_graded(self, student, intake, choice):
        """Nothing of this submission could be graded: only the intake record says why (the
        gradebook and autograded/ stay as they were, as under `nbgrader autograde`)."""
        write_record(self.root, self.assignment, student, intake, choice)
        with contextlib.suppress(OSError):  # autograded/<student>/, made for the staging folder, if now empty
            self.autograded(student).parent.rmdir()

    def record(self, student, result, staging, intake, error="", choice=None):
        """Write one student's grades, autograded/ folder and reports, in one transaction.
        Returns an error message ("" when graded); on error nothing of this student is in
        autograded/, as with nbgrader, and their gradebook grades stay as they were."""
        with _sigint_held():
            error = error or (result.error if result is not None else "it was not graded")
            if error:
                shutil.rmtree(self.autograded(student), ignore_errors=True)
                return error
            with _quiet():
                try:
                    for notebook, outcome in result.notebooks.items():
                        self._save_grades(student, notebook, outcome)
                    for notebook in result.notebooks:
                        self._late_penalty(student, notebook)
                    self.gradebook.db.commit()
                except BaseException:
                    self.gradebook.db.rollback()
                    raise
            self._place(student, result, staging)
            write_record(self.root, self.assignment, student, intake, choice)
            for notebook, outcome in result.notebooks.items():
                facts = {"refused_files": refused_entries(intake.refused), **outcome.facts}
                write_report(self.root, self.assignment, student, notebook, outcome.report, **facts)
            return ""

    def _submitted_notebook_id(self, student, notebook):
        return self.gradebook.find_submission_notebook(notebook, self.assignment, student).id

    def _save_grades(self, student, notebook, outcome):
        """SaveAutoGrades, for the cells present in the autograded notebook (grading/steps.py,
        as `nbgrader autograde` writes them)."""
        save_records(
            self.gradebook, self._submitted_notebook_id(student, notebook), outcome.grades, outcome.comments
        )

    def _late_penalty(self, student, notebook):
        """AssignLatePenalties.preprocess, on this session (the notebook's score read after
        the new grades are flushed)."""
        submission = self.gradebook.find_submission(self.assignment, student)
        nb = self.gradebook.find_submission_notebook(notebook, self.assignment, student)
        nb.late_submission_penalty = None
        if submission.total_seconds_late > 0:
            self.gradebook.db.flush()
            self.gradebook.db.expire(nb)
            penalty = self.late.plugin_inst.late_submission_penalty(
                student, nb.score, submission.total_seconds_late
            )
            if penalty is not None:
                nb.late_submission_penalty = self.late._check_late_penalty(nb, penalty)

    def _place(self, student, result, staging):
        """The autograded notebooks into the staging folder, read-only, then the folder into
        place in one rename."""
        for notebook, outcome in result.notebooks.items():
            (staging / f"{notebook}.ipynb").write_text(outcome.autograded, encoding="utf-8")
        for dirpath, _, filenames in os.walk(staging):
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), self.permissions)
        os.chmod(staging, 0o755)
        dest = self.autograded(student)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)


def add_submission(gradebook, assignment, student, timestamp=None):
    """Gradebook.add_submission's rows, uncommitted: the submission (with its timestamp), a
    SubmittedNotebook per notebook of the assignment, an empty Grade per grade and task cell and
    an empty Comment per solution and task cell; every other column takes nbgrader's own
    default. nbgrader builds these rows as objects through their relationships, some 20 ms of
    the coordinator's CPU per student (45 rows), so a class of 1,000 spends 20 s on empty rows;
    here they are one insert per table. The student must be in the session already."""
    db = gradebook.db
    db.flush()  # the student, when new: the rows below refer to it
    found = gradebook.find_assignment(assignment)
    submission_id = new_uuid()
    notebooks, grades, comments = [], [], []
    for notebook in found.notebooks:
        notebook_id = new_uuid()
        notebooks.append({"id": notebook_id, "assignment_id": submission_id, "notebook_id": notebook.id})
        grades += _empty_rows(notebook_id, [*notebook.grade_cells, *notebook.task_cells])
        comments += _empty_rows(notebook_id, [*notebook.solution_cells, *notebook.task_cells])
    db.execute(
        insert(SubmittedAssignment),
        [
            {
                "id": submission_id,
                "assignment_id": found.id,
                "student_id": student,
                **({"timestamp": utils.parse_utc(timestamp)} if timestamp else {}),
            }
        ],
    )
    for model, rows in ((SubmittedNotebook, notebooks), (Grade, grades), (Comment, comments)):
        if rows:
            db.execute(insert(model), rows)


def _empty_rows(notebook_id, cells):
    """A Grade's or Comment's row for each cell of a submitted notebook, nothing filled in yet."""
    return [{"id": new_uuid(), "notebook_id": notebook_id, "cell_id": cell.id} for cell in cells]
