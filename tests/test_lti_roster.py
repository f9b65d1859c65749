"""`backprop-kit lti roster` against a real LTI 1.3 platform: `lti1p3platform` from PyPI on
127.0.0.1 (tests/lti_platform.py) serves its Names and Role Provisioning Service behind its
bearer-token check, and grants the token only to the tool's registered key. No hub runs here
(the end-to-end test has one): the learners reach the gradebook, the roster command says the
hub will let them in when it starts, and their LMS ids are recorded so that grades go back
before their first launch."""

import json
import socket

import pytest
from click.testing import CliRunner
from lti_platform import INSTRUCTOR, LEARNER, LmsPlatform, LmsUser
from test_lti_passback import make_course

from autograder.cli import main
from autograder.hub import roster
from autograder.hub.settings import SETTINGS_FILE, HubSettings
from autograder.lti.passback import LAUNCHES_FILE, lti_dir
from autograder.reports.collect import db_url

TA_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant"


def closed_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there (the hub is down)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_folder(tmp_path, course, hub_user):
    (course / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
    )  # the gradebook in the course
    out = tmp_path / "hub"
    settings = HubSettings(
        course_id="cs231n",
        course_dir=str(course),
        course_account="",
        exchange=str(tmp_path / "exchange"),
        bin_dir="/usr/bin",
        out_dir=str(out),
        authenticator="autograder.lti.login.CourseLTI13Authenticator",
        hub_port=closed_port(),
        extra={"lti": {"hub_user": hub_user, "instructor_roles": ["Instructor", "TeachingAssistant"]}},
    )
    (out / SETTINGS_FILE).write_text(settings.dump())
    settings.roster_token_file.write_text("not-used-the-hub-is-down\n")
    return out


@pytest.fixture
def platform():
    with LmsPlatform() as p:
        p.state.users = {
            "lms-1": LmsUser("lms-1", "ann", [LEARNER], "Ann Lee", email="ann"),
            "lms-2": LmsUser("lms-2", "ben", [LEARNER], "Ben Kim", email="ben"),
            "lms-3": LmsUser("lms-3", "tom", [TA_ROLE], "Tom Ash", email="tom"),
            "lms-4": LmsUser("lms-4", "cy", [LEARNER], "Cy Old", status="Inactive", email="cy"),
            "lms-5": LmsUser("lms-5", "ida", [INSTRUCTOR], "Ida Hu", email="ida"),
        }
        yield p


def roster_command(out):
    return CliRunner().invoke(main, ["lti", "roster", "--hub", str(out)])


@pytest.mark.slow  # nbgrader makes the gradebook by running alembic: ~2.5 CPU s
def test_learners_from_the_lms_reach_the_gradebook_with_their_lms_ids(tmp_path, platform):
    course = make_course(tmp_path, platform, launched=False)
    (lti_dir(course) / LAUNCHES_FILE).write_text(json.dumps({"memberships_url": platform.memberships_url}))
    out = hub_folder(tmp_path, course, hub_user="email")
    done = roster_command(out)
    assert done.exit_code == 0, done.output
    assert "2 learner(s) and 2 staff member(s)" in done.output
    assert "inactive in the LMS, not added (nothing removed): lms-4" in done.output
    assert "the hub is not running" in done.output
    students = {s.id: s for s in roster.gradebook_students(db_url(str(course)))}
    assert sorted(students) == ["ann", "ben"]  # not the staff, not the inactive learner
    assert (students["ann"].first_name, students["ann"].last_name) == ("Ann", "Lee")
    users = json.loads((lti_dir(course) / LAUNCHES_FILE).read_text())["users"]
    assert users == {"ann": "lms-1", "ben": "lms-2", "tom": "lms-3", "ida": "lms-5"}


@pytest.mark.slow  # nbgrader makes the gradebook by running alembic: ~2.5 CPU s
def test_with_logins_only_those_who_launched_are_known_and_the_others_wait(tmp_path, platform):
    course = make_course(tmp_path, platform, launched=False)
    (lti_dir(course) / LAUNCHES_FILE).write_text(
        json.dumps({"memberships_url": platform.memberships_url, "users": {"ann": "lms-1"}})
    )
    done = roster_command(hub_folder(tmp_path, course, hub_user="login"))
    assert done.exit_code == 0, done.output
    assert "1 learner(s) and 0 staff member(s)" in done.output
    assert (
        "3 member(s) join at their first launch (their login comes with it): LMS user ids lms-2, lms-3, lms-5"
        in (done.output)
    )
    assert [s.id for s in roster.gradebook_students(db_url(str(course)))] == ["ann"]


def test_an_unregistered_key_or_no_memberships_url_is_one_clear_line(tmp_path, platform):
    course = make_course(tmp_path, platform, launched=False, register_key=False)
    out = hub_folder(tmp_path, course, hub_user="email")
    done = roster_command(out)
    assert done.exit_code == 1
    assert "LTI roster: the course's memberships URL is not known yet" in done.output
    (lti_dir(course) / LAUNCHES_FILE).write_text(json.dumps({"memberships_url": platform.memberships_url}))
    done = roster_command(out)
    assert done.exit_code == 1
    assert "LTI roster: the platform refused the tool's token request" in done.output, done.output
    assert not (course / "gradebook.db").exists()  # nobody added


@pytest.mark.slow  # nbgrader makes the gradebook by running alembic: ~2.5 CPU s
def test_the_roster_finds_alembic_with_its_environment_not_activated(tmp_path, platform, monkeypatch):
    """`sudo .venv/bin/backprop-kit lti roster` runs without the environment on PATH: nbgrader makes
    the gradebook by running `alembic` by name, which must be this environment's (it was not
    found, and the roster command said 'alembic cannot be read ... run it as root')."""
    import os
    import sys

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # as sudo's secure_path leaves it, no venv in it
    course = make_course(tmp_path, platform, launched=False)
    (lti_dir(course) / LAUNCHES_FILE).write_text(json.dumps({"memberships_url": platform.memberships_url}))
    done = roster_command(hub_folder(tmp_path, course, hub_user="email"))
    assert done.exit_code == 0, done.output
    assert os.environ["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
