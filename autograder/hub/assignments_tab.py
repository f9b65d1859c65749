"""The students' Assignments tab, with the kit's answer to a refused Submit.

nbgrader's `assignment_list` server extension answers a failed submit with the exception's
whole traceback, and its JupyterLab extension shows that text in the *Invalid Submission*
dialog: a student refused an attempt (all attempts used, or inside the cooldown) read a
Python traceback first and the kit's reason at its bottom. Students' servers load this
extension instead (`backprop-kit hub` switches nbgrader's off in the students' server config):
it is nbgrader's, with its manager's `submit_assignment` replaced, so that a refusal by the
kit's submit (`PrivateSubmit`, raising `SubmitRefused`) comes back as the reason alone, a
sentence a line, in the course's language. Any other failure still comes back as nbgrader
sends it, the traceback the course staff need. Listing, fetching and fetching feedback are
nbgrader's own handlers, untouched."""

from __future__ import annotations

import traceback

from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError, ExchangeFactory
from nbgrader.server_extensions.assignment_list import handlers as nbgrader_handlers

EXTENSION = "autograder.hub.assignments_tab"
NBGRADER_EXTENSION = "nbgrader.server_extensions.assignment_list"


class SubmitRefused(ExchangeError):
    """An attempt the assignment's on-submit rules refuse. Its message is all the student
    reads: why, and when the next attempt is possible."""


class KitAssignmentList(nbgrader_handlers.AssignmentList):
    def submit_assignment(self, course_id: str, assignment_id: str) -> dict:
        # nbgrader's own steps (its config as the tab loads it, its exchange factory, its
        # authenticator), with one more `except`: nbgrader catches everything as a traceback.
        with self.get_assignment_dir_config():
            try:
                config = self.load_config()
                config.CourseDirectory.course_id = course_id
                config.CourseDirectory.assignment_id = assignment_id
                coursedir = CourseDirectory(config=config)
                authenticator = Authenticator(config=config)
                submit = ExchangeFactory(config=config).Submit(
                    coursedir=coursedir, authenticator=authenticator, config=config
                )
                submit.start()
            except SubmitRefused as refused:
                self.log.info("backprop-kit: %s: submit refused: %s", assignment_id, refused)
                return {"success": False, "value": str(refused)}
            except Exception:
                self.log.error(traceback.format_exc())
                return {"success": False, "value": traceback.format_exc()}
        return {"success": True}


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": EXTENSION}]


def _load_jupyter_server_extension(serverapp) -> None:
    """nbgrader's extension (its handlers, its manager), then the kit's manager in its place:
    the handlers look the manager up in the settings at every request."""
    nbgrader_handlers.load_jupyter_server_extension(serverapp)
    manager = KitAssignmentList(parent=serverapp)
    manager.root_dir = serverapp.root_dir
    serverapp.web_app.settings["assignment_list_manager"] = manager
    serverapp.log.info("backprop-kit: the Assignments tab answers a refused submit with its reason alone")
