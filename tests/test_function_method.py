"""A function built from gates is graded on its method too (issue 33, item 5): the grader runs it
once more with every gate's backward scaled by a drawn factor and sees its gradients follow.
Fast and in-process (the reference's InProcessSubject); the same check runs sandboxed under both
graders in test_messages_end_to_end.py.

Every style of using the gates that students write keeps all the points; a function that gets its
gradients another way (numeric differences, a formula, the gates' stored values) loses the
method's share, course.yaml's grading.method_points, and reads why.
"""

import textwrap

import nbformat
import pytest

from autograder import demo
from autograder.bpkit import problems
from autograder.config import Grading
from autograder.grading.cells import Submission
from autograder.grading.context import make_context
from autograder.grading.inprocess import InProcessSubject
from autograder.grading.registry import run_check
from autograder.grading.sandboxed import sandboxed_subject
from autograder.sandbox.bwrap import sandbox_available
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

simulated_class = demo.load_simulated_class()
GATES = "\n".join(
    textwrap.dedent(simulated_class.CORRECT_STYLES[g])
    for g in ("add_gate", "mul_gate", "max_gate", "sigmoid_gate", "matmul_gate", "l2_gate")
)

# Valid uses of the gates, as students write them.
NEURON_STYLES = {
    "fresh instances, backward in reverse order": """
        def neuron_with_gates(w, x):
            m0, m1, a0, a1, s = MulGate(), MulGate(), AddGate(), AddGate(), SigmoidGate()
            p = a0.forward(m0.forward(w[0], x[0]), m1.forward(w[1], x[1]))
            f = s.forward(a1.forward(p, w[2]))
            dp, dw2 = a1.backward(s.backward(1.0))
            d0, d1 = a0.backward(dp)
            dw0, dx0 = m0.backward(d0)
            dw1, dx1 = m1.backward(d1)
            return f, ((dw0, dw1, dw2), (dx0, dx1))
        """,
    "instances made once at module level and reused": """
        mul0, mul1, add0, add1, sig = MulGate(), MulGate(), AddGate(), AddGate(), SigmoidGate()

        def neuron_with_gates(w, x):
            a = mul0.forward(w[0], x[0])
            b = mul1.forward(w[1], x[1])
            f = sig.forward(add1.forward(add0.forward(a, b), w[2]))
            ds = sig.backward(1.0)
            dp, dw2 = add1.backward(ds)
            da, db = add0.backward(dp)
            dw1, dx1 = mul1.backward(db)     # the second product first
            dw0, dx0 = mul0.backward(da)
            return f, ((dw0, dw1, dw2), (dx0, dx1))
        """,
    "a helper function and a list of gates": """
        def _chain(gates, inputs):
            out = inputs
            for g in gates:
                out = g.forward(*out) if isinstance(out, tuple) else g.forward(out)
            return out

        def neuron_with_gates(w, x):
            products = [MulGate() for _ in range(2)]
            terms = [g.forward(wi, xi) for g, wi, xi in zip(products, w[:2], x)]
            add_terms, add_bias, squash = AddGate(), AddGate(), SigmoidGate()
            f = squash.forward(add_bias.forward(add_terms.forward(*terms), w[2]))
            upstream = squash.backward(1.0)
            dsum, dw2 = add_bias.backward(upstream)
            dterms = add_terms.backward(dsum)
            grads = [g.backward(d) for g, d in zip(products, dterms)]
            return f, ((grads[0][0], grads[1][0], dw2), (grads[0][1], grads[1][1]))
        """,
    "one add gate used at both sums, backward in reverse order": """
        def neuron_with_gates(w, x):
            m0, m1, add, s = MulGate(), MulGate(), AddGate(), SigmoidGate()
            f = s.forward(add.forward(add.forward(m0.forward(w[0], x[0]), m1.forward(w[1], x[1])), w[2]))
            dp, dw2 = add.backward(s.backward(1.0))
            d0, d1 = add.backward(dp)
            dw0, dx0 = m0.backward(d0)
            dw1, dx1 = m1.backward(d1)
            return f, ((dw0, dw1, dw2), (dx0, dx1))
        """,
    "the sum grouped the other way, w0·x0 + (w1·x1 + w2)": """
        def neuron_with_gates(w, x):
            m0, m1, inner, outer, s = MulGate(), MulGate(), AddGate(), AddGate(), SigmoidGate()
            p0, p1 = m0.forward(w[0], x[0]), m1.forward(w[1], x[1])
            f = s.forward(outer.forward(p0, inner.forward(p1, w[2])))
            d0, drest = outer.backward(s.backward(1.0))
            d1, dw2 = inner.backward(drest)
            dw0, dx0 = m0.backward(d0)
            dw1, dx1 = m1.backward(d1)
            return f, ((dw0, dw1, dw2), (dx0, dx1))
        """,
    "the local gradient of each gate times the upstream gradient by hand": """
        def neuron_with_gates(w, x):
            m0, m1, a0, a1, s = MulGate(), MulGate(), AddGate(), AddGate(), SigmoidGate()
            p = a0.forward(m0.forward(w[0], x[0]), m1.forward(w[1], x[1]))
            f = s.forward(a1.forward(p, w[2]))
            local = s.backward(1.0)          # the sigmoid's local gradient, then the chain rule
            dp, dw2 = a1.backward(1.0)
            dp, dw2 = dp * local, dw2 * local
            d0, d1 = a0.backward(dp)
            dw0, dx0 = m0.backward(d0)
            dw1, dx1 = m1.backward(d1)
            return f, ((dw0, dw1, dw2), (dx0, dx1))
        """,
}

