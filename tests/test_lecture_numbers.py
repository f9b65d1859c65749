"""Every worked number of the lecture (shared/LECTURE.md), through the student API and the graph engine."""

import warnings

import numpy as np
import pytest

from solutions import AddGate, L2Gate, MatMulGate, MaxGate, MulGate, SigmoidGate, lecture
from solutions.misconceptions import overwrite
from solutions.table import GATES


def test_example_1_through_the_gates():
    add, mul = AddGate(), MulGate()
    q = add.forward(-2.0, 5.0)
    f = mul.forward(q, -4.0)
    assert (q, f) == (3.0, -12.0)
    dq, dz = mul.backward(1.0)
    dx, dy = add.backward(dq)
    assert (dz, dq, dx, dy) == (3.0, -4.0, -4.0, -4.0)


def test_example_1_through_the_graph_engine():
    r = lecture.gradients(lecture.simple, -2.0, 5.0, -4.0)
    assert r.values["q"] == 3 and r.values["f"] == -12
    assert r.grads == {"x": -4, "y": -4, "z": 3, "q": -4, "f": 1}


W_LECTURE, X_LECTURE = (2.0, -3.0, -3.0), (-1.0, -2.0)


@pytest.mark.parametrize("builder", [lecture.neuron_staged, lecture.neuron_shortcut])
def test_example_2_the_neuron_staged_and_with_the_sigmoid_shortcut(builder):
    r = lecture.gradients(builder, W_LECTURE, X_LECTURE)
    assert r.values["f"] == pytest.approx(0.731058, abs=1e-6)
    expected = {"w0": -0.196611, "x0": 0.393223, "w1": -0.393223, "x1": -0.589835, "w2": 0.196611}
    for name, value in expected.items():
        assert r.grads[name] == pytest.approx(value, abs=1e-6), name
    assert [round(float(r.grads[n]), 2) for n in ("w0", "x0", "w1", "x1", "w2")] == [
        -0.20,
        0.39,
        -0.39,
        -0.59,
        0.20,
    ]


def test_example_2_staged_intermediates():
    r = lecture.gradients(lecture.neuron_staged, W_LECTURE, X_LECTURE)
    assert r.values["exp"] == pytest.approx(np.exp(-1)) and r.values["denom"] == pytest.approx(
        1.367879, abs=1e-6
    )
    # 1/x passes -0.53 down, +1 passes it on, exp turns it into -0.20, *-1 into 0.20.
    assert [round(float(r.grads[n]), 2) for n in ("denom", "exp", "neg", "s")] == [-0.53, -0.53, -0.20, 0.20]
    assert r.grads["denom"] == pytest.approx(-0.534446, abs=1e-6)


def test_example_2_sigmoid_gate_local_gradient_from_its_output():
    g = SigmoidGate()
    s = g.forward(1.0)
    assert float(s) == pytest.approx(0.731058, abs=1e-6)
    assert float(g.backward(1.0)) == pytest.approx((1 - 0.731058) * 0.731058, abs=1e-6)


def test_example_3_l2_of_w_x():
    W, x = np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4])
    mm, l2 = MatMulGate(), L2Gate()
    q = mm.forward(W, x)
    f = l2.forward(q)
    np.testing.assert_allclose(q, [0.22, 0.26])
    assert f == pytest.approx(0.116)
    dq = l2.backward(1.0)
    dW, dx = mm.backward(dq)
    np.testing.assert_allclose(dq, [0.44, 0.52])
    np.testing.assert_allclose(dW, [[0.088, 0.176], [0.104, 0.208]])
    np.testing.assert_allclose(dx, [-0.112, 0.636])


def test_example_3_batch_sums_over_columns():
    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(3, 5)), rng.normal(size=(5, 4))
    batch = lecture.gradients(lecture.l2_of_matmul, W, X)
    singles = [lecture.gradients(lecture.l2_of_matmul, W, X[:, n]) for n in range(4)]
    np.testing.assert_allclose(batch.grads["W"], sum(s.grads["W"] for s in singles))
    np.testing.assert_allclose(batch.grads["x"], np.stack([s.grads["x"] for s in singles], axis=1))


def test_gradients_add_at_branches():
    r = lecture.gradients(lecture.branch, 3.0, -5.0)
    assert r.grads["x"] == 2 * 3.0 + -5.0  # (x + y) from the mul, x from the add
    wrong = lecture.gradients(lecture.branch, 3.0, -5.0, combine=overwrite)
    assert wrong.grads["x"] != r.grads["x"]


def test_sigmoid_is_stable_at_large_inputs():
    # numpy ignores underflow by default (exp(-1000) is 0.0); overflow and invalid would warn.
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = SigmoidGate().forward(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(out, [0.0, 1.0])


def test_max_gate_sends_a_tie_to_x():
    g = MaxGate()
    g.forward(np.array([2.0, 1.0, 3.0]), np.array([2.0, 4.0, 1.0]))
    dx, dy = g.backward(np.array([5.0, 6.0, 7.0]))
    np.testing.assert_array_equal(dx, [5.0, 0.0, 7.0])
    np.testing.assert_array_equal(dy, [0.0, 6.0, 0.0])


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("spec", [g for g in GATES if g.kind_of.elementwise], ids=lambda g: g.name)
def test_every_gradient_has_the_shape_of_its_input(spec, shape):
    rng = np.random.default_rng(1)
    gate = spec.cls
    inputs = [rng.normal(size=shape), rng.normal(size=shape) + 3][: len(spec.inputs)]
    if shape == ():
        inputs = [float(v) for v in inputs]
    g = gate()
    out = g.forward(*inputs)
    grads = g.backward(np.ones(np.shape(out)) * 0.7 if shape else 0.7)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert [np.shape(d) for d in grads] == [np.shape(v) for v in inputs]
