"""`backprop-kit autograde` against stock nbgrader, side by side in one run.

  * stock: plain nbgrader on a course of the kit's seven gates (add, mul, max, relu,
    sigmoid, matmul, l2) written the usual nbgrader way: solution cells and graded cells with
    hand-written visible and hidden asserts (no sandbox, no partial credit, no feedback);
    `nbgrader autograde` over N correct submissions, in one process.
  * kit, batch: `backprop-kit autograde --jobs J` over N correct submissions of the kit's
    assignment (every graded cell of the release, sandboxed notebook run and checks).
Both grade a class of N and a class of 5, round after round, alternating, so a busy machine
slows both alike; the median round counts. What one submission costs is the slope between
the two classes (each command's start-up, some 1.5 s for either tool, cancels out); the whole
command divided by N is printed too. Prints both ratios (target with --jobs 2 on 2 cores:
<= 0.15 per submission, issue 21; <= 0.25 with --graphs per-student, issue 16) and the
coordinator's peak memory.

    .venv/bin/python benchmarks/autograde_batch.py [N [ROUNDS [JOBS]]]
    .venv/bin/python benchmarks/autograde_batch.py --class 1000 [JOBS]   # one big class, kit only
    .venv/bin/python benchmarks/autograde_batch.py --graphs per-student [N [ROUNDS [JOBS]]]
    .venv/bin/python benchmarks/autograde_batch.py --assignment network [N [ROUNDS [JOBS]]]

With --assignment network both sides grade the network's layers (issue 36, item 7: target
<= 0.25 per submission): stock nbgrader a notebook of the four layers (affine, ReLU, softmax with
cross-entropy, SVM) with hand-written asserts and numeric gradient checks, the kit its `network`
assignment with the instructor's reference layers.

With --graphs per-student the kit's course draws each student's graph (course.yaml graphs:), so
every submission is graded on its own graph; the correct submissions are the instructor's
reference cells, which compute whatever graph the student has.

The class mode grades N submissions cycling through the simulated class's correct and
mistaken students (not the broken and hostile ones, whose infinite loops cost the course's
timeout by design), once, and prints the wall time and the coordinator's peak memory.
"""

import re
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat

from autograder import demo
from autograder.config import load_course
from autograder.course import init, nbgrader_environment
from autograder.demo import nbgrader

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

REPO = Path(__file__).resolve().parent.parent

GATES = {
    "add_gate": (
        "AddGate",
        """
        class AddGate:
            def forward(self, x, y):
                return x + y
            def backward(self, dout):
                return dout, dout
        """,
    ),
    "mul_gate": (
        "MulGate",
        """
        class MulGate:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x * y
            def backward(self, dout):
                return self.y * dout, self.x * dout
        """,
    ),
    "max_gate": (
        "MaxGate",
        """
        import numpy as np
        class MaxGate:
            def forward(self, x, y):
                self.x_wins = np.asarray(x) >= np.asarray(y)
                return np.maximum(x, y)
            def backward(self, dout):
                return dout * self.x_wins, dout * ~self.x_wins
        """,
    ),
    "relu_gate": (
        "ReLUGate",
        """
        import numpy as np
        class ReLUGate:
            def forward(self, x):
                self.on = np.asarray(x) > 0
                return np.maximum(x, 0)
            def backward(self, dout):
                return dout * self.on
        """,
    ),
    "sigmoid_gate": (
        "SigmoidGate",
        """
        import numpy as np
        class SigmoidGate:
            def forward(self, x):
                self.s = 0.5 * (1 + np.tanh(0.5 * np.asarray(x, float)))
                return self.s
            def backward(self, dout):
                return dout * self.s * (1 - self.s)
        """,
    ),
    "matmul_gate": (
        "MatMulGate",
        """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return W @ x
            def backward(self, dq):
                dW = np.outer(dq, self.x) if self.x.ndim == 1 else dq @ self.x.T
                return dW, self.W.T @ dq
        """,
    ),
    "l2_gate": (
        "L2Gate",
        """
        import numpy as np
        class L2Gate:
            def forward(self, q):
                self.q = np.asarray(q, float)
                return float(np.sum(self.q ** 2))
            def backward(self, df):
                return 2 * self.q * df
        """,
    ),
}

