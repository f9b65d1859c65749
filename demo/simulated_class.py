"""DEMO AND TEST DATA, not part of the kit: a small simulated class for `backprop-kit demo`,
the end-to-end tests and the benchmarks. Submissions written the way students really write
them — correct ones in other styles, the catalogued mistakes, broken code and attacks (fork
bombs, file writes, detached processes) — made from the release notebook by replacing answer
cells.

It lives in the repository checkout, outside the `autograder` package, so `pip install`
never ships it; `autograder.demo.load_simulated_class()` loads it by path."""

import textwrap

import nbformat


def _dedent(code):
    return textwrap.dedent(code).strip() + "\n"


# ---------------------------------------------------------------- gate code as students write it

CORRECT_STYLES = {
    # Valid alternatives the grader must accept.
    "add_gate": """
        class AddGate:
            def forward(self, x, y):
                return x + y
            def backward(self, dout):
                return [dout, dout]          # a list instead of a tuple
        """,
    "mul_gate": """
        class MulGate:
            def forward(self, x, y):
                self.cache = (x, y)
                print("debug: forward called")   # debug prints are fine
                return x * y
            def backward(self, dout):
                x, y = self.cache
                return y * dout, x * dout
        """,
    "max_gate": """
        import numpy as np
        class MaxGate:
            def forward(self, x, y):
                self.x, self.y = np.asarray(x, float), np.asarray(y, float)
                return np.maximum(x, y)
            def backward(self, dout):
                # ties split evenly
                wx = (self.x > self.y) + 0.5 * (self.x == self.y)
                return dout * wx, dout * (1 - wx)
        """,
    "relu_gate": """
        import numpy as np
        class ReLUGate:
            def forward(self, x):
                self.mask = (np.asarray(x) >= 0).astype(float)   # >= instead of >: at 0 a subgradient too
                return np.maximum(0, x)
            def backward(self, dout):
                return dout * self.mask
        """,
    "sigmoid_gate": """
        import numpy as np
        class SigmoidGate:
            def forward(self, x):
                self.s = 1 / (1 + np.exp(-x))      # naive: overflows (with a warning) at x = -1000
                return self.s
            def backward(self, dout):
                return dout * self.s * (1 - self.s)
        """,
    "matmul_gate": """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return np.einsum("hd,d...->h...", W, x)
            def backward(self, dq):
                if self.x.ndim == 1:
                    dW = np.einsum("h,d->hd", dq, self.x)
                else:
                    dW = np.zeros_like(self.W)
                    for n in range(self.x.shape[1]):       # an explicit loop over the batch
                        dW += np.outer(dq[:, n], self.x[:, n])
                return dW, self.W.T @ dq
        """,
    "l2_gate": """
        import numpy as np
        class L2Gate:
            def forward(self, q):
                self.q = np.array(q, dtype=float)
                f = float(np.sum(q ** 2))
                if isinstance(q, np.ndarray):
                    q *= 0                     # clobbers the caller's array: the grader holds its own copy
                return f
            def backward(self, df):
                return 2 * self.q * df
        """,
}


def matmul_gate_right_for_one_input(batch):
    """A MatMulGate, as students write it, whose dW is right for one input (a vector x) and, for a
    batch (x with a column per sample), is what the lines `batch` compute: the skeleton of every
    batch-not-summed way below, each told by its batch lines alone."""
    skeleton = _dedent(
        """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return W @ x
            def backward(self, dq):
                if self.x.ndim == 1:
                    return np.outer(dq, self.x), self.W.T @ dq
        """
    )
    return skeleton + textwrap.indent(_dedent(batch), " " * 8)


