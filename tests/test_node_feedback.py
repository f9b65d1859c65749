"""Feedback names the mistake where it was made (fast, in-process; the same checks run sandboxed
in the class graded by real nbgrader in test_per_student_graphs.py):

- a gate's backward that flips the sign of one input only is a sign flip of that input, in the
  grader's feedback and in the student's self-check;
- a function built from gates whose gradients are wrong is explained at the node of the
  student's own graph ("at q = max(y, z), the gradient went to the smaller input"), by the mistake
  models run in the grader, and never by a mistake the graph cannot show;
- hand answers: each wrong answer at its node, in words for someone computing by hand.
"""

import textwrap

import pytest
from shipped import shipped_bpkit_module

from autograder import demo
from autograder.bpkit import problems
from autograder.grading.context import make_context
from autograder.grading.inprocess import InProcessSubject
from autograder.grading.registry import run_check
from solutions import graphs as described
from solutions.table import CATALOG

simulated_class = demo.load_simulated_class()
CORRECT_STYLES, MISTAKES = simulated_class.CORRECT_STYLES, simulated_class.MISTAKES

# Gates as students write them, each with the sign of ONE input's gradient flipped.
ONE_SIGN_FLIPPED = {
    ("mul_gate", "y"): """
        class MulGate:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x * y
            def backward(self, dout):
                return dout * self.y, -dout * self.x      # dy: the wrong sign
        """,
    ("add_gate", "x"): """
        class AddGate:
            def forward(self, x, y):
                return x + y
            def backward(self, dout):
                return -dout, dout                        # dx: the wrong sign
        """,
    ("max_gate", "x"): """
        import numpy as np
        class MaxGate:
            def forward(self, x, y):
                self.x_wins = np.greater_equal(x, y)
                return np.maximum(x, y)
            def backward(self, dout):
                return np.where(self.x_wins, -dout, 0.0), np.where(self.x_wins, 0.0, dout)
        """,
    ("matmul_gate", "x"): """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return W @ x
            def backward(self, dq):
                dW = np.outer(dq, self.x) if self.x.ndim == 1 else dq @ self.x.T
                return dW, -(self.W.T @ dq)               # dx: the wrong sign
        """,
}
FLIPPED = list(ONE_SIGN_FLIPPED)


def gate_result(grade_id, code):
    ctx = make_context(
        grade_id,
        "backward",
        seed=5,
        course_id="c",
        assignment="backprop",
        randomization="per-course",
        student_id="",
    )
    return run_check(grade_id, "backward", InProcessSubject(simulated_class.namespace_of(code)), ctx)


@pytest.mark.parametrize("grade_id, flipped", FLIPPED, ids=[f"{g}-d{i}" for g, i in FLIPPED])
def test_a_sign_flipped_on_one_input_of_a_gate_is_a_sign_flip_of_that_input(grade_id, flipped):
    r = gate_result(grade_id, ONE_SIGN_FLIPPED[grade_id, flipped])
    assert r.fraction < 1 and r.misconceptions == ["sign-flip"], r.feedback(grade_id, 2)
    named = [o for o in r.outcomes if o.misconception]
    assert named and all(o.name.endswith(f": d{flipped}") for o in named)  # only that input's results
    assert all(o.message == f"the gradient to input {flipped} has the wrong sign" for o in named)
    other = [
        o for o in r.outcomes if o.name.startswith("backward, ") and not o.name.endswith(f": d{flipped}")
    ]
    assert other and all(o.passed for o in other)  # the other input's gradient stays right


def test_a_sign_flipped_on_every_input_is_said_so():
    grade_id, code = MISTAKES["sign-flip"]  # AddGate returning -dout, -dout
    r = gate_result(grade_id, code)
    assert r.misconceptions == ["sign-flip"]
    assert "the gradients to x and y both have the wrong sign" in r.feedback(grade_id, 2)


@pytest.fixture(scope="module")
def selfcheck(tmp_path_factory):
    with shipped_bpkit_module(tmp_path_factory.mktemp("release"), "selfcheck") as module:
        yield module