# Hand-written tests, one visible and one hidden assert block per graded cell, with a
# numerical gradient check for each backward: what a careful instructor writes for nbgrader.
TESTS = {
    "add_gate": {
        "forward": (
            "assert AddGate().forward(-2.0, 5.0) == 3.0",
            "x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))\n"
            "assert np.allclose(AddGate().forward(x, y), x + y)",
        ),
        "backward": (
            "g = AddGate(); g.forward(1.0, 2.0); assert g.backward(1.0) == (1.0, 1.0)",
            "x, y, d = rng.normal(size=(3,)), rng.normal(size=(3,)), rng.normal(size=(3,))\n"
            "g = AddGate(); g.forward(x, y); dx, dy = g.backward(d)\n"
            "assert np.allclose(dx, numeric(lambda v: AddGate().forward(v, y), x, d))\n"
            "assert np.allclose(dy, numeric(lambda v: AddGate().forward(x, v), y, d))",
        ),
    },
    "mul_gate": {
        "forward": (
            "assert MulGate().forward(-4.0, 3.0) == -12.0",
            "x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))\n"
            "assert np.allclose(MulGate().forward(x, y), x * y)",
        ),
        "backward": (
            "g = MulGate(); g.forward(-4.0, 3.0); assert g.backward(1.0) == (3.0, -4.0)",
            "x, y, d = rng.normal(size=(3,)), rng.normal(size=(3,)), rng.normal(size=(3,))\n"
            "g = MulGate(); g.forward(x, y); dx, dy = g.backward(d)\n"
            "assert np.allclose(dx, numeric(lambda v: MulGate().forward(v, y), x, d))\n"
            "assert np.allclose(dy, numeric(lambda v: MulGate().forward(x, v), y, d))",
        ),
    },
    "max_gate": {
        "forward": (
            "assert MaxGate().forward(2.0, -1.0) == 2.0",
            "x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))\n"
            "assert np.allclose(MaxGate().forward(x, y), np.maximum(x, y))",
        ),
        "backward": (
            "g = MaxGate(); g.forward(2.0, -1.0); dx, dy = g.backward(1.0); assert (dx, dy) == (1.0, 0.0)",
            "x, y, d = rng.normal(size=(3,)), rng.normal(size=(3,)), rng.normal(size=(3,))\n"
            "g = MaxGate(); g.forward(x, y); dx, dy = g.backward(d)\n"
            "assert np.allclose(dx, numeric(lambda v: MaxGate().forward(v, y), x, d))\n"
            "assert np.allclose(dy, numeric(lambda v: MaxGate().forward(x, v), y, d))",
        ),
        "ties": (
            "g = MaxGate(); g.forward(1.0, 1.0); dx, dy = g.backward(2.0); assert np.isclose(dx + dy, 2.0)",
            "x = rng.normal(size=(4,)); d = rng.normal(size=(4,))\n"
            "g = MaxGate(); g.forward(x, x.copy()); dx, dy = g.backward(d)\n"
            "assert np.allclose(dx + dy, d) and np.all(dx * d >= 0) and np.all(dy * d >= 0)",
        ),
    },
    "relu_gate": {
        "forward": (
            "assert ReLUGate().forward(-2.0) == 0.0 and ReLUGate().forward(3.0) == 3.0",
            "x = rng.normal(size=(3, 4))\nassert np.allclose(ReLUGate().forward(x), np.maximum(x, 0))",
        ),
        "backward": (
            "g = ReLUGate(); g.forward(3.0); assert g.backward(2.0) == 2.0",
            "x, d = rng.normal(size=(5,)), rng.normal(size=(5,))\n"
            "g = ReLUGate(); g.forward(x); dx = g.backward(d)\n"
            "assert np.allclose(dx, numeric(lambda v: ReLUGate().forward(v), x, d))",
        ),
        "kink": (
            "g = ReLUGate(); g.forward(0.0); dx = g.backward(1.0); assert 0.0 <= dx <= 1.0",
            "g = ReLUGate(); g.forward(np.zeros(3)); d = rng.normal(size=(3,)); dx = g.backward(d)\n"
            "assert np.all(dx * d >= 0) and np.all(np.abs(dx) <= np.abs(d))",
        ),
    },
    "sigmoid_gate": {
        "forward": (
            "assert np.isclose(SigmoidGate().forward(0.0), 0.5)",
            "x = rng.normal(size=(3, 4)) * 5\n"
            "assert np.allclose(SigmoidGate().forward(x), 1 / (1 + np.exp(-x)))\n"
            "assert np.isfinite(SigmoidGate().forward(np.array([-1000.0, 1000.0]))).all()",
        ),
        "backward": (
            "g = SigmoidGate(); g.forward(0.0); assert np.isclose(g.backward(1.0), 0.25)",
            "x, d = rng.normal(size=(5,)), rng.normal(size=(5,))\n"
            "g = SigmoidGate(); g.forward(x); dx = g.backward(d)\n"
            "assert np.allclose(dx, numeric(lambda v: SigmoidGate().forward(v), x, d))",
        ),
    },
    "matmul_gate": {
        "forward": (
            "W = np.eye(2); x = np.array([1.0, 2.0]); assert np.allclose(MatMulGate().forward(W, x), x)",
            "W, x = rng.normal(size=(3, 4)), rng.normal(size=(4, 5))\n"
            "assert np.allclose(MatMulGate().forward(W, x), W @ x)",
        ),
        "backward": (
            "g = MatMulGate(); g.forward(np.eye(2), np.ones(2)); dW, dx = g.backward(np.ones(2))\n"
            "assert dW.shape == (2, 2) and dx.shape == (2,)",
            "W, x, d = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(3, 5))\n"
            "g = MatMulGate(); g.forward(W, x); dW, dx = g.backward(d)\n"
            "assert np.allclose(dW, numeric(lambda v: MatMulGate().forward(v, x), W, d))\n"
            "assert np.allclose(dx, numeric(lambda v: MatMulGate().forward(W, v), x, d))",
        ),
    },
    "l2_gate": {
        "forward": (
            "assert np.isclose(L2Gate().forward(np.array([3.0, 4.0])), 25.0)",
            "q = rng.normal(size=(6,))\nassert np.isclose(L2Gate().forward(q), np.sum(q ** 2))",
        ),
        "backward": (
            "g = L2Gate(); g.forward(np.array([1.0, 2.0])); assert np.allclose(g.backward(1.0), [2.0, 4.0])",
            "q, d = rng.normal(size=(6,)), rng.normal()\n"
            "g = L2Gate(); g.forward(q); dq = g.backward(d)\n"
            "assert np.allclose(dq, numeric(lambda v: L2Gate().forward(v), q, d))",
        ),
    },
}

