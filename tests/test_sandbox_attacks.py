"""Attacks on the sandbox itself (issue 32), each from student code in a real sandbox, both ways
a worker starts (forked by the sandbox host, and in a bwrap of its own), each followed by an
innocent student who must still be graded in full, with nothing left on disk. In the `attacks`
lane (`make test`), except the filter's own check and its refusal, which the fast lane keeps."""

import json
import os
import time
from pathlib import Path

import pytest

from autograder.grading.problems import detail_of
from autograder.sandbox import bwrap, seccomp
from autograder.sandbox import runner as runner_module
from autograder.sandbox.hosted import HostedWorker
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

REPO = Path(__file__).resolve().parent.parent
LIMITS = Limits(wall_seconds=10, memory_bytes=1024**3, output_bytes=20000)

pytestmark = pytest.mark.skipif(
    not bwrap.sandbox_available(), reason="bubblewrap (bwrap) is not installed or cannot build a sandbox here"
)


@pytest.fixture(params=["hosted", "own bwrap"])
def way(request, monkeypatch):
    """How the worker starts: forked by the sandbox host (as root), or in a bwrap of its own."""
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "1" if request.param == "hosted" else "0")
    return request.param


def start(way, **kwargs):
    runner = StudentRunner(LIMITS, require_sandbox=True, hide=[REPO], **kwargs).__enter__()
    assert runner.process is not None, runner._start_failure
    assert isinstance(runner.process, HostedWorker) == (way == "hosted" and runner.uid is not None)
    return runner


def innocent_is_graded(way):
    """A student after the attack: her code runs and her answer comes back whole."""
    runner = start(way)
    try:
        result = runner.run(
            {"cells": [["answer", "x = 6 * 7"]], "calls": [{"op": "variables", "names": ["x"]}]}
        )
    finally:
        runner.__exit__(None, None, None)
    assert result.ok and result.results == [{"x": {"float": 42.0}}], (result.status, result.detail)
    assert not runner.scratch.exists()


# ---------------------------------------------------------------- a deep tree


DEEP_TREE = """
import os
for _ in range(3000):
    os.mkdir("d")
    os.chdir("d")
open("bottom", "w").write("x" * 1000)
"""


@pytest.mark.attacks
def test_a_tree_3000_levels_deep_is_removed_and_costs_only_its_owner(way):
    runner = start(way)
    private = runner.private
    try:
        assert runner.run({"cells": [["deep", DEEP_TREE]], "calls": []}).ok
        depth = 0
        top = os.open(runner.scratch, os.O_RDONLY)
        try:  # the tree is really there, deeper than any path can name
            fd = top
            while "d" in os.listdir(fd):
                fd_next = os.open("d", os.O_RDONLY, dir_fd=fd)
                if fd != top:
                    os.close(fd)
                fd, depth = fd_next, depth + 1
            os.close(fd)
        finally:
            os.close(top)
        assert depth == 3000
    finally:
        runner.__exit__(None, None, None)  # shutil.rmtree raised RecursionError here
    assert not private.exists()
    innocent_is_graded(way)


# ---------------------------------------------------------------- the seccomp filter


def numbers(*names):
    """System call numbers of this machine, from libseccomp (never a table written here)."""
    import pyseccomp

    return {name: pyseccomp.resolve_syscall(pyseccomp.system_arch(), name) for name in names}


# Each refused call with arguments that, without the filter, fail some other way or do nothing
# that outlives the child (keys in its own process keyring, a user namespace of its own).
DENIED_CALLS = {
    "keyctl": (0, -3, 0),  # KEYCTL_GET_KEYRING_ID of the session keyring
    "add_key": (b"user", b"bpkit-probe", b"x", 1, -2),  # into the process keyring
    "request_key": (b"user", b"bpkit-none", None, 0),
    "unshare": (0x10000000,),  # CLONE_NEWUSER
    "setns": (-1, 0),
    "clone": (0x10000000 | 17, 0, 0, 0, 0),  # CLONE_NEWUSER | SIGCHLD
    "mount": (b"none", b"/tmp", b"tmpfs", 0, None),
    "umount2": (b"/tmp", 2),
    "pivot_root": (b".", b"."),
    "ptrace": (3, 0, 0, 0),  # PTRACE_PEEKUSER of pid 0: ESRCH without the filter
    "bpf": (0, None, 0),
    "perf_event_open": (None, 0, -1, -1, 0),
    "userfaultfd": (1,),  # UFFD_USER_MODE_ONLY: allowed to anyone without the filter
    "kexec_load": (0, 0, None, 0),
    "kexec_file_load": (-1, -1, 0, None, 0),
    "init_module": (None, 0, None),
    "finit_module": (-1, None, 0),
    "delete_module": (b"bpkit_none", 0),
    "io_uring_setup": (1, None),
}

