"""configure(c, out_dir): what the generated jupyterhub_config.py does each time the hub
starts (as root): check the layout, read the roster from the gradebook, and set JupyterHub's
authenticator, spawner, groups, roles and the course's formgrader service.

A problem found here stops the hub with one line saying what to fix (HubSetupError is a
SystemExit), instead of a hub that starts and fails students later."""

import os
import sys
from pathlib import Path

from ..words import _, speak
from . import layout, names, roster
from .settings import ROSTER_SERVICE, HubSettings

# The default "server" role lets a user's server post activity; nbgrader's JupyterHubAuthPlugin
# also asks the hub which groups its user is in, to list the user's courses.
SERVER_SCOPES = [
    "users:activity!user",
    "access:servers!server",
    "read:users:name!user",
    "read:users:groups!user",
]


HUB_TEMPLATES = Path(__file__).resolve().parent / "templates" / "pages"


class HubSetupError(SystemExit):
    def __init__(self, message):
        super().__init__(f"backprop-kit hub: {message}")


def _roles(s: HubSettings):
    service = f"service={s.course_id}"
    return [
        {
            "name": s.instructor_group,
            "description": "open the course's formgrader",
            "groups": [s.instructor_group],
            "scopes": [f"access:services!{service}", f"read:services!{service}", "list:services"],
        },
        {
            "name": s.student_group,
            "description": "the course's students",
            "groups": [s.student_group],
            "scopes": ["self"],
        },
        {
            "name": "server",
            "description": "a user's server: activity, and its user's course groups",
            "scopes": SERVER_SCOPES,
        },
        # formgrader's Manage Students adds and removes students through nbgrader's JupyterHubAuthPlugin
        {
            "name": f"{s.course_id}-formgrader",
            "services": [s.course_id],
            "scopes": [
                "list:users",
                "read:users",
                "list:groups",
                "read:groups",
                f"groups!group={s.student_group}",
            ],
        },
        {
            "name": ROSTER_SERVICE,
            "services": [ROSTER_SERVICE],
            # add-student and `lti roster` (root only): learners into the students' group, and
            # the LMS's instructors and TAs into the graders' group.
            "scopes": [
                "admin:users",
                "list:users",
                "read:groups",
                f"groups!group={s.student_group}",
                f"groups!group={s.instructor_group}",
            ],
        },
    ]


def _formgrader_service(s: HubSettings):
    return {
        "name": s.course_id,
        "url": f"http://127.0.0.1:{s.service_port}",
        "command": [str(Path(s.bin_dir) / "jupyterhub-singleuser")],
        "user": s.course_account,
        "cwd": s.course_dir,
        "oauth_no_confirm": True,
        # JupyterHub stops altogether when a managed service is not up within its timeout (30 s);
        # formgrader's first start loads JupyterLab and nbgrader, over 30 s on a busy machine.
        "timeout": 120,
        # The Services menu's entry (the kit's page.html): a TA looks for "Formgrader", not a course id.
        "info": {"menu_name": _("Formgrader ({course})").format(course=s.course_id)},
        # Opened top-level, never in a frame: JupyterHub sends frame-ancestors 'none'.
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
            "JUPYTER_CONFIG_PATH": staff_config_path(s),
            "PATH": f"{s.bin_dir}:/usr/local/bin:/usr/bin:/bin",
        },
    }


def _grading_service(s: HubSettings):
    """The grading service, when an assignment has feedback: on-submit (autograder/hub/on_submit.py):
    JupyterHub starts it with the hub, as the course account, and stops it with the hub."""
    from . import on_submit

    _status_dir, rules = on_submit.read_rules(s.nbgrader_config_dir)
    if not rules:
        return []
    return [
        {
            "name": on_submit.SERVICE_NAME,
            "command": [str(Path(s.bin_dir) / "backprop-kit"), "grading-service", "--hub", s.out_dir],
            "user": s.course_account,
            "cwd": s.course_dir,
            "display": False,
            "environment": {
                "JUPYTER_CONFIG_PATH": staff_config_path(s),
                "PATH": f"{s.bin_dir}:/usr/local/bin:/usr/bin:/bin",
            },
        }
    ]


def staff_config_path(s: HubSettings):
    return str(s.nbgrader_config_dir)


def student_config_path(s: HubSettings):
    """The students' folder first: what it switches off wins over the kit environment's own
    enabling of nbgrader's extensions. (A student may switch them on again in their own
    ~/.jupyter: formgrader then runs as that student and reaches nothing of the course's.)"""
    return f"{s.student_config_dir}:{s.nbgrader_config_dir}"


