"""Grading on submit, for real: system accounts made here, a course made by `backprop-kit init`
as the course account with `feedback: on-submit` and two attempts, `backprop-kit hub`'s config,
nbgrader's own release, fetch, submit (the kit's PrivateSubmit) and fetch_feedback run as each
account, and `backprop-kit grading-service` running as the course account, as JupyterHub runs it.

The one thing not from a hub: nbgrader's JupyterHubAuthPlugin (which asks a running hub which
courses a user is in) is swapped for its NoAuthPlugin on each command line. The hub's own start
of the service is tested by test_hub_end_to_end.py's hub, whose course has no on-submit."""

import datetime
import json
import os
import re
import signal
import time
from pathlib import Path

import nbformat
import pytest
from hub_course import (
    ACCOUNT_PREFIX,
    BIN,
    feedback_on_submit,
    hub_course,
    on_submit_status,
    run,
    start_grading_service,
    stop_grading_service,
)

from autograder import demo

pytestmark = [pytest.mark.e2e]

simulated_class = demo.load_simulated_class()
GRADER, ANN, BEN = f"{ACCOUNT_PREFIX}-osg", f"{ACCOUNT_PREFIX}-osann", f"{ACCOUNT_PREFIX}-osben"
CAT = f"{ACCOUNT_PREFIX}-oscat"
COURSE_ID, ASSIGNMENT = "cs231n-backprop", "backprop"


def status(course, student):
    return on_submit_status(course.exchange, COURSE_ID, ASSIGNMENT, student)


def score(course, student):
    """(score, max score) of `student`'s submission in the course's gradebook, read as the course account."""
    return run(
        [
            BIN / "python",
            "-c",
            f"from nbgrader.api import Gradebook; g = Gradebook('sqlite:///{course.course}/gradebook.db');"
            f" s = g.find_submission({ASSIGNMENT!r}, {student!r}); print(s.score, s.max_score)",
        ],
        user=GRADER,
    ).stdout.split()


