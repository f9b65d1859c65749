"""Kernel keys a submission leaves behind are purged (issue 32, item 5), also where no seccomp
filter is loaded: without it student code can add keys to its uid's own keyrings (user, user
session, persistent), which the kernel keeps after every process of the uid is gone, until
reboot. /proc/key-users (readable by root) counts each uid's keys."""

import json
import os
import time
from pathlib import Path

import pytest

from autograder.sandbox import bwrap, seccomp
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

REPO = Path(__file__).resolve().parent.parent
LIMITS = Limits(wall_seconds=10, memory_bytes=1024**3, output_bytes=20000)

pytestmark = [
    pytest.mark.attacks,
    pytest.mark.skipif(
        not bwrap.sandbox_available() or os.geteuid() != 0, reason="a uid of its own per sandbox: root"
    ),
]

LEAVE_KEYS = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
KEYCTL, ADD_KEY = {keyctl}, {add_key}
added = {{}}
for name, keyring in (("user", -4), ("user session", -5)):
    added[name] = libc.syscall(ADD_KEY, b"user", b"left-" + name.encode(), b"x" * 100, 100, ctypes.c_long(keyring)) > 0
persistent = libc.syscall(KEYCTL, 22, ctypes.c_long(-1), ctypes.c_long(-2))  # GET_PERSISTENT
added["persistent"] = persistent > 0 and libc.syscall(
    ADD_KEY, b"user", b"left-persistent", b"x", 1, ctypes.c_long(persistent)) > 0
print(json.dumps(added))
"""


def keys_of(uid):
    """How many keys the kernel holds for `uid` (0 when it has no line in /proc/key-users)."""
    for line in Path("/proc/key-users").read_text().splitlines():
        owner, rest = line.split(":", 1)
        if int(owner) == uid:
            return int(rest.split()[1].split("/")[0])
    return 0


def keys_left_after(way, monkeypatch):
    """A student without the filter leaves keys in every keyring of its uid; how many its uid
    holds a few seconds after its grading (the kernel collects invalidated keys by itself)."""
    import pyseccomp

    numbers = {
        name: pyseccomp.resolve_syscall(pyseccomp.system_arch(), name) for name in ("keyctl", "add_key")
    }
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "1" if way == "hosted" else "0")
    monkeypatch.setattr(seccomp, "ENFORCED", False)
    with StudentRunner(LIMITS, require_sandbox=True, hide=[REPO]) as runner:
        result = runner.run({"cells": [["keys", LEAVE_KEYS.format(**numbers)]]})
        uid = runner.uid
    assert result.ok, (result.status, result.detail)
    assert json.loads(result.output.strip().splitlines()[-1]) == {
        "user": True,
        "user session": True,
        "persistent": True,
    }
    deadline = time.monotonic() + 5
    while keys_of(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return uid, keys_of(uid)


@pytest.mark.parametrize("way", ["hosted", "own bwrap"])
def test_keys_a_student_left_without_the_filter_are_purged(way, monkeypatch):
    _uid, left = keys_left_after(way, monkeypatch)
    assert left == 0
    monkeypatch.undo()
    with StudentRunner(LIMITS, require_sandbox=True, hide=[REPO]) as innocent:  # the filter back on
        result = innocent.run(
            {"cells": [["answer", "x = 6 * 7"]], "calls": [{"op": "variables", "names": ["x"]}]}
        )
    assert result.ok and result.results == [{"x": {"float": 42.0}}]
    assert not innocent.private.exists() if innocent.private else True


def test_without_the_purge_the_keys_stay(monkeypatch):
    """The mutation: the purge turned off, the keys outlive the sandbox (then purged here)."""
    purge = bwrap.purge_keys
    monkeypatch.setattr(bwrap, "purge_keys", lambda uid: None)
    uid, left = keys_left_after("hosted", monkeypatch)
    try:
        assert left >= 3
    finally:
        purge(uid)