def check_layout(s: HubSettings):
    """Every problem with the machine's layout, one line each (empty: fine)."""
    problems = []
    # A virtual environment's python is a link to the interpreter it was made from (pyenv's
    # under /root, say): both must be reachable.
    kit = [
        (s.bin_dir, _("the kit's environment")),
        ((Path(s.bin_dir) / "python").resolve(), _("the kit's Python interpreter")),
        (Path(__file__).resolve().parent.parent, _("the kit's code")),
    ]  # an editable install lives elsewhere
    account = layout.Account.named(s.course_account)
    if account is None:
        problems.append(
            _(
                "the course account {account!r} does not exist: create it with `sudo useradd "
                "--create-home {account}`"
            ).format(account=s.course_account)
        )
    else:
        for path, what in [(s.course_dir, _("the course directory")), *kit]:
            why = layout.unreachable(path, account)
            if why:
                problems.append(
                    _("{what}: {why}; the formgrader service runs as {account}").format(
                        what=what, why=why, account=s.course_account
                    )
                )
        group, others = layout.sharing_the_group_of(account)
        if others:
            problems.append(
                _(
                    "the course account {account}'s group {group} also holds {others}: submissions reach "
                    "the course account through that group, so they could read every student's work; give "
                    "{account} a group of its own (`sudo groupadd {account}-private && sudo usermod -g "
                    "{account}-private {account}`)"
                ).format(account=s.course_account, group=group, others=", ".join(others))
            )
    for path, what in [
        *kit,
        (s.nbgrader_config_dir, _("nbgrader's global config")),
        (s.student_config_dir, _("the students' server config")),
    ]:
        why = layout.unreachable(path, layout.ANYONE)
        if why and what == kit[1][1]:
            # `python3 -m venv` took the first python3 on PATH: pyenv's under /root, say.
            problems.append(
                _(
                    "{what}: {why}; every student's server runs it: make the kit's environment from the "
                    "system's Python, `/usr/bin/python3 -m venv /opt/backprop-kit`, and install the kit there"
                ).format(what=what, why=why)
            )
        elif why:
            problems.append(
                _("{what}: {why}; every student's server needs it (move it, e.g. under /opt or /srv)").format(
                    what=what, why=why
                )
            )
    problems += course_config_problems(s.course_dir)
    why = layout.open_to_others(s.course_dir)
    if why:
        problems.append(
            _("the course directory: {why}; run `sudo chmod o-rwx {folder}`").format(
                why=why, folder=s.course_dir
            )
        )
    return problems


# What `backprop-kit init` wrote before the feedback template was set on the feedback exporter
# alone: it replaced formgrader's own template too (TemplateNotFound on Manual Grading).
GLOBAL_FEEDBACK_TEMPLATE = "c.HTMLExporter.template_file"


def course_config_problems(course_dir):
    """What in the course's nbgrader_config.py breaks a page of formgrader (one line each)."""
    path = Path(course_dir) / "nbgrader_config.py"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []  # the layout's own checks say why the course cannot be read
    if any(line.startswith(GLOBAL_FEEDBACK_TEMPLATE) for line in text.splitlines()):
        return [
            _(
                "{file} sets {setting}, which replaces formgrader's own template: Manual Grading then "
                "fails on every submission (TemplateNotFound); rerun `backprop-kit init {folder}` to "
                "update it"
            ).format(file=path, setting=GLOBAL_FEEDBACK_TEMPLATE, folder=course_dir)
        ]
    return []


def roster_ids(s: HubSettings):
    from ..reports.collect import db_url

    where = _("the gradebook of {folder}").format(folder=s.course_dir)
    try:
        return roster.checked_ids(roster.gradebook_students(db_url(s.course_dir)), where)
    except roster.RosterError as e:
        raise HubSetupError(str(e)) from None


def spawn_problem(username, groups, s: HubSettings):
    """Why `username`'s server should not start for this course (a message for the spawn page), or None."""
    why = names.problem(username)
    if why:
        return _(
            "The hub user {user} is not a valid nbgrader student id ({why}), so nbgrader cannot fetch or "
            "submit for it. Ask the course staff for an account whose name has letters, digits and _ . @ - "
            "only."
        ).format(user=repr(username), why=why)
    if s.student_group not in groups and s.instructor_group not in groups:
        return _(
            "{user} is not in the course group {group}, so the Assignments tab would show no course. The "
            "course staff add you with `sudo backprop-kit add-student {user} --hub {hub}`."
        ).format(user=username, group=s.student_group, hub=s.out_dir)
    return None


