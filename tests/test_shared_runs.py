"""Checks that need the same cells are answered from one run of the sandboxed worker (issue 21:
a gate's forward, backward and ties run the same cells), and every grade and every word of
feedback stays what it is when each check runs alone: a crash, an error or a loop in one
place costs what it cost before, and nothing more is lost."""

import collections
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import demo
from autograder.batch.pipeline import SubmissionJob, grade_submission
from autograder.batch.run import load_course_setup
from autograder.bpkit.gradcheck import H
from autograder.config import load_course
from autograder.course import init
from autograder.grading import preprocessors
from autograder.grading.checks import _gate_calls, _output_shape, gate_cases, upstream
from autograder.grading.context import make_context
from autograder.grading.inprocess import InProcessSubject
from autograder.grading.registry import gate_checks, plan_check, run_check
from autograder.grading.sandboxed import RunAgainWhenBusy, ShareRuns, SkipAfterTimeout, shared_wall_seconds
from autograder.sandbox.bwrap import sandbox_available
from autograder.sandbox.limits import WALL_FACTOR
from autograder.sandbox.protocol import encode
from autograder.sandbox.runner import StudentRunner
from solutions.table import GATES

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data
REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 3  # grading.timeout_seconds of this course: a loop costs little

CRASHING_BACKWARD = """
    class AddGate:
        def forward(self, x, y):
            return x + y
        def backward(self, dout):
            import os
            os._exit(3)               # kills its process, in backward only
    """
LOOPING_BACKWARD = """
    import numpy as np
    class MaxGate:
        def forward(self, x, y):
            return np.maximum(x, y)
        def backward(self, dout):
            while True:               # loops in a call, not in the cell
                pass
    """
RAISING_CELL = "raise ValueError('not finished')\n"
# A loop that sleeps: it uses no CPU, so its wall-clock backstop ends it (counted in its own time,
# not the machine's load), once, and the number of runs it costs is always the same.
LOOPING_CELL = "import time\nwhile True:\n    time.sleep(0.05)\n"


def ctx_of(exercise, check):
    return make_context(
        exercise,
        check,
        seed=5,
        course_id="c",
        assignment="backprop",
        randomization="per-course",
        student_id="s",
    )


class Recording(InProcessSubject):
    """The reference solution in-process, keeping every ask it is sent."""

    def __init__(self, namespace):
        super().__init__(namespace)
        self.asks = []

    def run(self, cell_ids, calls):
        self.asks.append((tuple(cell_ids), calls))
        return super().run(cell_ids, calls)


# ---------------------------------------------------------------- the same calls as before (in-process, fast)


@pytest.mark.parametrize("spec", GATES, ids=lambda s: s.grade_id)
def test_backward_draws_its_own_forward_case_as_it_always_did(spec):
    """The consistency case is drawn before the first ask now: the same draws from the same
    stream position (after the cases' upstream gradients), so the same calls as before."""
    rng = ctx_of(spec.grade_id, "backward").rng
    for case in gate_cases(spec, rng):  # the cases, then their upstream gradients, as the main ask uses them
        upstream(rng, _output_shape(spec, case.inputs))
    label, inputs, _origin = [c for c in gate_cases(spec, rng) if c.origin == "random"][-1]
    inputs = tuple(np.asarray(v, dtype=float) for v in inputs)
    dout = upstream(rng, _output_shape(spec, inputs))
    then = _gate_calls(spec, [[("forward", inputs), ("backward", (dout,))]]) + [
        {
            "op": "nudged_forwards",
            "class": spec.name,
            "args": [encode(v) for v in inputs],
            "h": H,
            "fixed": [],
        }
    ]

    subject = Recording({spec.name: spec.cls})  # the reference gate
    assert run_check(spec.grade_id, "backward", subject, ctx_of(spec.grade_id, "backward")).fraction == 1
    assert len(subject.asks) == 2 and subject.asks[1] == ((spec.grade_id,), then)


@pytest.mark.parametrize("spec", GATES, ids=lambda s: s.grade_id)
def test_a_check_asks_what_it_planned_and_nothing_else(spec):
    """A check's plan declares every ask before any runs (which is how the asks of one gate's
    checks are answered from one run): running it asks exactly those, in that order."""
    for check, _points in gate_checks(spec):
        planned = plan_check(spec.grade_id, check, ctx_of(spec.grade_id, check)).asks
        subject = Recording({spec.name: spec.cls})
        assert run_check(spec.grade_id, check, subject, ctx_of(spec.grade_id, check)).fraction == 1
        assert [(ask.cell_ids, ask.calls) for ask in planned] == subject.asks, check
        assert len(planned) == (2 if check == "backward" else 1)  # backward: the slope of its own forward too


