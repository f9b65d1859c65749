"""The hidden checks in-process (fast): each catalogued gate mistake is named, and only it;
valid alternatives get full marks. The same checks run sandboxed in the end-to-end tests."""

import textwrap

import numpy as np
import pytest
from submissions import class_context, graded_in_process

from autograder import demo
from autograder.grading.inprocess import InProcessSubject
from autograder.grading.registry import gate_checks, run_check
from solutions.table import BY_GRADE_ID, GRADED

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data
CORRECT_STYLES, MISTAKES, TIES_TO_Y = (
    simulated_class.CORRECT_STYLES,
    simulated_class.MISTAKES,
    simulated_class.TIES_TO_Y,
)


result = graded_in_process


GATE_MISTAKES = [(mid, cell, code) for mid, (cell, code) in MISTAKES.items() if cell in BY_GRADE_ID]


@pytest.mark.parametrize("mid, cell, code", GATE_MISTAKES, ids=[m[0] for m in GATE_MISTAKES])
def test_a_gate_mistake_loses_points_and_only_it_is_named(mid, cell, code):
    r = result(cell, "backward", code)
    assert r.fraction < 1 and r.misconceptions == [mid]
    assert "Hint:" in r.feedback(cell, 2)


@pytest.mark.parametrize("cell", list(CORRECT_STYLES))
def test_valid_alternatives_get_full_marks_on_every_check(cell):
    for check, _ in gate_checks(BY_GRADE_ID[cell]):
        r = result(cell, check, CORRECT_STYLES[cell])
        assert r.fraction == 1, r.feedback(cell, 1)


def test_ties_sent_to_y_are_a_valid_subgradient():
    assert result("max_gate", "ties", TIES_TO_Y).fraction == 1


@pytest.mark.parametrize("shape", [(), (7,), (3, 4)])
def test_the_upstream_gradient_is_never_close_to_one(shape):
    """A forgotten upstream factor must show: every entry of dout is at least 0.2 away from ±1,
    and both signs and both sides of 1 occur."""
    import numpy as np

    from autograder.grading.checks import upstream

    rng = np.random.default_rng(0)
    draws = np.concatenate([np.ravel(upstream(rng, shape)) for _ in range(400)])
    assert np.all(np.abs(np.abs(draws) - 1) >= 0.2) and np.all((np.abs(draws) >= 0.5) & (np.abs(draws) <= 2))
    assert (draws > 0).any() and (draws < 0).any() and (np.abs(draws) > 1).any() and (np.abs(draws) < 1).any()


# ---------------------------------------------------------------- tolerances come from course.yaml

NEARLY_RIGHT = {  # every result off by a relative 1e-4: fails the default 1e-6, passes 1e-3
    "mul_gate": """
        class MulGate:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x * y * (1 + 1e-4)
            def backward(self, dout):
                return dout * self.y * (1 + 1e-4), dout * self.x * (1 + 1e-4)
        """,
    "simple_with_gates": """
        def simple_with_gates(x, y, z):
            s = 1 + 1e-4
            return (x + y) * z * s, (z * s, z * s, (x + y) * s)
        """,
}


def graded_with(exercise, check, code, tolerances):
    ns = simulated_class.namespace_of(code)
    ctx = class_context(
        exercise,
        check,
        tolerances=tolerances,
        method_points=0,  # the nearly-right function is a formula: its method is test_function_method.py's
    )
    if check == "answers":  # hand answers 0.02 away from this student's correct ones
        from autograder.exercises import BY_ID

        correct = BY_ID[exercise].correct(ctx.problem_values[BY_ID[exercise].problem])
        ns = {name: float(value) + 0.02 for name, value in correct.items()}
    return run_check(exercise, check, InProcessSubject(ns), ctx).fraction


@pytest.mark.parametrize(
    "exercise, check, code, loosened",
    [
        ("mul_gate", "forward", NEARLY_RIGHT["mul_gate"], {"value_rel": 1e-3}),
        ("mul_gate", "backward", NEARLY_RIGHT["mul_gate"], {"gradient_rel_error": 1e-3}),
        ("simple_by_hand", "answers", "", {"hand_answer_abs": 0.05}),
        (
            "simple_with_gates",
            "function",
            NEARLY_RIGHT["simple_with_gates"],
            {"gradient_rel_error": 1e-3, "value_rel": 1e-3},
        ),
    ],
    ids=["gate forward", "gate backward", "hand answers", "function"],
)
def test_course_yaml_tolerances_decide_the_verdict_of_every_exercise_kind(exercise, check, code, loosened):
    from autograder.config import Tolerances

    assert graded_with(exercise, check, code, Tolerances()) < 1
    assert graded_with(exercise, check, code, Tolerances(**loosened)) == 1


# ---------------------------------------------------------------- state shared between instances


def shared_state_version(spec):
    """The reference gate with every attribute stored on the class instead of the instance."""
    return type(
        spec.name, (spec.cls,), {"__setattr__": lambda self, key, value: setattr(type(self), key, value)}
    )


@pytest.mark.parametrize("spec", GRADED, ids=lambda s: s.name)
def test_a_gate_whose_instances_share_state_fails_backward_and_is_told_why(spec):
    from autograder.grading.checks import SHARED_STATE

    ctx = class_context(
        spec.grade_id,
        "backward",
    )
    r = run_check(spec.grade_id, "backward", InProcessSubject({spec.name: shared_state_version(spec)}), ctx)
    probe = spec.cls()
    probe.forward(*spec.kind_of.self_check_cases(np.random.default_rng(0), 0.1)[0][1])  # inputs of its kind
    if not vars(probe):  # a gate that stores nothing cannot share state: nothing to catch
        assert r.fraction == 1
        return
    assert r.fraction < 1 and not r.misconceptions
    assert any(o.message == SHARED_STATE for o in r.outcomes), r.feedback(spec.grade_id, 2)


