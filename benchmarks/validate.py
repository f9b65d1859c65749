"""How long Validate takes: `nbgrader validate` (what JupyterLab's Validate button runs) on the
whole released notebook, untouched and finished, three rounds each, alternating; prints the
median wall time of each (target: under 20 s on 2 cores).

    .venv/bin/python benchmarks/validate.py
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder import demo  # noqa: E402

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data


def main(rounds=3):
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        subprocess.run(
            [sys.executable, "-m", "autograder.cli", "init", str(course)],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        work = course / "release" / "backprop"
        release = nbformat.read(work / "backprop.ipynb", as_version=4)
        source = nbformat.read(course / "source" / "backprop" / "backprop.ipynb", as_version=4)
        notebooks = {
            "untouched": release,
            "finished": simulated_class.fill(release, simulated_class.reference_answers(source)),
        }
        for name, nb in notebooks.items():
            for cell in nb.cells:
                if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
                    cell.source = 'STUDENT_ID = "alice"'
            nbformat.write(nb, work / f"{name}.ipynb")
        times, verdicts = {name: [] for name in notebooks}, {}
        for _ in range(rounds):
            for name in notebooks:
                start = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "nbgrader", "validate", f"{name}.ipynb"],
                    cwd=work,
                    capture_output=True,
                    text=True,
                )
                times[name].append(time.perf_counter() - start)
                verdicts[name] = (
                    "Success"
                    if "Success!" in done.stdout
                    else "failed"
                    if "VALIDATION FAILED" in done.stdout
                    else "no verdict"
                )
        for name, ts in times.items():
            print(
                f"nbgrader validate, {name} notebook ({verdicts[name]}): median {statistics.median(ts):.1f} s "
                f"(rounds: {', '.join(f'{t:.1f}' for t in ts)}; target under 20 s)"
            )


if __name__ == "__main__":
    main()
