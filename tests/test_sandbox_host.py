"""The sandbox host (autograder/sandbox/host.py): workers forked from one process that imported
numpy once must be as separate from each other, and as unprivileged, as workers that each
start a bwrap of their own. Real bwrap, real namespaces, real uids (root only)."""

import json
import logging
import os
import signal
from pathlib import Path

import pytest

from autograder.sandbox import bwrap, hosted
from autograder.sandbox.hosted import HostedWorker
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

LIMITS = Limits(wall_seconds=5, memory_bytes=1024**3, output_bytes=20000)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not bwrap.sandbox_available() or bwrap.setpriv_path() is None,
    reason="the sandbox host needs root, bwrap and setpriv",
)


@pytest.fixture(autouse=True)
def hosted_workers(monkeypatch):
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "1")


def hosted_runner(**kwargs):
    runner = StudentRunner(LIMITS, require_sandbox=True, **kwargs).__enter__()
    assert isinstance(runner.process, HostedWorker), runner._start_failure
    return runner


def inside(runner, source):
    """Run `source` in a fresh child of the runner's worker; what it printed (one JSON line)."""
    result = runner.run({"cells": [["probe", source]], "calls": []})
    assert result.ok, (result.status, result.detail, result.output)
    return json.loads(result.output.strip().splitlines()[-1])


def test_a_hosted_worker_keeps_no_privilege_of_the_host():
    runner = hosted_runner()
    try:
        seen = inside(
            runner,
            """
import ctypes, json, os, socket
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
libc = ctypes.CDLL(None, use_errno=True)
tries = {}
for name, attempt in (("setuid0", lambda: os.setuid(0)),
                      ("mount", lambda: libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, None) == 0 or
                                        (_ for _ in ()).throw(OSError(ctypes.get_errno(), "mount"))),
                      ("unshare", lambda: libc.unshare(0x00020000) == 0 or
                                          (_ for _ in ()).throw(OSError(ctypes.get_errno(), "unshare")))):
    try:
        attempt()
        tries[name] = "allowed"
    except OSError as e:
        tries[name] = "refused"
print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "tries": tries,
                  "caps": {k: int(status[k].strip(), 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
                  "nnp": status["NoNewPrivs"].strip(), "host": socket.gethostname(), "pid": os.getppid(),
                  "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}))
""",
        )
    finally:
        runner.__exit__(None, None, None)
    assert seen["uid"] == seen["gid"] == runner.uid and seen["groups"] == []
    assert seen["caps"] == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}
    assert seen["nnp"] == "1" and seen["host"] == "sandbox"
    assert seen["tries"] == {"setuid0": "refused", "mount": "refused", "unshare": "refused"}
    # Its own pid namespace: the worker is pid 1, the probe its child, nothing else is there.
    assert seen["pid"] == 1 and len(seen["pids"]) == 2


def test_two_workers_of_one_host_see_nothing_of_each_other():
    """Two students graded at once by one host: their scratch directories, /tmp, /dev/shm,
    processes and uids are their own, and nothing the first leaves reaches a later worker."""
    first, second = hosted_runner(), hosted_runner()
    try:
        assert first.uid != second.uid
        inside(
            first,
            """
import json, os, subprocess
for path in ("/tmp/first-secret", "/dev/shm/first-secret", "first-secret"):
    open(path, "w").write("answers")
subprocess.Popen(["sleep", "30"], start_new_session=True)  # swept with its request; looked for below anyway
print(json.dumps(os.getcwd()))
""",
        )
        seen = inside(
            second,
            f"""
import json, os
print(json.dumps({{"tmp": os.listdir("/tmp"), "shm": os.listdir("/dev/shm"), "cwd": os.listdir("."),
                   "first_scratch": os.path.exists({str(first.scratch)!r}),
                   "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}}))
""",
        )
        assert (first.scratch / "first-secret").read_text() == "answers"  # it did write, in its own scratch
        assert "first-secret" not in json.dumps(seen), seen
        assert seen["shm"] == [] and not seen["first_scratch"] and len(seen["pids"]) == 2
        first.__exit__(None, None, None)
        third = hosted_runner()
        try:
            later = inside(
                third, 'import json, os; print(json.dumps(os.listdir("/tmp") + os.listdir("/dev/shm")))'
            )
            assert "first-secret" not in later
        finally:
            third.__exit__(None, None, None)
    finally:
        first.__exit__(None, None, None)
        second.__exit__(None, None, None)
    assert bwrap.processes_of_uid(first.uid) == [] and bwrap.processes_of_uid(second.uid) == []


def test_the_host_holds_nothing_of_the_graders_and_leaves_nothing_behind(tmp_path):
    """What the host's sandbox shows a worker is what a worker's own bwrap shows: the grader's
    packages hidden, the grader's temporary folders absent; stopping a runner ends its worker."""
    runner = hosted_runner()
    try:
        seen = inside(
            runner,
            f"""
import json, os
def visible(p):
    try:
        return os.path.exists(p) and bool(os.listdir(p) if os.path.isdir(p) else True)
    except OSError:
        return False
print(json.dumps({{"pytest_tmp": os.path.exists({str(tmp_path)!r}), "shadow": os.path.exists("/etc/shadow"),
                   "solutions": visible({str(Path(__file__).resolve().parent.parent / "solutions")!r})}}))
""",
        )
    finally:
        runner.__exit__(None, None, None)
    assert seen == {"pytest_tmp": False, "shadow": False, "solutions": False}
    assert bwrap.processes_of_uid(runner.uid) == []


def test_a_host_that_dies_is_replaced_and_one_that_cannot_start_falls_back_to_bwrap(monkeypatch, caplog):
    runner = hosted_runner()
    runner.__exit__(None, None, None)
    host = hosted.sandbox_host(())
    os.killpg(host.process.pid, signal.SIGKILL)
    host.process.wait(timeout=10)
    again = hosted_runner()  # a new host, started for it
    try:
        assert inside(again, "import json; print(json.dumps(6 * 7))") == 42
    finally:
        again.__exit__(None, None, None)
    assert hosted.sandbox_host(()) is not host

    monkeypatch.setattr(hosted, "HOST_FILES", (Path("/nonexistent/host.py"),))
    with caplog.at_level(logging.WARNING, logger="backprop-kit"):
        fallback = StudentRunner(LIMITS, require_sandbox=True, hide=[Path("/nonexistent-hide")]).__enter__()
    try:
        assert not isinstance(fallback.process, HostedWorker) and fallback.process is not None
        assert "sandbox host did not start" in caplog.text
        assert inside(fallback, "import json, os; print(json.dumps(os.getuid()))") == fallback.uid
    finally:
        fallback.__exit__(None, None, None)


def test_a_worker_that_cannot_be_built_is_reported_not_run(monkeypatch):
    """A failure while building a worker's sandbox ends that process before any student code:
    the request is reported as not run, with the reason, and the next runner works."""
    runner = StudentRunner(LIMITS, require_sandbox=True).__enter__()
    try:
        runner._stop()
        assert bwrap.processes_of_uid(4242) == []  # (the runner kills what runs as its uid when it stops)
        monkeypatch.setattr(runner, "uid", 4242)  # a real account's range: the worker must refuse it
        result = runner.run({"cells": [["x", "print('ran')"]], "calls": []})
        assert result.status == "crashed" and "did not start" in result.detail and "ran" not in result.output
    finally:
        runner.__exit__(None, None, None)
    fine = hosted_runner()  # hosted again: the failure did not cost the host
    try:
        assert inside(fine, "import json; print(json.dumps('fine'))") == "fine"
    finally:
        fine.__exit__(None, None, None)