def test_a_crash_in_one_instance_costs_only_its_own_cases():
    """Interleaving must not spread one case's exception to the case it is paired with."""
    code = """
        import numpy as np
        class MulGate:
            def forward(self, x, y):
                if isinstance(x, float):
                    raise ValueError("floats are not supported")
                self.x, self.y = x, y
                return x * y
            def backward(self, dout):
                return dout * self.y, dout * self.x
        """
    r = result("mul_gate", "backward", code)
    failed = [o.name for o in r.outcomes if not o.passed]
    assert failed and all("Python floats" in name or "lecture" in name for name in failed), failed


# ---------------------------------------------------------------- never misname a mistake


def test_a_matmul_gate_that_ignores_its_upstream_gradient_is_told_so():
    code = """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return W @ x
            def backward(self, dq):
                ones = np.ones_like(dq)               # the local gradient only
                dW = np.outer(ones, self.x) if self.x.ndim == 1 else ones @ self.x.T
                return dW, self.W.T @ ones
        """
    r = result("matmul_gate", "backward", code)
    assert r.fraction < 1 and r.misconceptions == ["upstream-ignored"]


# ---------------------------------------------------------------- kinks: any valid subgradient passes

KINKED = """
    import numpy as np
    class ReLUGate:
        def forward(self, x):
            self.x = np.asarray(x, float)
            return np.maximum(0, x)
        def backward(self, dout):
            return np.where(self.x > 0, dout, np.where(self.x == 0, SHARE * np.asarray(dout), 0.0))
    """


@pytest.mark.parametrize(
    "share, passes", [(0.0, True), (0.5, True), (1.0, True), (-0.5, False), (1.5, False)]
)
def test_relu_at_zero_accepts_any_share_of_the_upstream_gradient_from_none_to_all(share, passes):
    r = result("relu_gate", "backward", f"SHARE = {share}\n" + textwrap.dedent(KINKED))
    at_zero = [o for o in r.outcomes if "zeros" in o.name or "0.0" in o.name]
    assert at_zero and all(o.passed == passes for o in at_zero), r.feedback("relu_gate", 2)
    assert all(o.passed for o in r.outcomes if o not in at_zero)


# ---------------------------------------------------------------- hand answers: per answer, at the node


def hand_result(exercise_id, change, graphs="lecture", student=""):
    """The answers check on the student's correct answers with `change` applied ({name: f(correct)})."""
    from autograder.exercises import BY_ID

    randomization = "per-student" if student else "per-course"
    ctx = class_context(
        exercise_id,
        "answers",
        randomization=randomization,
        student_id=student,
        graphs=graphs,
    )
    e = BY_ID[exercise_id]
    right = e.correct(ctx.problem_values[e.problem], ctx.problem_graphs[e.problem], graphs)
    ns = {name: change.get(name, lambda v: v)(value) for name, value in right.items()}
    return run_check(exercise_id, "answers", InProcessSubject(ns), ctx), ctx.problem_graphs[e.problem]


def test_one_wrong_sign_by_hand_is_a_sign_flip_at_that_gate_said_for_hand_work():
    r, _ = hand_result("simple_by_hand", {"dfdy": lambda v: -v})
    assert r.misconceptions == ["sign-flip"]
    text = r.feedback("simple_by_hand", 3)
    assert "[FAIL] dfdy: not right: at q = x + y, the gradient to input y has the wrong sign" in text
    assert "backward(dout)" not in text  # no gate-code hint for hand work


def test_a_branch_kept_alone_and_a_transposed_matrix_by_hand_are_named():
    r, _ = hand_result("branch_by_hand", {"dfdx": lambda v: v - 0})  # untouched: full marks
    assert r.fraction == 1
    from autograder.exercises import BY_ID

    ctx = class_context(
        "branch_by_hand",
        "answers",
    )
    x, y = ctx.problem_values["branch"]["x"], ctx.problem_values["branch"]["y"]
    r, _ = hand_result("branch_by_hand", {"dfdx": lambda v: x + y})  # only the mul's branch: q
    assert r.misconceptions == ["branch-overwrite"] and "at x, only one of the gradients" in r.feedback(
        "b", 2
    )
    r, _ = hand_result("l2_by_hand", {"dfdW": lambda v: np.transpose(v)})
    assert r.misconceptions == [
        "matmul-transpose"
    ] and "at q = W·x, the gradient to W came out transposed" in r.feedback("l2", 3)
    assert BY_ID["l2_by_hand"].id == "l2_by_hand"


def test_feedback_names_the_node_of_the_students_own_graph():
    from solutions import graphs as described

    for student in ("ann", "bo", "cy", "dee"):
        r, graph = hand_result("simple_by_hand", {}, "per-student", student)
        assert r.fraction == 1
        max_node = next(n for n, op, _ in graph.gates if op == "max")
        loser = next(p for p in graph.parents(max_node))  # swap the max's two gradients
        winner, other = graph.parents(max_node)
        swapped = {f"dfd{winner}": None, f"dfd{other}": None}
        r0, _ = hand_result("simple_by_hand", {}, "per-student", student)
        given = r0.answers
        change = {
            f"dfd{winner}": lambda v, g=given[f"dfd{other}"]: g,
            f"dfd{other}": lambda v, g=given[f"dfd{winner}"]: g,
        }
        r, _ = hand_result("simple_by_hand", change, "per-student", student)
        assert r.misconceptions == ["max-routes-smaller"], r.feedback("s", 3)
        assert f"at {max_node} = {described.expression(graph, max_node)}" in r.feedback("s", 3)
        assert loser and swapped
