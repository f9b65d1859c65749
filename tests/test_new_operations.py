"""The operations an instructor's own exercises may use beside the lecture's (issue 35, item 2):
subtraction, division, the square, tanh and log, each one row of the operation table
(solutions/table.py) with its catalogued mistakes. Their local gradients are held to an
independent library (autograd), their domains to the draws, their mistakes to being mistakes
that the draws keep visible and that feedback names once, and their words to the Korean catalog."""

import itertools
import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import elementwise_grad

from autograder.bpkit import acceptance, gate_kinds
from autograder.bpkit.i18n import STUDENT_LOCALE
from autograder.catalogs import read_catalog
from autograder.exercises import NodeMistake, explaining
from solutions.graphs import GraphDescription
from solutions.misconceptions import Seen
from solutions.table import BY_NAME, OPERATIONS, operation_of
from solutions.table import CATALOG_BY_ID as CATALOG

# Written independently of the rows (autograd's own numpy), keyed by gate class.
INDEPENDENT = {
    "SubGate": lambda x, y: x - y,
    "DivGate": lambda x, y: x / y,
    "SquareGate": lambda x: x**2,
    "TanhGate": anp.tanh,
    "LogGate": anp.log,
}
NEW = tuple(BY_NAME[name] for name in INDEPENDENT)
# The mistakes the issue asks for, at least, and the row each belongs to.
REQUIRED = {
    "SubGate": {"sub-not-negated"},
    "DivGate": {"div-denominator-not-squared", "div-denominator-sign"},
    "SquareGate": {"power-missing-2"},
    "TanhGate": {"tanh-of-input"},
    "LogGate": {"log-not-reciprocal"},
}


def inside(row, rng, shape):
    """Random inputs inside the row's domain, as its kind's graded cases draw them."""
    cases = row.kind_of.graded_cases(rng)
    return next(inputs for label, inputs in cases if np.shape(inputs[0]) == shape)


@pytest.mark.parametrize("row", NEW, ids=lambda r: r.name)
def test_the_local_gradient_is_autograds(row):
    rng = np.random.default_rng(3)
    for shape in ((), (7,), (3, 4)):
        for _ in range(5):
            inputs = tuple(np.asarray(v, float) for v in inside(row, rng, shape))
            dout = rng.normal(size=shape)
            gate = row.cls()
            out = gate.forward(*inputs)
            got = gate.backward(dout)
            got = got if isinstance(got, tuple) else (got,)
            for i, g in enumerate(got):
                expected = elementwise_grad(INDEPENDENT[row.name], i)(*inputs) * dout
                np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(out, INDEPENDENT[row.name](*inputs), rtol=1e-12)


@pytest.mark.parametrize("row", NEW, ids=lambda r: r.name)
def test_each_row_names_its_mistakes_and_each_is_a_mistake(row):
    assert REQUIRED[row.name] <= set(row.misconceptions)
    assert {"upstream-ignored", "sign-flip"} <= set(row.misconceptions)
    rng = np.random.default_rng(11)
    for _ in range(20):
        inputs = inside(row, rng, (7,))
        out = row.cls().forward(*inputs)
        dout = rng.normal(size=7)
        gate = row.cls()
        gate.forward(*inputs)
        correct = gate.backward(dout)
        correct = correct if isinstance(correct, tuple) else (correct,)
        for mid in REQUIRED[row.name]:
            (made,) = CATALOG[mid].variants(Seen(inputs, out, dout, correct))
            assert any(not np.allclose(m, c) for m, c in zip(made, correct)), mid


def test_the_mistakes_are_the_ones_the_issue_describes():
    """Each model gives what a student writes: tanh's 1 - x², log's x, x/y's -x/y and x/y², x - y's
    second input not negated, the square's x."""
    x, y, dout = 1.5, -2.0, 0.7

    def made(mid, row_name, *inputs):
        gate = BY_NAME[row_name].cls()
        out = gate.forward(*inputs)
        correct = gate.backward(dout)
        correct = correct if isinstance(correct, tuple) else (correct,)
        return CATALOG[mid].variants(Seen(inputs, out, dout, correct))[0]

    assert made("tanh-of-input", "TanhGate", x) == pytest.approx((dout * (1 - x * x),))
    assert made("log-not-reciprocal", "LogGate", x) == pytest.approx((dout * x,))
    assert made("div-denominator-not-squared", "DivGate", x, y) == pytest.approx((dout / y, -dout * x / y))
    assert made("div-denominator-sign", "DivGate", x, y) == pytest.approx((dout / y, dout * x / y**2))
    assert made("sub-not-negated", "SubGate", x, y) == pytest.approx((dout, dout))
    assert made("power-missing-2", "SquareGate", x) == pytest.approx((dout * x,))