MISTAKES = {
    "add-split": (
        "add_gate",
        """
        class AddGate:
            def forward(self, x, y):
                return x + y
            def backward(self, dout):
                return dout / 2, dout / 2
        """,
    ),
    "mul-not-swapped": (
        "mul_gate",
        """
        class MulGate:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x * y
            def backward(self, dout):
                return dout * self.x, dout * self.y
        """,
    ),
    "upstream-ignored": (
        "mul_gate",
        """
        class MulGate:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x * y
            def backward(self, dout):
                return self.y, self.x
        """,
    ),
    "max-routes-both": (
        "max_gate",
        """
        import numpy as np
        class MaxGate:
            def forward(self, x, y):
                self.shape = np.shape(x)
                return np.maximum(x, y)
            def backward(self, dout):
                return dout * np.ones(self.shape), dout * np.ones(self.shape)
        """,
    ),
    "relu-mask-of-upstream": (
        "relu_gate",
        """
        import numpy as np
        class ReLUGate:
            def forward(self, x):
                return np.maximum(0, x)
            def backward(self, dout):
                return np.maximum(0, dout)          # the sign of dout decides, not the sign of x
        """,
    ),
    "sigmoid-of-input": (
        "sigmoid_gate",
        """
        import numpy as np
        class SigmoidGate:
            def forward(self, x):
                self.x = x
                return 1 / (1 + np.exp(-np.clip(x, -500, 500)))
            def backward(self, dout):
                return dout * self.x * (1 - self.x)
        """,
    ),
    "l2-missing-2": (
        "l2_gate",
        """
        import numpy as np
        class L2Gate:
            def forward(self, q):
                self.q = q
                return np.sum(q * q)
            def backward(self, df):
                return self.q * df
        """,
    ),
    "matmul-transpose": (
        "matmul_gate",
        """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return W @ x
            def backward(self, dq):
                dW = np.outer(self.x, dq) if self.x.ndim == 1 else self.x @ dq.T
                return dW, self.W.T @ dq
        """,
    ),
    "max-routes-smaller": (
        "max_gate",
        """
        import numpy as np
        class MaxGate:
            def forward(self, x, y):
                self.x_wins = np.greater_equal(x, y)
                return np.maximum(x, y)
            def backward(self, dout):
                return np.where(self.x_wins, 0.0, dout), np.where(self.x_wins, dout, 0.0)
        """,
    ),
    "sigmoid-missing-term": (
        "sigmoid_gate",
        """
        import numpy as np
        class SigmoidGate:
            def forward(self, x):
                self.s = 0.5 * (1 + np.tanh(0.5 * np.asarray(x, float)))   # another stable sigmoid
                return self.s
            def backward(self, dout):
                return dout * self.s
        """,
    ),
    "batch-not-summed": (
        "matmul_gate",
        matmul_gate_right_for_one_input(
            "return dq @ self.x.T / self.x.shape[1], self.W.T @ dq   # averaged over the batch"
        ),
    ),
    "sign-flip": (
        "add_gate",
        """
        class AddGate:
            def forward(self, x, y):
                return x + y
            def backward(self, dout):
                return -dout, -dout
        """,
    ),
    "branch-overwrite": (
        "branch_with_gates",
        """
        def branch_with_gates(x, y):
            add, mul = AddGate(), MulGate()
            q = add.forward(x, y)
            f = mul.forward(q, x)
            dq, dx = mul.backward(1.0)
            dx, dy = add.backward(dq)     # overwrites the mul's dx
            return f, (dx, dy)
        """,
    ),
}

# A batch's dW from one sample, or the batch's mean, instead of the sum (batch-not-summed): the
# in-process naming tests (tests/test_naming_what_students_do.py) and their end-to-end twin grade these.
ONE_SAMPLE_OR_MEAN = {
    "a loop that assigns instead of adding (the last sample)": matmul_gate_right_for_one_input(
        """
        for i in range(self.x.shape[1]):
            dW = np.outer(dq[:, i], self.x[:, i])      # = instead of +=
        return dW, self.W.T @ dq
        """
    ),
    "the last column by index": """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.cache = (W, x)
                return W.dot(x)
            def backward(self, dout):
                W, x = self.cache
                x2 = x.reshape(x.shape[0], -1)
                d2 = dout.reshape(dout.shape[0], -1)
                return np.outer(d2[:, -1], x2[:, -1]), W.T.dot(dout)
        """,
    "the second sample": matmul_gate_right_for_one_input(
        "return np.outer(dq[:, 1], self.x[:, 1]), self.W.T @ dq"
    ),
    "np.mean over the batch": matmul_gate_right_for_one_input(
        """
        dW = np.mean([np.outer(dq[:, i], self.x[:, i]) for i in range(self.x.shape[1])], axis=0)
        return dW, self.W.T @ dq
        """
    ),
}
# A function's gradients returned in another order than its inputs' (keyed by function, the
# order returned, the order asked).
IN_ANOTHER_ORDER = {
    ("l2_with_gates", "(dx, dW)", "(dW, dx)"): """
        def l2_with_gates(W, x):
            mm, l2 = MatMulGate(), L2Gate()
            f = l2.forward(mm.forward(W, x))
            dW, dx = mm.backward(l2.backward(1.0))
            return f, (dx, dW)
        """,
    ("simple_with_gates", "(dz, dx, dy)", "(dx, dy, dz)"): """
        def simple_with_gates(x, y, z):
            add, mul = AddGate(), MulGate()
            q = add.forward(x, y)
            f = mul.forward(q, z)
            dq, dz = mul.backward(1.0)
            dx, dy = add.backward(dq)
            return f, (dz, dx, dy)      # in the order the backward pass found them
        """,
    ("neuron_with_gates", "(dx, dw)", "(dw, dx)"): """
        def neuron_with_gates(w, x):
            m0, m1, a0, a1, s = MulGate(), MulGate(), AddGate(), AddGate(), SigmoidGate()
            f = s.forward(a1.forward(a0.forward(m0.forward(w[0], x[0]), m1.forward(w[1], x[1])), w[2]))
            dp, dw2 = a1.backward(s.backward(1.0))
            d0, d1 = a0.backward(dp)
            dw0, dx0 = m0.backward(d0)
            dw1, dx1 = m1.backward(d1)
            return f, [[dx0, dx1], [dw0, dw1, dw2]]
        """,
}

