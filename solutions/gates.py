"""The reference gates: each forward() stores what its backward() needs, side by side.

These classes are the single source of the gate code: the notebook builder copies
each method body into the assignment's solution cells, so what students are graded
against is exactly what is written here. Keep them self-contained (numpy only).

Contract (the same one the notebooks teach):
  * forward(...) returns the output and remembers the inputs/outputs backward needs;
  * backward(dout) takes the upstream gradient dL/d(output) and returns dL/d(input)
    for every input, each with the shape of that input (a tuple for two inputs).
"""

import numpy as np


class AddGate:
    """Distributor: the upstream gradient goes unchanged to both inputs."""

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout, dout


class MulGate:
    """Switcher: each input's gradient is the upstream gradient times the *other* input."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class MaxGate:
    """Router: the whole upstream gradient goes to the larger input (to x on a tie)."""

    def forward(self, x, y):
        self.x_wins = np.greater_equal(x, y)
        return np.maximum(x, y)

    def backward(self, dout):
        return np.where(self.x_wins, dout, 0.0), np.where(self.x_wins, 0.0, dout)


class ReLUGate:
    """max(0, x), the router with one input fixed at 0: the gradient passes where x > 0."""

    def forward(self, x):
        self.x_positive = np.greater(x, 0)
        return np.maximum(x, 0.0)

    def backward(self, dout):
        return np.where(self.x_positive, dout, 0.0)


class SigmoidGate:
    """sigma(x) = 1 / (1 + e^-x); its local gradient sigma * (1 - sigma) uses the *output*."""

    def forward(self, x):
        # exp(-|x|) never overflows, so x = +-1000 gives 1 and 0 without a warning.
        e = np.exp(-np.abs(x))
        self.out = np.where(np.greater_equal(x, 0), 1.0 / (1.0 + e), e / (1.0 + e))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)


class MatMulGate:
    """q = W @ x for W of shape (H, D) and x of shape (D,) or a batch (D, N)."""

    def forward(self, W, x):
        self.W, self.x = W, x
        return W @ x

    def backward(self, dq):
        # A batch's dW sums the per-sample outer products, which is one matrix product.
        dW = np.outer(dq, self.x) if np.ndim(self.x) == 1 else dq @ self.x.T
        return dW, self.W.T @ dq


class L2Gate:
    """f = the sum of the squares of q's entries, a scalar."""

    def forward(self, q):
        self.q = q
        return np.sum(q * q)

    def backward(self, df):
        return 2.0 * self.q * df


# The primitive gates of the lecture's staged sigmoid: 1 / (1 + exp(-1 * x)).


class MulConstGate:
    """x -> c * x."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c * x

    def backward(self, dout):
        return self.c * dout


class ExpGate:
    """x -> e^x; the local gradient is the output itself."""

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, dout):
        return dout * self.out


class AddConstGate:
    """x -> x + c."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, dout):
        return dout


class ReciprocalGate:
    """x -> 1 / x; the local gradient is -1 / x^2."""

    def forward(self, x):
        self.x = x
        return 1.0 / x

    def backward(self, dout):
        return -dout / (self.x * self.x)
