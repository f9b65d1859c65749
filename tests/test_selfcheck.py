"""Students' self-checks, as shipped: bpkit/ assembled into a folder and imported from there."""

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from shipped import shipped_bpkit_module

from autograder import demo
from autograder.bpkit import problems
from autograder.exercises import EXERCISES, FUNCTIONS, shipped_functions
from solutions.table import BY_GRADE_ID, GRADED

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data
CORRECT_STYLES, MISTAKES = simulated_class.CORRECT_STYLES, simulated_class.MISTAKES


@pytest.fixture(scope="module")
def selfcheck(tmp_path_factory):
    with shipped_bpkit_module(tmp_path_factory.mktemp("release"), "selfcheck") as module:
        yield module


def define(code, name):
    return simulated_class.namespace_of(code)[name]


@pytest.mark.parametrize("spec", GRADED, ids=lambda g: g.name)
def test_reference_gates_pass_their_self_check_quickly(selfcheck, capsys, spec):
    start = time.process_time()  # its own CPU time: other work on the machine does not count
    selfcheck.gate(spec.cls, seed=1)
    assert time.process_time() - start < 1.0
    out = capsys.readouterr().out
    assert "matches the slope of your forward" in out


@pytest.mark.parametrize(
    "misconception",
    [
        "add-split",
        "mul-not-swapped",
        "upstream-ignored",
        "max-routes-both",
        "sigmoid-of-input",
        "l2-missing-2",
        "relu-mask-of-upstream",
    ],
)
def test_a_catalogued_mistake_is_named_without_the_answer(selfcheck, capsys, misconception):
    grade_id, code = MISTAKES[misconception]
    cls = define(code, BY_GRADE_ID[grade_id].name)
    selfcheck.gate(cls, seed=2)
    out = capsys.readouterr().out
    assert "problem" in out and f"'{misconception}'" in out
    assert "dout * self.y" not in out and "self." not in out  # never the code


def test_unimplemented_gate_says_so(selfcheck, capsys):
    class MulGate:
        def forward(self, x, y):
            raise NotImplementedError

        def backward(self, dout):
            raise NotImplementedError

    selfcheck.gate(MulGate)
    assert "not implemented yet" in capsys.readouterr().out


def test_valid_alternative_styles_pass(selfcheck, capsys):
    for grade_id, code in CORRECT_STYLES.items():
        selfcheck.gate(define(code, BY_GRADE_ID[grade_id].name), seed=3)
        assert "matches the slope" in capsys.readouterr().out, grade_id


def test_hand_answers_are_checked_for_form_only(selfcheck, capsys):
    selfcheck.answers(q=3, f=..., dfdx="abc")
    out = capsys.readouterr().out
    assert "Not answered yet: f" in out and "dfdx is text ('abc'), not a number" in out
    selfcheck.answers(q=3.0, f=-12.0)
    assert "right form" in capsys.readouterr().out


def test_a_diagnosis_is_given_once_listing_the_inputs_it_affects(selfcheck, capsys):
    grade_id, code = MISTAKES["add-split"]
    selfcheck.gate(define(code, "AddGate"), seed=2)
    out = capsys.readouterr().out
    assert out.count("This looks like 'add-split'") == 1 and out.count("Hint:") == 1
    assert "On Python floats, vectors and matrices" in out


def test_an_unfinished_hand_cell_is_named_not_a_name_error(selfcheck, capsys):
    selfcheck.answers({"q": 3.0, "f": ...}, "q", "f", "dfdq")  # f left as ..., dfdq never defined
    out = capsys.readouterr().out
    assert "Not answered yet: f, dfdq" in out and "NameError" not in out
    selfcheck.function("simple_with_gates", {}, answers=("f",))
    assert "simple_with_gates is not defined yet: run its cell first." in capsys.readouterr().out


def test_the_by_hand_wording_fits_exercises_without_gates(selfcheck, capsys):
    selfcheck.answers({"jacobian_entries": 1, "jacobian_nonzero": 2}, "jacobian_entries", "jacobian_nonzero")
    out = capsys.readouterr().out
    assert "right form" in out and "gate" not in out
    selfcheck.answers({"q": 1.0, "dfdx": 2.0}, "q", "dfdx")
    assert "Once your gates work" in capsys.readouterr().out


