"""What students really do, named (issue 33, item 3), fast and in-process (the same checks graded by
both graders in both languages: test_naming_what_students_do_e2e.py):

- a batch's dW from one sample, whichever sample (a loop that assigns instead of adding keeps the
  last one's), or the mean instead of the sum: batch-not-summed;
- hand answers that are the lecture's own numbers: said, and where the student's are;
- hand answers rounded on the way to one or two decimals: "close: keep at least 3 decimals";
- a function's gradients in another order than its inputs: said, with the order asked.
Written as students write them, several styles each."""

import textwrap

import pytest

from autograder import demo
from autograder.bpkit import problems
from autograder.bpkit.i18n import speaking
from autograder.exercises import BY_ID as HAND
from autograder.grading.context import make_context
from autograder.grading.inprocess import InProcessSubject
from autograder.grading.registry import run_check

simulated_class = demo.load_simulated_class()
CORRECT_STYLES = simulated_class.CORRECT_STYLES


def context(grade_id, check, student="ann", graphs="lecture"):
    return make_context(
        grade_id,
        check,
        seed=5,
        course_id="c",
        assignment="backprop",
        randomization="per-student",
        student_id=student,
        graphs=graphs,
    )


# ---------------------------------------------------------------- batch-not-summed, any sample

ONE_SAMPLE_OR_MEAN = {
    "a loop that assigns instead of adding (the last sample)": """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return W @ x
            def backward(self, dq):
                if self.x.ndim == 1:
                    return np.outer(dq, self.x), self.W.T @ dq
                for i in range(self.x.shape[1]):
                    dW = np.outer(dq[:, i], self.x[:, i])      # = instead of +=
                return dW, self.W.T @ dq
        """,
    "the last column by index": """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.cache = (W, x)
                return W.dot(x)
            def backward(self, dout):
                W, x = self.cache
                x2 = x.reshape(x.shape[0], -1)
                d2 = dout.reshape(dout.shape[0], -1)
                return np.outer(d2[:, -1], x2[:, -1]), W.T.dot(dout)
        """,
    "the second sample": """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return W @ x
            def backward(self, dq):
                if self.x.ndim == 1:
                    return np.outer(dq, self.x), self.W.T @ dq
                return np.outer(dq[:, 1], self.x[:, 1]), self.W.T @ dq
        """,
    "np.mean over the batch": """
        import numpy as np
        class MatMulGate:
            def forward(self, W, x):
                self.W, self.x = W, x
                return W @ x
            def backward(self, dq):
                if self.x.ndim == 1:
                    return np.outer(dq, self.x), self.W.T @ dq
                dW = np.mean([np.outer(dq[:, i], self.x[:, i]) for i in range(self.x.shape[1])], axis=0)
                return dW, self.W.T @ dq
        """,
}


@pytest.mark.parametrize("style", ONE_SAMPLE_OR_MEAN)
def test_a_batch_gradient_from_any_one_sample_or_the_mean_is_batch_not_summed(style):
    code = ONE_SAMPLE_OR_MEAN[style]
    r = run_check(
        "matmul_gate",
        "backward",
        InProcessSubject(simulated_class.namespace_of(code)),
        context("matmul_gate", "backward"),
    )
    text = r.feedback("matmul_gate backward", 2)
    assert r.misconceptions == ["batch-not-summed"], text
    said = "averaged over the batch" if "mean" in style else "taken from one sample of the batch"
    assert f"the gradient to W was {said}, not summed" in text, text
    assert "not one of the known mistakes" not in text


# ---------------------------------------------------------------- hand answers


def hand(exercise_id, answers, student="ann", graphs="lecture", language="en"):
    with speaking(language):
        r = run_check(
            exercise_id,
            "answers",
            InProcessSubject(dict(answers)),
            context(exercise_id, "answers", student, graphs),
        )
        return r, r.feedback(exercise_id, 3)


def own(exercise_id, student="ann", graphs="lecture"):
    e = HAND[exercise_id]
    P = problems.draw(5, "c", "backprop", "per-student", student, graphs)
    return e, P.values[e.problem], P.graphs.get(e.problem)


def test_the_lecture_numbers_handed_in_are_said_to_be_the_lectures():
    lecture = HAND["simple_by_hand"].lecture_answers()
    r, text = hand("simple_by_hand", lecture)
    assert r.fraction < 1
    assert (
        text.count("these are the lecture's numbers; yours are in the setup cell of this exercise (P.simple)")
        == 1
    )
    assert "the lecture's number again" in text and "not one of the known mistakes" not in text, text


def test_the_neurons_numbers_copied_from_the_slides_two_decimals_are_the_lectures():
    slides = {  # shared/LECTURE.md, as the slides round them
        "f": 0.73, "dfd_denom": -0.53, "dfd_exp": -0.53, "dfd_neg": -0.20, "dfds": 0.20,
        "dfdw0": -0.20, "dfdx0": 0.39, "dfdw1": -0.39, "dfdx1": -0.59, "dfdw2": 0.20,
    }  # fmt: skip
    r, text = hand("neuron_by_hand", slides, "bo")  # bo's s is not the lecture's 1 (ann's is)
    assert (
        r.fraction == 0
        and "these are the lecture's numbers" in text
        and "not one of the known mistakes" not in text
    ), text


def test_the_lectures_numbers_for_some_answers_only_are_said_for_those():
    e, values, graph = own("l2_by_hand")
    right = e.correct(values, graph)
    lecture = e.lecture_answers()  # a 2 × 2 W in the lecture: its q, f and dfdq fit this exercise's shapes
    answers = {**right, "q": lecture["q"], "f": lecture["f"], "dfdq": lecture["dfdq"]}
    r, text = hand("l2_by_hand", answers)
    failed = [o.name for o in r.outcomes if not o.passed]
    assert failed == ["q", "f", "dfdq"] and "these are the lecture's numbers" in text, text


