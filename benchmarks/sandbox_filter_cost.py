"""What the sandbox's seccomp filter costs one submission: a worker started, one small request
answered, the worker stopped, with the filter and without it (seccomp.ENFORCED, the tests'
switch), interleaved round by round so a busy machine slows both alike; both ways a worker
starts (forked by the sandbox host, as root; in a bwrap of its own). Prints the medians.

    .venv/bin/python benchmarks/sandbox_filter_cost.py [ROUNDS]
"""

import os
import statistics
import sys
import time

from autograder.sandbox import seccomp
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

HELPERS = {"bpkit/__init__.py": b"X = 1\n"}
REQUEST = {"cells": [["answer", "x = 6 * 7"]], "calls": [{"op": "variables", "names": ["x"]}]}


def one_submission() -> float:
    began = time.perf_counter()
    with StudentRunner(Limits(), require_sandbox=True, helper_files=HELPERS) as runner:
        assert runner.run(REQUEST).ok
    return time.perf_counter() - began


def main(rounds: int) -> None:
    for way, host in (("hosted", "1"), ("own bwrap", "0")):
        os.environ["BPKIT_SANDBOX_HOST"] = host
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(rounds + 1):
            for enforced in (True, False) if i % 2 else (False, True):
                seccomp.ENFORCED = enforced
                took = one_submission()
                if i:  # the first round starts a host for each
                    times[enforced].append(took)
        on, off = statistics.median(times[True]), statistics.median(times[False])
        print(
            f"{way}: with the filter {on * 1000:.1f} ms, without {off * 1000:.1f} ms a submission, "
            f"{(on - off) * 1000:+.1f} ms (medians of {rounds})",
            flush=True,
        )
    seccomp.ENFORCED = True


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
