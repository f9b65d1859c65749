"""What the per-submission limits cost (issue 32): a cgroup made and removed, a scratch tmpfs mounted
and unmounted, each alone (the grader's CPU time, user+sys, and wall time: on a shared machine the
CPU time is the figure to read), then one whole submission (a worker started, one small request,
the worker stopped) with and without them (cgroups.ENFORCED and bwrap.TMPFS_SCRATCH, the tests'
switches), interleaved round by round so a busy machine slows both alike, both ways a worker
starts. Prints medians side by side.

    .venv/bin/python benchmarks/limits_cost.py [ROUNDS]
"""

import os
import resource
import statistics
import sys
import time

from autograder.sandbox import bwrap, cgroups
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

HELPERS = {"bpkit/__init__.py": b"X = 1\n"}
REQUEST = {"cells": [["answer", "x = 6 * 7"]], "calls": [{"op": "variables", "names": ["x"]}]}


def cpu() -> float:
    """This process's CPU time and its waited-for children's (rm, bwrap, ...), user+sys."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(work, rounds: int) -> tuple[float, float]:
    """Median (CPU ms, wall ms) of `work()`."""
    cpus, walls = [], []
    for _ in range(rounds):
        c, w = cpu(), time.perf_counter()
        work()
        cpus.append(cpu() - c)
        walls.append(time.perf_counter() - w)
    return statistics.median(cpus) * 1000, statistics.median(walls) * 1000


def a_cgroup() -> None:
    made = cgroups.for_submission(Limits())
    assert made is not None
    made.remove()


def a_tmpfs() -> None:
    private, _scratch = bwrap.make_scratch(prefix="bpkit-bench-")
    tmpfs = bwrap.ScratchTmpfs(256 * 1024**2)
    tmpfs.close()
    bwrap.remove_tree(private)


def one_submission() -> None:
    with StudentRunner(Limits(), require_sandbox=True, helper_files=HELPERS) as runner:
        assert runner.run(REQUEST).ok


def main(rounds: int) -> None:
    if cgroups.layout()[0] is not None:
        c, w = measured(a_cgroup, rounds * 5)
        print(
            f"cgroup made and removed: {c:.1f} ms CPU, {w:.1f} ms wall (median of {rounds * 5})", flush=True
        )
    else:
        print(f"no cgroup here: {cgroups.layout()[1]}")
    if bwrap.TMPFS_SCRATCH and os.geteuid() == 0:
        c, w = measured(a_tmpfs, rounds * 5)
        print(
            f"scratch tmpfs made, closed and folder removed: {c:.1f} ms CPU, {w:.1f} ms wall (median of {rounds * 5})"
        )
    for way, host in (("hosted", "1"), ("own bwrap", "0")):
        os.environ["BPKIT_SANDBOX_HOST"] = host
        figures: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for i in range(rounds + 1):
            for on in (True, False) if i % 2 else (False, True):
                cgroups.ENFORCED = bwrap.TMPFS_SCRATCH = on
                figure = measured(one_submission, 1)
                if i:  # the first round starts a host for each
                    figures[on].append(figure)
        (on_cpu, on_wall), (off_cpu, off_wall) = (
            tuple(statistics.median(f[k] for f in figures[state]) for k in (0, 1)) for state in (True, False)
        )
        print(
            f"{way}: a submission with cgroup and tmpfs {on_cpu:.1f} ms CPU / {on_wall:.1f} ms wall, "
            f"without {off_cpu:.1f} / {off_wall:.1f}: {on_cpu - off_cpu:+.1f} ms CPU, "
            f"{on_wall - off_wall:+.1f} ms wall (medians of {rounds})",
            flush=True,
        )
    cgroups.ENFORCED = bwrap.TMPFS_SCRATCH = True


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