@pytest.fixture(scope="module")
def course():
    roster = f"id,first_name,last_name,email\n{ANN},Ann,,\n{BEN},Ben,,\n{CAT},Cat,,\n"
    on_submit = feedback_on_submit("{attempts: 2, cooldown_minutes: 0}")
    with hub_course([GRADER, ANN, BEN, CAT], GRADER, GRADER, roster, on_submit) as c:
        c.nbgrader(GRADER, "release_assignment", ASSIGNMENT, cwd=c.course)
        yield c


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
    service = start_grading_service(course)
    try:
        for student, answers in ((ANN, correct), (BEN, wrong)):
            done = submit(course, student, answers)
            assert done.returncode == 0, done.stdout + done.stderr
        for student in (ANN, BEN):
            wait_until(lambda s=student: status(course, s).get("state") == "graded", 300, f"{student} graded")
        log = (course.base / "grading.log").read_text()
        assert f"graded {ANN}+{ASSIGNMENT}+" in log and "feedback released" in log, log
        ann, ben = score(course, ANN), score(course, BEN)
        assert ann[0] == ann[1] and float(ben[0]) < float(ben[1]), (ann, ben)

        # Each student fetches their own feedback with nbgrader's fetch_feedback: only theirs.
        pages = {}
        for student in (ANN, BEN):
            course.nbgrader(student, "fetch_feedback", ASSIGNMENT, "--course", COURSE_ID)
            [page] = (Path("~" + student).expanduser() / COURSE_ID / ASSIGNMENT / "feedback").glob("*/*.html")
            pages[student] = page.read_text()
        assert "halved the gradient" in pages[BEN] and "halved the gradient" not in pages[ANN]
        assert status(course, ANN)["graded"] == 1 and status(course, ANN)["attempts"] == 2

        # Ben's second attempt (the last allowed) is graded; a third is refused before anything is copied.
        done = submit(course, BEN, correct)
        assert done.returncode == 0, done.stderr
        wait_until(lambda: status(course, BEN).get("graded") == 2, 300, "ben's second attempt graded")
        ben = score(course, BEN)
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
        wait_until(lambda: status(course, BEN).get("graded") == 3, 300, "ben's granted attempt graded")
    finally:
        assert stop_grading_service(service) is not None

    # The service grades with the kit's batch engine; nbgrader's own autograde afterwards, and
    # the kit's, give the same grades (the same files, the same gradebook rows).
    on_submit = {s: score(course, s) for s in (ANN, BEN)}
    course.nbgrader(GRADER, "autograde", ASSIGNMENT, "--force", cwd=course.course)
    assert {s: score(course, s) for s in (ANN, BEN)} == on_submit
    graded = run(
        [BIN / "backprop-kit", "autograde", ASSIGNMENT, "--force"],
        user=GRADER,
        cwd=course.course,
        check=False,
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert {s: score(course, s) for s in (ANN, BEN)} == on_submit


def fetched_page(course, student):
    """The feedback page of the student's newest submission, fetched with nbgrader's fetch_feedback."""
    course.nbgrader(student, "fetch_feedback", ASSIGNMENT, "--course", COURSE_ID)
    pages = (Path("~" + student).expanduser() / COURSE_ID / ASSIGNMENT / "feedback").glob("*/*.html")
    return sorted(pages)[-1].read_text()  # folders named by the submission's timestamp


def test_after_due_date_on_submit_feedback_says_pass_or_fail_and_the_full_page_follows_the_due_date(course):
    """`on_submit.visibility: after_due_date`: what a student fetches after submitting names each
    exercise and whether it passed, nothing more (no points, no checks, no mistake's words); at
    the due date (nbgrader's, in the gradebook) the service releases the full feedback."""
    yaml = course.course / "course.yaml"
    yaml.write_text(
        yaml.read_text().replace("cooldown_minutes: 0}", "cooldown_minutes: 0, visibility: after_due_date}")
    )
    course.rewrite_hub_config()
    tomorrow = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    due = ["db", "assignment", "add", ASSIGNMENT]
    course.nbgrader(GRADER, *due, f"--duedate={tomorrow:%Y-%m-%d %H:%M:%S} UTC", cwd=course.course)
    source = nbformat.read(course.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    wrong = {
        **simulated_class.reference_answers(source),
        "add_gate": simulated_class.MISTAKES["add-split"][1],
    }
    service = start_grading_service(course)
    try:
        assert submit(course, CAT, wrong).returncode == 0
        wait_until(lambda: status(course, CAT).get("state") == "graded", 300, "cat graded")
        page = fetched_page(course, CAT)
        assert "not passed yet" in page and "✓ passed" in page, page[-3000:]
        assert "released after the due date" in page
        # Nothing to probe answers with: no mistake's words, no points, no check's lines.
        assert "halved the gradient" not in page and "Score:" not in page and "Failed:" not in page
        assert not re.search(r"\d / \d+(\.\d+)? points", page)

        # The due date passes (the staff move it to a minute ago): the next scan releases the full page.
        ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
        course.nbgrader(GRADER, *due, f"--duedate={ago:%Y-%m-%d %H:%M:%S} UTC", cwd=course.course)
        said = re.compile(r"due .* passed; the full feedback released to \d+ student")
        wait_until(  # to every student graded on submit (also those of the test before, when it ran)
            lambda: said.search((course.base / "grading.log").read_text()),
            120,
            "the full feedback released after the due date",
        )
        page = fetched_page(course, CAT)
        assert "halved the gradient" in page and "not passed yet" not in page
    finally:
        assert stop_grading_service(service) is not None


def test_a_service_killed_mid_grading_grades_again_once_and_an_unwritable_exchange_keeps_the_grade(course):
    """Killed outright while grading (kill -9: out of memory, a machine's restart), the service's
    next start (JupyterHub restarts a managed service) says what it was grading and grades it
    again, recorded once. The exchange's feedback folder unwritable: the grade is kept, the log
    and the student's Assignments tab say the feedback could not be released."""
    source = nbformat.read(course.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    correct = simulated_class.reference_answers(source)
    log = course.base / "grading.log"

    def log_text():
        return log.read_text() if log.exists() else ""

    book = course.course / "backprop-kit" / "on-submit" / "attempts.json"

    def graded_of(student):
        return json.loads(book.read_text()).get(ASSIGNMENT, {}).get(student, {}).get("graded", [])

    starts = log_text().count("ready: grading on submit")
    service = start_grading_service(course)
    try:
        wait_until(lambda: log_text().count("ready: grading on submit") > starts, 120, "the service ready")
        before = len(graded_of(ANN)) if book.exists() else 0  # 1 after the first test, 0 alone
        assert submit(course, ANN, correct).returncode == 0
        wait_until(
            lambda: status(course, ANN).get("state") == "grading", 120, "ann's submission being graded"
        )
        os.killpg(service.pid, signal.SIGKILL)
        service.wait(timeout=30)
        assert len(graded_of(ANN)) == before  # the killed grading: not recorded
        service = start_grading_service(course)
        wait_until(
            lambda: status(course, ANN).get("graded") == before + 1,
            300,
            "ann's submission graded after the restart",
        )
        said = log_text()
        assert f"the last run stopped while grading {ANN}+{ASSIGNMENT}+" in said, said[-2000:]
        graded = graded_of(ANN)
        assert len(graded) == len(set(graded)) == before + 1, graded
        assert score(course, ANN)[0] == score(course, ANN)[1]

        # The exchange's feedback folder unwritable by the course account.
        feedback = course.exchange / COURSE_ID / "feedback"
        mode = feedback.stat().st_mode
        os.chmod(feedback, 0o555)
        try:
            assert submit(course, CAT, correct).returncode == 0
            wait_until(
                lambda: status(course, CAT).get("state") == "unreleased", 300, "cat graded, not released"
            )
        finally:
            os.chmod(feedback, mode)
        [line] = [
            x for x in log.read_text().splitlines() if f"graded {CAT}+" in x and "could not be released" in x
        ]
        assert "PermissionError" in line and f"nbgrader release_feedback {ASSIGNMENT}" in line, line
        assert score(course, CAT)[0] == score(course, CAT)[1]  # the grade is kept
        listed = course.nbgrader(CAT, "list", "--cached", "--course", COURSE_ID)
        assert "its feedback could not be released yet" in listed.stdout + listed.stderr
        # What the log tells the staff to run, once the folder is fixed, brings it to the student.
        course.nbgrader(GRADER, "release_feedback", ASSIGNMENT, cwd=course.course)
        assert "halved the gradient" not in fetched_page(
            course, CAT
        ) and "not passed yet" not in fetched_page(course, CAT)
    finally:
        stop_grading_service(service)