def test_a_few_answers_alike_the_lectures_are_not_called_the_lectures():
    """Rounded to one decimal, the neuron's gradients near 0.2 look like the lecture's 0.1966...:
    a few answers alike out of ten are not a copy of the lecture."""
    e, values, graph = own("neuron_by_hand", "rudi")
    lecture = e.lecture_answers()
    answers = {**e.correct(values, graph), **{k: lecture[k] for k in ("dfd_neg", "dfds", "dfdw2")}}
    r, text = hand("neuron_by_hand", answers, "rudi")
    assert r.fraction < 1 and "lecture's numbers" not in text, text


def test_one_answer_alike_the_lectures_is_not_called_the_lectures():
    e, values, graph = own("simple_by_hand")
    answers = {**e.correct(values, graph), "f": -12.0}
    r, text = hand("simple_by_hand", answers)
    assert "lecture's numbers" not in text, text


@pytest.mark.parametrize(
    "exercise_id, decimals", [("neuron_by_hand", 1), ("neuron_by_hand", 2), ("l2_by_hand", 1)]
)  # l2's numbers have one decimal: two decimals on the way are exact there
def test_answers_rounded_on_the_way_are_close_and_told_to_keep_three_decimals(exercise_id, decimals):
    e, values, graph = own(exercise_id)
    by_hand = e.rounded(values, graph)[decimals - 1]
    r, text = hand(exercise_id, by_hand)
    assert r.fraction < 1, text
    assert text.count("close: keep at least 3 decimals until the end") == 1, text
    assert "not one of the known mistakes" not in text, text


def test_final_answers_rounded_to_two_decimals_are_close_too():
    e, values, graph = own("neuron_by_hand", "bo")
    typed = {k: round(float(v), 2) for k, v in e.correct(values, graph).items()}
    r, text = hand("neuron_by_hand", typed, "bo")
    if r.fraction < 1:  # some answers off by more than the tolerance once rounded
        assert (
            "close: keep at least 3 decimals until the end" in text and "not one of the known" not in text
        ), text


def test_a_wrong_answer_far_off_is_not_called_rounding():
    e, values, graph = own("neuron_by_hand")
    answers = {**e.correct(values, graph), "dfdw0": 17.25}
    r, text = hand("neuron_by_hand", answers)
    assert "close:" not in text and "not one of the known mistakes" in text, text


def test_the_words_are_korean_in_a_korean_course():
    r, text = hand("simple_by_hand", HAND["simple_by_hand"].lecture_answers(), language="ko")
    assert "강의의 숫자" in text and "lecture" not in text, text
    e, values, graph = own("neuron_by_hand")
    r, text = hand("neuron_by_hand", e.rounded(values, graph)[1], language="ko")
    assert "소수점 아래 3자리" in text and "close" not in text, text


# ---------------------------------------------------------------- a function's gradients in another order

IN_ANOTHER_ORDER = {
    ("l2_with_gates", "(dx, dW)", "(dW, dx)"): """
        def l2_with_gates(W, x):
            mm, l2 = MatMulGate(), L2Gate()
            f = l2.forward(mm.forward(W, x))
            dW, dx = mm.backward(l2.backward(1.0))
            return f, (dx, dW)
        """,
    ("simple_with_gates", "(dz, dx, dy)", "(dx, dy, dz)"): """
        def simple_with_gates(x, y, z):
            add, mul = AddGate(), MulGate()
            q = add.forward(x, y)
            f = mul.forward(q, z)
            dq, dz = mul.backward(1.0)
            dx, dy = add.backward(dq)
            return f, (dz, dx, dy)      # in the order the backward pass found them
        """,
    ("neuron_with_gates", "(dx, dw)", "(dw, dx)"): """
        def neuron_with_gates(w, x):
            m0, m1, a0, a1, s = MulGate(), MulGate(), AddGate(), AddGate(), SigmoidGate()
            f = s.forward(a1.forward(a0.forward(m0.forward(w[0], x[0]), m1.forward(w[1], x[1])), w[2]))
            dp, dw2 = a1.backward(s.backward(1.0))
            d0, d1 = a0.backward(dp)
            dw0, dx0 = m0.backward(d0)
            dw1, dx1 = m1.backward(d1)
            return f, [[dx0, dx1], [dw0, dw1, dw2]]
        """,
}
GATES = "\n".join(
    textwrap.dedent(CORRECT_STYLES[g])
    for g in ("add_gate", "mul_gate", "sigmoid_gate", "matmul_gate", "l2_gate")
)


@pytest.mark.parametrize("case", IN_ANOTHER_ORDER, ids=lambda c: c[0])
def test_a_functions_gradients_in_another_order_are_said_so(case):
    function_id, returned, asked = case
    ns = simulated_class.namespace_of(GATES + textwrap.dedent(IN_ANOTHER_ORDER[case]))
    ns["P"] = problems.draw(5, "c", "backprop", "per-student", "ann", "lecture")
    r = run_check(function_id, "function", InProcessSubject(ns), context(function_id, "function"))
    text = r.feedback(function_id, 2)
    assert r.fraction < 1
    assert (
        f"the right gradients in the wrong order: you returned {returned}; return them in the order of the "
        f"function's inputs, {asked}"
    ) in text, text
    assert "shape" not in text and "not one of the known mistakes" not in text, text
