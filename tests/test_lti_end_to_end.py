"""LTI 1.3 end to end: an independent platform (`lti1p3platform` from PyPI, served on
127.0.0.1 by tests/lti_platform.py) launches users into a real JupyterHub set up by
`backprop-kit hub --lti`, by HTTP requests that follow the OIDC flow as a browser does
(the platform's login initiation, the hub's redirect to the platform's authorization
endpoint, the signed launch form posted back to the hub). A learner's launch puts them in
the gradebook and the course group; they fetch and submit with nbgrader's own commands as
their system account; the course account collects and runs `backprop-kit autograde`, which
posts the score to the platform's line item; the score is read back through the platform's
Assignment and Grade Services and compared with the gradebook's. A launch signed with
another key, for another audience, already expired, or replayed is refused, and the hub's
log names why. `backprop-kit lti roster` reads the platform's roster (NRPS) into the course's
groups. The platform going down leaves the score queued; `lti status` lists it and
`lti push` sends it once the platform is back."""

import html
import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
import requests
from hub_course import ACCOUNT_PREFIX, BIN, hub_course, run
from lti_platform import INSTRUCTOR, LEARNER, Faults, LmsPlatform, LmsUser

from autograder import demo
from autograder.lti.ags import AgsClient, ToolKey

pytestmark = pytest.mark.e2e

simulated_class = demo.load_simulated_class()

GRADER, TA, ANN = f"{ACCOUNT_PREFIX}-lgrader", f"{ACCOUNT_PREFIX}-lta", f"{ACCOUNT_PREFIX}-lann"
COURSE_ID, ASSIGNMENT = "cs231n-backprop", "backprop"
ANN_SUB, TA_SUB = "lms-user-3141", "lms-user-2718"  # the platform's own ids (sub)
BEA_SUB = "lms-user-1618"  # in the LMS's roster, never launched


@pytest.fixture(scope="module")
def course_hub():
    platform = LmsPlatform().start()
    platform.state.users[ANN_SUB] = LmsUser(ANN_SUB, ANN, [LEARNER], "Ann Lee")
    platform.state.users[TA_SUB] = LmsUser(TA_SUB, TA, [INSTRUCTOR], "Tom Ash")

    def lti_config(base, course):
        config = base / "lti.yaml"
        config.write_text(platform.config_yaml())
        return ["--lti", str(config)]

    try:
        with hub_course([GRADER, TA, ANN], GRADER, TA, before_hub=lti_config) as course:
            said = course.written.stdout
            assert "/hub/lti13/oauth_login" in said and "lti-tool-jwks.json" in said, said
            assert not (course.course / "lti" / "tool-key.pem").stat().st_mode & 0o077
            with course.running() as hub:
                # What course staff do at the LMS: the tool's URLs, and its public key from the hub.
                platform.tool_login_url = f"{hub.url}/hub/lti13/oauth_login"
                platform.tool_launch_url = f"{hub.url}/hub/home"
                platform.tool_jwks = requests.get(f"{hub.url}/hub/lti13/jwks", timeout=10).json()
                yield hub, platform
    finally:
        platform.stop()


class Launch:
    """One user's launch from the LMS, followed as a browser follows it."""

    def __init__(self, hub, platform, sub):
        self.session = requests.Session()
        # the LMS's link -> the hub's login initiation -> the LMS's authorization endpoint
        page = self.session.get(f"{platform.url}/launch", params={"user": sub}, timeout=30)
        assert page.status_code == 200, page.text[:500]
        assert page.url.startswith(f"{platform.url}/authorize?"), page.url
        action = re.search(r'action="([^"]+)"', page.text)
        assert action, page.text[:500]
        self.callback = html.unescape(action.group(1))
        self.form = {
            k: html.unescape(v)
            for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"/>', page.text)
        }
        self.cookies = self.session.cookies.copy()  # the state and nonce cookies the hub set

    def post(self, session=None):
        """The launch form, posted to the hub as the browser's onload does."""
        return (session or self.session).post(
            self.callback, data=self.form, timeout=60, allow_redirects=False
        )


