"""What students really do, named (issue 33, item 3), fast and in-process (the same checks graded by
both graders in both languages: test_naming_what_students_do_e2e.py):

- a batch's dW from one sample, whichever sample (a loop that assigns instead of adding keeps the
  last one's), or the mean instead of the sum: batch-not-summed;
- hand answers that are the lecture's own numbers: said, and where the student's are;
- hand answers rounded on the way to one or two decimals: "close: keep at least 3 decimals";
- a function's gradients in another order than its inputs: said, with the order asked.
Written as students write them, several styles each."""

import importlib
import textwrap

import pytest
from shipped import shipped_bpkit_module
from submissions import class_context

from autograder import demo
from autograder.bpkit import problems
from autograder.bpkit.i18n import speaking
from autograder.exercises import BY_ID as HAND
from autograder.grading.inprocess import InProcessSubject
from autograder.grading.registry import run_check
from autograder.words import student_words
from solutions.misconceptions import OR_ELSE

simulated_class = demo.load_simulated_class()
ONE_SAMPLE_OR_MEAN, IN_ANOTHER_ORDER = simulated_class.ONE_SAMPLE_OR_MEAN, simulated_class.IN_ANOTHER_ORDER
CORRECT_STYLES = simulated_class.CORRECT_STYLES


def context(grade_id, check, student="ann", graphs="lecture"):
    return class_context(grade_id, check, randomization="per-student", student_id=student, graphs=graphs)


# ---------------------------------------------------------------- batch-not-summed, any sample


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


# ---------------------------------------------------------------- the self-check says what the grader says
# One rule and one set of words (bpkit/slips.py): the student's own self-check, before submission,
# names the lecture's numbers, rounding on the way and another order as the feedback will.

SIMPLE_WITH_GATES = """
    def simple_with_gates(x, y, z):
        add, mul = AddGate(), MulGate()
        f = mul.forward(add.forward(x, y), z)
        dq, dz = mul.backward(1.0)
        dx, dy = add.backward(dq)
        return f, (dx, dy, dz)
    """