def test_a_needed_ask_without_an_answer_ends_the_check_and_one_not_needed_is_judged():
    """Backward's first ask gets no answer: the check fails with its problem and asks nothing
    more. Its second (the slope of the student's own forward) gets none: the first's outcomes stand."""
    from autograder.sandbox.runner import RunResult

    spec = GATES[0]

    class Failing(Recording):
        def __init__(self, namespace, failing):
            super().__init__(namespace)
            self.failing = failing

        def run(self, cell_ids, calls):
            reply = super().run(cell_ids, calls)
            return RunResult("crashed", "killed by signal 9") if len(self.asks) == self.failing else reply

    first = Failing({spec.name: spec.cls}, failing=1)
    result = run_check(spec.grade_id, "backward", first, ctx_of(spec.grade_id, "backward"))
    assert len(first.asks) == 1 and result.error_kind == "crashed" and not result.outcomes
    second = Failing({spec.name: spec.cls}, failing=2)
    result = run_check(spec.grade_id, "backward", second, ctx_of(spec.grade_id, "backward"))
    assert len(second.asks) == 2 and not result.error and not result.outcomes[-1].passed
    assert all(o.passed for o in result.outcomes[:-1]) and "crashed" in result.outcomes[-1].message


# ---------------------------------------------------------------- graded for real, merged and alone


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    root = tmp_path_factory.mktemp("shared-runs")
    text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", rf"\1 {TIMEOUT}", (REPO / "course.yaml").read_text())
    text = re.sub(r"(?m)^(\s*require_sandbox:).*$", r"\1 true", text)
    (root / "course.yaml").write_text(text)
    init(root / "kit", load_course(root / "course.yaml"), root / "course.yaml", log=lambda m: None)
    _config, _coursedir, _course, snapshot = load_course_setup(root / "kit", "backprop")
    assert snapshot.course.grading.timeout_seconds == TIMEOUT
    source = nbformat.read(root / "kit" / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(root / "kit" / "release" / "backprop" / "backprop.ipynb", as_version=4)
    return snapshot, source, release


def graded(snapshot, release, student, answers, monkeypatch, merged):
    """(grades, comments, the report's cells, [(cell list, wall-clock limit)] of the worker's requests,
    [the cell lists the RunAgainWhenBusy step ran once more]) of one submission."""
    cell_lists, walls, again = [], [], []
    run = StudentRunner.run

    def counted(self, request):
        cell_lists.append(
            tuple(name for name, _source in request["cells"]) if not request.get("notebook") else "notebook"
        )
        walls.append(request.get("limits", {}).get("wall_seconds"))  # None: the course's
        return run(self, request)

    class CountedAgain(RunAgainWhenBusy):
        def __init__(self, inner, setting):
            super().__init__(inner, setting)
            self.again = again  # the step's record of its runs once more, kept by the test

    steps = [ShareRuns, SkipAfterTimeout, CountedAgain]
    if not merged:  # every ask its own run, as before issue 21
        steps.remove(ShareRuns)
    with monkeypatch.context() as patched:
        patched.setattr(StudentRunner, "run", counted)
        patched.setattr(preprocessors, "RUN_STEPS", tuple(steps))
        nb = simulated_class.fill(release, answers)
        done = grade_submission(snapshot, SubmissionJob(student, {"backprop": nbformat.writes(nb).encode()}))
    assert not done.error, done.error
    result = done.notebooks["backprop"]
    return result.grades, result.comments, result.report, list(zip(cell_lists, walls)), again


def without_runs_again(requests, again):
    """The worker's requests less one of each cell list the busy step ran once more (which only a
    busy machine makes: their number depends on the load, not on the submission)."""
    requests = list(requests)
    for cells in again:
        assert cells in requests, (cells, requests)  # a run once more is a run of a cell list asked
        requests.remove(cells)
    return requests


# Some 12 s of CPU (the course's init, four students graded twice each in the sandbox): the slow lane.
@pytest.mark.slow
def test_a_correct_notebook_makes_one_request_per_cell_list_and_the_class_keeps_its_grades(
    course, monkeypatch
):
    snapshot, source, release = course
    roster = simulated_class.students(source)
    for student in ("ada", "ben", "cho", "kim"):  # correct, and mistaken in every kind of exercise
        answers = roster[student][1]
        *alone, requests_alone, again_alone = graded(
            snapshot, release, student, answers, monkeypatch, merged=False
        )
        *merged, requests, again = graded(snapshot, release, student, answers, monkeypatch, merged=True)
        assert merged == alone, student
        # On a busy machine a check may time out and be run once more: those runs are counted
        # apart, so the counts below are the same at any load.
        requests = without_runs_again([r for r, _wall in requests], again)
        requests_alone = without_runs_again([r for r, _wall in requests_alone], again_alone)
        assert requests.count("notebook") == requests_alone.count("notebook") == 1
        asks = [r for r in requests if r != "notebook"]
        assert sorted(asks) == sorted(set(requests_alone) - {"notebook"}), student  # one run per cell list
        if student == "ada":
            # 36 alone: each of the 4 function exercises also asks for its method (gates' backward
            # scaled); shared, those asks ride on runs already made.
            assert len(requests_alone) == 36 and len(requests) == 17, (len(requests_alone), len(requests))
            assert all(score == 1 for score in fractions(merged[2]).values())


def fractions(report):
    return {entry["grade_id"]: entry["score"] / entry["points"] for entry in report if entry["points"]}


# Its loops run into their timeouts on purpose (some 30 s), through nbgrader's own steps: the e2e lane.
@pytest.mark.e2e
def test_a_crash_an_error_and_a_loop_cost_what_they_cost_alone(course, monkeypatch):
    """A backward that kills its process, one that loops, a cell that raises and a cell that
    loops forever, in one notebook: the same grades and words as when each check runs alone."""
    snapshot, source, release = course
    correct = simulated_class.reference_answers(source)
    answers = {
        **correct,
        "add_gate": CRASHING_BACKWARD,
        "max_gate": LOOPING_BACKWARD,
        "mul_gate": RAISING_CELL + correct["mul_gate"],
        "relu_gate": LOOPING_CELL + correct["relu_gate"],
    }
    *alone, _requests, _again = graded(snapshot, release, "zed", answers, monkeypatch, merged=False)
    *merged, requests, _again = graded(snapshot, release, "zed", answers, monkeypatch, merged=True)
    assert merged == alone
    _grades, _comments, report = merged
    scores, said = fractions(report), {entry["grade_id"]: entry["feedback"] for entry in report}
    # The crash in backward: forward keeps its points, backward fails saying why.
    assert scores["test_add_gate_forward"] == 1 and scores["test_add_gate_backward"] == 0
    assert "your code crashed" in said["test_add_gate_backward"], said["test_add_gate_backward"]
    # The raising cell: every check of the gate says the error.
    for grade_id in ("test_mul_gate_forward", "test_mul_gate_backward"):
        assert scores[grade_id] == 0 and "ValueError: not finished" in said[grade_id], said[grade_id]
    # The loop in backward: forward keeps its points, backward and ties time out.
    assert scores["test_max_gate_forward"] == 1
    for grade_id in ("test_max_gate_backward", "test_max_gate_ties"):
        assert scores[grade_id] == 0 and "did not finish in time" in said[grade_id], said[grade_id]
    # The loop in the cell: the first check waits for it, the next one is skipped (below), saying the same.
    for grade_id in ("test_relu_gate_forward", "test_relu_gate_backward"):
        assert scores[grade_id] == 0 and "did not finish in time" in said[grade_id], said[grade_id]

    runs = collections.defaultdict(list)  # cell list -> the wall-clock limits of its runs, in turn
    for cells, wall in requests:
        runs[cells if cells == "notebook" else cells[-1]].append(wall)
    # A crash in the calls: the shared run, then forward and backward alone (it crashes: no second ask).
    shared = shared_wall_seconds(WALL_FACTOR * TIMEOUT)  # the shared run's shorter wall-clock limit
    assert runs["add_gate"] == [shared, None, None]
    # A loop in the calls: the shared run under a shorter limit, then each ask alone under the course's.
    assert (
        runs["max_gate"][0] == shared and len(runs["max_gate"]) >= 4 and set(runs["max_gate"][1:]) == {None}
    )
    # A loop in the cells: the shared run under the shorter limit, then forward alone (once: a
    # sleeping loop is not run again), and backward is skipped without running.
    assert runs["relu_gate"] == [shared, None]
    # A raising cell: one run says it to every check.
    assert runs["mul_gate"] == [shared]