PROBE_CALLS = """
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
def arg(a):
    return ctypes.c_long(a) if type(a) is int else a
seen = {}
for name, (number, args) in CALLS.items():
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *[arg(a) for a in args])
    if result == 0 and name == "clone":
        os._exit(0)  # the clone's child, had the filter let it be born
    seen[name] = errno.errorcode.get(ctypes.get_errno(), "?") if result < 0 else "allowed"
    if result > 0 and name in ("userfaultfd", "io_uring_setup", "perf_event_open"):
        os.close(result)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"calls": seen, "seccomp": status.get("Seccomp", "").strip(),
                  "keys": open("/proc/keys").read()}))
"""


def probe_calls(way):
    """What each refused call did in student code, the Seccomp mode, and what /proc/keys shows."""
    table = {**DENIED_CALLS, "clone3": (None, 0)}
    calls = {name: [number, list(table[name])] for name, number in numbers(*table).items()}
    runner = start(way)
    try:
        result = runner.run({"cells": [["probe", f"CALLS = {calls!r}\n" + PROBE_CALLS]], "calls": []})
    finally:
        runner.__exit__(None, None, None)
    assert result.ok, (result.status, result.detail, result.output)
    return json.loads(result.output.strip().splitlines()[-1])


def assert_refused(seen):
    assert seen["calls"] == {**dict.fromkeys(DENIED_CALLS, "EPERM"), "clone3": "ENOSYS"}, seen["calls"]
    assert seen["seccomp"] == "2"  # filter mode


def test_every_denied_call_fails_with_eperm_from_student_code(way):
    seen = probe_calls(way)
    assert_refused(seen)
    assert seen["keys"] == ""  # /proc/keys masked, as Docker masks it
    innocent_is_graded(way)


@pytest.mark.attacks
def test_without_the_filter_the_denied_call_test_fails(way, monkeypatch):
    """The mutation check: the calls are refused by the filter, not by some other layer."""
    monkeypatch.setattr(seccomp, "ENFORCED", False)
    seen = probe_calls(way)
    with pytest.raises(AssertionError):
        assert_refused(seen)
    assert seen["seccomp"] == "0"
    assert seen["calls"]["keyctl"] != "EPERM" and seen["calls"]["add_key"] == "allowed"
    innocent_is_graded(way)  # a new host, still without the filter: grading itself does not need it


# ---------------------------------------------------------------- keyrings

# A TA grading from a login session (ssh, su -l) has a session keyring, and every process the
# grader starts inherits it. Run in a process of its own, which joins such a keyring first.
KEYRING_GRADING = """
import ctypes, json, os, sys
from autograder.sandbox import seccomp
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

KEYCTL, ADD_KEY = {keyctl}, {add_key}
libc = ctypes.CDLL(None, use_errno=True)
assert libc.syscall(KEYCTL, 1, b"bpkit-ta-session") > 0  # KEYCTL_JOIN_SESSION_KEYRING
assert libc.syscall(ADD_KEY, b"user", b"ta-secret", b"hunter2", 7, ctypes.c_long(-3)) > 0
seccomp.ENFORCED = {enforced}

def student(source):
    with StudentRunner(Limits(wall_seconds=10), require_sandbox=True) as runner:
        result = runner.run({{"cells": [["keys", PRELUDE + source]], "calls": []}})
        assert result.ok, (result.status, result.detail)
        return json.loads(result.output.strip().splitlines()[-1])

PRELUDE = '''
import ctypes, errno, json
libc = ctypes.CDLL(None, use_errno=True)
def outcome(result):
    return errno.errorcode.get(ctypes.get_errno(), "?") if result < 0 else "found"
def search(name):  # KEYCTL_SEARCH in the session keyring
    return outcome(libc.syscall({keyctl}, 10, ctypes.c_long(-3), b"user", name, 0))
'''
left = student('print(json.dumps(outcome(libc.syscall({add_key}, b"user", b"left-by-a", b"a", 1, ctypes.c_long(-3)))))')
seen = student('print(json.dumps({{"a": search(b"left-by-a"), "ta": search(b"ta-secret")}}))')
print(json.dumps({{"left": left, "seen": seen}}))
"""


def grade_with_a_ta_keyring(enforced):
    import subprocess
    import sys

    script = KEYRING_GRADING.format(enforced=enforced, **numbers("keyctl", "add_key"))
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "BPKIT_SANDBOX_HOST": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    os.geteuid() != 0, reason="hosted workers (root): a worker in a bwrap of its own has the filter only"
)
@pytest.mark.attacks
def test_a_key_left_by_one_student_is_not_seen_by_the_next_nor_the_tas():
    # With the filter, no student can even add a key.
    assert grade_with_a_ta_keyring(enforced=True) == {
        "left": "EPERM",
        "seen": {"a": "EPERM", "ta": "EPERM"},
    }
    # Without it (the fresh session keyring alone): A's key lands in A's own keyring, gone with
    # her worker; B finds neither it nor the TA's.
    assert grade_with_a_ta_keyring(enforced=False) == {
        "left": "found",
        "seen": {"a": "ENOKEY", "ta": "ENOKEY"},
    }