NEURON_WITH_GATES = IN_ANOTHER_ORDER[("neuron_with_gates", "(dx, dw)", "(dw, dx)")].replace(
    "return f, [[dx0, dx1], [dw0, dw1, dw2]]", "return f, ((dw0, dw1, dw2), (dx0, dx1))"
)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The release's bpkit: its self-check, its i18n and its problems (P as a student has it), of a
    Korean course (each test speaks its own language)."""
    import sys

    with shipped_bpkit_module(tmp_path_factory.mktemp("release"), "selfcheck", language="ko") as selfcheck:
        yield selfcheck, sys.modules["bpkit.i18n"], importlib.import_module("bpkit.problems")


def self_checked(shipped, capsys, function_id, code, answers, student="ann", language="en"):
    selfcheck, i18n, shipped_problems = shipped
    ns = simulated_class.namespace_of(GATES + textwrap.dedent(code))
    ns.update(answers, P=shipped_problems.draw(5, "c", "backprop", "per-student", student, "lecture"))
    with i18n.speaking(language):
        selfcheck.function(function_id, ns, answers=tuple(answers))
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "language, words", [("en", "these are the lecture's numbers"), ("ko", "강의의 숫자")]
)
def test_the_self_check_says_the_lectures_numbers_as_the_grader_does(shipped, capsys, language, words):
    e = HAND["simple_by_hand"]
    lecture = {k: v for k, v in e.lecture_answers().items() if k in ("f", "dfdx", "dfdy", "dfdz")}
    out = self_checked(shipped, capsys, "simple_with_gates", SIMPLE_WITH_GATES, lecture, language=language)
    _r, graded = hand("simple_by_hand", e.lecture_answers(), language=language)
    sentence = next(line for line in out.splitlines() if words in line).split(": ", 1)[1]
    assert sentence in graded, (out, graded)  # the same words, from the same function
    assert words in out and "lecture" not in (out if language == "ko" else ""), out


@pytest.mark.parametrize(
    "language, words", [("en", "close: keep at least 3 decimals"), ("ko", "소수점 아래 3자리")]
)
def test_the_self_check_says_rounded_on_the_way_as_the_grader_does(shipped, capsys, language, words):
    e, values, graph = own("neuron_by_hand")
    by_hand = e.rounded(values, graph)[0]
    names = ("f", "dfdw0", "dfdw1", "dfdw2", "dfdx0", "dfdx1")
    out = self_checked(
        shipped,
        capsys,
        "neuron_with_gates",
        NEURON_WITH_GATES,
        {k: by_hand[k] for k in names},
        language=language,
    )
    _r, graded = hand("neuron_by_hand", by_hand, language=language)
    assert words in out and words in graded, (out, graded)
    assert "lecture" not in out, out


def test_the_self_check_does_not_call_answers_far_off_rounding_or_the_lectures(shipped, capsys):
    e, values, graph = own("neuron_by_hand")
    answers = {k: v for k, v in e.correct(values, graph).items() if k in ("f", "dfdw0", "dfdx0")}
    answers["dfdw0"] = 17.25
    out = self_checked(shipped, capsys, "neuron_with_gates", NEURON_WITH_GATES, answers)
    assert "disagree on: dfdw0" in out and "close:" not in out and "lecture's numbers" not in out, out


@pytest.mark.parametrize("case", IN_ANOTHER_ORDER, ids=lambda c: c[0])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_self_check_says_another_order_as_the_grader_does(shipped, capsys, case, language):
    function_id, returned, asked = case
    out = self_checked(shipped, capsys, function_id, IN_ANOTHER_ORDER[case], {}, language=language)
    ns = simulated_class.namespace_of(GATES + textwrap.dedent(IN_ANOTHER_ORDER[case]))
    ns["P"] = problems.draw(5, "c", "backprop", "per-student", "ann", "lecture")
    with speaking(language):
        graded = run_check(function_id, "function", InProcessSubject(ns), context(function_id, "function"))
        text = graded.feedback(function_id, 2)
    sentence = next(line for line in out.splitlines() if returned in line).split(": ", 1)[1]
    assert returned in sentence and asked in sentence, out
    assert sentence in text, (out, text)


# ---------------------------------------------------------------- gates: "X; or Y" where mistakes tie


def _failed(name):
    from autograder.grading.outcomes import Outcome

    return Outcome(name, False, "off by a relative error of 1")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_gate_feedback_says_each_mistake_that_explains_its_cases_equally_the_likelier_first(language):
    """Two mistakes reproducing the same cases of a gate's backward: both said, as hand answers and
    functions say them, the likelier (the catalog's prior: a forgotten upstream factor, 24, before
    a sign flipped, 14) first whichever order the table lists them in."""
    from autograder.grading.checks import _name_mistakes
    from solutions.table import CATALOG_BY_ID as BY_ID

    with speaking(language):
        cases = [[_failed("backward, floats: dx")], [_failed("backward, vectors: dx")]]
        _name_mistakes([(c, [("sign-flip", 0), ("upstream-ignored", 0)]) for c in cases], ("x", "y"))
        upstream = BY_ID["upstream-ignored"].said_at(0, ("x", "y"), gettext=student_words)
        flip = BY_ID["sign-flip"].said_at(0, ("x", "y"), gettext=student_words)
        for [o] in cases:
            assert o.misconception == "upstream-ignored"
            assert o.message == student_words(OR_ELSE).format(first=upstream, second=flip), o.message


def test_gate_feedback_names_alone_the_mistake_that_explains_more_cases():
    from autograder.grading.checks import _name_mistakes
    from solutions.table import CATALOG_BY_ID as BY_ID

    only_flip, both = [_failed("backward, floats: dx")], [_failed("backward, vectors: dx")]
    _name_mistakes(
        [(only_flip, [("sign-flip", 0)]), (both, [("upstream-ignored", 0), ("sign-flip", 0)])], ("x",)
    )
    for [o] in (only_flip, both):  # the likelier prior does not outweigh a case explained
        assert o.misconception == "sign-flip" and "; or " not in o.message, o.message
        assert o.message == BY_ID["sign-flip"].said_at(0, ("x",))