SETUP = '''
import numpy as np
rng = np.random.default_rng(0)

def numeric(f, x, dout, h=1e-6):
    """Centered differences of sum(f(x) * dout) with respect to x."""
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h; plus = np.sum(f(x) * dout)
        x[i] = old - h; minus = np.sum(f(x) * dout)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad
'''


sys.path.insert(0, str(REPO / "tests"))
from network_class import CORRECT as LAYER_CODE  # noqa: E402  (the layers, as tests/network_class.py writes them)

LAYERS = {
    "affine_gate": ("AffineGate", LAYER_CODE["affine_gate"]),
    "relu_gate": GATES["relu_gate"],
    "softmax_ce_gate": ("SoftmaxCrossEntropyGate", LAYER_CODE["softmax_ce_gate"]),
    "svm_loss_gate": ("SVMLossGate", LAYER_CODE["svm_loss_gate"]),
}
_SCORES = "s, y = rng.normal(size=(5, 4)) * 3, rng.integers(0, 4, size=5)\n"
LAYER_TESTS = {
    "affine_gate": {
        "forward": (
            "x, W, b = np.ones((2, 3)), np.ones((3, 4)), np.arange(4.0)\n"
            "assert np.allclose(AffineGate().forward(x, W, b), 3 + np.arange(4.0))",
            "x, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)\n"
            "assert np.allclose(AffineGate().forward(x, W, b), x @ W + b)",
        ),
        "backward": (
            "g = AffineGate(); g.forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))\n"
            "dx, dW, db = g.backward(np.ones((2, 4)))\n"
            "assert dx.shape == (2, 3) and dW.shape == (3, 4) and db.shape == (4,)",
            "x, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)\n"
            "d = rng.normal(size=(5, 4)); g = AffineGate(); g.forward(x, W, b); dx, dW, db = g.backward(d)\n"
            "assert np.allclose(dx, numeric(lambda v: AffineGate().forward(v, W, b), x, d))\n"
            "assert np.allclose(dW, numeric(lambda v: AffineGate().forward(x, v, b), W, d))\n"
            "assert np.allclose(db, numeric(lambda v: AffineGate().forward(x, W, v), b, d))",
        ),
    },
    "relu_gate": {
        **{k: v for k, v in TESTS["relu_gate"].items() if k != "kink"},
    },
    "softmax_ce_gate": {
        "forward": (
            "assert np.isclose(SoftmaxCrossEntropyGate().forward(np.zeros((2, 4)), np.array([0, 3])), np.log(4))",
            _SCORES + "p = np.exp(s - s.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)\n"
            "assert np.isclose(SoftmaxCrossEntropyGate().forward(s, y), -np.mean(np.log(p[np.arange(5), y])))\n"
            "assert np.isfinite(SoftmaxCrossEntropyGate().forward(s + 800, y))",
        ),
        "backward": (
            "g = SoftmaxCrossEntropyGate(); g.forward(np.zeros((2, 4)), np.array([0, 3]))\n"
            "assert g.backward(1.0).shape == (2, 4)",
            _SCORES + "g = SoftmaxCrossEntropyGate(); g.forward(s, y); ds = g.backward(1.0)\n"
            "assert np.allclose(ds, numeric(lambda v: SoftmaxCrossEntropyGate().forward(v, y), s, 1.0))",
        ),
    },
    "svm_loss_gate": {
        "forward": (
            "assert np.isclose(SVMLossGate().forward(np.zeros((2, 4)), np.array([0, 3])), 3.0)",
            _SCORES + "m = np.maximum(0, s - s[np.arange(5), y][:, None] + 1); m[np.arange(5), y] = 0\n"
            "assert np.isclose(SVMLossGate().forward(s, y), m.sum() / 5)",
        ),
        "backward": (
            "g = SVMLossGate(); g.forward(np.zeros((2, 4)), np.array([0, 3]))\n"
            "assert g.backward(1.0).shape == (2, 4)",
            _SCORES + "g = SVMLossGate(); g.forward(s, y); ds = g.backward(1.0)\n"
            "assert np.allclose(ds, numeric(lambda v: SVMLossGate().forward(v, y), s, 1.0))",
        ),
    },
}
ASSIGNMENT = "backprop"  # the kit's assignment graded (--assignment): backprop or network


