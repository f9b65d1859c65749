"""The per-student report: what each graded cell of one notebook earned, and why.

One JSON file per student and notebook, written by the grading step beside the gradebook:
  <course>/backprop-kit/reports/<assignment>/<student>/<notebook>.json
The gradebook keeps nbgrader's scores; this file keeps what nbgrader has no column for
(each cell's status and the misconceptions named), for the class report and the exports.

Format (version 2):
  {"version": 2, "student": ..., "assignment": ..., "notebook": ...,
   "cells": [{"grade_id", "points", "score", "status", "misconceptions", "feedback"}, ...],
   ...facts about the whole submission that other steps add (see write_report)}
status is one of STATUSES. Facts written by TrustedChecks: `refused_files` ([{"path", "reason"}],
files of the submission folder that were not copied), `unreadable` (why the notebook could not
be read, or null) and `notes` (the lines shown to the student at the top of the feedback).
Every report records `kit_version` and `course_yaml_sha256` (what it was graded with: `graded_with`).
"""

import hashlib
import json
from pathlib import Path

REPORT_VERSION = 2
# One vocabulary for every report, export and page: "not answered" when the student left the
# exercise as released; "failed" also when their code raised, crashed, ran out of memory or was
# deleted; "error" only for the grader's own faults (a check it cannot name or run).
STATUSES = ("passed", "partial", "failed", "not answered", "timeout", "error")
STUDENTS_FAULTS = ("error", "crashed", "memory", "missing")  # runner statuses caused by the submission


def report_path(course_root, assignment, student, notebook):
    return Path(course_root) / "backprop-kit" / "reports" / assignment / student / f"{notebook}.json"


def cell_status(result, answered=True):
    """A graded cell's status (one of STATUSES) from its check's result; answered: whether the
    student changed the exercise's answer cell from the release."""
    if not answered and result.fraction < 1:
        return "not answered"
    if result.error:
        if result.error_kind == "timeout":
            return "timeout"
        return "failed" if result.error_kind in STUDENTS_FAULTS else "error"
    fraction = result.fraction
    return "passed" if fraction == 1 else "partial" if fraction > 0 else "failed"


def cell_entry(grade_id, points, score, status, misconceptions=(), feedback=""):
    assert status in STATUSES, status
    return {
        "grade_id": grade_id,
        "points": points,
        "score": score,
        "status": status,
        "misconceptions": list(misconceptions),
        "feedback": feedback,
    }


def graded_with(course_root):
    """What a regrade is explained by: the kit's version and the SHA-256 of the course.yaml
    the submission was graded with (None when the course has none)."""
    from .. import __version__

    try:
        digest = hashlib.sha256((Path(course_root) / "course.yaml").read_bytes()).hexdigest()
    except OSError:
        digest = None
    return {"kit_version": __version__, "course_yaml_sha256": digest}


def write_report(course_root, assignment, student, notebook, cells, **facts):
    """Write one notebook's report; `facts` are extra top-level keys (JSON-serialisable)."""
    path = report_path(course_root, assignment, student, notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "version": REPORT_VERSION,
        "student": student,
        "assignment": assignment,
        "notebook": notebook,
        "cells": list(cells),
        **graded_with(course_root),
        **facts,
    }
    path.write_text(json.dumps(body, indent=1))
    return path


def read_report(path):
    """The report at `path` as a dict, or None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    return json.loads(path.read_text())
