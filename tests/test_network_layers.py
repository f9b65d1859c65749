"""The layers of a network as rows of the operation table (issue 36, item 1), graded in-process
(fast; the same checks run sandboxed end to end): every catalogued tensor mistake of
tests/network_class.py is named, and only it; valid alternatives (einsum, a loop over the batch,
logsumexp, np.maximum with a boolean mask, float32 returns) get full marks; each reference row is
the slope of its own forward; a release carries neither a layer's backward nor its forward."""

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wrong_gates import wrong_gate

from autograder.bpkit import gradcheck
from autograder.course import without_local_gradients
from autograder.grading.context import make_context
from autograder.grading.inprocess import InProcessSubject
from autograder.grading.registry import gate_checks, run_check
from solutions.table import BY_GRADE_ID
from tests.network_class import CORRECT, MISTAKES, VALID, namespace

LAYERS = ("affine_gate", "softmax_ce_gate", "svm_loss_gate")


def graded(cell, check, code, seed=5):
    ctx = make_context(
        cell, check, seed=seed, course_id="c", assignment="network", randomization="per-course", student_id=""
    )
    return run_check(cell, check, InProcessSubject(namespace(code)), ctx)


@pytest.mark.parametrize("cell", LAYERS)
def test_the_reference_layer_is_the_slope_of_its_forward_on_every_hidden_case(cell):
    row = BY_GRADE_ID[cell]
    rng = np.random.default_rng(0)
    for label, inputs in row.kind_of.graded_cases(rng) + row.kind_of.self_check_cases(rng, 0.1):
        out = row.cls().forward(*inputs)
        dout = gradcheck.random_upstream(rng, np.shape(out))
        gate = row.cls()
        gate.forward(*inputs)
        grads = gate.backward(dout)
        grads = grads if isinstance(grads, tuple) else (grads,)
        assert [np.shape(g) for g in grads] == [np.shape(v) for v in row.gradient_inputs(inputs)], label

        def forward(*moved, inputs=inputs):
            given = iter(moved)
            return row.cls().forward(
                *[v if n in row.labels else next(given) for n, v in zip(row.inputs, inputs)]
            )

        report = gradcheck.check_gradients(forward, row.gradient_inputs(inputs), grads, dout=dout)
        assert report.passed, (label, report.text())


def test_the_hidden_cases_can_show_every_mistake_the_issue_lists():
    """At least 2 samples; a sample whose correct class is not its top score; a square W; a
    softmax case that overflows without the shift."""
    rng = np.random.default_rng(1)
    affine = BY_GRADE_ID["affine_gate"].kind_of.graded_cases(rng)
    assert any(x.shape[1] == W.shape[0] == W.shape[1] == x.shape[0] for _, (x, W, b) in affine)
    for cell in ("softmax_ce_gate", "svm_loss_gate"):
        for _, (scores, y) in BY_GRADE_ID[cell].kind_of.graded_cases(rng):
            assert len(y) >= 2 and y.dtype.kind == "i"
            assert np.any(np.argmax(scores, axis=1) != y)
    ((_, make),) = BY_GRADE_ID["softmax_ce_gate"].extra_cases
    scores, _ = make(rng)
    with np.errstate(over="ignore"):
        assert not np.all(np.isfinite(np.exp(scores)))


@pytest.mark.parametrize("cell", LAYERS)
def test_the_correct_layer_gets_full_marks(cell):
    for check, _ in gate_checks(BY_GRADE_ID[cell]):
        r = graded(cell, check, CORRECT[cell])
        assert r.fraction == 1, r.feedback(cell, 1)


@pytest.mark.parametrize("label, cell, code", VALID, ids=[v[0] for v in VALID])
def test_valid_alternatives_get_full_marks(label, cell, code):
    for check, _ in gate_checks(BY_GRADE_ID[cell]):
        r = graded(cell, check, code)
        assert r.fraction == 1, r.feedback(cell, 1)


