"""Attacks on the sandbox itself (issue 32), each from student code in a real sandbox, both ways
a worker starts (forked by the sandbox host, and in a bwrap of its own), each followed by an
innocent student who must still be graded in full, with nothing left on disk."""

import os
from pathlib import Path

import pytest

from autograder.sandbox import bwrap
from autograder.sandbox.bwrap import Limits
from autograder.sandbox.hosted import HostedWorker
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
