"""Property tests: every gate's backward is the slope of its forward; the graph engine
agrees with an independent autodiff library; every error model really is an error."""

import ast
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as autograd_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from wrong_gates import wrong_gate

from autograder.bpkit import gradcheck
from solutions import lecture
from solutions.misconceptions import Seen, overwrite
from solutions.table import CATALOG, GRADED, OPERATIONS

REQUIRED_IDS = {
    "upstream-ignored",
    "add-split",
    "mul-not-swapped",
    "max-routes-both",
    "max-routes-smaller",
    "sigmoid-of-input",
    "sigmoid-missing-term",
    "l2-missing-2",
    "matmul-transpose",
    "batch-not-summed",
    "branch-overwrite",
    "sign-flip",
}

# The rows these properties draw generic inputs for: entry-by-entry gates, the matrix product and
# the reductions. A layer's inputs must agree in shape and carry integer labels: its properties (the
# numeric gradient, each mistake named alone, none misnamed) are tests/test_network_layers.py's.
GENERIC = tuple(op for op in OPERATIONS if op.kind in ("matmul", "reduce") or op.kind_of.elementwise)
GENERIC_GRADED = tuple(op for op in GRADED if op in GENERIC)

shapes = st.sampled_from([(), (1,), (5,), (2, 3), (3, 1, 2)])


def gate_inputs(spec, rng, shape, H=3, D=4, N=None):
    """Generic inputs for a gate: distinct entries for max (away from its kink)."""
    if spec.kind == "matmul":
        return (rng.normal(size=(H, D)), rng.normal(size=(D,) if N is None else (D, N)))
    if spec.kind == "reduce":
        return (rng.normal(size=shape),)
    x = rng.normal(size=shape)
    if spec.kinks is not None and len(spec.inputs) == 1:  # keep away from the kink, where no slope exists
        x = x + np.sign(x) * 0.2
    if spec.kind_of.domain is not None and len(spec.inputs) == 1:  # log: above 0
        x = np.abs(x) + 0.5
    if len(spec.inputs) == 1:
        return (x,)
    y = x + rng.uniform(0.2, 1.0, size=shape) * rng.choice([-1, 1], size=shape)
    if spec.kind_of.domain is not None:  # a divisor: away from 0
        y = np.copysign(np.abs(y) + 0.5, y)
    return (x, y)


def backward_of(spec, inputs, dout):
    g = spec.cls()
    g.forward(*[np.copy(v) for v in inputs])
    grads = g.backward(dout)
    return grads if isinstance(grads, tuple) else (grads,)


random_upstream = gradcheck.random_upstream


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=shapes,
    H=st.integers(1, 4),
    D=st.integers(1, 4),
    N=st.one_of(st.none(), st.integers(1, 3)),
)
@pytest.mark.parametrize("spec", GENERIC_GRADED, ids=lambda s: s.name)
def test_backward_is_the_numeric_gradient_of_forward(spec, seed, shape, H, D, N):
    rng = np.random.default_rng(seed)
    inputs = gate_inputs(spec, rng, shape, H, D, N)
    dout = random_upstream(rng, np.shape(spec.cls().forward(*inputs)))
    analytic = backward_of(spec, inputs, dout)
    numeric = gradcheck.numeric_gradient(lambda *a: spec.cls().forward(*a), inputs, dout)
    for a, n in zip(analytic, numeric):
        assert np.shape(a) == np.shape(n)
        assert gradcheck.rel_error(a, n) < gradcheck.REL_ERROR_OK


