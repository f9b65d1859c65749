"""nbgrader hooks: say plainly why a submission cannot be graded.

Courses made by `backprop-kit init` now get that line (and a 0) from
`submitted_files.SubmittedNotebookExporter`; this hook stays for courses whose
nbgrader_config.py still names it, and reads the notebook the same safe way (no link
followed, no pipe opened)."""

import logging
from pathlib import Path

from ..intake import DEFAULT_MAX_FILE_BYTES
from ..words import N_, _
from .reading import read_submitted

log = logging.getLogger("backprop-kit")
CANNOT_BE_GRADED = N_(
    "backprop-kit: {student}/{assignment}: {file} cannot be graded: {why}. It scores 0; other "
    "students are not affected."
)


def explain_unreadable(assignment, student, notebooks, **_others):
    if not notebooks:
        log.error(
            "%s",
            _(
                "backprop-kit: {student}/{assignment}: no notebook was submitted; nothing to grade (0 "
                "points)."
            ).format(student=student, assignment=assignment),
        )
    for path in notebooks:
        problem = unreadable(path)
        if problem:
            who = Path(
                path
            ).parent.parent.name  # submitted/<student>/<assignment>/<notebook>; `student` may be "*"
            log.error(
                "%s",
                _(CANNOT_BE_GRADED).format(
                    student=who, assignment=assignment, file=Path(path).name, why=problem
                ),
            )


def unreadable(path, max_bytes=DEFAULT_MAX_FILE_BYTES):
    """Why the notebook at `path` cannot be graded, or "" when it can."""
    return read_submitted(path, max_bytes).reason