@pytest.mark.parametrize("grade_id, flipped", FLIPPED, ids=[f"{g}-d{i}" for g, i in FLIPPED])
def test_the_self_check_names_the_input_whose_sign_is_flipped_without_the_answer(
    selfcheck, capsys, grade_id, flipped
):
    from solutions.table import BY_GRADE_ID

    name = BY_GRADE_ID[grade_id].name
    code = ONE_SIGN_FLIPPED[grade_id, flipped]
    selfcheck.gate(simulated_class.namespace_of(code)[name], seed=2)
    out = capsys.readouterr().out
    assert f"{name}: the gradient to input {flipped} has the wrong sign." in out and "'sign-flip'" in out, out
    assert "self." not in out and "-dout" not in out  # never the code


# ---------------------------------------------------------------- functions, at the node of the student's graph

# The lecture's neuron built from the student's gates (two MulGates, two AddGates, a SigmoidGate):
# the mistakes below are in the gates, never in this wiring.
NEURON_FROM_GATES = """
def neuron_with_gates(w, x):
    m0, m1, a0, a1, s = MulGate(), MulGate(), AddGate(), AddGate(), SigmoidGate()
    p = a0.forward(m0.forward(w[0], x[0]), m1.forward(w[1], x[1]))
    f = s.forward(a1.forward(p, w[2]))
    dp, dw2 = a1.backward(s.backward(1.0))
    d0, d1 = a0.backward(dp)
    dw0, dx0 = m0.backward(d0)
    dw1, dx1 = m1.backward(d1)
    return f, ((dw0, dw1, dw2), (dx0, dx1))
"""
GATES_CODE = "\n".join(textwrap.dedent(CORRECT_STYLES[g]) for g in ("add_gate", "mul_gate", "max_gate"))


def own_graph_function(name, problem, combine="grads[p] + g if p in grads else g", flip_at=None):
    """A student's function for their own graph (P.graphs), built from their gates: the notebook's
    own solution, with the branch sum written as `combine` and, at node `flip_at`, the sign of
    the first input's gradient flipped by hand."""
    return textwrap.dedent(f"""
        def {name}(*args):
            graph = P.graphs[{problem!r}]
            kinds = {{"+": AddGate, "*": MulGate, "max": MaxGate}}
            values, gates = dict(zip(graph.inputs, args)), {{}}
            for node, op, parents in graph.gates:
                gates[node] = kinds[op]()
                values[node] = gates[node].forward(*(values[p] for p in parents))
            grads = {{graph.output: 1.0}}
            for node, op, parents in reversed(graph.gates):
                back = list(gates[node].backward(grads[node]))
                if node == {flip_at!r}:
                    back[0] = -back[0]
                for p, g in zip(parents, back):
                    grads[p] = {combine}
            return values[graph.output], tuple(grads[n] for n in graph.inputs)
        """)


def function_result(function_id, code, student, graphs="per-student"):
    ctx = make_context(
        function_id,
        "function",
        seed=5,
        course_id="c",
        assignment="backprop",
        randomization="per-student",
        student_id=student,
        graphs=graphs,
    )
    ns = simulated_class.namespace_of(code)
    ns["P"] = problems.draw(5, "c", "backprop", "per-student", student, graphs)
    return run_check(function_id, "function", InProcessSubject(ns), ctx), ns["P"]


STUDENTS = ("ann", "bo", "cy", "dee", "eve", "fay")


@pytest.mark.parametrize("student", STUDENTS)
def test_a_wrong_max_gate_in_a_function_is_named_at_the_max_of_the_students_own_graph(student):
    wrong_max = textwrap.dedent(MISTAKES["max-routes-smaller"][1])
    right, P = function_result(
        "simple_with_gates", GATES_CODE + own_graph_function("simple_with_gates", "simple"), student
    )
    assert right.fraction == 1, right.feedback("simple_with_gates", 2)
    r, P = function_result(
        "simple_with_gates",
        GATES_CODE + wrong_max + own_graph_function("simple_with_gates", "simple"),
        student,
    )
    graph = P.graphs["simple"]
    node = next(n for n, op, _ in graph.gates if op == "max")
    assert r.fraction < 1 and r.misconceptions == ["max-routes-smaller"], r.feedback("simple_with_gates", 2)
    said = f"at {node} = {described.expression(graph, node)}, the gradient went to the smaller input"
    text = r.feedback("simple_with_gates", 2)
    assert said in text and "(looks like 'max-routes-smaller')" in text, text