TIES_TO_Y = """
    import numpy as np
    class MaxGate:
        def forward(self, x, y):
            self.x_wins = np.greater(x, y)      # a tie goes to y
            return np.maximum(x, y)
        def backward(self, dout):
            return dout * self.x_wins, dout * ~self.x_wins
    """

BROKEN = {
    "max_gate": """
        class MaxGate:
            def forward(self, x, y)      # a syntax error
                return max(x, y)
        """,
    "sigmoid_gate": """
        class SigmoidGate:
            def forward(self, x):
                while True:               # an infinite loop
                    pass
            def backward(self, dout):
                return dout
        """,
    "l2_gate": """
        import os
        class L2Gate:
            def forward(self, q):
                os._exit(3)               # kills its process
            def backward(self, df):
                return df
        """,
    "matmul_gate": """
        class MatMulGate:
            def forward(self, W, x):
                self.hog = bytearray(8 * 1024 ** 3)   # 8 GB
                return W @ x
            def backward(self, dq):
                return dq, dq
        """,
}

ATTACKS = {
    "add_gate": """
        import numpy as np, os, subprocess, sys
        np.allclose = lambda *a, **k: True            # lie about every comparison in this process
        np.testing.assert_allclose = lambda *a, **k: None
        for target in ["../../../gradebook.db", "/work", os.path.expanduser("~")]:
            try:
                open(os.path.join(target, "pwned") if os.path.isdir(target) else target, "w").write("x")
            except Exception:
                pass
        try:   # a detached process that tries again much later: alive when grading ends, unless killed
            subprocess.Popen([sys.executable, "-c",
                              "import time, os; time.sleep(600); open('/tmp/bpkit-late-attack', 'w').write('x')"],
                             start_new_session=True)
        except Exception:
            pass
        class Liar(float):
            def __eq__(self, other): return True
        class AddGate:
            def forward(self, x, y):
                return Liar(0.0)
            def backward(self, dout):
                return Liar(0.0), Liar(0.0)
        """,
    "mul_gate": """
        import numpy as np
        class Sneaky(np.ndarray):
            def __eq__(self, other): return np.ones(np.shape(other), bool)
        class MulGate:
            def forward(self, x, y):
                try:
                    import solutions                   # the reference is out of reach
                    self.ref = solutions.MulGate()
                    return self.ref.forward(x, y)
                except ImportError:
                    return np.full(np.shape(x), np.nan)
            def backward(self, dout):
                return np.zeros(3).view(Sneaky), float("nan")
        """,
}

# A fork bomb, kept finite so that a sandbox without a process cap cannot take the machine
# down with it: each child sleeps instead of forking on. With the cap, fork() is refused
# long before 1000 and the correct gate below it still earns its points; without the cap
# the cell raises and the gate earns nothing.
FORK_BOMB = """
    import os, time
    forks = 0
    for _ in range(1000):
        try:
            pid = os.fork()
        except OSError:           # refused: the sandbox's process cap
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        forks += 1
    if forks >= 1000:
        raise RuntimeError("1000 processes and counting: nothing capped this fork bomb")
    """

