"""A refused Submit, as the students' Assignments tab receives it: a real Jupyter server started
with the students' server config that `backprop-kit hub` writes (nbgrader's assignment_list
switched off, the kit's autograder.hub.assignments_tab on) and the hub's nbgrader config with
on-submit rules, asked over HTTP exactly as nbgrader's JupyterLab extension asks
(POST /assignments/submit). The answer is the kit's reason alone, a sentence a line, in the
course's language, and nothing reaches the exchange. (nbgrader's own handler answers with the
whole traceback, the reason at its bottom: the exact answers below would fail.)

No JupyterHub and no system accounts here (the browser test, tests/test_browser_on_submit.py,
has both): the server runs as this process's user, which is the student."""

import datetime
import getpass
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from hub_course import free_port

from autograder.hub import on_submit, write

pytestmark = pytest.mark.e2e  # a Jupyter server's start: ~3 CPU s

COURSE_ID, ASSIGNMENT = "course-r", "ps1"
STUDENT = getpass.getuser()  # nbgrader's submit names the submission after the account
TEMPLATE = Path(write.__file__).with_name("templates") / "nbgrader_config.py"


def _server(base: Path, config_path: str) -> tuple[subprocess.Popen, str, str]:
    port, token = free_port(), "t" + os.urandom(8).hex()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_PATH": config_path,
        "JUPYTER_CONFIG_DIR": str(base / "empty-jupyter-dir"),  # not this machine's ~/.jupyter
        "HOME": str(base / "home"),
    }
    argv = [sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser"]
    argv += [f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={base / 'home'}"]
    with open(base / f"server-{port}.log", "wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(argv, env=env, cwd=base / "home", stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
            return process, url, token
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.3)
    process.kill()
    raise AssertionError((base / f"server-{port}.log").read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def course():
    base = Path(tempfile.mkdtemp(prefix="bpk-refused-"))
    try:
        exchange = base / "exchange"
        (exchange / COURSE_ID / "outbound" / ASSIGNMENT).mkdir(parents=True)
        (exchange / COURSE_ID / "inbound").mkdir()
        os.chmod(exchange / COURSE_ID / "inbound", 0o2733)  # as nbgrader's release leaves it
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 42")])
        nbformat.write(nb, exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        fetched = base / "home" / COURSE_ID / ASSIGNMENT  # where fetch puts it (path_includes_course)
        fetched.mkdir(parents=True)
        nbformat.write(nb, fetched / f"{ASSIGNMENT}.ipynb")
        (base / "empty-jupyter-dir").mkdir()

        nbgrader_dir, student_dir = base / "nbgrader", base / "students"
        nbgrader_dir.mkdir()
        text = TEMPLATE.read_text().format(
            course_id=COURSE_ID, exchange=str(exchange), rules_file=str(nbgrader_dir / on_submit.RULES_FILE)
        )
        # No hub here to ask for the student's courses: nbgrader's default, everyone has access.
        text = text.replace("from nbgrader.auth import JupyterHubAuthPlugin\n", "")
        text = text.replace("c.Authenticator.plugin_class = JupyterHubAuthPlugin\n", "")
        (nbgrader_dir / "nbgrader_config.py").write_text(text)
        write._write_student_config(student_dir)

        kit = _server(base, f"{student_dir}:{nbgrader_dir}")
        try:
            yield {"base": base, "exchange": exchange, "config": nbgrader_dir, "kit": kit}
        finally:
            kit[0].terminate()
            kit[0].wait(timeout=30)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def rules(course, language="en", **rule):
    on_submit.write_rules(
        course["config"], {ASSIGNMENT: on_submit.Rules(**rule)}, str(course["exchange"]), COURSE_ID, language
    )


def status(course, **entry):
    on_submit.write_status(
        course["exchange"] / COURSE_ID / on_submit.STATUS_DIR, STUDENT, {ASSIGNMENT: entry}
    )


def submit(server) -> dict:
    """What nbgrader's JupyterLab extension sends when the student presses Submit, and gets."""
    _process, url, token = server
    request = urllib.request.Request(
        f"{url}/assignments/submit",
        data=json.dumps({"course_id": COURSE_ID, "assignment_id": ASSIGNMENT}).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def inbound(course) -> list[str]:
    return sorted(p.name for p in (course["exchange"] / COURSE_ID / "inbound").iterdir())


def test_all_attempts_used_the_tab_gets_the_reason_alone_and_nothing_is_copied(course):
    rules(course, attempts=1)
    status(course, graded=1)
    answer = submit(course["kit"])
    assert answer["success"] is False
    assert answer["value"] == (
        "you have used all 1 attempts of this assignment;\n"
        "the last one is the one that counts.\n"
        "The course staff can grant another (`backprop-kit grant-attempt`)."
    )
    assert inbound(course) == []


def test_inside_the_cooldown_the_reason_says_when_the_next_attempt_is_possible_in_korean_too(course):
    last = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    status(course, graded=1, last_submitted=last.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    next_at = (last + datetime.timedelta(minutes=30)).strftime("%H:%M")
    rules(course, attempts=3, cooldown_minutes=30)
    english = submit(course["kit"])["value"]
    assert english.startswith(f"your next attempt is possible at {next_at} UTC, in about 25 min"), english
    rules(course, language="ko", attempts=3, cooldown_minutes=30)
    korean = submit(course["kit"])["value"]
    assert next_at in korean and "Traceback" not in korean, korean
    assert not any("a" <= ch.lower() <= "z" for ch in korean.replace("UTC", "")), korean
    assert inbound(course) == []


def test_an_allowed_attempt_is_submitted_through_the_kits_handler(course):
    rules(course, attempts=2)
    status(course, graded=1)
    answer = submit(course["kit"])
    assert answer["success"] is True, answer.get("value")
    [submitted] = inbound(course)
    assert submitted.startswith(f"{STUDENT}+{ASSIGNMENT}+")
    shutil.rmtree(course["exchange"] / COURSE_ID / "inbound" / submitted)
