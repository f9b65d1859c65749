"""Drawing every exercise's graph and values for 1,000 students, on one core (target ≤ 5 s).

Prints the time for graphs: lecture and graphs: per-student side by side, each the best of three
rounds on fresh ids (nothing memoized), and the time per student: the process's CPU time (what
one core spends, whatever else the machine runs) and the wall time beside it.
Run: .venv/bin/python benchmarks/draws.py [--students N]
"""

import argparse
import time

from autograder.bpkit import problems
from solutions import graphs as described

TARGET = 5.0


def one_round(mode, n, round_):
    """(CPU seconds, wall seconds) of drawing every exercise for n fresh students."""
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        problems.draw(20270101, "cs231n", "backprop", problems.PER_STUDENT, f"r{round_}-{mode}-{i}", mode)
    return time.process_time() - cpu, time.perf_counter() - wall


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=1000)
    n = parser.parse_args().students
    exercises = ", ".join(e.id for e in described.EXERCISES)
    print(f"Drawing every exercise ({exercises}) for {n} students, one process:")
    for mode in described.GRAPH_MODES:
        best, wall = min(one_round(mode, n, r) for r in range(3))
        print(
            f"  graphs: {mode:11s} {best:6.2f} s of CPU ({best / n * 1000:.2f} ms per student; wall {wall:.2f} s; "
            f"target {TARGET:.0f} s: {'met' if best <= TARGET else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
