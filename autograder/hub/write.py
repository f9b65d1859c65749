"""write_hub(): the folder `backprop-kit hub --out DIR` writes, after checking everything the
hub will need, so a problem shows here and not in the hub's log."""

import json
import os
import secrets
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..words import _, speak
from . import layout, names, on_submit, roster
from .hubconfig import check_layout
from .settings import NBGRADER_CONFIG_DIR, SETTINGS_FILE, STUDENT_LAB_SETTINGS_DIR, HubSettings

if TYPE_CHECKING:
    from ..lti.setup import ToolFiles

LTI_AUTHENTICATOR = "autograder.lti.login.CourseLTI13Authenticator"

DEFAULT_EXCHANGE = "/usr/local/share/nbgrader/exchange"  # nbgrader's own default since 0.8


class HubError(ValueError):
    """Something to fix before the hub can serve the course; the message says what."""


@dataclass(frozen=True)
class Written:
    settings: HubSettings
    config_file: Path
    students: list
    imported: int
    lti: "ToolFiles | None" = None  # --lti: the tool's key and where its public half was written


def _template(name):
    return resources.files("autograder.hub").joinpath("templates").joinpath(name).read_text()


def _course(course_dir):
    from ..config import ConfigError, load_course

    path = Path(course_dir) / "course.yaml"
    if not (Path(course_dir) / "nbgrader_config.py").is_file() or not path.is_file():
        raise HubError(
            _(
                "{folder} is not a course made by `backprop-kit init` (no nbgrader_config.py and "
                "course.yaml there): run `backprop-kit hub` inside the course directory"
            ).format(folder=course_dir)
        )
    try:
        course = load_course(path)
    except ConfigError as e:
        raise HubError(str(e)) from None
    speak(course)  # the layout's problems are told in the course's language
    return course


def _write_private(path, text):
    """A file only root (its owner) may read: JupyterHub refuses a readable cookie secret."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _write_student_config(folder):
    """What students' servers read before nbgrader's global config: formgrader, the course list
    and create-assignment switched off (server extensions and JupyterLab plugins), as nbgrader
    documents for students' accounts, and the Assignments tab served by the kit's extension
    (autograder/hub/assignments_tab.py: a refused Submit says its reason, not a traceback);
    instructors' servers and the formgrader service skip it."""
    lab_settings = folder / STUDENT_LAB_SETTINGS_DIR
    for path in (folder / "labconfig", lab_settings):
        path.mkdir(parents=True, exist_ok=True)
    for path in (folder, folder / "labconfig", lab_settings):
        os.chmod(path, 0o755)
    server_config = json.loads(_template("student_server_config.json"))
    # JupyterLab's defaults for students (a student's own settings still win): no "get notified
    # about Jupyter news?" popup over every student's first page, no update checks.
    server_config.setdefault("LabApp", {})["app_settings_dir"] = str(lab_settings)
    (folder / "jupyter_server_config.json").write_text(json.dumps(server_config, indent=2) + "\n")
    (lab_settings / "overrides.json").write_text(_template("student_lab_overrides.json"))
    (folder / "labconfig" / "page_config.json").write_text(_template("student_page_config.json"))


def write_hub(
    course_dir,
    out_dir,
    *,
    course_account=None,
    exchange=DEFAULT_EXCHANGE,
    instructors=(),
    roster_csv=None,
    authenticator="pam",
    service_port=9999,
    hub_port=8081,
    proxy_api_port=8001,
    lti_config=None,
):
    course_dir, out_dir = Path(course_dir).resolve(), Path(out_dir).resolve()
    course = _course(course_dir)
    course_id = course.course_id
    lti = _lti(lti_config) if lti_config else None
    if lti:  # only a course launched from an LMS needs the `lti` extra's libraries
        from ..lti.setup import hub_half, write_tool_half
    account = course_account or f"grader-{course_id}"
    try:
        instructors = tuple(names.check(i, "--instructor") for i in instructors)
        from_csv = roster.read_csv(roster_csv) if roster_csv else []
    except (names.StudentIdError, roster.RosterError) as e:
        raise HubError(str(e)) from None
    settings = HubSettings(
        course_id=course_id,
        course_dir=str(course_dir),
        course_account=account,
        exchange=str(Path(exchange).absolute()),
        bin_dir=str(Path(sys.prefix) / "bin"),
        out_dir=str(out_dir),
        instructors=instructors,
        authenticator=LTI_AUTHENTICATOR if lti else authenticator,
        service_port=service_port,
        hub_port=hub_port,
        proxy_api_port=proxy_api_port,
        extra={"lti": hub_half(lti)} if lti else {},
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o755)  # students' servers read nbgrader's global config here; secrets stay 0600
    config_dir = out_dir / NBGRADER_CONFIG_DIR
    config_dir.mkdir(exist_ok=True)
    os.chmod(config_dir, 0o755)
    (config_dir / "nbgrader_config.py").write_text(
        _template("nbgrader_config.py").format(
            course_id=course_id, exchange=settings.exchange, rules_file=str(config_dir / on_submit.RULES_FILE)
        )
    )
    on_submit.write_rules(
        config_dir, on_submit.Rules.of_course(course), settings.exchange, course_id, course.language
    )
    _write_student_config(settings.student_config_dir)
    if not Path(settings.exchange).exists() and os.geteuid() == 0:
        layout.make_exchange(settings.exchange)
    problems = check_layout(settings) + [p for p in [layout.exchange_problem(settings.exchange)] if p]
    if problems:
        raise HubError(_("the hub could not serve this course:") + "\n  " + "\n  ".join(problems))

    from ..reports.collect import db_url

    url = db_url(course_dir)
    if from_csv:
        roster.add_to_gradebook(url, from_csv)
    try:
        students = roster.checked_ids(
            roster.gradebook_students(url), _("the gradebook of {folder}").format(folder=course_dir)
        )
    except roster.RosterError as e:
        raise HubError(str(e)) from None

    tool = write_tool_half(lti, course_dir, out_dir, account) if lti else None
    (out_dir / SETTINGS_FILE).write_text(settings.dump())
    config_file = out_dir / "jupyterhub_config.py"
    config_file.write_text(
        _template("jupyterhub_config.py").format(bin_dir=settings.bin_dir, config_file=config_file)
    )
    if not settings.roster_token_file.exists():
        _write_private(settings.roster_token_file, secrets.token_hex(32) + "\n")
    return Written(settings, config_file, students, len(from_csv), tool)


def _lti(path):
    from ..config import ConfigError
    from ..lti.config import load_lti_config

    try:
        return load_lti_config(path)
    except ConfigError as e:
        raise HubError(str(e)) from None