@pytest.mark.parametrize("student", STUDENTS[:3])
def test_a_sign_flipped_by_hand_in_a_function_is_named_at_its_node_and_input(student):
    P = problems.draw(5, "c", "backprop", "per-student", student, "per-student")
    graph = P.graphs["simple"]
    plus = next(n for n, op, _ in graph.gates if op == "+")
    code = GATES_CODE + own_graph_function("simple_with_gates", "simple", flip_at=plus)
    r, _ = function_result("simple_with_gates", code, student)
    first = graph.parents(plus)[0]
    text = r.feedback("simple_with_gates", 2)
    assert r.misconceptions == ["sign-flip"], text
    assert (
        f"at {plus} = {described.expression(graph, plus)}, the gradient to input {first} has the wrong sign"
        in text
    )
    failed = {o.name.rsplit(": ", 1)[1] for o in r.outcomes if not o.passed}
    assert failed == {f"d{first}"}, failed  # only that input's gradient is off


@pytest.mark.parametrize("student", STUDENTS[:3])
def test_a_branch_kept_alone_in_a_function_is_named_at_the_value_that_branches(student):
    P = problems.draw(5, "c", "backprop", "per-student", student, "per-student")
    graph = P.graphs["branch"]
    code = GATES_CODE + own_graph_function("branch_with_gates", "branch", combine="g")  # the last branch only
    r, _ = function_result("branch_with_gates", code, student)
    b = graph.branching()[0]
    text = r.feedback("branch_with_gates", 2)
    assert r.misconceptions == ["branch-overwrite"], text
    assert f"at {b}, only one of the gradients coming back from the gates it feeds was kept" in text, text


def test_a_wrong_gate_used_at_several_nodes_is_named_in_every_gate_of_its_class():
    """The neuron's shortcut has two mul gates: a student's MulGate that does not swap its inputs is
    wrong at both, which no single node explains."""
    r, _ = function_result(
        "neuron_with_gates",
        textwrap.dedent(MISTAKES["mul-not-swapped"][1])
        + "\n"
        + "\n".join(textwrap.dedent(CORRECT_STYLES[g]) for g in ("add_gate", "sigmoid_gate"))
        + NEURON_FROM_GATES,
        "ann",
        graphs="lecture",
    )
    text = r.feedback("neuron_with_gates", 2)
    assert r.misconceptions == ["mul-not-swapped"], text
    assert "in every MulGate (w0x0 = w0 · x0 and w1x1 = w1 · x1), each input got its own value" in text, text


def test_no_mistake_is_named_that_the_students_graph_cannot_show():
    """On every graph of every family and the lecture's, the mistakes tried at nodes are those of
    the graph's own gates: no max mistake without a max, no branch kept alone without a branch."""
    from autograder.exercises import FUNCTIONS_BY_ID, node_mistakes
    from solutions.table import gates_named_by

    for mode in described.GRAPH_MODES:
        for fn in FUNCTIONS_BY_ID.values():
            for hand_graph in described.shape(fn.exercise, mode).graphs:
                graph = fn.graph(hand_graph, mode)
                kinds = {described.gate_of(op)[0] for _, op, _ in graph.gates}
                for mid, _, nodes, _ in node_mistakes(graph, every_gate_of_a_class=True):
                    m = next(m for m in CATALOG if m.id == mid)
                    if m.scope == "graph":
                        assert graph.branching() and nodes[0] in graph.branching()
                    else:
                        assert set(gates_named_by(mid)) & kinds, (fn.id, graph.title, mid)
                        assert all(
                            described.gate_of(graph.operation(n))[0] in gates_named_by(mid) for n in nodes
                        )


# ---------------------------------------------------------------- hand answers, per answer


def hand_result(exercise_id, change, student="ann", graphs="per-student"):
    from autograder.exercises import BY_ID

    ctx = make_context(
        exercise_id,
        "answers",
        seed=5,
        course_id="c",
        assignment="backprop",
        randomization="per-student",
        student_id=student,
        graphs=graphs,
    )
    e = BY_ID[exercise_id]
    graph = ctx.problem_graphs[e.problem]
    right = e.correct(ctx.problem_values[e.problem], graph, graphs)
    ns = {
        name: change.get(name, lambda v, right=right: v)(value) if callable(change.get(name, None)) else value
        for name, value in right.items()
    }
    return run_check(exercise_id, "answers", InProcessSubject(ns), ctx), graph, right