# Gradients that do not come from the gates' backward.
NEURON_OTHER_WAYS = {
    "centered differences, no gate at all": """
        import numpy as np
        def neuron_with_gates(w, x):
            def f(w, x):
                return 1 / (1 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
            h = 1e-5
            def slope(k, of_w):
                plus, minus = [list(w), list(x)], [list(w), list(x)]
                plus[0 if of_w else 1][k] += h
                minus[0 if of_w else 1][k] -= h
                return (f(*plus) - f(*minus)) / (2 * h)
            return f(w, x), (tuple(slope(k, True) for k in range(3)), tuple(slope(k, False) for k in range(2)))
        """,
    "the gates' forward, then the derivative written out": """
        def neuron_with_gates(w, x):
            m0, m1, a0, a1, s = MulGate(), MulGate(), AddGate(), AddGate(), SigmoidGate()
            f = s.forward(a1.forward(a0.forward(m0.forward(w[0], x[0]), m1.forward(w[1], x[1])), w[2]))
            local = f * (1 - f)
            return f, ((x[0] * local, x[1] * local, local), (w[0] * local, w[1] * local))
        """,
}


def result(function_id, code, method_points=0.5, graphs="lecture", student="ann"):
    ctx = make_context(
        function_id,
        "function",
        seed=5,
        course_id="c",
        assignment="backprop",
        randomization="per-student",
        student_id=student,
        graphs=graphs,
        method_points=method_points,
    )
    ns = simulated_class.namespace_of(GATES + textwrap.dedent(code))
    ns["P"] = problems.draw(5, "c", "backprop", "per-student", student, graphs)
    return run_check(function_id, "function", InProcessSubject(ns), ctx)


@pytest.mark.parametrize("style", NEURON_STYLES)
def test_every_way_of_using_the_gates_keeps_every_point(style):
    r = result("neuron_with_gates", NEURON_STYLES[style])
    text = r.feedback("neuron_with_gates", 2)
    assert r.fraction == 1, text
    assert "[ok ] gradients from your gates' backward" in text


@pytest.mark.parametrize("way", NEURON_OTHER_WAYS)
def test_gradients_found_another_way_lose_the_methods_share_and_say_why(way):
    r = result("neuron_with_gates", NEURON_OTHER_WAYS[way])
    text = r.feedback("neuron_with_gates", 2)
    assert all(o.passed for o in r.outcomes), text  # the numbers are right
    assert r.fraction == 0.5 and "neuron_with_gates: 1 / 2 points" in text, text
    assert "[FAIL] gradients from your gates' backward: with each gate's backward result scaled by" in text
    assert "dw0, dw1, dw2, dx0, dx1 did not change as your gates' backward made them" in text, text


def test_the_methods_share_is_course_yamls():
    other_way = NEURON_OTHER_WAYS["centered differences, no gate at all"]
    assert result("neuron_with_gates", other_way, method_points=0.25).fraction == 0.75
    none = result("neuron_with_gates", other_way, method_points=0)
    assert none.fraction == 1 and "gates' backward" not in none.feedback("neuron_with_gates", 2)
    assert Grading().method_points == 0.5


def test_only_the_gradients_not_from_backward_are_named():
    code = NEURON_STYLES["fresh instances, backward in reverse order"].replace(
        "return f, ((dw0, dw1, dw2), (dx0, dx1))", "return f, ((dw0, dw1, f * (1 - f)), (dx0, dx1))"
    )
    text = result("neuron_with_gates", code).feedback("neuron_with_gates", 2)
    why = text.split("scaled by")[1]
    assert "inputs, dw2 did not change as" in why and "dx0" not in why, text


