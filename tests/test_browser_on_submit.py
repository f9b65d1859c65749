"""Grading on submit in the student's browser, on a real JupyterHub: real PAM logins of system
accounts made here, each student's server run as that account, and `backprop-kit
grading-service` started by the hub itself as the course account (`feedback: on-submit`, one
attempt each).

Ann, in headless Chromium, fetches and submits from the Assignments tab while Ben's submission
(his own `nbgrader submit`, as his account) is being graded: her tab says she is being graded
and where she is in the queue, then offers *Fetch Feedback*; the feedback page opens; a second
Submit is refused, saying why and what to do. Screenshots of each step go to the screenshot
folder (tests/browser.py)."""

import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from browser import chrome, require_chromium, screenshot_folder
from hub_course import (
    ACCOUNT_PREFIX,
    feedback_on_submit,
    hub_course,
    lab_for_tests,
    nbgrader_argv,
    nbgrader_as,
    on_submit_status,
)
from test_hub_end_to_end import click_text, fill_fetched, log_in, open_assignments, scroll_to, wait_for

from autograder import demo

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

simulated_class = demo.load_simulated_class()
GRADER, INSTRUCTOR = f"{ACCOUNT_PREFIX}-bosg", f"{ACCOUNT_PREFIX}-bosta"
ANN, BEN = f"{ACCOUNT_PREFIX}-bosann", f"{ACCOUNT_PREFIX}-bosben"
COURSE_ID, ASSIGNMENT = "cs231n-backprop", "backprop"


@pytest.fixture(scope="module")
def hub():
    require_chromium()
    roster = f"id,first_name,last_name,email\n{ANN},Ann,Lee,\n{BEN},Ben,Kim,\n"
    on_submit = feedback_on_submit("{attempts: 1}")
    with hub_course(
        [GRADER, INSTRUCTOR, ANN, BEN],
        GRADER,
        INSTRUCTOR,
        roster,
        on_submit,
    ) as course:
        lab_for_tests(course)
        with course.running() as h:
            course.nbgrader(GRADER, "release_assignment", ASSIGNMENT, cwd=course.course)
            yield h


def nbgrader(hub, user, *argv, cwd=None):
    return nbgrader_as(hub.out, user, *argv, cwd=cwd)


def status(hub, student):
    return on_submit_status(hub.exchange, COURSE_ID, ASSIGNMENT, student)


def tab_text(driver):
    driver.execute_script("const b = document.querySelector('#refresh_assignments_list'); if (b) b.click();")
    return driver.execute_script(
        "const l = document.querySelector('#submitted_assignments_list'); return l ? l.innerText : '';"
    )