def _stock_side():
    """(gate cells, their tests) of the stock notebook for the assignment benchmarked."""
    return (LAYERS, LAYER_TESTS) if ASSIGNMENT == "network" else (GATES, TESTS)


def _meta(grade_id, **kind):
    return {
        "nbgrader": {
            "schema_version": 3,
            "grade_id": grade_id,
            "grade": False,
            "solution": False,
            "locked": False,
            **kind,
        }
    }


def stock_notebook():
    gates, tests = _stock_side()
    cells = [nbformat.v4.new_code_cell(SETUP.strip(), metadata=_meta("setup", locked=True))]
    for grade_id, (_, code) in gates.items():
        body = textwrap.dedent(code).strip()
        cells.append(
            nbformat.v4.new_code_cell(
                "### BEGIN SOLUTION\n" + body + "\n### END SOLUTION", metadata=_meta(grade_id, solution=True)
            )
        )
        for check, (visible, hidden) in tests[grade_id].items():
            source = f"{visible}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS"
            cells.append(
                nbformat.v4.new_code_cell(
                    source,
                    metadata=_meta(
                        f"test_{grade_id}_{check}",
                        grade=True,
                        locked=True,
                        points=2 if check == "backward" else 1,
                    ),
                )
            )
    return nbformat.v4.new_notebook(
        cells=cells,
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def stock_course(root, n):
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.root = %r\n" % str(root))  # noqa: UP031
    (root / "source" / "gates").mkdir(parents=True)
    nbformat.write(stock_notebook(), root / "source" / "gates" / "gates.ipynb")
    done = nbgrader(root, "generate_assignment", "gates")
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    release = nbformat.read(root / "release" / "gates" / "gates.ipynb", as_version=4)
    gates, _ = _stock_side()
    for cell in release.cells:  # a correct student: the solutions filled in
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in gates:
            cell.source = textwrap.dedent(gates[grade_id][1]).strip()
    for i in range(n):
        target = root / "submitted" / f"student{i:04d}" / "gates"
        target.mkdir(parents=True)
        nbformat.write(release, target / "gates.ipynb")


GRAPHS = "lecture"  # course.yaml's graphs: for the kit's course (--graphs)


def kit_course(root, n, students=("ada",)):
    """The kit's course with n submissions, cycling through these simulated students."""
    config = root.parent / f"{root.name}-course.yaml"
    config.write_text((REPO / "course.yaml").read_text() + f"\ngraphs: {GRAPHS}\n")
    init(root, load_course(config), config, log=lambda m: None)
    source = nbformat.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    if ASSIGNMENT == "network":  # the instructor's reference layers, every student alike
        texts = [nbformat.writes(simulated_class.fill(release, simulated_class.reference_answers(source)))]
    else:
        roster = simulated_class.students(source)
        texts = [nbformat.writes(simulated_class.fill(release, roster[s][1])) for s in students]
    for i in range(n):
        target = root / "submitted" / f"student{i:04d}" / ASSIGNMENT
        target.mkdir(parents=True)
        (target / f"{ASSIGNMENT}.ipynb").write_text(texts[i % len(texts)])


# The CPU seconds (user + system) of the last run_timed command and every process it waited for,
# its graders and sandboxes included: on a machine other work loads, the figure that stays put.
LAST_CPU = [0.0]


def _children_cpu():
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_timed(argv, cwd):
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, env={**nbgrader_environment(), "COLUMNS": "200"}
    )
    seconds = time.perf_counter() - start
    LAST_CPU[0] = _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def peak_memory_mb(output):
    found = re.search(r"coordinator peak memory\D+([\d.]+) MB", output)
    return float(found.group(1)) if found else float("nan")