def test_a_function_that_returns_other_numbers_each_time_follows_nothing():
    code = """
        import numpy as np
        def neuron_with_gates(w, x):
            noise = np.random.default_rng().normal(size=5)
            return 0.5, (tuple(noise[:3]), tuple(noise[3:]))
        """
    r = result("neuron_with_gates", code)
    assert r.method is not None and not r.method.passed
    assert "returned different gradients for the same inputs" in r.method.message
    assert r.fraction == 0


@pytest.mark.parametrize("mistake", ["sigmoid-missing-term", "sigmoid-of-input"])
def test_a_wrong_gate_used_the_right_way_loses_only_what_its_numbers_lose(mistake):
    """sigmoid-of-input gives every gradient 0 on the lecture's neuron (x(1 - x) at x = 1), which no
    scaling moves: the method is judged where the student's gradients are not 0."""
    wrong_sigmoid = textwrap.dedent(simulated_class.MISTAKES[mistake][1])
    code = wrong_sigmoid + textwrap.dedent(NEURON_STYLES["fresh instances, backward in reverse order"])
    r = result("neuron_with_gates", code)
    assert r.method is not None and r.method.passed, r.feedback("neuron_with_gates", 2)
    assert r.fraction == sum(o.passed for o in r.outcomes) / len(r.outcomes) < 1


def test_a_wrong_method_halves_what_the_numbers_earn():
    code = NEURON_OTHER_WAYS["the gates' forward, then the derivative written out"].replace(
        "(x[0] * local, x[1] * local, local)", "(x[0] * local, x[1] * local, 2 * local)"
    )
    r = result("neuron_with_gates", code)
    numbers = sum(o.passed for o in r.outcomes) / len(r.outcomes)
    assert 0 < numbers < 1 and r.fraction == numbers / 2, r.feedback("neuron_with_gates", 2)


@pytest.mark.parametrize("student", ["ann", "bo", "cy"])
def test_a_students_own_graph_walked_by_a_loop_keeps_every_point(student):
    """The notebook's own solution style on graphs drawn per student: gates made in a loop over
    the graph, backward in reverse topological order, gradients summed at branches."""
    code = """
        def simple_with_gates(*args):
            graph = P.graphs["simple"]
            kinds = {"+": AddGate, "*": MulGate, "max": MaxGate}
            values, gates = dict(zip(graph.inputs, args)), {}
            for node, op, parents in graph.gates:
                gates[node] = kinds[op]()
                values[node] = gates[node].forward(*(values[p] for p in parents))
            grads = {graph.output: 1.0}
            for node, op, parents in reversed(graph.gates):
                for p, g in zip(parents, gates[node].backward(grads[node])):
                    grads[p] = grads[p] + g if p in grads else g
            return values[graph.output], tuple(grads[n] for n in graph.inputs)
        """
    r = result("simple_with_gates", code, graphs="per-student", student=student)
    assert r.fraction == 1, r.feedback("simple_with_gates", 2)


def test_the_matrix_function_keeps_every_point_and_a_formula_does_not():
    gates = """
        def l2_with_gates(W, x):
            mm, l2 = MatMulGate(), L2Gate()
            f = l2.forward(mm.forward(W, x))
            return f, mm.backward(l2.backward(1.0))
        """
    formula = """
        def l2_with_gates(W, x):
            q = MatMulGate().forward(W, x)
            dq = 2 * q
            dW = dq @ x.T if x.ndim == 2 else np.outer(dq, x)
            return float(np.sum(q ** 2)), (dW, W.T @ dq)
        """
    assert result("l2_with_gates", gates).fraction == 1
    r = result("l2_with_gates", "import numpy as np\n" + textwrap.dedent(formula))
    assert r.fraction == 0.5 and "dW, dx did not change as" in r.feedback("l2_with_gates", 2)


def test_gradients_that_are_all_zero_show_no_method():
    code = """
        def neuron_with_gates(w, x):
            return 0.5, ((0.0, 0.0, 0.0), (0.0, 0.0))
        """
    r = result("neuron_with_gates", code)
    assert r.fraction == 0 and "every gradient your function returned is 0" in r.method.message


def test_a_function_whose_results_are_unusable_is_told_so_once():
    code = """
        def neuron_with_gates(w, x):
            raise NotImplementedError("replace this line with your code")
        """
    r = result("neuron_with_gates", code)
    text = r.feedback("neuron_with_gates", 2)
    assert r.fraction == 0 and r.method is None and "gates' backward" not in text, text


# Evasions of the method check (issue 33, item 1): a function that computes its gradients by a
# formula and tries to tell the grader's scaled run from an ordinary call, to follow it there only.
FORMULA = """
    import numpy as np
    def _formula(w, x):
        f = 1 / (1 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
        local = f * (1 - f)
        return f, ((x[0] * local, x[1] * local, local), (w[0] * local, w[1] * local))
    """
