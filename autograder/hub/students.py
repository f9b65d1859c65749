"""add_student(): one command adds a student to the course: nbgrader's gradebook (the
roster the hub reads at every start) and, when the hub is running, its user and the course's
group, through the hub's REST API with the roster service's token (readable by root only)."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from ..words import _
from . import layout, names, roster
from .settings import HubSettings


class AddStudentError(ValueError):
    """The student could not be added; the message says what to fix."""


@dataclass(frozen=True)
class Added:
    student_id: str
    hub_told: bool  # False: the hub was not running; it reads the gradebook when it starts
    notes: tuple


def user_in_group(settings, token: str, name: str, group: str) -> None:
    """The running hub's user `name` (made if it is new) in `group`, through its REST API."""
    try:
        _api(settings, token, "POST", f"/users/{name}")
    except urllib.error.HTTPError as e:
        if e.code != 409:  # 409: the hub has the user already
            raise
    _api(settings, token, "POST", f"/groups/{group}/users", {"users": [name]})


def _api(settings, token, method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{settings.hub_port}/hub/api{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def add_student(out_dir, student_id, first_name=None, last_name=None, email=None):
    from ..reports.collect import db_url

    try:
        settings = HubSettings.load(out_dir)
    except OSError as e:
        raise AddStudentError(
            _("{folder} holds no hub written by `backprop-kit hub --out {folder}`: {why}").format(
                folder=out_dir, why=e.strerror
            )
        ) from None
    try:
        names.check(student_id, "add-student")
    except names.StudentIdError as e:
        raise AddStudentError(str(e)) from None
    try:
        token = settings.roster_token_file.read_text().strip()
    except OSError as e:
        raise AddStudentError(
            _("{file} cannot be read ({why}): run add-student as root (sudo), like the hub").format(
                file=settings.roster_token_file, why=e.strerror
            )
        ) from None
    roster.add_to_gradebook(
        db_url(settings.course_dir), [roster.Student(student_id, first_name, last_name, email)]
    )
    notes = []
    if settings.authenticator == "pam" and layout.Account.named(student_id) is None:
        notes.append(
            _(
                "{student} has no system account yet, which PAM logins need: `sudo useradd --create-home "
                "{student} && sudo passwd {student} && sudo chmod 0700 /home/{student}`"
            ).format(student=student_id)
        )
    try:
        user_in_group(settings, token, student_id, settings.student_group)
        told = True
    except urllib.error.HTTPError as e:
        raise AddStudentError(
            _(
                "{student} is in the gradebook, but the hub on 127.0.0.1:{port} refused to add them "
                "({code} {reason}): restart the hub, which reads the gradebook at start"
            ).format(student=student_id, port=settings.hub_port, code=e.code, reason=e.reason)
        ) from None
    except (urllib.error.URLError, ConnectionError, OSError):
        told = False  # not running: the next start reads the gradebook
    if not told:
        notes.append(_("the hub is not running: it lets them in when it starts"))
    return Added(student_id, told, tuple(notes))