@pytest.mark.parametrize("student", STUDENTS[:4])
def test_by_hand_a_sign_flipped_on_one_input_of_the_students_plus_gate_is_said_at_that_input(student):
    _, graph, right = hand_result("simple_by_hand", {}, student)
    plus = next(n for n, op, _ in graph.gates if op == "+")
    second = graph.parents(plus)[1]
    r, _, _ = hand_result("simple_by_hand", {f"dfd{second}": lambda v: -v}, student)
    text = r.feedback("simple_by_hand", 3)
    assert r.misconceptions == ["sign-flip"], text
    assert (
        f"[FAIL] dfd{second}: not right: at {plus} = {described.expression(graph, plus)}, the gradient to input "
        f"{second} has the wrong sign"
    ) in text, text
    assert (
        "backward(dout)" not in text
        and "Hint: Check the sign of each local derivative on the way back" in text
    )


def test_by_hand_a_forgotten_upstream_factor_gets_a_hint_for_hand_work():
    _, graph, right = hand_result("simple_by_hand", {}, "ann", "lecture")
    # dfdx as the add gate's local gradient alone (1), not times dfdq = z
    r, _, _ = hand_result("simple_by_hand", {"dfdx": lambda v: 1.0, "dfdy": lambda v: 1.0}, "ann", "lecture")
    text = r.feedback("simple_by_hand", 3)
    assert r.misconceptions == ["upstream-ignored"], text
    assert (
        "at q = x + y, the local gradient was sent on without multiplying it by the gradient from above"
        in text
    )
    assert "backward(dout)" not in text and "gradient arriving from above" in text


@pytest.mark.parametrize("misconception", CATALOG, ids=lambda m: m.id)
def test_every_mistake_has_words_for_each_way_of_making_it_at_a_node(misconception):
    from solutions.table import GRADED, STAGED

    applies = [
        g for g in GRADED + STAGED if misconception.id in g.misconceptions or misconception.scope == "graph"
    ]
    if misconception.said_of is None:
        assert len(misconception.said) in (1, misconception.ways), misconception.id
    else:  # words per way and per gate (a layer's db and dW): every way of every gate has some, none unused
        used = {
            misconception.said_of(way, len(g.differentiable))
            for g in applies
            for way in range(misconception.ways_at(len(g.differentiable)))
        }
        assert used == set(range(len(misconception.said))), (misconception.id, used)
    for gate in applies:
        names = getattr(gate, "differentiable", ("s",))
        words = [misconception.said_at(way, names) for way in range(misconception.ways_at(len(names)))]
        assert all(w and "{" not in w and w == w.strip() and not w.endswith(".") for w in words), words
        assert all(name in " ".join(words) for name in names) or misconception.id != "sign-flip"


def test_two_places_giving_the_same_gradients_are_both_said():
    """An AddGate flipping both signs, used twice in the neuron, leaves only dw2 wrong (the two flips
    cancel below p): so would a sign flipped on w2 alone at s. A function returns only its inputs'
    gradients, so feedback says both, the gate class first."""
    gates = "\n".join(textwrap.dedent(CORRECT_STYLES[g]) for g in ("mul_gate", "sigmoid_gate"))
    r, _ = function_result(
        "neuron_with_gates",
        gates + textwrap.dedent(MISTAKES["sign-flip"][1]) + NEURON_FROM_GATES,
        "ann",
        graphs="lecture",
    )
    text = r.feedback("neuron_with_gates", 2)
    assert r.misconceptions == ["sign-flip"] and [
        o.name.rsplit(": ", 1)[-1] for o in r.outcomes if not o.passed
    ] == ["dw2", "dw2"], text
    assert (
        "in every AddGate (p = w0x0 + w1x1 and s = p + w2), the gradients to x and y both have the wrong sign; "
        "or at s = p + w2, the gradient to input w2 has the wrong sign"
    ) in text, text