# A student who never got to an exercise and left the release's stub in place: it must cost
# that exercise only. (Simulated submission data, not a stub of the kit.)
UNFINISHED_L2_WITH_GATES = "def l2_with_gates(W, x):\n    raise NotImplementedError()\n"


def namespace_of(code):
    """What one of these cells defines when run (in the tests' own process: trusted data)."""
    namespace = {}
    exec(_dedent(code), namespace)
    return namespace


def fill(release_nb, solutions_by_id):
    """A copy of the release notebook with answer cells replaced: {grade_id: source}."""
    nb = nbformat.reads(nbformat.writes(release_nb), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in solutions_by_id:
            cell.source = _dedent(solutions_by_id[gid])
    return nb


def reference_answers(source_nb):
    """The instructor's solution of every answer cell, markers removed: a correct student."""
    out = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            out[meta["grade_id"]] = "\n".join(
                line
                for line in cell.source.splitlines()
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
            )
    return out


def students(source_nb):
    """{student id: (description, {grade_id: source})} for the simulated class."""
    correct = reference_answers(source_nb)
    return {
        "ada": ("correct, in other valid styles", {**correct, **CORRECT_STYLES}),
        "ben": (
            "add-split, mul-not-swapped; max ties sent to y",
            {
                **correct,
                "add_gate": MISTAKES["add-split"][1],
                "mul_gate": MISTAKES["mul-not-swapped"][1],
                "max_gate": TIES_TO_Y,
            },
        ),
        "cho": (
            "sigmoid-of-input, l2-missing-2, matmul-transpose",
            {
                **correct,
                "sigmoid_gate": MISTAKES["sigmoid-of-input"][1],
                "l2_gate": MISTAKES["l2-missing-2"][1],
                "matmul_gate": MISTAKES["matmul-transpose"][1],
            },
        ),
        "dan": ("broken: syntax error, infinite loop, os._exit, 8 GB", {**correct, **BROKEN}),
        "eve": (
            "hostile: monkeypatching, file writes, detached process, lying types, a fork bomb",
            {**correct, **ATTACKS, "sigmoid_gate": _dedent(FORK_BOMB) + correct["sigmoid_gate"]},
        ),
        "kim": (
            "upstream-ignored, max-routes-smaller, sigmoid-missing-term, batch-not-summed, branch-overwrite",
            {
                **correct,
                **{
                    cell: code
                    for mid, (cell, code) in MISTAKES.items()
                    if mid
                    in (
                        "upstream-ignored",
                        "max-routes-smaller",
                        "sigmoid-missing-term",
                        "batch-not-summed",
                        "branch-overwrite",
                    )
                },
            },
        ),
        "lee": (
            "sign-flip, max-routes-both, relu-mask-of-upstream, a cell that kills the kernel, a stub left in",
            {
                **correct,
                "add_gate": MISTAKES["sign-flip"][1],
                "max_gate": MISTAKES["max-routes-both"][1],
                "relu_gate": MISTAKES["relu-mask-of-upstream"][1],
                "branch_by_hand": correct["branch_by_hand"] + "\nimport os\nos._exit(1)\n",
                "l2_with_gates": UNFINISHED_L2_WITH_GATES,
            },
        ),
    }


def cells_tampered_with(good_nb):
    """Two notebooks nbgrader must survive, made from a correct one: a test cell deleted and
    another's source replaced ("deleted"), and a gate cell's grade_id renamed ("renamed")."""

    def grade_id(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id")

    deleted = nbformat.reads(nbformat.writes(good_nb), as_version=4)
    deleted.cells = [c for c in deleted.cells if grade_id(c) != "test_add_gate_backward"]
    for cell in deleted.cells:
        if grade_id(cell) == "test_mul_gate_forward":
            cell.source = "print('full marks please')\n1.0"
    renamed = nbformat.reads(nbformat.writes(good_nb), as_version=4)
    for cell in renamed.cells:
        if grade_id(cell) == "mul_gate":
            cell.metadata["nbgrader"]["grade_id"] = "my_mul_gate"
    return {"deleted": deleted, "renamed": renamed}


def late_attackers_alive():
    """Pids of processes the attacking student started to outlive grading ('bpkit-late-attack')."""
    from pathlib import Path

    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"bpkit-late-attack" in cmdline.read_bytes():
                alive.append(cmdline.parent.name)
        except OSError:
            pass
    return alive
