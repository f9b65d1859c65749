"""The spinning swarm's cost to its neighbour (issue 32: "a swarm of spinning processes in one
submission leaves the next submissions' grading time within 2x of normal"), as a ratio measured in
one run: an innocent student's request graded alone, and graded while another submission's 40
spinning processes run beside it (held by their cgroup at one core's share, killed at their CPU
budget), rounds alternating so a busy machine slows both alike. Prints the medians side by side
(wall time: what the next student waits; and the innocent worker's own CPU) and their ratio.

    .venv/bin/python benchmarks/swarm_neighbour.py [ROUNDS]
"""

import statistics
import sys
import threading
import time

from autograder.sandbox import cgroups
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

SWARM = """
import os
for _ in range(40):
    if os.fork() == 0:
        while True:
            pass
while True:
    pass
"""
# Some 0.3 s of numpy work: a student whose grading the swarm could slow.
INNOCENT = {
    "cells": [
        [
            "work",
            "import numpy as np\nx = 0.0\nfor _ in range(60):\n    x += float(np.linalg.det(np.random.rand(120, 120) + np.eye(120)))",
        ]
    ],
    "calls": [{"op": "variables", "names": ["x"]}],
}
SWARM_LIMITS = Limits(wall_seconds=20, cpu_seconds=3, memory_bytes=1024**3)


def innocent() -> tuple[float, float]:
    """(wall seconds of grading the innocent request, from its worker's start; its CPU seconds)."""
    started = time.perf_counter()
    with StudentRunner(Limits(), require_sandbox=True) as runner:
        result = runner.run(INNOCENT)
    assert result.ok, result.detail
    return time.perf_counter() - started, result.cpu_seconds


def beside_a_swarm() -> tuple[float, float]:
    ready = threading.Event()

    def swarm():
        with StudentRunner(SWARM_LIMITS, require_sandbox=True) as runner:
            ready.set()
            runner.run({"cells": [["swarm", SWARM]], "calls": []})

    thread = threading.Thread(target=swarm)
    thread.start()
    ready.wait()
    time.sleep(0.5)  # the swarm spinning
    try:
        return innocent()
    finally:
        thread.join()


def main(rounds: int) -> None:
    if cgroups.layout()[0] is None:
        print(f"no cgroup here ({cgroups.layout()[1]}): the swarm is held by rlimits only")
    innocent()  # warm: the first start pays for imports
    alone, beside = [], []
    for i in range(rounds):
        for which in ("alone", "beside") if i % 2 else ("beside", "alone"):
            (alone if which == "alone" else beside).append(
                innocent() if which == "alone" else beside_a_swarm()
            )
    wall = [statistics.median(w for w, _ in figures) for figures in (alone, beside)]
    cpu = [statistics.median(c for _, c in figures) for figures in (alone, beside)]
    print(f"next student's grading, medians of {rounds} rounds alternating (wall s | its worker's CPU s)")
    print(f"  alone            {wall[0]:7.3f} | {cpu[0]:.3f}")
    print(f"  beside a swarm   {wall[1]:7.3f} | {cpu[1]:.3f}")
    print(f"  ratio            {wall[1] / wall[0]:7.2f}x wall (target <= 2), {cpu[1] / cpu[0]:.2f}x CPU")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
