"""The course's students, as nbgrader knows them: its gradebook is the roster.

`nbgrader db student add/import` (or formgrader's Manage Students) puts students there; a CSV
in nbgrader's import format (a column `id`, optionally first_name, last_name, email) is
imported into it the same way. The hub reads the gradebook at every start, so the allow list
and the course group are never a second copy to keep in step."""

import csv
from dataclasses import dataclass
from pathlib import Path

from ..words import _
from . import names

CSV_FIELDS = ("first_name", "last_name", "email")


class RosterError(ValueError):
    """A roster that cannot be used; the message names the file, the line and what to fix."""


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


def read_csv(path):
    """The students of a roster CSV, every id checked; RosterError names the first bad line."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, skipinitialspace=True)
            rows = list(reader)
            header = [h.strip() for h in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise RosterError(
            _("{file}: cannot be read as a CSV roster: {why}").format(file=path, why=e)
        ) from None
    if "id" not in header:
        raise RosterError(
            _(
                "{file}: line 1: a roster needs a column 'id' (nbgrader's import format: "
                "id,first_name,last_name,email); found {header}"
            ).format(file=path, header=", ".join(header) or _("no header"))
        )
    students = []
    for line, row in enumerate(rows, start=2):
        student_id = (row.get("id") or "").strip()
        try:
            names.check(student_id, _("{file}: line {line}").format(file=path, line=line))
        except names.StudentIdError as e:
            raise RosterError(str(e)) from None
        extra = {k: (row.get(k) or "").strip() or None for k in CSV_FIELDS}
        students.append(Student(student_id, **extra))
    return students


def gradebook_students(db_url):
    """The students in the course's gradebook (nbgrader's own API), sorted by id."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return sorted(
            (Student(s.id, s.first_name, s.last_name, s.email) for s in gb.students), key=lambda s: s.id
        )


def add_to_gradebook(db_url, students):
    """What `nbgrader db student import` does: create each student or update their names."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        for s in students:
            given = {k: getattr(s, k) for k in CSV_FIELDS if getattr(s, k) is not None}
            gb.update_or_create_student(s.id, **given)


def checked_ids(students, where):
    """The ids of `students`; RosterError for the first an nbgrader command could not handle
    (say one added to the gradebook by hand)."""
    ids = []
    for s in students:
        try:
            ids.append(names.check(s.id, where))
        except names.StudentIdError as e:
            raise RosterError(
                _("{problem} Remove it with `nbgrader db student remove {id}`.").format(
                    problem=e, id=repr(s.id)
                )
            ) from None
    return ids