def hub_api(hub, path):
    token = (hub.out / "roster-api-token").read_text().strip()
    port = json.loads((hub.out / "backprop-kit-hub.json").read_text())["hub_port"]
    return requests.get(
        f"http://127.0.0.1:{port}/hub/api{path}", headers={"Authorization": f"token {token}"}, timeout=10
    )


def nbgrader_as(user, hub, *args, cwd=None):
    """nbgrader's own command as `user`, with the hub's global config (the exchange, the
    course id, the kit's PrivateSubmit) but not its JupyterHub auth plugin: no server here."""
    config = hub.base / "nbgrader-cli"
    if not config.exists():
        config.mkdir()
        text = (hub.out / "nbgrader" / "nbgrader_config.py").read_text()
        text = "\n".join(line for line in text.splitlines() if "JupyterHubAuthPlugin" not in line)
        (config / "nbgrader_config.py").write_text(text + "\n")
        os.chmod(config, 0o755)
    home = os.path.expanduser(f"~{user}")
    env = {"JUPYTER_CONFIG_PATH": str(config), "HOME": home, "PATH": f"{BIN}:/usr/bin:/bin"}
    return run(
        ["env", *(f"{k}={v}" for k, v in env.items()), BIN / "nbgrader", *args],
        user=user,
        cwd=cwd or home,
        check=False,
    )


def platform_results(hub, platform):
    """The platform's scores of the assignment's line item, read through its AGS results
    service with the tool's own token (as any AGS client would read them)."""
    key = ToolKey.read(hub.course / "lti" / "tool-key.pem")
    client = AgsClient(
        key=key,
        client_id=platform.client_id,
        token_url=f"{platform.url}/token",
        token_audience=f"{platform.url}/token",
    )
    items = [i for i in platform.state.lineitems.values() if i.get("resourceId") == ASSIGNMENT]
    assert len(items) == 1, platform.state.lineitems  # made once
    got = client.session.get(
        f"{items[0]['id']}/results", headers={"Authorization": f"Bearer {client.token()}"}, timeout=10
    )
    assert got.status_code == 200, got.text
    return {r["userId"]: r["scoreGiven"] for r in got.json()["content"]}


def gradebook_score(hub, student):
    code = (
        "from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///{hub.course}/gradebook.db') as gb:\n"
        f"    print(gb.find_submission({ASSIGNMENT!r}, {student!r}).score)\n"
    )
    return float(run([BIN / "python", "-c", code], user=hub.grader, cwd="/").stdout)


