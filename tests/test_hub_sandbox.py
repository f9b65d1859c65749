"""Grading as the course account, as formgrader's Autograde button does on the hub (the
service runs as that account, not root): no fresh uid per sandbox is possible there, so the
sandbox is bubblewrap's user namespace, and the process cap is the account's own processes
plus Limits.processes (RLIMIT_NPROC counts per host uid; autograder/sandbox/bwrap.py). A fork
bomb and a memory bomb graded that way cost only the checks that run them."""

import json
import shutil

import nbformat
import pytest
from hub_course import (
    ACCOUNT_PREFIX,
    BIN,
    accounts,
    make_course,
    new_base,
    random_password,
    require_hub_machine,
    run,
)

from autograder import demo

pytestmark = pytest.mark.e2e

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data
GRADER = f"{ACCOUNT_PREFIX}-sbx"


def scores(course, student):
    report = json.loads(
        (course / "backprop-kit" / "reports" / "backprop" / student / "backprop.json").read_text()
    )
    return {r["grade_id"]: r for r in report["cells"]}


@pytest.fixture(scope="module")
def graded_as_course_account():
    # Its own grading, not the shared class's (shared_class.py): graded as the hub's course
    # account, as formgrader's button does, which is what these tests are about.
    require_hub_machine()
    base = new_base()
    try:
        with accounts([GRADER], random_password()):
            course = make_course(base, GRADER)
            source = nbformat.read(course / "source" / "backprop" / "backprop.ipynb", as_version=4)
            release = nbformat.read(course / "release" / "backprop" / "backprop.ipynb", as_version=4)
            correct = simulated_class.reference_answers(source)
            bombs = {
                "forky": {
                    **correct,
                    "sigmoid_gate": simulated_class._dedent(simulated_class.FORK_BOMB)
                    + correct["sigmoid_gate"],
                },
                "hungry": {**correct, "matmul_gate": simulated_class.BROKEN["matmul_gate"]},  # 8 GB
            }
            for student, answers in bombs.items():
                folder = course / "submitted" / student / "backprop"
                folder.mkdir(parents=True)
                nbformat.write(simulated_class.fill(release, answers), folder / "backprop.ipynb")
            run(["chown", "-R", f"{GRADER}:{GRADER}", str(course / "submitted")])
            # what formgrader's Autograde button runs, in the service's account
            done = run([BIN / "nbgrader", "autograde", "backprop"], user=GRADER, cwd=course, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
            yield course, done.stdout + done.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_sandbox_is_a_user_namespace_and_nothing_ran_unsandboxed(graded_as_course_account):
    _, log = graded_as_course_account
    assert "WITHOUT a sandbox" not in log, log[-3000:]


def test_a_fork_bomb_graded_as_the_course_account_stops_at_the_process_cap(graded_as_course_account):
    course, _ = graded_as_course_account
    forky = scores(course, "forky")
    # The bomb sits above a correct gate: refused at the cap, the gate still earns its points.
    for cell in ("test_sigmoid_gate_forward", "test_sigmoid_gate_backward"):
        assert forky[cell]["score"] == forky[cell]["points"], forky[cell]


def test_a_memory_bomb_graded_as_the_course_account_costs_only_its_checks(graded_as_course_account):
    course, _ = graded_as_course_account
    hungry = scores(course, "hungry")
    assert hungry["test_matmul_gate_forward"]["score"] == 0
    # The student's own code ran out of memory: "failed" (the report's one status vocabulary
    # keeps "error" for the grader's own faults).
    assert hungry["test_matmul_gate_backward"]["status"] == "failed"
    for fine in (
        "test_add_gate_backward",
        "test_sigmoid_gate_backward",
        "test_l2_gate_backward",
        "test_simple_by_hand",
    ):
        assert hungry[fine]["score"] == hungry[fine]["points"], fine
