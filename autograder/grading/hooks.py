"""nbgrader hooks: say plainly why a submission cannot be graded.

nbgrader already fails only that student (the batch goes on and other grades are kept);
its log shows a traceback. This hook, run before each student's conversion, puts one
plain line first: which file, what is wrong with it, and that it scores zero."""
import logging
from pathlib import Path

import nbformat

log = logging.getLogger("backprop-kit")


def explain_unreadable(assignment, student, notebooks, **_):
    if not notebooks:
        log.error("backprop-kit: %s/%s: no notebook was submitted; nothing to grade (0 points).", student, assignment)
    for path in notebooks:
        problem = unreadable(path)
        if problem:
            who = Path(path).parent.parent.name  # submitted/<student>/<assignment>/<notebook>; `student` may be "*"
            log.error("backprop-kit: %s/%s: %s cannot be graded: %s. It scores 0; other students are not affected.",
                      who, assignment, Path(path).name, problem)


def unreadable(path):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return f"the file cannot be read ({e})"
    if not text.strip():
        return "the file is empty"
    try:
        nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises several types for broken JSON and schemas
        return f"it is not a Jupyter notebook ({str(e).splitlines()[0][:200]})"
    return ""