def test_without_a_filter_a_required_sandbox_refuses_and_otherwise_it_is_said_once(monkeypatch, caplog):
    monkeypatch.setattr(
        seccomp, "_built", lambda kind: seccomp.Unavailable("libseccomp cannot be loaded: gone")
    )
    monkeypatch.setattr(seccomp, "_said", False)
    monkeypatch.setattr(seccomp, "_broken", "")
    assert seccomp.open_program() is None and seccomp.program("host") is None
    with pytest.raises(
        bwrap.SandboxUnavailable, match=r"seccomp filter cannot be used here \(libseccomp cannot"
    ):
        bwrap.require(True)
    assert bwrap.require(False)  # sandboxed still, without the filter
    said = [r.getMessage() for r in caplog.records if "no seccomp filter" in r.getMessage()]
    assert len(said) == 1 and "\n" not in said[0] and "require_sandbox: true refuses" in said[0]


# ---------------------------------------------------------------- a restart that loads planted code

HELPERS = {"bpkit/__init__.py": b"HELPER = 'here'\n"}
PLANT = "import os\nopen(os.path.join(os.getcwd(), 'planted-ran'), 'a').write(str(os.getpid()))\nHELPER = 'planted'\n"
PLANT_AND_RESTART = f"""
import os, signal
PLANT = {PLANT!r}
def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text)
write("evil/__init__.py", PLANT)  # a package of its own, for the restarted worker to preload
os.rename("bpkit", "bpkit-moved")  # the course's helper, replaced
write("bpkit/__init__.py", PLANT)
write("IPython/__init__.py", PLANT)  # what the zygote imports for cells in IPython's syntax
write("IPython/core/__init__.py", "")
write("IPython/core/interactiveshell.py", PLANT)
# Force a restart: SIGINT to pid 1 (a hosted worker), or kill the zygote (one in a bwrap of its own).
os.kill(os.getppid(), signal.SIGINT if os.getppid() == 1 else signal.SIGKILL)
"""
AFTER_RESTART = """
import json, os, sys
import bpkit
# get_ipython: this cell is one the zygote imports IPython for
print(json.dumps({"helper": bpkit.HELPER, "planted ran": os.path.exists("planted-ran"),
                  "evil loaded": "evil" in sys.modules,
                  "ipython from": os.path.dirname(sys.modules["IPython"].__file__)}))
"""


@pytest.mark.attacks
def test_a_restarted_worker_loads_nothing_student_code_planted(way):
    runner = start(way, helper_files=HELPERS)
    try:
        runner.run({"cells": [["plant", PLANT_AND_RESTART]], "calls": []})
        result = runner.run({"cells": [["after", AFTER_RESTART]], "calls": []})
        assert result.ok, (result.status, result.detail, result.output)
        seen = json.loads(result.output.strip().splitlines()[-1])
    finally:
        runner.__exit__(None, None, None)
    assert seen["helper"] == "here"  # the grader's copy, restored before the restart
    assert not seen["planted ran"] and not seen["evil loaded"]
    assert not seen["ipython from"].startswith(str(runner.scratch)) and "scratch" not in seen["ipython from"]
    innocent_is_graded(way)


# ---------------------------------------------------------------- a worker that stops reading


@pytest.mark.attacks
def test_a_worker_that_stops_reading_costs_only_its_own_request(monkeypatch, tmp_path):
    """What planted code did in a restarted zygote (issue 32): say it is ready, then read
    nothing. A request larger than a pipe's buffer (64 KiB) then blocked the grader's write for
    good. A fake worker stands in for the wedged zygote, under a real bwrap of its own (a hosted
    worker runs the host's copy of worker.py); the write now has the request's deadline."""
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "0")
    fake = tmp_path / "worker.py"
    fake.write_text("import os, time\nos.write(1, b'{\"ready\": true}\\n')\ntime.sleep(3600)\n")
    monkeypatch.setattr(runner_module, "WORKER_FILES", (fake,))
    with StudentRunner(Limits(wall_seconds=2), require_sandbox=True) as wedged:
        wedged.margin_seconds = 1.0
        began = time.monotonic()
        result = wedged.run({"cells": [["large", "x = 1\n#" + "a" * (256 * 1024)]], "calls": []})
        took = time.monotonic() - began
    assert result.status == "crashed" and "stopped answering" in detail_of(result), result
    assert took < 2 + 1 + 5, took
    monkeypatch.undo()
    for way in ("hosted", "own bwrap"):  # the real worker again, both ways
        monkeypatch.setenv("BPKIT_SANDBOX_HOST", "1" if way == "hosted" else "0")
        innocent_is_graded(way)
