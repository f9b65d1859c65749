"""What an exec per worker would cost against today's fork from the sandbox host (issue 32,
item 4). A fork shares the host's address layout, stack canary and hash secret with every
worker; an exec gives each worker fresh ones, but must load Python, numpy and IPython again.

Measured here as the host would do either, from a process that has loaded what the host
loads (numpy, IPython's input transformer): the CPU time (user + sys, from wait4's rusage)
and wall time of
  fork   a fork that ends at once (what each worker's start costs today, before its sandbox);
  exec   a fork that execs `python -I -S -B` and loads numpy and IPython's transformer, as a
         worker started afresh must before it can serve (the sandbox's own setup, the same
         both ways, left out).
Interleaved round by round, so a busy machine slows both alike; medians printed side by side.

    .venv/bin/python benchmarks/exec_per_worker.py [ROUNDS]
"""

import os
import statistics
import sys
import time

from autograder.sandbox import bwrap

LOAD = "import numpy; from IPython.core import inputtransformer2"


def measured(child) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of a fork that runs `child()` and exits."""
    began = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            child()
        finally:
            os._exit(0)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - began
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_utime + usage.ru_stime, wall


def fork_only() -> None:
    pass


def exec_worker() -> None:
    sites = ":".join(bwrap.site_dirs())
    os.execv(
        sys.executable,
        [sys.executable, "-I", "-S", "-B", "-c", f"import sys; sys.path += {sites!r}.split(':'); {LOAD}"],
    )


def main(rounds: int) -> None:
    import numpy  # noqa: F401  (what the host has loaded: a fork copies it)
    from IPython.core import inputtransformer2  # noqa: F401

    results: dict[str, list[tuple[float, float]]] = {"fork": [], "exec": []}
    for i in range(rounds + 1):
        for name, child in (
            (("fork", fork_only), ("exec", exec_worker))
            if i % 2
            else (("exec", exec_worker), ("fork", fork_only))
        ):
            taken = measured(child)
            if i:  # the first round warms the disk cache
                results[name].append(taken)
    cpu = {name: statistics.median(c for c, _ in runs) for name, runs in results.items()}
    wall = {name: statistics.median(w for _, w in runs) for name, runs in results.items()}
    print(f"per worker, medians of {rounds}:")
    print(f"  fork from the host: {cpu['fork'] * 1000:7.1f} ms CPU  {wall['fork'] * 1000:7.1f} ms wall")
    print(f"  exec a fresh worker: {cpu['exec'] * 1000:6.1f} ms CPU  {wall['exec'] * 1000:7.1f} ms wall")
    print(f"  exec costs {(cpu['exec'] - cpu['fork']) * 1000:+.1f} ms CPU a submission more")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