def test_launches_roster_grading_and_scores_back_on_the_platform(course_hub):
    hub, platform = course_hub

    # A learner's launch logs them into the hub as their login, in the course group and the gradebook.
    launch = Launch(hub, platform, ANN_SUB)
    landed = launch.post()
    assert landed.status_code == 302, landed.text[:500]
    home = launch.session.get(hub.url + landed.headers["Location"], timeout=30)
    assert home.status_code == 200 and ANN in home.text
    user = hub_api(hub, f"/users/{ANN}").json()
    assert f"nbgrader-{COURSE_ID}" in user["groups"], user
    students = run([BIN / "nbgrader", "db", "student", "list"], user=hub.grader, cwd=hub.course).stdout
    assert ANN in students and "Lee" in students, students

    # The instructor's launch: course staff (formgrader's group), not a student in the gradebook.
    ta = Launch(hub, platform, TA_SUB)
    assert ta.post().status_code == 302
    assert f"formgrade-{COURSE_ID}" in hub_api(hub, f"/users/{TA}").json()["groups"]
    assert TA not in run([BIN / "nbgrader", "db", "student", "list"], user=hub.grader, cwd=hub.course).stdout

    # Ann fetches, answers and submits; the course account collects and grades.
    released = nbgrader_as(GRADER, hub, "release_assignment", ASSIGNMENT, cwd=hub.course)
    assert released.returncode == 0, released.stdout + released.stderr
    fetched = nbgrader_as(ANN, hub, "fetch_assignment", ASSIGNMENT)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    source = nbformat.read(hub.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    path = Path("~" + ANN).expanduser() / COURSE_ID / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nbformat.write(
        simulated_class.fill(nbformat.read(path, as_version=4), simulated_class.reference_answers(source)),
        path,
    )
    run(["chown", f"{ANN}:{ANN}", str(path)])
    submitted = nbgrader_as(ANN, hub, "submit", ASSIGNMENT)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    collected = nbgrader_as(GRADER, hub, "collect", ASSIGNMENT, cwd=hub.course)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    graded = run(
        [BIN / "backprop-kit", "autograde", ASSIGNMENT], user=hub.grader, cwd=hub.course, check=False
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "LTI: 1 score(s) posted to the LMS, 0 kept in the queue" in graded.stdout, graded.stdout

    score = gradebook_score(hub, ANN)
    assert score > 0
    assert platform_results(hub, platform) == {ANN_SUB: score}  # the LMS's user id, the gradebook's score

    # The platform goes down: a regrade's score waits in the queue, listed, and is sent when it is back.
    platform.stop()
    try:
        regraded = run(
            [BIN / "backprop-kit", "autograde", ASSIGNMENT, "--force"],
            user=hub.grader,
            cwd=hub.course,
            check=False,
        )
        assert regraded.returncode == 0, regraded.stdout + regraded.stderr  # grading is not held up
        assert "0 score(s) posted to the LMS, 1 kept in the queue" in regraded.stdout, regraded.stdout
        assert "could not be reached" in regraded.stderr, regraded.stderr  # the log line
        status = run([BIN / "backprop-kit", "lti", "status"], user=hub.grader, cwd=hub.course, check=False)
        assert (
            status.returncode == 1
            and f"{ASSIGNMENT} {ANN}:" in status.stdout
            and "could not be reached" in status.stdout
        )
    finally:
        platform.restart()
    pushed = run([BIN / "backprop-kit", "lti", "push"], user=hub.grader, cwd=hub.course, check=False)
    assert pushed.returncode == 0 and "1 score(s) posted" in pushed.stdout, pushed.stdout + pushed.stderr
    assert (
        run([BIN / "backprop-kit", "lti", "status"], user=hub.grader, cwd=hub.course, check=False).returncode
        == 0
    )
    assert platform_results(hub, platform) == {ANN_SUB: score}


def test_the_lms_roster_puts_learners_and_staff_in_the_course_through_nrps(course_hub):
    """`backprop-kit lti roster` (as root, like the hub) reads the platform's Names and Role
    Provisioning Service: a learner the course group lost is put back, the TA joins the graders'
    group, a learner who never launched waits for the login their first launch brings."""
    hub, platform = course_hub
    platform.state.users[BEA_SUB] = LmsUser(BEA_SUB, "bea", [LEARNER], "Bea Park")
    for sub in (ANN_SUB, TA_SUB):  # their launches told the hub their logins and the roster's URL
        assert Launch(hub, platform, sub).post().status_code == 302
    token = (hub.out / "roster-api-token").read_text().strip()
    port = json.loads((hub.out / "backprop-kit-hub.json").read_text())["hub_port"]
    left = requests.delete(
        f"http://127.0.0.1:{port}/hub/api/groups/nbgrader-{COURSE_ID}/users",
        json={"users": [ANN]},
        headers={"Authorization": f"token {token}"},
        timeout=10,
    )
    assert left.status_code == 200, left.text
    assert f"nbgrader-{COURSE_ID}" not in hub_api(hub, f"/users/{ANN}").json()["groups"]

    synced = run([BIN / "backprop-kit", "lti", "roster", "--hub", hub.out], check=False)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "1 learner(s) and 1 staff member(s)" in synced.stdout, synced.stdout
    assert f"LMS user ids {BEA_SUB}" in synced.stdout, synced.stdout
    assert f"nbgrader-{COURSE_ID}" in hub_api(hub, f"/users/{ANN}").json()["groups"]
    assert f"formgrade-{COURSE_ID}" in hub_api(hub, f"/users/{TA}").json()["groups"]
    del platform.state.users[BEA_SUB]


@pytest.mark.parametrize(
    "fault, status, logged",
    [
        ({"rogue_key": True}, 400, "Unable to find a signing key"),
        ({"audience": "another-tool"}, 401, "Audience doesn't match"),
        ({"expired": True}, 400, "Signature has expired"),
    ],
)
def test_a_launch_with_a_bad_key_audience_or_expiry_is_refused_and_logged(course_hub, fault, status, logged):
    hub, platform = course_hub
    platform.state.faults = Faults(**fault)
    try:
        refused = Launch(hub, platform, ANN_SUB).post()
    finally:
        platform.state.faults = Faults()
    assert refused.status_code == status, refused.text[:300]
    # The page: the kit's title and what to do, not "400 : Signature has expired".
    assert "The launch from the LMS was refused" in refused.text and f"{status} : " not in refused.text, (
        refused.text[-2000:]
    )
    assert "jupyterhub-session-id" not in refused.cookies and "jupyterhub-hub-login" not in refused.cookies
    assert re.search(rf"{status} POST /hub/lti13/oauth_callback.*{re.escape(logged)}", hub.log()), hub.log()[
        -2000:
    ]


def test_a_replayed_launch_is_refused_and_logged(course_hub):
    hub, platform = course_hub
    launch = Launch(hub, platform, ANN_SUB)
    assert launch.post().status_code == 302
    # The same id_token again, with the cookies the browser had: the nonce was used.
    replay = requests.Session()
    replay.cookies.update(launch.cookies)
    again = launch.post(replay)
    assert again.status_code == 403, again.text[:300]
    assert "The launch from the LMS was refused" in again.text and "open the course again" in again.text
    assert "launch refused: replayed launch" in hub.log()
    # Without those cookies (someone else's browser): no state to match.
    stranger = launch.post(requests.Session())
    assert stranger.status_code == 400 and "OAuth state missing from cookies" in hub.log()
    assert "started in another browser" in html.unescape(stranger.text), stranger.text[-2000:]


@pytest.mark.browser
def test_a_launch_in_chromium_lands_on_the_hub_and_a_refused_one_says_why(course_hub):
    """What a person sees: Chromium follows the LMS's link through the OIDC flow (the
    platform's form submits itself) to the hub's home; an expired launch ends on the hub's
    error page, which says in the kit's words what happened and what to do."""
    from browser import chrome, screenshot_folder

    hub, platform = course_hub
    folder = screenshot_folder("lti")
    driver = chrome(1200, 800)
    try:
        driver.get(f"{platform.url}/launch?user={TA_SUB}")
        wait(lambda: driver.current_url.startswith(f"{hub.url}/hub/home") and TA in driver.page_source)
        driver.save_screenshot(str(folder / "1-staff-launched.png"))
    finally:
        driver.quit()
    platform.state.faults = Faults(expired=True)
    driver = chrome(1200, 800)
    try:
        driver.get(f"{platform.url}/launch?user={ANN_SUB}")
        wait(lambda: "This launch from the LMS has expired" in driver.page_source)
        page = driver.execute_script("return document.body.innerText")
        assert "The launch from the LMS was refused" in page and "400 :" not in page, page
        driver.save_screenshot(str(folder / "2-expired-launch-refused.png"))
        assert "/hub/lti13/oauth_callback" in driver.current_url
    finally:
        platform.state.faults = Faults()
        driver.quit()


def wait(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
