"""Per-submission cost of plain `nbgrader autograde`: the kit's assignment vs a stock course.

In one run, on N identical correct submissions each:
  * the kit: `backprop-kit init` on the repository's course.yaml, then nbgrader autograde
    (sandboxed kernel, every graded cell checked out of process);
  * stock nbgrader: a course with a one-cell notebook and nbgrader's default pipeline.
Prints seconds per submission for both and their ratio (target: kit <= 2x stock).
Run: .venv/bin/python benchmarks/autograde.py [N [ROUNDS]]
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder import demo
from autograder.config import load_course
from autograder.course import init
from autograder.demo import nbgrader
from autograde_batch import graded_cells  # benchmarks/ is on sys.path when run as a script

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

REPO = Path(__file__).resolve().parent.parent


def time_autograde(course_dir, assignment, *options):
    start = time.perf_counter()
    done = nbgrader(course_dir, "autograde", assignment, *options)
    if done.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed in {course_dir}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def kit_course(root, n):
    course = load_course(REPO / "course.yaml")
    init(root, course, REPO / "course.yaml", log=lambda m: None)
    source = nbformat.read(root / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(root / "release" / "backprop" / "backprop.ipynb", as_version=4)
    correct = simulated_class.fill(release, simulated_class.reference_answers(source))
    for i in range(n):
        target = root / "submitted" / f"student{i:03d}" / "backprop"
        target.mkdir(parents=True)
        nbformat.write(correct, target / "backprop.ipynb")


def stock_course(root, n):
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.root = %r\n" % str(root))
    cell = nbformat.v4.new_code_cell("assert 1 + 1 == 2", metadata={"nbgrader": {
        "schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "t", "points": 1}})
    (root / "source" / "one").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), root / "source" / "one" / "one.ipynb")
    done = nbgrader(root, "generate_assignment", "one")
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    for i in range(n):
        target = root / "submitted" / f"student{i:03d}" / "one"
        target.mkdir(parents=True)
        (target / "one.ipynb").write_text((root / "release" / "one" / "one.ipynb").read_text())


def main(n=5, rounds=3):
    """Both courses are graded `rounds` times, alternating (every round after the first with
    --force), so that a noisy machine slows both alike; the median round counts."""
    with tempfile.TemporaryDirectory() as tmp:
        kit, stock = Path(tmp) / "kit", Path(tmp) / "stock"
        kit_course(kit, n)
        stock_course(stock, n)
        kit_rounds, stock_rounds = [], []
        for i in range(rounds):
            force = ("--force",) if i else ()
            kit_rounds.append(time_autograde(kit, "backprop", *force) / n)
            stock_rounds.append(time_autograde(stock, "one", *force) / n)
        cells = graded_cells(kit, "backprop")
    kit_seconds, stock_seconds = statistics.median(kit_rounds), statistics.median(stock_rounds)
    print(f"submissions per course        {n}, graded {rounds} times, alternating (median round)")
    print(f"stock nbgrader, 1-cell nb     {stock_seconds:6.2f} s per submission   "
          f"(rounds: {', '.join(f'{s:.2f}' for s in stock_rounds)})")
    print(f"backprop-kit ({cells} graded cells, sandboxed kernel and checks)  "
          f"{kit_seconds:6.2f} s per submission   "
          f"(rounds: {', '.join(f'{s:.2f}' for s in kit_rounds)})")
    print(f"ratio kit / stock             {kit_seconds / stock_seconds:6.2f} x   (target <= 2.00)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