@pytest.mark.parametrize("label, mid, cell, code", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_tensor_mistake_is_named_and_only_it(label, mid, cell, code):
    r = graded(cell, "backward", code)
    assert r.fraction < 1 and r.misconceptions == [mid], r.feedback(cell, 2)
    assert f"(looks like '{mid}')" in r.feedback(cell, 2)


def test_the_words_say_which_variable_of_the_layer():
    said = {label: graded(cell, "backward", code).feedback(cell, 2) for label, _, cell, code in MISTAKES}
    assert "the gradient to b was taken from one sample of the batch" in said["db of one sample (the last)"]
    assert "the gradient to b was averaged over the batch" in said["db averaged"]
    assert "the gradient to W was averaged over the batch" in said["dW averaged"]
    assert "the gradient to x used W instead of its transpose" in said["dx with W, not its transpose"]
    # A transpose that fails on shapes is explained as the transpose it most likely is.
    assert "most likely a factor needs its transpose" in said["dW without the transpose"]
    assert "exp overflowed on large scores" in said["no shift"]


def test_a_shift_is_named_only_where_a_case_overflows():
    """Without the case near 800 the unshifted softmax is right: nothing to name."""
    (label, _, cell, code) = next(m for m in MISTAKES if m[1] == "softmax-no-shift")
    r = graded(cell, "backward", code)
    failed = [o for o in r.outcomes if not o.passed]
    assert failed and all("800" in o.name for o in failed), r.feedback(cell, 2)


@settings(max_examples=20, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("cell", LAYERS)
def test_a_wrong_gradient_no_model_explains_is_never_named(cell, data):
    """tests/test_gradients_properties.py's property on the layers: each variable's gradient
    drawn as the correct one, one of a catalogued mistake's models, or noise, and then moved
    until no model explains the whole: it loses points, and no mistake is named for it."""
    from solutions.misconceptions import UNKNOWN

    row = BY_GRADE_ID[cell]
    moved = [name for name in row.inputs if name not in row.labels]  # a label has no gradient
    sources = data.draw(
        st.lists(st.sampled_from(["correct", "model", "noise"]), min_size=len(moved), max_size=len(moved))
    )
    gate = wrong_gate(row, sources, data.draw(st.integers(0, 20)), data.draw(st.floats(-3, 3)))
    ctx = make_context(
        cell,
        "backward",
        seed=data.draw(st.integers(0, 2**32 - 1)),
        course_id="c",
        assignment="network",
        randomization="per-course",
        student_id="",
    )
    result = run_check(cell, "backward", InProcessSubject({row.name: gate}), ctx)
    assert result.fraction < 1
    assert result.misconceptions == [], result.feedback(cell, 2)
    assert UNKNOWN in result.feedback(cell, 2)


def test_a_release_ships_neither_a_layers_backward_nor_its_forward():
    shipped = without_local_gradients((Path(__file__).parent.parent / "solutions" / "table.py").read_text())
    for answer in ("forward=lambda x, W, b", "forward=lambda scores, y", "backward=lambda", "np.exp(shifted"):
        assert answer not in shipped, answer
    assert shipped.count("forward_is_answer=True") == 3
    assert "forward=lambda x, y: x + y" in shipped  # a gate of the graphs keeps its forward


# ---------------------------------------------------------------- the self-check, as cs231n prints it


@pytest.fixture(scope="module")
def selfcheck(tmp_path_factory):
    from shipped import shipped_bpkit_module

    with shipped_bpkit_module(tmp_path_factory.mktemp("release"), "selfcheck") as module:
        yield module


def layer_class(code):
    return next(v for k, v in namespace(code).items() if k.endswith("Gate") and isinstance(v, type))


@pytest.mark.parametrize("cell", LAYERS)
def test_the_self_check_prints_each_gradients_relative_error(selfcheck, capsys, cell):
    selfcheck.gate(layer_class(CORRECT[cell]), seed=1)
    said = capsys.readouterr().out
    row = BY_GRADE_ID[cell]
    assert "backward matches the slope of your forward" in said, said
    for name in row.differentiable:
        error = re.search(rf"d{name} relative error: (\S+)", said)
        assert error and float(error.group(1)) < 1e-6, said
    assert "dy relative error" not in said  # labels get no gradient


@pytest.mark.parametrize(
    "label",
    ["dW averaged", "db over the wrong axis", "the -1 forgotten", "the correct class's margin counted"],
)
def test_the_self_check_prints_the_errors_then_names_the_mistake(selfcheck, capsys, label):
    (_, mid, cell, code) = next(m for m in MISTAKES if m[0] == label)
    selfcheck.gate(layer_class(code), seed=1)
    said = capsys.readouterr().out
    figures = [float(e) for e in re.findall(r"relative error: (\S+)", said)]
    assert figures and max(figures) > 1e-2, said
    assert "(above 1e-06)" in said
    assert said.index("relative error:") < said.index(f"This looks like '{mid}'"), said