EVASIONS = {
    "spots the patched class (its backward is no longer the one the cell defined)": """
        _own_backward = SigmoidGate.backward
        def neuron_with_gates(w, x):
            f, ((dw0, dw1, dw2), (dx0, dx1)) = _formula(w, x)
            if SigmoidGate.backward is not _own_backward:
                return f, ((2.5 * dw0, 2.5 * dw1, 2.5 * dw2), (2.5 * dx0, 2.5 * dx1))
            return f, ((dw0, dw1, dw2), (dx0, dx1))
        """,
    "probes a spare gate for the factor and scales its formula by it": """
        def neuron_with_gates(w, x):
            probe = MulGate()
            probe.forward(1.0, 1.0)
            k = probe.backward(1.0)[0]   # 1 in an ordinary call, the factor in the grader's scaled one
            f, ((dw0, dw1, dw2), (dx0, dx1)) = _formula(w, x)
            # each gradient times the factor once per gate on its path, as the scaled gates give
            return f, ((dw0 * k**4, dw1 * k**4, dw2 * k**2), (dx0 * k**4, dx1 * k**4))
        """,
    "counts the calls with the same inputs (the third is the scaled one)": """
        _seen = {}
        def neuron_with_gates(w, x):
            key = (tuple(w), tuple(x))
            _seen[key] = _seen.get(key, 0) + 1
            f, grads = _formula(w, x)
            if _seen[key] >= 3:
                return f, tuple(tuple(2.5 * g for g in group) for group in grads)
            return f, grads
        """,
}


@pytest.mark.parametrize("evasion", EVASIONS)
def test_a_formula_that_tells_the_scaled_run_apart_still_loses_the_methods_share(evasion):
    r = result("neuron_with_gates", textwrap.dedent(FORMULA) + textwrap.dedent(EVASIONS[evasion]))
    text = r.feedback("neuron_with_gates", 2)
    assert r.method is not None and not r.method.passed, text
    assert r.fraction <= 0.5, text


STACK_READER = """
    import sys
    def _graders_frames():
        frame, names = sys._getframe(1), []
        while frame is not None:
            names += [frame.f_code.co_name, *frame.f_locals]
            frame = frame.f_back
        return names
    def neuron_with_gates(w, x):
        f, grads = _formula(w, x)
        # the grader's scaled call, as it looked from inside: its own frame, its own key
        if any("scale" in str(name) and "through" not in str(name) for name in _graders_frames()):
            return f, tuple(tuple(2.5 * g for g in group) for group in grads)
        return f, grads
    """


@pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")
def test_the_evasions_fail_in_the_real_sandbox_and_a_student_using_the_gates_does_not():
    """The same check as the grader runs it: the student's cells in the sandboxed worker, where
    the grader's own frames are on the stack (STACK_READER reads them); one worker for all."""
    styles = {**{f"evasion: {k}": textwrap.dedent(FORMULA) + textwrap.dedent(v) for k, v in EVASIONS.items()}}
    styles["evasion: reads the grader's frames"] = textwrap.dedent(FORMULA) + textwrap.dedent(STACK_READER)
    styles["the gates, fresh instances"] = textwrap.dedent(
        NEURON_STYLES["fresh instances, backward in reverse order"]
    )
    styles["the gates, by hand"] = textwrap.dedent(
        NEURON_STYLES["the local gradient of each gate times the upstream gradient by hand"]
    )
    ctx_args = dict(seed=5, course_id="c", assignment="backprop", randomization="per-course", student_id="")
    got = {}
    with StudentRunner(Limits(wall_seconds=30), require_sandbox=True) as runner:
        for label, code in styles.items():
            cells = [
                nbformat.v4.new_code_cell(
                    textwrap.dedent(simulated_class.CORRECT_STYLES[gate]),
                    metadata={"nbgrader": {"grade_id": gate, "solution": True}},
                )
                for gate in ("add_gate", "mul_gate", "sigmoid_gate")
            ]
            cells.append(
                nbformat.v4.new_code_cell(
                    code, metadata={"nbgrader": {"grade_id": "neuron_with_gates", "solution": True}}
                )
            )
            subject = sandboxed_subject(runner, Submission(nbformat.v4.new_notebook(cells=cells)))
            ctx = make_context("neuron_with_gates", "function", method_points=0.5, **ctx_args)
            got[label] = run_check("neuron_with_gates", "function", subject, ctx)
    for label, r in got.items():
        text = r.feedback("neuron_with_gates", 2)
        if label.startswith("evasion"):
            assert r.method is not None and not r.method.passed and r.fraction <= 0.5, (label, text)
        else:
            assert r.fraction == 1, (label, text)