def test_kinds_with_a_domain_draw_inside_it():
    for kind, k in (("quotient", 1), ("positive", 0)):
        domain = gate_kinds.KINDS[kind].domain
        for seed in range(40):
            rng = np.random.default_rng(seed)
            cases = gate_kinds.KINDS[kind].graded_cases(rng) + gate_kinds.KINDS[kind].self_check_cases(
                rng, 0.1
            )
            for label, inputs in cases:
                assert not gate_kinds.outside(domain, inputs), (kind, label, inputs[k])


QUOTIENT = GraphDescription(
    "f = tanh(x / y) · z",
    ("x", "y", "z"),
    (("q", "/", ("x", "y")), ("t", "tanh", ("q",)), ("f", "*", ("t", "z"))),
)
LOG = GraphDescription(
    "f = log(x - y)²", ("x", "y"), (("d", "-", ("x", "y")), ("l", "log", ("d",)), ("f", "**2", ("l",)))
)


def _answers(graph):
    return {
        **{n: ("value", n) for n, _, _ in graph.gates},
        **{f"dfd{n}": ("grad", n) for n in graph.inputs + tuple(n for n, _, _ in graph.gates[:-1])},
    }


def test_draws_keep_divisors_and_logs_away_from_the_edge_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by 0, no log of 0, on the way to refusing
        for y in (0, 0.25, -0.25):
            assert not acceptance.accepted(QUOTIENT, {"x": 2, "y": y, "z": 3}, _answers(QUOTIENT))
        for x, y in ((1, 1), (1, 3), (1.25, 1)):  # log(0), log(-2), log(0.25)
            assert not acceptance.accepted(LOG, {"x": x, "y": y}, _answers(LOG))
        accepted = [
            v
            for v in itertools.product(range(-3, 4), repeat=3)
            if acceptance.accepted(QUOTIENT, dict(zip("xyz", v)), _answers(QUOTIENT))
        ]
        assert accepted and all(abs(v[1]) >= 1 for v in accepted)
        assert any(
            acceptance.accepted(LOG, {"x": x, "y": y}, _answers(LOG)) for x in range(5) for y in range(-3, 0)
        )


def test_formulas_write_the_new_operations_in_order_and_grouped():
    assert QUOTIENT.formula() == "tanh(x / y) · z"
    assert LOG.formula() == "log(x - y)²"
    swapped = GraphDescription("", ("a", "b", "c"), (("d", "/", ("b", "a")), ("f", "-", ("c", "d"))))
    assert swapped.formula() == "c - (b / a)"
    assert operation_of("**2")[0].name == "SquareGate" and operation_of("*2")[0].name == "MulConstGate"


def test_a_mistake_that_gives_a_sign_flips_numbers_is_said_once_in_its_own_words():
    """x - y's second input not negated gives the same numbers as a sign flip of y alone: feedback
    names the subtraction's mistake, once, not "X; or Y" about one slip."""
    graph = GraphDescription("", ("a", "b", "c"), (("d", "-", ("a", "b")), ("f", "*", ("d", "c"))))
    evaluation = acceptance.Evaluation(graph, {"a": 2.0, "b": 5.0, "c": -3.0})
    answers = {"dfda": ("grad", "a"), "dfdb": ("grad", "b"), "dfdc": ("grad", "c")}

    def made(mid, way):
        return evaluation.answers(answers, evaluation.backward(CATALOG[mid], "d", way))

    flip_b, not_negated = made("sign-flip", 2), made("sub-not-negated", 0)
    assert flip_b == not_negated
    at_nodes = [
        NodeMistake("sign-flip", 2, ("d",), flip_b),
        NodeMistake("sub-not-negated", 0, ("d",), not_negated),
    ]
    named = explaining({"dfdb"}, not_negated, at_nodes, lambda a, b: np.allclose(a, b))
    assert [m.misconception for m in named["dfdb"]] == ["sub-not-negated"]


def test_every_new_word_has_its_korean():
    words = {row.doc for row in NEW}
    for mid in set().union(*REQUIRED.values()):
        m = CATALOG[mid]
        words |= {m.explanation, m.hint, *m.said} | ({m.hint_by_hand} if m.hint_by_hand else set())
    words |= {gate_kinds.NONZERO_DIVISOR.words, gate_kinds.POSITIVE.words}
    po = {m.id: m for m in read_catalog(STUDENT_LOCALE / "ko" / "LC_MESSAGES" / "bpkit.po", "ko") if m.id}
    missing = sorted(w for w in words if w not in po or not po[w].string or po[w].fuzzy)
    assert not missing, missing
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in po[w].string) for w in words)


def test_the_rows_are_in_the_table_once():
    symbols = [op.symbol for op in OPERATIONS]
    assert {"-", "/", "**2", "tanh", "log"} <= set(symbols) and len(symbols) == len(set(symbols))