def test_a_function_is_never_checked_at_the_students_own_numbers(selfcheck, capsys):
    """The slope of a correct f at the student's numbers is their hand answers: a self-check
    that printed it would give them away. A function whose gradient is wrong shows numbers,
    but at other inputs."""
    values = {"x": 3, "y": -5, "z": 7}

    def simple_with_gates(x, y, z):
        return (x + y) * z, (z, z, 2 * (x + y))  # dz wrong: twice the slope

    selfcheck.function(simple_with_gates, values)
    out = capsys.readouterr().out
    assert "do not match the slope" in out
    numbers = {float(n) for n in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", out)}
    assert (
        -2.0 not in numbers and -4.0 not in numbers
    )  # dz = x + y = -2 at the student's numbers (and twice it)


# ---- what the self-checks know, and the upstream gradient they draw ----------------------


def test_the_shipped_data_is_what_the_kits_tables_say(selfcheck):
    """The operation table is shipped as itself, without its local gradients; exercise_table.json
    is written by the release builder from the kit's tables; the shipped self-check reads exactly them."""
    folder = Path(selfcheck.__file__).parent
    assert [
        (g.name, g.grade_id, g.inputs, g.kind, g.kink_check, g.misconceptions) for g in selfcheck.GRADED
    ] == [(g.name, g.grade_id, g.inputs, g.kind, g.kink_check, g.misconceptions) for g in GRADED]
    assert all(g.backward is None for g in selfcheck.GRADED), "the release's table holds local gradients"
    assert json.loads((folder / "exercise_table.json").read_text()) == shipped_functions()
    assert {e.id: e.gradient_names for e in FUNCTIONS} == selfcheck.GRADIENT_NAMES
    assert {e.id: e.problem for e in FUNCTIONS} == selfcheck.PROBLEM_OF
    assert selfcheck.GRADIENT_NAMES["neuron_with_gates"] == ("dfdw0", "dfdw1", "dfdw2", "dfdx0", "dfdx1")


def reference_function(exercise):
    def fn(*args):
        return exercise.correct(args)

    fn.__name__ = exercise.id
    return fn


@pytest.mark.parametrize("exercise", FUNCTIONS, ids=lambda e: e.id)
def test_a_function_is_compared_with_the_hand_answers_of_its_own_problem_in_order(
    selfcheck, capsys, exercise
):
    """The function's gradients, flattened, line up with the hand answers of the same names:
    right answers agree, and two answers swapped are told apart (a wrong flattening order or
    a wrong problem would fail one of the two)."""
    values = problems.draw(7, "c", "backprop", problems.PER_COURSE).values[exercise.problem]
    hand = next(e for e in EXERCISES if e.problem == exercise.problem).correct(values)
    answers = {name: hand[name] for name in ("f",) + exercise.gradient_names}
    selfcheck.function(reference_function(exercise), values, answers=answers, seed=1)
    assert "agrees with your hand answers" in capsys.readouterr().out
    first, last = exercise.gradient_names[0], exercise.gradient_names[-1]
    swapped = {**answers, first: answers[last], last: answers[first]}
    selfcheck.function(reference_function(exercise), values, answers=swapped, seed=1)
    assert f"disagree on: {first}, {last}" in capsys.readouterr().out


def test_the_self_checks_upstream_gradient_is_never_close_to_one(selfcheck):
    """dout near ±1 would hide a backward that forgets to multiply by it."""
    seen = []

    class MulGate:
        def forward(self, x, y):
            self.x, self.y = x, y
            return x * y

        def backward(self, dout):
            seen.append(np.ravel(dout))
            return dout * self.y, dout * self.x

    for seed in range(30):
        assert selfcheck.gate_findings(MulGate, seed=seed) == []
    draws = np.concatenate(seen)
    assert draws.size >= 500 and np.all(np.abs(np.abs(draws) - 1) >= 0.2), np.sort(np.abs(draws))


OFF_BY_1E4 = """
    class MulGate:
        def forward(self, x, y):
            self.x, self.y = x, y
            return x * y
        def backward(self, dout):
            return dout * self.y * (1 + 1e-4), dout * self.x * (1 + 1e-4)
    """


def test_the_self_check_and_the_grader_hold_gradients_to_course_yamls_tolerance(selfcheck, capsys):
    """gradient_rel_error comes to the self-check through the release's course.json
    (forms.gradient_rel_error): a backward off by a relative 1e-4 is a problem for the self-check
    and loses points at the default 1e-6, and passes both at 1e-3."""
    from submissions import class_context

    from autograder.config import Tolerances
    from autograder.grading.inprocess import InProcessSubject
    from autograder.grading.registry import run_check

    def graded(tolerance):
        ctx = class_context("mul_gate", "backward", tolerances=Tolerances(gradient_rel_error=tolerance))
        subject = InProcessSubject(simulated_class.namespace_of(OFF_BY_1E4))
        return run_check("mul_gate", "backward", subject, ctx).fraction

    course_json = Path(selfcheck.forms.__file__).with_name("course.json")
    shipped = course_json.read_text()
    gate = define(OFF_BY_1E4, "MulGate")
    selfcheck.gate(gate, seed=2)
    assert "problem" in capsys.readouterr().out and graded(1e-6) < 1
    try:
        settings = json.loads(shipped)
        loosened = {**settings["tolerances"], "gradient_rel_error": 1e-3}
        course_json.write_text(json.dumps({**settings, "tolerances": loosened}))
        selfcheck.gate(gate, seed=2)
        assert "matches the slope of your forward" in capsys.readouterr().out and graded(1e-3) == 1
    finally:
        course_json.write_text(shipped)