def test_a_student_submits_sees_her_place_in_the_queue_fetches_feedback_and_is_refused_a_second_attempt(hub):
    folder = screenshot_folder("on-submit")
    source = hub.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    correct = simulated_class.reference_answers(nbformat.read(source, as_version=4))
    wrong = {**correct, "add_gate": simulated_class.MISTAKES["add-split"][1]}
    wait_for_log = "ready: grading on submit"

    def service_log():  # the hub's log holds its services' output
        return hub.log_path.read_text(errors="replace")

    # Ben fetches by command; his notebook filled in with an endless loop, which keeps the
    # service busy for its time limit: Ann's submission waits in the queue meanwhile.
    nbgrader(hub, BEN, "fetch_assignment", ASSIGNMENT, "--course", COURSE_ID)
    fill_fetched(BEN, {**correct, "sigmoid_gate": simulated_class.BROKEN["sigmoid_gate"]})

    driver = chrome(1400, 1000)
    try:
        log_in(driver, hub, ANN)
        open_assignments(driver)
        click_text(driver, "#released_assignments_list button", "Fetch")
        wait_for(
            driver,
            f"return document.querySelector('#fetched_assignments_list').innerText.includes('{ASSIGNMENT}')",
            120,
        )
        fill_fetched(ANN, wrong)
        assert wait_for_log in service_log(), service_log()[-3000:]  # warm before anyone could submit

        # Ben submits; while his submission is graded, Ann submits from her tab.
        ben = subprocess.Popen(
            nbgrader_argv(hub.out, BEN, "submit", ASSIGNMENT, "--course", COURSE_ID),
            cwd=Path("~" + BEN).expanduser(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert ben.wait(timeout=300) == 0, ben.stdout.read()
        deadline = time.monotonic() + 300
        while status(hub, BEN).get("state") not in ("grading", "graded") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status(hub, BEN).get("state") == "grading", status(hub, BEN)
        open_assignments(driver)
        click_text(driver, "#fetched_assignments_list button", "Submit")
        said = wait_for(
            driver,
            "const l = document.querySelector('#submitted_assignments_list'); "
            "if (!l) return ''; const t = l.innerText;"
            " if (!t.includes('being graded') && !t.includes('waiting to be graded')) {"
            " const b = document.querySelector('#refresh_assignments_list'); if (b) b.click(); return ''; }"
            " return t;",
            120,
        )
        driver.save_screenshot(str(folder / "1-ann-being-graded.png"))
        assert "being graded: number 1 in the queue" in said, said

        # Graded: the tab stops saying so (nbgrader shows Fetch Feedback all along), the feedback
        # is fetched, and the page opens.
        wait_for(
            driver,
            "const l = document.querySelector('#submitted_assignments_list');"
            " if (l && l.innerText.includes('backprop') && !/being graded|waiting to be graded/.test(l.innerText))"
            " return true; const b = document.querySelector('#refresh_assignments_list'); if (b) b.click(); return false;",
            600,
        )
        click_text(driver, "#submitted_assignments_list button", "Fetch Feedback")
        wait_for(
            driver,
            "return document.querySelector('#submitted_assignments_list').innerText.includes('view feedback')",
            120,
        )
        driver.save_screenshot(str(folder / "2-ann-fetch-feedback.png"))
        [page] = (Path("~" + ANN).expanduser() / COURSE_ID / ASSIGNMENT / "feedback").glob("*/*.html")
        driver.get(f"{hub.url}/user/{ANN}/files/{page.relative_to(Path('~' + ANN).expanduser())}")
        wait_for(driver, "return document.body && document.body.innerText.includes('points')", 60)
        text = driver.execute_script("return document.body.innerText")
        assert "halved the gradient" in text, text[:3000]
        scroll_to(driver, "halved the gradient")
        driver.save_screenshot(str(folder / "3-ann-feedback-page.png"))

        # A second Submit: refused before anything is copied, saying why and what to do.
        inbound = hub.exchange / COURSE_ID / "inbound"
        before = sorted(p.name for p in inbound.iterdir())
        driver.get(f"{hub.url}/user/{ANN}/lab")
        wait_for(driver, "return !!(window.jupyterapp && window.jupyterapp.started)", 120)
        open_assignments(driver)
        listed = wait_for(
            driver,
            "const l = document.querySelector('#submitted_assignments_list');"
            " return l && l.innerText.includes('no more attempts') ? l.innerText : '';",
            60,
        )
        assert "you have used all 1 attempts" in listed, listed
        driver.save_screenshot(str(folder / "4-ann-no-more-attempts.png"))
        click_text(driver, "#fetched_assignments_list button", "Submit")
        refused = wait_for(
            driver,
            # the dialog's frame (its Ok) shows before its body: wait for the body's words
            "const d = document.querySelector('.jp-Dialog-content');"
            " return d && d.innerText.includes('not submitted') ? d.innerText : '';",
            120,
        )
        driver.save_screenshot(str(folder / "5-ann-submit-refused.png"))
        # The kit's reason alone (autograder/hub/assignments_tab.py), a sentence a line, under
        # nbgrader's own "Assignment not submitted:": no traceback.
        reason = refused.split("Assignment not submitted:", 1)[-1].strip()
        assert reason.startswith("you have used all 1 attempts of this assignment;\nthe last one"), refused
        assert "grant-attempt" in refused, refused
        assert "Traceback" not in refused and "ExchangeError" not in refused, refused
        assert sorted(p.name for p in inbound.iterdir()) == before  # nothing copied
    finally:
        driver.quit()