# The lecture's graphs written again with autograd's numpy, independently of solutions/.
AUTOGRAD_GRAPHS = {
    "simple": (lecture.simple, lambda x, y, z: (x + y) * z, ("x", "y", "z")),
    "branch": (lecture.branch, lambda x, y: (x + y) * x, ("x", "y")),
    "neuron_staged": (
        lambda w0, x0, w1, x1, w2, gates=None: lecture.neuron_staged((w0, w1, w2), (x0, x1), gates),
        lambda w0, x0, w1, x1, w2: 1 / (1 + anp.exp(-(w0 * x0 + w1 * x1 + w2))),
        ("w0", "x0", "w1", "x1", "w2"),
    ),
    "neuron_shortcut": (
        lambda w0, x0, w1, x1, w2, gates=None: lecture.neuron_shortcut((w0, w1, w2), (x0, x1), gates),
        lambda w0, x0, w1, x1, w2: 1 / (1 + anp.exp(-(w0 * x0 + w1 * x1 + w2))),
        ("w0", "x0", "w1", "x1", "w2"),
    ),
}


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(-3, 3), min_size=5, max_size=5))
@pytest.mark.parametrize("name", AUTOGRAD_GRAPHS)
def test_graph_engine_agrees_with_autograd(name, values):
    builder, formula, names = AUTOGRAD_GRAPHS[name]
    args = values[: len(names)]
    graph, out = builder(*args)
    grads = graph.backward(out)
    for i, n in enumerate(names):
        expected = autograd_grad(formula, i)(*args)
        assert float(grads[n]) == pytest.approx(float(expected), rel=1e-9, abs=1e-12), n


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    H=st.integers(1, 4),
    D=st.integers(1, 4),
    N=st.one_of(st.none(), st.integers(1, 3)),
)
def test_l2_of_matmul_agrees_with_autograd(seed, H, D, N):
    rng = np.random.default_rng(seed)
    W, x = rng.normal(size=(H, D)), rng.normal(size=(D,) if N is None else (D, N))
    r = lecture.gradients(lecture.l2_of_matmul, W, x)
    f = lambda W_, x_: anp.sum(anp.dot(W_, x_) ** 2)  # noqa: E731
    np.testing.assert_allclose(r.grads["W"], autograd_grad(f, 0)(W, x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.grads["x"], autograd_grad(f, 1)(W, x), rtol=1e-10, atol=1e-12)


def test_catalog_has_the_required_stable_ids_with_words():
    ids = [m.id for m in CATALOG]
    assert set(ids) >= REQUIRED_IDS and len(ids) == len(set(ids))
    for m in CATALOG:
        assert m.id == m.id.lower() and " " not in m.id
        assert len(m.explanation) > 20 and len(m.hint) > 20


@pytest.mark.parametrize(
    "misconception",
    [m for m in CATALOG if m.model and any(m.id in op.misconceptions for op in GENERIC)],
    ids=lambda m: m.id,
)
def test_every_error_model_differs_from_the_reference_on_generic_inputs(misconception):
    rng = np.random.default_rng(7)
    tried = 0
    for spec in GENERIC:  # graded gates and the operations of graphs alike
        if misconception.id not in spec.misconceptions or spec.constants:
            continue
        for N in (None, 3):  # a batch for batch-not-summed
            inputs = gate_inputs(spec, rng, (4,), N=N)
            out = spec.cls().forward(*[np.copy(v) for v in inputs])
            dout = random_upstream(rng, np.shape(out))
            correct = backward_of(spec, inputs, dout)
            for variant in misconception.variants(Seen(inputs, out, dout, correct)):
                tried += 1
                assert any(
                    np.shape(v) != np.shape(c) or not np.allclose(v, c) for v, c in zip(variant, correct)
                )
    assert tried, f"{misconception.id} never produced a mistaken gradient on the gates it names"


def test_branch_overwrite_differs_from_the_sum():
    right = lecture.gradients(lecture.branch, 2.5, -0.7)
    wrong = lecture.gradients(lecture.branch, 2.5, -0.7, combine=overwrite)
    assert wrong.grads["x"] != pytest.approx(right.grads["x"])


def shipped_modules():
    from autograder.course import BPKIT_MODULES

    return [f"autograder/bpkit/{name}" for name in BPKIT_MODULES if name.endswith(".py")]


@pytest.mark.parametrize("module", shipped_modules())
def test_shipped_modules_import_only_numpy_the_standard_library_and_each_other(module):
    import sys

    tree = ast.parse((Path(__file__).resolve().parent.parent / module).read_text())
    # IPython is every kernel's, so a module may use it where it is there: only an import inside
    # `try: ... except ImportError:` (the module works without it) may name it.
    guarded = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.Try)
        and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        )
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        optional = {"IPython"} if id(node) in guarded else set()
        if isinstance(node, ast.Import):
            roots = {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = set() if node.level else {node.module.split(".")[0]}
        else:
            continue
        assert roots <= set(sys.stdlib_module_names) | {"numpy"} | optional, (module, roots)


def test_elementwise_check_names_the_wrong_input_and_entry():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    dout = random_upstream(rng, (2, 3))
    dx, dy = dout * y, dout * x
    dy = dy.copy()
    dy[1, 2] += 0.5
    report = gradcheck.check_gradients(lambda a, b: a * b, (x, y), (dx, dy), dout=dout, names=("dx", "dy"))
    assert not report.passed
    assert report.inputs[0].passed and not report.inputs[1].passed
    assert report.inputs[1].worst[0][0] == (1, 2)
    assert "dy is wrong" in report.text() and "(1, 2)" in report.text()


def test_shape_mismatch_and_junk_are_reported_not_raised():
    x = np.ones(3)
    report = gradcheck.check_gradients(lambda a: a * 2, (x,), (np.ones(4),), dout=np.ones(3), names=("dx",))
    assert not report.passed and "shape (4,)" in report.text()
    report = gradcheck.check_gradients(lambda a: a * 2, (x,), (object(),), dout=np.ones(3), names=("dx",))
    assert not report.passed and "not numbers" in report.text()


def test_directional_check_verifies_a_large_l2_and_catches_one_wrong_entry():
    rng = np.random.default_rng(5)
    W, X = rng.normal(size=(400, 300)), rng.normal(size=(300, 20))
    r = lecture.gradients(lecture.l2_of_matmul, W, X)
    f = lambda W_, X_: np.sum((W_ @ X_) ** 2)  # noqa: E731
    good = gradcheck.check_gradients(f, (W, X), (r.grads["W"], r.grads["x"]), dout=1.0, names=("dW", "dx"))
    assert good.passed and {i.method for i in good.inputs} == {"directional"}
    dW = r.grads["W"].copy()
    dW[123, 45] += np.abs(dW).mean()  # one entry of 120,000 off by a typical size
    bad = gradcheck.check_gradients(f, (W, X), (dW, r.grads["x"]), dout=1.0, names=("dW", "dx"))
    assert not bad.inputs[0].passed and bad.inputs[1].passed


# ---------------------------------------------------------------- a mistake is named only when a model explains it


@settings(max_examples=20, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("spec", GENERIC_GRADED, ids=lambda s: s.name)
def test_a_wrong_gradient_no_model_explains_is_never_named(spec, data):
    from autograder.grading.context import make_context
    from autograder.grading.inprocess import InProcessSubject
    from autograder.grading.registry import run_check
    from solutions.misconceptions import UNKNOWN

    sources = data.draw(
        st.lists(
            st.sampled_from(["correct", "model", "noise"]),
            min_size=len(spec.inputs),
            max_size=len(spec.inputs),
        )
    )
    gate = wrong_gate(spec, sources, data.draw(st.integers(0, 20)), data.draw(st.floats(-3, 3)))
    ctx = make_context(
        spec.grade_id,
        "backward",
        seed=data.draw(st.integers(0, 2**32 - 1)),
        course_id="c",
        assignment="a",
        randomization="per-course",
        student_id="",
    )
    result = run_check(spec.grade_id, "backward", InProcessSubject({spec.name: gate}), ctx)
    assert result.fraction < 1
    assert result.misconceptions == [], result.feedback(spec.grade_id, 2)
    assert UNKNOWN in result.feedback(spec.grade_id, 2)
