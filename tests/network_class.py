"""The layers of the `network` assignment as students write them: correct styles, and each
catalogued tensor mistake (test data, trusted: run in the tests' own process or graded).

Each mistake is (label, misconception id, gate cell, code): one id may show in several layers
and several ways (batch-not-summed: db of one sample, db's mean, dW's mean)."""

import textwrap

AFFINE = """
import numpy as np


class AffineGate:
    def forward(self, x, W, b):
        self.x, self.W = x, W
        return x @ W + b

    def backward(self, dout):
        dx = dout @ self.W.T
        dW = self.x.T @ dout
        db = dout.sum(axis=0)
        return dx, dW, db
"""

SOFTMAX = """
import numpy as np


class SoftmaxCrossEntropyGate:
    def forward(self, scores, y):
        shifted = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        self.p, self.y = p, y
        return -np.mean(np.log(p[np.arange(len(y)), y]))

    def backward(self, dout):
        d = self.p.copy()
        d[np.arange(len(self.y)), self.y] -= 1
        return dout * d / len(self.y)
"""

SVM = """
import numpy as np


class SVMLossGate:
    def forward(self, scores, y):
        n = len(y)
        margins = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1)
        margins[np.arange(n), y] = 0
        self.margins, self.y = margins, y
        return margins.sum() / n

    def backward(self, dout):
        n = len(self.y)
        d = (self.margins > 0).astype(float)
        d[np.arange(n), self.y] = -d.sum(axis=1)
        return dout * d / n
"""

CORRECT = {"affine_gate": AFFINE, "softmax_ce_gate": SOFTMAX, "svm_loss_gate": SVM}


def _with(code, old, new):
    code = textwrap.dedent(code)
    assert code.count(old) == 1, old
    return code.replace(old, new)


# Valid ways to write the layers: full marks on every check.
VALID = [
    (
        "einsum",
        "affine_gate",
        _with(AFFINE, "dW = self.x.T @ dout", "dW = np.einsum('nd,nm->dm', self.x, dout)"),
    ),
    (
        "loop over the batch",
        "affine_gate",
        _with(
            AFFINE,
            "dW = self.x.T @ dout",
            "dW = np.zeros_like(self.W)\n        for i in range(len(dout)):\n"
            "            dW += np.outer(self.x[i], dout[i])",
        ),
    ),
    (
        "float32 returns",
        "affine_gate",
        _with(
            AFFINE,
            "return dx, dW, db",
            "return dx.astype(np.float32), dW.astype(np.float32), db.astype(np.float32)",
        ),
    ),
    (
        "logsumexp",
        "softmax_ce_gate",
        """
        import numpy as np


        class SoftmaxCrossEntropyGate:
            def forward(self, scores, y):
                top = scores.max(axis=1, keepdims=True)
                log_z = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
                self.log_p = scores - log_z[:, None]
                self.y = y
                return float(np.mean(log_z - scores[np.arange(len(y)), y]))

            def backward(self, dout):
                onehot = np.eye(self.log_p.shape[1])[self.y]
                return dout * (np.exp(self.log_p) - onehot) / len(self.y)
        """,
    ),
    (
        "np.maximum and a boolean mask",
        "svm_loss_gate",
        """
        import numpy as np


        class SVMLossGate:
            def forward(self, scores, y):
                n = len(y)
                self.y = y
                self.mask = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1) > 0
                self.mask[np.arange(n), y] = False
                return float(np.sum(np.where(self.mask, scores - scores[np.arange(n), y][:, None] + 1, 0)) / n)

            def backward(self, dout):
                n = len(self.y)
                d = self.mask * 1.0
                d[np.arange(n), self.y] -= self.mask.sum(axis=1)
                return (dout * d / n).astype(np.float32)
        """,
    ),
]

# Each catalogued mistake as one edit of a correct layer: (label, misconception id, gate cell, the
# correct layer's text, what the student wrote instead).
_EDITS = [
    ("db of one sample (the first)", "batch-not-summed", "affine_gate", "dout.sum(axis=0)", "dout[0]"),
    ("db of one sample (the last)", "batch-not-summed", "affine_gate", "dout.sum(axis=0)", "dout[-1]"),
    ("db averaged", "batch-not-summed", "affine_gate", "dout.sum(axis=0)", "dout.mean(axis=0)"),
    ("dW averaged", "batch-not-summed", "affine_gate", "self.x.T @ dout", "self.x.T @ dout / len(dout)"),
    ("dW transposed", "matmul-transpose", "affine_gate", "self.x.T @ dout", "dout.T @ self.x"),
    ("dW without the transpose", "matmul-transpose", "affine_gate", "self.x.T @ dout", "self.x @ dout"),
    ("dx with W, not its transpose", "matmul-transpose", "affine_gate", "dout @ self.W.T", "dout @ self.W"),
    ("db over the wrong axis", "sum-wrong-axis", "affine_gate", "dout.sum(axis=0)", "dout.sum(axis=1)"),
    ("the 1/N missing", "loss-mean-scale", "softmax_ce_gate", "dout * d / len(self.y)", "dout * d"),
    (
        "the 1/N twice",
        "loss-mean-scale",
        "softmax_ce_gate",
        "dout * d / len(self.y)",
        "dout * d / len(self.y) ** 2",
    ),
    (
        "the -1 forgotten",
        "softmax-missing-minus-one",
        "softmax_ce_gate",
        "\n        d[np.arange(len(self.y)), self.y] -= 1",
        "",
    ),
    (
        "the correct class only",
        "softmax-correct-class-only",
        "softmax_ce_gate",
        "d = self.p.copy()\n        d[np.arange(len(self.y)), self.y] -= 1",
        "d = np.zeros_like(self.p)\n        d[np.arange(len(self.y)), self.y] = self.p[np.arange(len(self.y)), self.y] - 1",
    ),
    (
        "no shift",
        "softmax-no-shift",
        "softmax_ce_gate",
        "shifted = scores - scores.max(axis=1, keepdims=True)",
        "shifted = scores",
    ),
    ("the 1/N missing (SVM)", "loss-mean-scale", "svm_loss_gate", "dout * d / n", "dout * d"),
    (
        "the correct class's margin counted",
        "svm-counts-correct-class",
        "svm_loss_gate",
        "        margins[np.arange(n), y] = 0\n",
        "",
    ),
]

# (label, misconception id, gate cell, the student's code)
MISTAKES = [(label, mid, cell, _with(CORRECT[cell], old, new)) for label, mid, cell, old, new in _EDITS]


def namespace(code):
    """What one of these cells defines when run (in the tests' own process: trusted data)."""
    defined: dict = {}
    exec(textwrap.dedent(code), defined)
    return defined