def _pre_spawn_hook(s: HubSettings):
    def hook(spawner):
        import tornado.web as web

        why = spawn_problem(spawner.user.name, [g.name for g in spawner.user.groups], s)
        if why:
            spawner.log.warning("backprop-kit: %s", why)
            refused = web.HTTPError(403, why)
            refused.jupyterhub_message = why  # what JupyterHub's pages show the user (else only "403: error")
            raise refused
        if s.instructor_group in [g.name for g in spawner.user.groups]:
            # Staff's own servers keep formgrader and create-assignment (a new dict: the
            # configured one is shared by every spawner).
            spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": staff_config_path(s)}
        home = Path(os.path.expanduser(f"~{spawner.user.name}"))
        if home.is_dir() and home.stat().st_mode & 0o077:
            spawner.log.warning(
                "backprop-kit: %s's home %s is mode %04o: other students can read it; "
                "run `sudo chmod 0700 %s`",
                spawner.user.name,
                home,
                home.stat().st_mode & 0o7777,
                home,
            )

    return hook


def _speak_course_language(s: HubSettings):
    """What the hub tells a student (a refused server) is in the course's language."""
    from ..config import ConfigError, load_course

    try:
        speak(load_course(Path(s.course_dir) / "course.yaml"))
    except (ConfigError, OSError):
        pass  # the hub's own checks say what is wrong with the course; its words stay English


def configure(c, out_dir):
    s = HubSettings.load(out_dir)
    _speak_course_language(s)
    if not Path(s.exchange).exists() and os.geteuid() == 0:
        layout.make_exchange(s.exchange)
    problems = check_layout(s) + [p for p in [layout.exchange_problem(s.exchange)] if p]
    if problems:
        raise HubSetupError("; ".join(problems))
    students = roster_ids(s)
    instructors = [names.check(i, "instructors") for i in s.instructors]

    c.JupyterHub.authenticator_class = s.authenticator
    c.Authenticator.allowed_users = set(students) | set(instructors)
    if s.extra.get("lti"):  # launched from an LMS: the launch is the login (autograder/lti/)
        from ..lti.setup import configure_authenticator

        configure_authenticator(c, s)
    # The course account is a hub user in the instructors' group too: the formgrader service runs
    # as it, and nbgrader's JupyterHubAuthPlugin asks the hub for that user's courses.
    c.JupyterHub.load_groups = {
        s.instructor_group: {"users": [*instructors, s.course_account]},
        s.student_group: {"users": students},
    }
    c.JupyterHub.load_roles = _roles(s)
    token = s.roster_token_file.read_text().strip() if s.roster_token_file.exists() else None
    c.JupyterHub.services = (
        [_formgrader_service(s)]
        + ([{"name": ROSTER_SERVICE, "api_token": token, "display": False}] if token else [])
        + _grading_service(s)
    )

    c.JupyterHub.spawner_class = "localprocess"  # each user's server as their own system account
    c.Spawner.cmd = [str(Path(s.bin_dir) / "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    # Students' servers by default: the least a server gets; the hook gives staff theirs.
    c.Spawner.environment = {
        "JUPYTER_CONFIG_PATH": student_config_path(s),
        "PATH": f"{s.bin_dir}:/usr/local/bin:/usr/bin:/bin",
    }
    c.Spawner.pre_spawn_hook = _pre_spawn_hook(s)
    # A student's server answering after JupyterHub's 30 s (http_timeout) is stopped as failed: on a
    # loaded machine (a class logging in at once, grading beside it) JupyterLab's start took longer.
    c.Spawner.http_timeout = 120
    c.Spawner.start_timeout = 180

    # The kit's page.html first (it extends JupyterHub's own): the Services menu names formgrader.
    c.JupyterHub.template_paths = [str(HUB_TEMPLATES)]
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = s.hub_port
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.JupyterHub.db_url = f"sqlite:///{Path(out_dir) / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(Path(out_dir) / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(Path(out_dir) / "jupyterhub.pid")
    said = _(
        "course {course}: {n} students, instructors {instructors}; formgrader at /services/{course}/ as "
        "{account}"
    ).format(
        course=s.course_id,
        n=len(students),
        instructors=", ".join(instructors) or _("none"),
        account=s.course_account,
    )
    print(f"backprop-kit hub: {said}", file=sys.stderr)
