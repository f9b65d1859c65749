"""Nothing of one student in another's process (issue 32, item 4): student code scans every
byte of memory it can read (/proc/self/maps, /proc/self/mem) for the ids of the students graded
before it in the same sandbox host, and finds none. Its process is a fork of its worker, which
is a fork of the host: whatever the host ever held is there to be read, freed or not. The
mutation runs a copy of host.py that keeps each student's environment (as when spawn orders
carried it): the scan must find them then, or it proves nothing."""

import json
import os
import secrets
from pathlib import Path

import pytest

from autograder.sandbox import bwrap, hosted
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

REPO = Path(__file__).resolve().parent.parent
LIMITS = Limits(wall_seconds=30, memory_bytes=1024**3, output_bytes=20000)

pytestmark = [
    pytest.mark.attacks,
    pytest.mark.skipif(
        not bwrap.sandbox_available() or os.geteuid() != 0,
        reason="the sandbox host runs as root, with bubblewrap",
    ),
]

# Made dumpable again (the worker is not: its children cannot read it), every readable mapping, read through /proc/self/mem a megabyte at a time (a region that cannot
# be read, such as [vvar], is skipped): which of IDS appear anywhere.
SCAN = """
import ctypes, json
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/self/mem becomes ours to open
found, scanned = set(), 0
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
    for line in maps:
        span, perms = line.split()[:2]
        if not perms.startswith("r"):
            continue
        start, end = (int(x, 16) for x in span.split("-"))
        tail = b""
        for at in range(start, end, 1 << 20):
            try:
                mem.seek(at)
                chunk = mem.read(min(1 << 20, end - at))
            except (OSError, OverflowError, ValueError):
                break
            scanned += len(chunk)
            window = tail + chunk
            for head, rest in HALVES:
                at = window.find(head)
                while at >= 0:
                    if window[at + len(head) : at + len(head) + len(rest)] == rest:
                        found.add((head + rest).decode())
                    at = window.find(head, at + 1)
            tail = window[-64:]
print(json.dumps({"found": sorted(found), "scanned": scanned}))
"""


def grade_class(count):
    """`count` students graded one after another in this thread's sandbox host, each with an id
    of its own; the last one scans its memory for the ids of all before it."""
    ids = [f"stu-{secrets.token_hex(12)}" for _ in range(count)]
    for sid in ids[:-1]:  # students whose code does nothing remarkable
        with StudentRunner(
            LIMITS, require_sandbox=True, hide=[REPO], env={"BPKIT_STUDENT_ID": sid}
        ) as runner:
            assert isinstance(runner.process, hosted.HostedWorker)
            result = runner.run({"cells": [["answer", "import os\nx = len(os.environ['BPKIT_STUDENT_ID'])"]]})
            assert result.ok, (result.status, result.detail)
    with StudentRunner(
        LIMITS, require_sandbox=True, hide=[REPO], env={"BPKIT_STUDENT_ID": ids[-1]}
    ) as runner:
        assert isinstance(runner.process, hosted.HostedWorker)
        halves = [(sid[:12].encode(), sid[12:].encode()) for sid in ids]
        result = runner.run({"cells": [["scan", f"HALVES = {halves!r}\n" + SCAN]]})
    assert result.ok, (result.status, result.detail, result.output)
    seen = json.loads(result.output.strip().splitlines()[-1])
    assert seen["scanned"] > 20 * 1024**2  # numpy's and Python's memory: the scan read the host's image
    return ids, set(seen["found"])


@pytest.fixture
def fresh_host(monkeypatch):
    """A sandbox host of this test's own (hosts are kept per thread and per key): stopped after."""
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "1")
    monkeypatch.setattr(hosted, "_hosts", type(hosted._hosts)())
    yield
    for host in getattr(hosted._hosts, "by_key", {}).values():
        host.stop()


def test_no_student_finds_an_earlier_students_id_in_its_memory(fresh_host):
    ids, found = grade_class(4)
    assert ids[-1] in found  # its own id: the scan works, and reads the environment it was given
    assert not found & set(ids[:-1]), found


# The mutation, written into a copy of host.py: before forking a worker, the host copies what
# waits on the worker's request pipe (its environment: tee(2) leaves it there for the worker)
# and keeps it: a host that holds student data, as when spawn orders carried the environment.
FORK = "            pid = os.fork()\n"
HOLDING = """

HELD = []


def hold_what_waits_on(fd):
    import ctypes

    copy_r, copy_w = os.pipe()
    copied = ctypes.CDLL(None, use_errno=True).tee(fd, copy_w, 1 << 16, 0)
    os.close(copy_w)
    HELD.append(os.read(copy_r, max(copied, 1)).decode())
    os.close(copy_r)
"""


def test_with_ids_held_by_the_host_the_scan_finds_them(fresh_host, monkeypatch, tmp_path):
    """The mutation: a host that keeps each student's environment; host.py itself has no hook for it."""
    source = (REPO / "autograder" / "sandbox" / "host.py").read_text()
    assert source.count(FORK) == 1 and "\nif __name__" in source
    requests = "            hold_what_waits_on(fds[1])  # the worker's request pipe (hosted.py: theirs)\n"
    mutant = source.replace(FORK, requests + FORK).replace("\nif __name__", HOLDING + "\n\nif __name__", 1)
    (tmp_path / "host.py").write_text(mutant)
    files = [tmp_path / "host.py" if f.name == "host.py" else f for f in hosted.HOST_FILES]
    monkeypatch.setattr(hosted, "HOST_FILES", tuple(files))
    ids, found = grade_class(4)
    assert found & set(ids[:-1]), found
