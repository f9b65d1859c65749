"""Grading on submit, for real: system accounts made here, a course made by `backprop-kit init`
as the course account with `feedback: on-submit` and two attempts, `backprop-kit hub`'s config,
nbgrader's own release, fetch, submit (the kit's PrivateSubmit) and fetch_feedback run as each
account, and `backprop-kit grading-service` running as the course account, as JupyterHub runs it.

The one thing not from a hub: nbgrader's JupyterHubAuthPlugin (which asks a running hub which
courses a user is in) is swapped for its NoAuthPlugin on each command line. The hub's own start
of the service is tested by test_hub_end_to_end.py's hub, whose course has no on-submit."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from hub_course import ACCOUNT_PREFIX, BIN, accounts, hub_command, make_course, new_base, random_password, run

from autograder import demo

pytestmark = [pytest.mark.e2e]

simulated_class = demo.load_simulated_class()
GRADER, ANN, BEN = f"{ACCOUNT_PREFIX}-osg", f"{ACCOUNT_PREFIX}-osann", f"{ACCOUNT_PREFIX}-osben"
COURSE_ID, ASSIGNMENT = "cs231n-backprop", "backprop"
NO_HUB = "--Authenticator.plugin_class=nbgrader.auth.NoAuthPlugin"


class Course:
    def __init__(self, base, course, out, exchange):
        self.base, self.course, self.out, self.exchange = base, course, out, exchange
        self.env = {"JUPYTER_CONFIG_PATH": str(out / "nbgrader"), "PATH": f"{BIN}:/usr/bin:/bin"}

    def nbgrader(self, user, *argv, cwd=None, check=True):
        env = ["env", *(f"{k}={v}" for k, v in self.env.items()), f"HOME={Path('~' + user).expanduser()}"]
        return run(
            [*env, BIN / "nbgrader", *argv, NO_HUB],
            user=user,
            cwd=cwd or Path("~" + user).expanduser(),
            check=check,
        )

    def status(self, student):
        path = self.exchange / COURSE_ID / "on-submit" / f"{student}.json"
        return json.loads(path.read_text()).get(ASSIGNMENT, {}) if path.exists() else {}

    def feedback_files(self, student):
        return sorted((self.exchange / COURSE_ID / "feedback").glob("*.html"))

    def score(self, student):
        return run(
            [
                BIN / "python",
                "-c",
                f"from nbgrader.api import Gradebook; g = Gradebook('sqlite:///{self.course}/gradebook.db');"
                f" s = g.find_submission({ASSIGNMENT!r}, {student!r}); print(s.score, s.max_score)",
            ],
            user=GRADER,
        ).stdout.split()


@pytest.fixture(scope="module")
def course():
    from hub_course import require_hub_machine

    require_hub_machine()
    base = new_base()
    with accounts([GRADER, ANN, BEN], random_password()):
        course_dir = make_course(base, GRADER)
        yaml = course_dir / "course.yaml"
        yaml.write_text(
            yaml.read_text().replace(
                "    points: {}\n",
                "    points: {}\n    feedback: on-submit\n    on_submit: {attempts: 2, cooldown_minutes: 0}\n",
                1,
            )
        )
        roster = base / "roster.csv"
        roster.write_text(f"id,first_name,last_name,email\n{ANN},Ann,,\n{BEN},Ben,,\n")
        out, exchange = base / "hub", base / "exchange"
        written = hub_command(course_dir, out, exchange, GRADER, f"{ACCOUNT_PREFIX}-osg", roster=roster)
        assert written.returncode == 0, written.stderr
        c = Course(base, course_dir, out, exchange)
        c.nbgrader(GRADER, "release_assignment", ASSIGNMENT, cwd=course_dir)
        yield c
    subprocess.run(["rm", "-rf", str(base)])


def start_service(course):
    log = open(course.base / "grading.log", "a")  # noqa: SIM115
    env = ["env", *(f"{k}={v}" for k, v in course.env.items())]
    process = subprocess.Popen(
        [
            "runuser",
            "-u",
            GRADER,
            "--",
            *env,
            BIN / "backprop-kit",
            "grading-service",
            "--hub",
            str(course.out),
        ],
        cwd=course.course,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process


def stop_service(process):
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def submit(course, student, answers):
    home = Path("~" + student).expanduser()
    notebook = home / COURSE_ID / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if not notebook.exists():
        course.nbgrader(student, "fetch_assignment", ASSIGNMENT, "--course", COURSE_ID)
    nb = nbformat.read(notebook, as_version=4)
    nbformat.write(simulated_class.fill(nb, answers), notebook)
    run(["chown", f"{student}:{student}", str(notebook)])
    return course.nbgrader(student, "submit", ASSIGNMENT, "--course", COURSE_ID, check=False)


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_each_submission_is_graded_and_its_feedback_released_to_its_student_alone(course):
    source = nbformat.read(course.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    correct = simulated_class.reference_answers(source)
    wrong = {**correct, "add_gate": simulated_class.MISTAKES["add-split"][1]}
    service = start_service(course)
    try:
        for student, answers in ((ANN, correct), (BEN, wrong)):
            done = submit(course, student, answers)
            assert done.returncode == 0, done.stdout + done.stderr
        for student in (ANN, BEN):
            wait_until(lambda s=student: course.status(s).get("state") == "graded", 300, f"{student} graded")
        log = (course.base / "grading.log").read_text()
        assert f"graded {ANN}+{ASSIGNMENT}+" in log and "feedback released" in log, log
        ann, ben = course.score(ANN), course.score(BEN)
        assert ann[0] == ann[1] and float(ben[0]) < float(ben[1]), (ann, ben)

        # Each student fetches their own feedback with nbgrader's fetch_feedback: only theirs.
        pages = {}
        for student in (ANN, BEN):
            course.nbgrader(student, "fetch_feedback", ASSIGNMENT, "--course", COURSE_ID)
            [page] = (Path("~" + student).expanduser() / COURSE_ID / ASSIGNMENT / "feedback").glob("*/*.html")
            pages[student] = page.read_text()
        assert "halved the gradient" in pages[BEN] and "halved the gradient" not in pages[ANN]
        assert course.status(ANN)["graded"] == 1 and course.status(ANN)["attempts"] == 2

        # Ben's second attempt (the last allowed) is graded; a third is refused before anything is copied.
        done = submit(course, BEN, correct)
        assert done.returncode == 0, done.stderr
        wait_until(lambda: course.status(BEN).get("graded") == 2, 300, "ben's second attempt graded")
        ben = course.score(BEN)
        assert ben[0] == ben[1], ben  # the last attempt is the one that counts
        # What the Assignments tab shows after the submission (nbgrader's list, as ben's server runs it).
        listed = course.nbgrader(BEN, "list", "--cached", "--course", COURSE_ID)
        assert "no more attempts now: you have used all 2 attempts" in listed.stdout + listed.stderr
        inbound = course.exchange / COURSE_ID / "inbound"
        before = sorted(p.name for p in inbound.iterdir())
        refused = submit(course, BEN, wrong)
        assert refused.returncode != 0
        assert "you have used all 2 attempts of this assignment" in refused.stdout + refused.stderr
        assert sorted(p.name for p in inbound.iterdir()) == before  # nothing copied

        # The staff grant one more: it is taken and graded.
        granted = run([BIN / "backprop-kit", "grant-attempt", BEN, ASSIGNMENT, "--hub", str(course.out)])
        assert f"{BEN} may now submit {ASSIGNMENT} 3 times in all." in granted.stdout
        done = submit(course, BEN, wrong)
        assert done.returncode == 0, done.stderr
        wait_until(lambda: course.status(BEN).get("graded") == 3, 300, "ben's granted attempt graded")
    finally:
        assert stop_service(service) is not None

    # A batch run afterwards gives the same grades (the same nbgrader steps on the same files).
    on_submit = {s: course.score(s) for s in (ANN, BEN)}
    graded = run(
        [BIN / "backprop-kit", "autograde", ASSIGNMENT, "--force"],
        user=GRADER,
        cwd=course.course,
        check=False,
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert {s: course.score(s) for s in (ANN, BEN)} == on_submit
