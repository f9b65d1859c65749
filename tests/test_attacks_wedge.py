"""A worker that reads its request and never answers costs only that request (issue 32, item 1:
every read from a worker has a deadline, as every write has; tests/test_sandbox_attacks.py holds
the worker that stops reading). Planted code in a restarted zygote could do either. A fake
worker stands in for the wedged zygote, under a real bwrap of its own; the mutation reads with
no deadline (one an hour away) and the grader is still waiting when the test gives up on it."""

import threading
import time

import pytest

from autograder.grading.problems import detail_of
from autograder.sandbox import bwrap
from autograder.sandbox import runner as runner_module
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

pytestmark = [
    pytest.mark.attacks,
    pytest.mark.skipif(not bwrap.sandbox_available(), reason="bubblewrap (bwrap) is not installed"),
]

# Ready, then every request read to its end and none answered.
SILENT = "import os, sys\nos.write(1, b'{\"ready\": true}\\n')\nfor line in sys.stdin.buffer:\n    pass\n"
REQUEST = {"cells": [["answer", "x = 1"]], "calls": []}


@pytest.fixture
def silent(monkeypatch, tmp_path):
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "0")
    fake = tmp_path / "worker.py"
    fake.write_text(SILENT)
    monkeypatch.setattr(runner_module, "WORKER_FILES", (fake,))
    with StudentRunner(Limits(wall_seconds=2), require_sandbox=True) as runner:
        runner.margin_seconds = 1.0
        yield runner


def test_a_worker_that_never_answers_costs_only_its_own_request(silent, monkeypatch):
    began = time.monotonic()
    result = silent.run(REQUEST)
    took = time.monotonic() - began
    assert result.status == "crashed" and "stopped answering" in detail_of(result), result
    assert took < 2 + 1 + 5, took
    monkeypatch.undo()
    with StudentRunner(Limits(wall_seconds=10), require_sandbox=True) as innocent:  # the real worker
        after = innocent.run(
            {"cells": [["answer", "x = 6 * 7"]], "calls": [{"op": "variables", "names": ["x"]}]}
        )
    assert after.ok and after.results == [{"x": {"float": 42.0}}], after


def test_without_the_read_deadline_the_grader_waits_for_good(silent):
    silent.margin_seconds = 3600.0  # the mutation: a read with no deadline to speak of
    done = []
    waiting = threading.Thread(target=lambda: done.append(silent.run(REQUEST)), daemon=True)
    waiting.start()
    waiting.join(2 + 1 + 5)
    stuck = waiting.is_alive()
    silent.process.kill()  # the worker gone, the read ends (its pipe closed) and so does the thread
    waiting.join(30)
    assert stuck and done and done[0].status == "crashed"
