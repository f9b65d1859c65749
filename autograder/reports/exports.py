"""cells.csv (one row per student and graded cell) and canvas.csv (Canvas's gradebook import)."""

import csv
from pathlib import Path

from .collect import Student

CELLS_COLUMNS = (
    "student_id",
    "assignment",
    "notebook",
    "grade_id",
    "score",
    "max_score",
    "status",
    "misconceptions",
)
CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_ID_COLUMNS = {"sis-user-id": "SIS User ID", "sis-login-id": "SIS Login ID"}


def spreadsheet_safe(text):
    """Text a spreadsheet will not run as a formula: ids and names come from students."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def number(value):
    return f"{value:g}" if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def write_cells_csv(results, path):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CELLS_COLUMNS)
        for r in results.rows:
            writer.writerow(
                [
                    spreadsheet_safe(r.student_id),
                    r.assignment,
                    r.notebook,
                    r.grade_id,
                    number(r.score),
                    number(r.max_score),
                    r.status,
                    ";".join(r.misconceptions),
                ]
            )
    return Path(path)


def canvas_column(assignment, canvas_assignment_id=""):
    """Canvas matches a column to an assignment by the id in parentheses; without one it
    makes a new assignment of that name."""
    return f"{assignment} ({canvas_assignment_id})" if canvas_assignment_id else assignment


def write_canvas_csv(results, path, canvas_assignment_id="", student_id_column="sis-user-id"):
    """One row per student of the gradebook. nbgrader's student id goes in the SIS column chosen
    (the id the course's JupyterHub and Canvas share); Canvas's own user id only where
    nbgrader knows it (lms_user_id); names where nbgrader has them; Section is never known.
    A student with no submission, or one whose submission could not be graded (results.not_graded:
    listed in class.html with why), gets an empty cell, which Canvas leaves unchanged."""
    id_column = CANVAS_ID_COLUMNS[student_id_column]
    header = [*CANVAS_FIXED, canvas_column(results.assignment, canvas_assignment_id)]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(["Points Possible", "", "", "", "", number(results.max_score)])
        students = {**{s: Student(s) for s in results.not_graded}, **results.students}
        for student in sorted(students.values(), key=lambda s: (s.name == "", s.name, s.id)):
            row = dict.fromkeys(header, "")
            row["Student"] = spreadsheet_safe(student.name) if student.name else ""
            row["ID"] = spreadsheet_safe(student.lms_user_id)
            row[id_column] = spreadsheet_safe(student.id)
            total = results.totals.get(student.id)
            row[header[-1]] = "" if total is None else number(round(total, 3))
            writer.writerow([row[h] for h in header])
    return Path(path)