def kit_batch(course_dir, jobs, *options):
    return run_timed(
        [sys.executable, "-m", "autograder.cli", "autograde", ASSIGNMENT, "--jobs", str(jobs), *options],
        course_dir,
    )


def graded_cells(course_dir, assignment):
    """How many graded cells the kit's released notebooks hold (the gate table decides, not this script)."""
    from autograder.grading.cells import is_graded

    return sum(
        is_graded(cell)
        for path in sorted((Path(course_dir) / "release" / assignment).glob("*.ipynb"))
        for cell in nbformat.read(path, as_version=4).cells
    )


SMALL = 5  # the small class: with the large one, it separates per-submission cost from start-up


def side_by_side(n=35, rounds=3, jobs=2):
    """Both tools on a class of n and on a class of SMALL, rounds alternating. Per submission:
    the slope between the two classes (what one more submission costs: the start-up of each
    command, about 1.5 s for both, cancels out) and, for reference, the whole command over n."""
    seconds = {}  # (tool, class size) -> [seconds of each round]
    cpu = {}  # (tool, class size) -> [CPU seconds of each round]
    memory = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (SMALL, n):
            stock_course(Path(tmp) / f"stock{size}", size)
            kit_course(Path(tmp) / f"kit{size}", size)
        for i in range(rounds):
            force = ("--force",) if i else ()
            for size in (SMALL, n):
                seconds.setdefault(("stock", size), []).append(
                    run_timed(
                        [sys.executable, "-m", "nbgrader", "autograde", "gates", *force],
                        Path(tmp) / f"stock{size}",
                    )[0]
                )
                cpu.setdefault(("stock", size), []).append(LAST_CPU[0])
                took, output = kit_batch(Path(tmp) / f"kit{size}", jobs, *force)
                seconds.setdefault(("kit", size), []).append(took)
                cpu.setdefault(("kit", size), []).append(LAST_CPU[0])
                memory.append(peak_memory_mb(output))
        cells = graded_cells(Path(tmp) / f"kit{n}", ASSIGNMENT)
    median = {key: statistics.median(values) for key, values in seconds.items()}
    slope = {tool: (median[(tool, n)] - median[(tool, SMALL)]) / (n - SMALL) for tool in ("stock", "kit")}
    whole = {tool: median[(tool, n)] / n for tool in ("stock", "kit")}
    gates, tests = _stock_side()
    stock_cells = sum(len(checks) for checks in tests.values())
    print(
        f"classes of {SMALL} and {n} submissions, each graded {rounds} times, alternating (median round); "
        "whole commands timed"
    )
    for tool, label in (
        (
            "stock",
            f"stock nbgrader autograde ({len(gates)} {ASSIGNMENT} gates, {stock_cells} graded cells, "
            "hand-written hidden asserts)",
        ),
        ("kit", f"backprop-kit autograde --jobs {jobs} ({cells} graded cells, sandboxed)"),
    ):
        rounds_n = ", ".join(f"{s / n:.3f}" for s in seconds[(tool, n)])
        print(
            f"{label}\n    per submission {slope[tool]:.3f} s (slope {SMALL} -> {n}); whole command "
            f"{whole[tool]:.3f} s per submission at {n} (rounds: {rounds_n}); start-up "
            f"{median[(tool, SMALL)] - SMALL * slope[tool]:.2f} s"
        )
    target = 0.25 if GRAPHS == "per-student" or ASSIGNMENT == "network" else 0.15
    print(
        f"ratio kit / stock, per submission   {slope['kit'] / slope['stock']:6.3f} x   (target <= {target})"
    )
    print(
        f"ratio kit / stock, whole command    {whole['kit'] / whole['stock']:6.3f} x   (at {n}, start-up included)"
    )
    cpu_median = {key: statistics.median(values) for key, values in cpu.items()}
    cpu_slope = {t: (cpu_median[(t, n)] - cpu_median[(t, SMALL)]) / (n - SMALL) for t in ("stock", "kit")}
    print(
        f"CPU per submission (user + system, every process): stock {cpu_slope['stock']:.3f} s, "
        f"kit {cpu_slope['kit']:.3f} s; ratio kit / stock {cpu_slope['kit'] / cpu_slope['stock']:6.3f} x "
        "(the kit's CPU is spread over its jobs; stock runs one process)"
    )
    print(f"coordinator peak memory  {max(memory):.0f} MB")


def one_class(n=1000, jobs=2):
    with tempfile.TemporaryDirectory() as tmp:
        kit = Path(tmp) / "kit"
        kit_course(kit, n, students=("ada", "ben", "cho", "kim", "lee"))
        seconds, output = kit_batch(kit, jobs)
    print(
        f"backprop-kit autograde --jobs {jobs}: {n} submissions in {seconds:.0f} s "
        f"({seconds / 60:.1f} min, {seconds / n:.3f} s per submission), whole command timed "
        f"(target: 1,000 in <= 180 s on 2 cores)"
    )
    print(f"coordinator peak memory  {peak_memory_mb(output):.0f} MB")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--graphs"]:
        GRAPHS, args = args[1], args[2:]
    if args[:1] == ["--assignment"]:
        ASSIGNMENT, args = args[1], args[2:]
    if args[:1] == ["--class"]:
        one_class(*(int(a) for a in args[1:3]))
    else:
        side_by_side(*(int(a) for a in args[:3]))
