"""The worker's signal state is the same whichever process grades (issue 32, item 6).

`backprop-kit autograde`'s grading processes ignore SIGINT (the coordinator handles Ctrl-C),
`nbgrader autograde` does not, and ignored signals and the blocked mask pass through fork and
exec into the sandbox. Student code reports its process's dispositions and mask, graded from a
process in each state, both ways a worker starts: they must be the same, and a fresh Python's.
The mutation runs a worker.py without `settle_signals`: the state then leaks through."""

import json
import os
import signal
from pathlib import Path

import pytest

from autograder.sandbox import bwrap, hosted
from autograder.sandbox import runner as runner_module
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

REPO = Path(__file__).resolve().parent.parent
LIMITS = Limits(wall_seconds=10, memory_bytes=1024**3, output_bytes=20000)

pytestmark = [
    pytest.mark.attacks,
    pytest.mark.skipif(not bwrap.sandbox_available(), reason="bubblewrap (bwrap) is not installed"),
]

REPORT = """
import json, signal
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({
    "ignored": status["SigIgn"].strip(), "blocked": status["SigBlk"].strip(),
    "caught": status["SigCgt"].strip(),
    "sigint": repr(signal.getsignal(signal.SIGINT)),
}))
"""


def reported(way, grader_state):
    """What student code sees of its signals, graded from a process in `grader_state`."""
    os.environ["BPKIT_SANDBOX_HOST"] = "1" if way == "hosted" else "0"
    hosted._hosts = type(hosted._hosts)()  # a host started from this state (hosts are kept per thread)
    previous = signal.getsignal(signal.SIGINT)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        if grader_state == "as backprop-kit autograde's":
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGTERM])
        with StudentRunner(LIMITS, require_sandbox=True, hide=[REPO]) as runner:
            result = runner.run({"cells": [["report", REPORT]]})
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        for host in getattr(hosted._hosts, "by_key", {}).values():
            host.stop()
    assert result.ok, (result.status, result.detail)
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture
def ways(monkeypatch):
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "1")
    monkeypatch.setattr(hosted, "_hosts", hosted._hosts)  # restored after
    return ["hosted", "own bwrap"] if os.geteuid() == 0 else ["own bwrap"]


def test_student_code_gets_the_same_signal_state_whoever_grades(ways):
    for way in ways:
        plain = reported(way, "as nbgrader autograde's")
        batch = reported(way, "as backprop-kit autograde's")
        assert plain == batch, way
        assert plain["blocked"] == "0" * 16 and plain["sigint"] == "<built-in function default_int_handler>"
        # Of the signals Python can set: glibc keeps 32 and 33 for itself, and a grader started
        # from a shell that ignores them passes that on where no Python code can change it.
        settable = sum(1 << (s - 1) for s in signal.valid_signals() if s < 64)
        ignored = int(plain["ignored"], 16) & settable
        assert ignored == (1 << (signal.SIGPIPE - 1)) | (1 << (signal.SIGXFSZ - 1)), plain  # as Python's own


def test_without_settling_the_graders_state_leaks_into_student_code(ways, monkeypatch, tmp_path):
    """The mutation: a worker.py whose settle_signals does nothing."""
    source = (REPO / "autograder" / "sandbox" / "worker.py").read_text()
    mutated = source.replace("def settle_signals():\n", "def settle_signals():\n    return\n", 1)
    assert mutated != source
    (tmp_path / "worker.py").write_text(mutated)
    monkeypatch.setattr(
        hosted,
        "HOST_FILES",
        tuple(tmp_path / "worker.py" if f.name == "worker.py" else f for f in hosted.HOST_FILES),
    )
    monkeypatch.setattr(
        runner_module,
        "WORKER_FILES",
        tuple(tmp_path / "worker.py" if f.name == "worker.py" else f for f in runner_module.WORKER_FILES),
    )
    for way in ways:
        assert reported(way, "as nbgrader autograde's") != reported(way, "as backprop-kit autograde's"), way
