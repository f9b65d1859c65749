"""Self-checks judge code, not luck: whatever inputs a self-check draws (students run them
with no seed), correct code passes and every known mistake is reported.

The neuron's self-check once drew inputs that saturate the sigmoid, where its gradients are
~1e-7 and rounding alone broke the relative-error check: a correct neuron_with_gates was
called wrong in about 5% of runs. Each sweep below runs every seed in SEEDS: the fast lane the
first few (SWEEPS), make test's `slow` lane the rest, so the whole suite draws each seed once."""

import types

import numpy as np
import pytest
from shipped import shipped_bpkit_module

from autograder import demo
from autograder.bpkit import gradcheck, problems
from autograder.exercises import EXERCISES, FUNCTIONS
from solutions import gates as reference
from solutions.misconceptions import overwrite
from solutions.table import BY_GRADE_ID, GATES

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data
CORRECT_STYLES, MISTAKES = simulated_class.CORRECT_STYLES, simulated_class.MISTAKES
SEEDS = range(300)
GATE_MISTAKE_SEEDS = range(100)  # naming a gate's mistake takes its time; the draws are those of SEEDS
# Some 1 s of CPU per 300 seeds and a few dozen sweeps: 30 s of the fast lane's CPU when whole. The
# first 30 seeds catch a check that is plainly wrong within the minute; the other 270 the rare draw.
SWEEPS = [
    pytest.param(SEEDS[:30], id="seeds 0-29"),
    pytest.param(SEEDS[30:], id="seeds 30-299", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module")
def selfcheck(tmp_path_factory):
    with shipped_bpkit_module(tmp_path_factory.mktemp("release"), "selfcheck") as module:
        yield module


def student_gate(grade_id, code):
    return simulated_class.namespace_of(code)[BY_GRADE_ID[grade_id].name]


def gate_module(replaced=()):
    """The reference gates as a gate module for solutions.lecture's builders, with the given
    grade_ids' classes replaced by the simulated class's code for them."""
    classes = {k: v for k, v in vars(reference).items() if isinstance(v, type)}
    classes.update({BY_GRADE_ID[g].name: student_gate(g, code) for g, code in replaced})
    return types.SimpleNamespace(**classes)


def built(exercise, gates=None, swap_first_two=False, **backward_options):
    """The exercise's function as a student builds it from these gates."""

    def fn(*args):
        f, grads = exercise.correct(args, gates=gates, **backward_options)
        if swap_first_two:  # a mistake of the function itself: two gradients returned in each other's place
            flat = [g for group in grads for g in (group if isinstance(group, tuple) else (group,))]
            grads = (flat[1], flat[0], *flat[2:])
        return f, grads

    fn.__name__ = exercise.id
    return fn


def values_of(exercise):
    return problems.draw(7, "c", "backprop", problems.PER_COURSE).values[exercise.problem]


# ---------------------------------------------------------------- functions built from gates

CORRECT_FUNCTIONS = [(e, "reference gates", None) for e in FUNCTIONS] + [
    (e, "the simulated class's other styles", tuple(CORRECT_STYLES.items())) for e in FUNCTIONS
]


@pytest.mark.parametrize("seeds", SWEEPS)
@pytest.mark.parametrize(
    "exercise, label, styles",
    CORRECT_FUNCTIONS,
    ids=[f"{e.id}-{label.split()[-1]}" for e, label, _ in CORRECT_FUNCTIONS],
)
def test_a_correct_function_passes_its_self_check_whatever_it_draws(
    selfcheck, capsys, exercise, label, styles, seeds
):
    fn, values = built(exercise, gate_module(styles or ())), values_of(exercise)
    called_wrong = [seed for seed in seeds if selfcheck.function_findings(fn, values, seed=seed)[1]]
    capsys.readouterr()  # the debug prints of one style
    assert called_wrong == [], f"a correct {exercise.id} ({label}) was called wrong for seeds {called_wrong}"


def _function_mistakes():
    """(exercise, mistake, function with it) for every known mistake that changes the function's
    gradients: the simulated class's mistaken gates the function uses, kept branches overwritten
    instead of summed, and two gradients returned swapped. (A forgotten upstream factor in the
    last gate, which receives 1, changes nothing and is not one of them.)"""
    found = []
    for e in FUNCTIONS:
        candidates = [
            (mid, built(e, gate_module([(cell, code)])))
            for mid, (cell, code) in MISTAKES.items()
            if cell in e.needs
        ]
        candidates += [
            ("branch-overwrite", built(e, combine=overwrite)),
            ("gradients swapped", built(e, swap_first_two=True)),
        ]
        args = _like(tuple(values_of(e).values()), np.random.default_rng(0))
        found += [(e, mid, fn) for mid, fn in candidates if _changes(fn, built(e), args)]
    return found


def _like(value, rng):
    """Random numbers in value's structure (tuples, arrays, floats)."""
    if isinstance(value, tuple):
        return tuple(_like(v, rng) for v in value)
    return rng.uniform(-1, 1, np.shape(value)) if isinstance(value, np.ndarray) else float(rng.uniform(-1, 1))


def _changes(fn, correct, args):
    return any(
        np.shape(a) != np.shape(b) or not np.allclose(a, b)
        for a, b in zip(_flat(fn(*args)[1]), _flat(correct(*args)[1]))
    )


def _flat(grads):
    return [leaf for g in grads for leaf in (_flat(g) if isinstance(g, tuple) else [g])]


FUNCTION_MISTAKES = _function_mistakes()


def test_the_function_mistakes_cover_every_function_and_the_sigmoid():
    assert {e.id for e, _, _ in FUNCTION_MISTAKES} == {e.id for e in FUNCTIONS}
    assert {"sigmoid-missing-term", "sigmoid-of-input", "upstream-ignored"} <= {
        mid for e, mid, _ in FUNCTION_MISTAKES if e.id == "neuron_with_gates"
    }


@pytest.mark.parametrize("seeds", SWEEPS)
@pytest.mark.parametrize(
    "exercise, mistake, fn", FUNCTION_MISTAKES, ids=[f"{e.id}-{mid}" for e, mid, _ in FUNCTION_MISTAKES]
)
def test_a_known_mistake_in_a_function_is_reported_whatever_it_draws(selfcheck, exercise, mistake, fn, seeds):
    values = values_of(exercise)
    missed = [seed for seed in seeds if not selfcheck.function_findings(fn, values, seed=seed)[1]]
    assert missed == [], f"{mistake} in {exercise.id} passed the self-check for seeds {missed}"


@pytest.mark.parametrize("exercise", FUNCTIONS, ids=lambda e: e.id)
def test_the_notebooks_self_check_cell_agrees_with_a_correct_function_run_after_run(
    selfcheck, capsys, exercise
):
    """What the student runs: the self-check cell, with no seed, and correct hand answers."""
    values = values_of(exercise)
    hand = next(h for h in EXERCISES if h.problem == exercise.problem).correct(values)
    names = ("f",) + exercise.gradient_names
    namespace = {
        exercise.id: built(exercise),
        "P": types.SimpleNamespace(**{exercise.problem: values}),
        **{name: hand[name] for name in names},
    }
    expected, others = f"{exercise.id} agrees with your hand answers.\n", []
    for _ in range(100):
        selfcheck.function(exercise.id, namespace, answers=names)
        out = capsys.readouterr().out
        others += [out] if out != expected else []
    assert others == [], f"{len(others)} of 100 runs said:\n{others[0]}"


# ---------------------------------------------------------------- gates

CORRECT_GATES = [(g.name, g.cls) for g in GATES] + [
    (f"{BY_GRADE_ID[cell].name} (other style)", student_gate(cell, code))
    for cell, code in CORRECT_STYLES.items()
]


@pytest.mark.parametrize("seeds", SWEEPS)
@pytest.mark.parametrize("label, cls", CORRECT_GATES, ids=[label for label, _ in CORRECT_GATES])
def test_a_correct_gate_passes_its_self_check_whatever_it_draws(selfcheck, capsys, label, cls, seeds):
    called_wrong = [seed for seed in seeds if selfcheck.gate_findings(cls, seed=seed)]
    capsys.readouterr()
    assert called_wrong == [], f"a correct {label} was called wrong for seeds {called_wrong}"


GATE_MISTAKES = [(mid, cell, code) for mid, (cell, code) in MISTAKES.items() if cell in BY_GRADE_ID]


@pytest.mark.parametrize("mistake, cell, code", GATE_MISTAKES, ids=[m for m, _, _ in GATE_MISTAKES])
def test_a_known_gate_mistake_is_reported_alike_whatever_it_draws(selfcheck, mistake, cell, code):
    """Reported for every seed, and named the same way each time (by its name where the self-check
    can tell it: a transposed dW shows as a wrong shape)."""
    cls = student_gate(cell, code)
    findings = {seed: selfcheck.gate_findings(cls, seed) for seed in GATE_MISTAKE_SEEDS}
    assert [seed for seed, found in findings.items() if not found] == [], f"{mistake} passed for some seeds"
    named = {frozenset(f.misconception for f in found) - {""} for found in findings.values()}
    assert len(named) == 1 and (named == {frozenset({mistake})} or mistake == "matmul-transpose"), named


def test_one_input_gates_are_checked_away_from_zero_where_max_0_x_has_its_kink(selfcheck):
    """Centered differences across a kink are no slope: a correct ReLUGate would be called wrong."""
    seen = []

    class ReLUGate:
        def forward(self, x):
            seen.append(np.ravel(x))
            self.x = x
            return np.maximum(x, 0.0)

        def backward(self, dout):
            return np.where(np.greater(self.x, 0), dout, 0.0)

    for seed in SEEDS:
        assert selfcheck.gate_findings(ReLUGate, seed=seed) == []
    drawn = np.abs(np.concatenate(seen))
    assert drawn.min() >= gradcheck.KINK_DISTANCE - gradcheck.H, drawn.min()


# ---------------------------------------------------------------- the rule itself


def test_a_tiny_gradient_is_not_called_wrong_for_the_rounding_of_its_numeric_slope():
    """d(x*y)/dx = y, with one y of 1e-7: rounding alone puts its centered difference ~2e-4
    (relatively) off, which relative error by itself calls wrong. Swapped gradients still fail."""
    x = np.array([[0.44, -1.63, 2.95], [1.49, -0.77, -3.84]])
    y = np.array([[1.25, 0.64, 1e-7], [-2.02, 0.93, 1.61]])
    dout = np.array([[0.61, -1.53, -0.67], [1.88, -0.55, 1.31]])
    right = gradcheck.check_gradients(lambda a, b: a * b, (x, y), (dout * y, dout * x), dout=dout)
    assert right.passed, right.text()
    assert not gradcheck.check_gradients(lambda a, b: a * b, (x, y), (dout * x, dout * y), dout=dout).passed


@pytest.mark.parametrize("large", [12.0, 16.0, -16.0])
def test_a_saturated_sigmoid_passes_and_a_mistaken_one_still_fails(large):
    x = np.array([0.3, -1.2, 2.0, large])
    dout = np.array([0.7, -1.4, 0.55, 1.9])
    s = reference.SigmoidGate().forward(x)
    f = reference.SigmoidGate().forward
    assert gradcheck.check_gradients(f, (x,), (dout * s * (1 - s),), dout=dout).passed
    for mistaken in (
        dout * s,
        dout * (1 - s),
        dout * x * (1 - x),
        s * (1 - s),
    ):  # s for s(1 - s), ..., no dout
        assert not gradcheck.check_gradients(f, (x,), (mistaken,), dout=dout).passed


def test_the_noise_allowed_scales_with_the_function_not_a_fixed_number():
    """A gradient of 1e-10 that is off by half is wrong when f itself is ~1e-10 (a sigmoid far
    left of zero), and within the rounding of centered differences when f is ~1."""
    assert (
        gradcheck.slope_errors(1.5e-10, 1e-10, gradcheck.difference_noise(1.0, 1e-10))
        > gradcheck.REL_ERROR_OK
    )
    assert (
        gradcheck.slope_errors(1.5e-10, 1e-10, gradcheck.difference_noise(1.0, 1.0)) < gradcheck.REL_ERROR_OK
    )
