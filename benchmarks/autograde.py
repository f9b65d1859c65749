"""Plain `nbgrader autograde` in a kit course against stock nbgrader, side by side in one run.

  * stock: nbgrader on the course of the kit's seven gates written the usual nbgrader way
    (benchmarks/autograde_batch.py: solution cells, graded cells with hand-written visible and
    hidden asserts and numerical gradient checks), its own default pipeline (a Jupyter kernel);
  * kit: `backprop-kit init` on the repository's course.yaml, then the same `nbgrader
    autograde` (the course's nbgrader_config.py: every graded cell checked out of process,
    the notebook's cells run in the same sandboxed worker).
Both grade a class of 5 and a class of N correct submissions, round after round, alternating,
so a busy machine slows both alike; the median round counts. Per submission is the slope
between the two classes (each command's start-up cancels out); the whole command divided by
N is printed too. Target: kit <= 1.0x stock per submission.

    .venv/bin/python benchmarks/autograde.py [N [ROUNDS]]
"""

import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

from autograde_batch import (  # benchmarks/ is on sys.path
    SMALL,
    graded_cells,
    kit_course,
    run_timed,
    stock_course,
)

TOOLS = {  # name: (course builder, assignment)
    "stock": (stock_course, "gates"),
    "kit": (kit_course, "backprop"),
}


CPU = {}  # (tool, class size) -> [CPU seconds of each round: the command and all it started, kernels and sandboxes]


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def nbgrader_autograde(course_dir, assignment, *options):
    return run_timed([sys.executable, "-m", "nbgrader", "autograde", assignment, *options], course_dir)[0]


def timed(key, course_dir, assignment, *options):
    """Wall seconds of one command, its CPU seconds recorded too (a measure the machine's load
    changes little, where wall time grows with it)."""
    before = children_cpu()
    seconds = nbgrader_autograde(course_dir, assignment, *options)
    CPU.setdefault(key, []).append(children_cpu() - before)
    return seconds


def main(n=25, rounds=3):
    seconds = {}  # (tool, class size) -> [seconds of each round]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for tool, (build, _) in TOOLS.items():
            for size in (SMALL, n):
                build(Path(tmp) / f"{tool}{size}", size)
        for i in range(rounds):
            force = ("--force",) if i else ()
            for size in (SMALL, n):
                for tool, (_, assignment) in TOOLS.items():
                    seconds.setdefault((tool, size), []).append(
                        timed((tool, size), Path(tmp) / f"{tool}{size}", assignment, *force)
                    )
        cells = graded_cells(Path(tmp) / f"kit{n}", "backprop")
    median = {key: statistics.median(values) for key, values in seconds.items()}
    slope = {tool: (median[(tool, n)] - median[(tool, SMALL)]) / (n - SMALL) for tool in TOOLS}
    whole = {tool: median[(tool, n)] / n for tool in TOOLS}
    print(
        f"nbgrader autograde, classes of {SMALL} and {n} correct submissions, each graded {rounds} times, "
        f"alternating (median round); load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    for tool, label in (
        ("stock", "stock nbgrader (7 gates, hand-written hidden asserts, a Jupyter kernel)"),
        ("kit", f"kit course ({cells} graded cells, sandboxed worker and checks)"),
    ):
        rounds_n = ", ".join(f"{s / n:.3f}" for s in seconds[(tool, n)])
        print(
            f"{label}\n    per submission {slope[tool]:.3f} s (slope {SMALL} -> {n}); whole command "
            f"{whole[tool]:.3f} s per submission at {n} (rounds: {rounds_n}); start-up "
            f"{median[(tool, SMALL)] - SMALL * slope[tool]:.2f} s"
        )
    cpu = {
        tool: (statistics.median(CPU[(tool, n)]) - statistics.median(CPU[(tool, SMALL)])) / (n - SMALL)
        for tool in TOOLS
    }
    print(
        f"CPU per submission (slope, every process the command started): stock {cpu['stock']:.3f} s, "
        f"kit {cpu['kit']:.3f} s, ratio {cpu['kit'] / cpu['stock']:.3f} x"
    )
    print(f"ratio kit / stock, per submission   {slope['kit'] / slope['stock']:6.3f} x   (target <= 1.00)")
    print(
        f"ratio kit / stock, whole command    {whole['kit'] / whole['stock']:6.3f} x   (at {n}, start-up included)"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
