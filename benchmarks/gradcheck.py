"""Gradient checking at the lecture's size: ||W x||^2 with W of 4096 x 4096 and a batch of 100.

Prints, side by side in one run: one forward pass, the directional check of the reference
gradient, the estimated time of an entry-by-entry check, their ratio, and whether a
gradient wrong in a single entry of dW is caught.
Run: .venv/bin/python benchmarks/gradcheck.py
"""

import time

import numpy as np

from autograder.bpkit import gradcheck
from solutions import lecture

H = D = 4096
N = 100


def main():
    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(H, D)) / 64, rng.normal(size=(D, N))
    f = lambda W_, X_: np.sum((W_ @ X_) ** 2)  # noqa: E731

    t = time.perf_counter()
    f(W, X)
    forward = time.perf_counter() - t

    r = lecture.gradients(lecture.l2_of_matmul, W, X)
    grads = (r.grads["W"], r.grads["x"])
    t = time.perf_counter()
    good = gradcheck.check_gradients(f, (W, X), grads, dout=1.0, names=("dW", "dx"), rng=rng)
    directional = time.perf_counter() - t

    entries = W.size + X.size
    elementwise = 2 * entries * forward
    dW = grads[0].copy()
    dW[1234, 567] += np.abs(dW).mean()
    bad = gradcheck.check_gradients(f, (W, X), (dW, grads[1]), dout=1.0, names=("dW", "dx"), rng=rng)

    print(f"size                         W {H}x{D}, batch x {D}x{N} ({entries:,} entries)")
    print(f"one forward pass             {forward:8.3f} s")
    print(
        f"directional check (correct)  {directional:8.3f} s   passed={good.passed}  "
        f"relative errors dW {good.inputs[0].rel_error:.1e}, dx {good.inputs[1].rel_error:.1e}"
    )
    print(
        f"entry-by-entry (estimated)   {elementwise:8.0f} s   = 2 x {entries:,} forward passes "
        f"(~{elementwise / 3600:.0f} hours)"
    )
    print(f"speed-up                     {elementwise / directional:8.0f} x")
    print(
        f"one wrong entry of dW        caught={not bad.inputs[0].passed} "
        f"(relative error {bad.inputs[0].rel_error:.1e} vs threshold {gradcheck.REL_ERROR_OK:.0e}); "
        f"dx still passes={bad.inputs[1].passed}"
    )


if __name__ == "__main__":
    main()
