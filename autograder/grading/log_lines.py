"""The log a TA reads under plain `nbgrader autograde` / `generate_feedback`: one line per
student, and the lines that need a look.

nbgrader logs every step at INFO (about twenty lines per student under autograde, eleven of
them one `Copying bpkit/...` each). `quiet_routine_lines()` moves those routine lines to
DEBUG, where `--log-level=DEBUG` (or `--debug`) shows them again; warnings, errors and every
line not in the table below are untouched.
"""

import logging

# Per nbgrader app (the logger traitlets names after it): the INFO lines that only say a
# step ran, by the start of their message. The line left per student is nbgrader's
# "Creating/updating student with ID ..." (autograde) and "Writing ... .html" (feedback).
ROUTINE = {
    "AutogradeApp": (
        "Overwriting files with master versions",
        "Copying ",
        "Copied ",
        "Sanitizing ",
        "Converting notebook ",
        "Writing ",
        "Autograding ",
        "Setting destination file permissions",
    ),
    "GenerateFeedbackApp": (
        "Copied ",
        "Copying ",
        "Converting notebook ",
        "Setting destination file permissions",
    ),
}


class RoutineLinesAtDebug(logging.Filter):
    """A logger filter: a routine INFO line becomes a DEBUG line, shown only when DEBUG is on."""

    def __init__(self, starts):
        super().__init__()
        self.starts = tuple(starts)

    def filter(self, record):
        if record.levelno != logging.INFO or not str(record.msg).startswith(self.starts):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_routine_lines():
    """Install the filters (nbgrader_config.py calls this); calling it again changes nothing."""
    for app, starts in ROUTINE.items():
        logger = logging.getLogger(app)
        if not any(isinstance(f, RoutineLinesAtDebug) for f in logger.filters):
            logger.addFilter(RoutineLinesAtDebug(starts))
