"""One rule of an answer's form (bpkit/forms.py), on the student's side and the grader's alike.

Each form of a hand answer a student may write goes through the three places that judge it:
the self-check (selfcheck.answers), Validate (validate.answers, the visible line of the graded
cell) and the grader (the real `answers` check, the hand-answer cell run by the sandboxed worker,
its reply decoded strictly). All three accept it, or all three refuse it in the same words.
Accepted means the form counts as numbers: the answer is then graded on its value (a bool is
0 or 1, so True where 2 is right is accepted and marked "not right")."""

import contextlib
import importlib
import io
import re
import sys

import nbformat
import numpy as np
import pytest
from shipped import _forget_bpkit

from autograder.bpkit import forms, i18n
from autograder.config import load_course
from autograder.course import REPO_ROOT, assemble_bpkit
from autograder.exercises import BY_ID
from autograder.grading.cells import Submission
from autograder.grading.context import make_context
from autograder.grading.registry import run_check
from autograder.grading.sandboxed import sandboxed_subject
from autograder.notebooks import answer_shapes_by_exercise
from autograder.sandbox.bwrap import sandbox_available
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner
from autograder.words import _ as grader_words

ACCEPTED = "accepted"

# (label, exercise, the answer it replaces, its form: an expression of the correct value v,
#  what all three must say: ACCEPTED or the start of the refusal's words)
NUMBER = "simple_by_hand"  # numbers: f = -10 and dfdq = 2 for these draws (integers, so int forms are right)
ARRAYS = "l2_by_hand"  # q and dfdx are vectors, dfdW a 2 x 3 matrix
FORMS = [
    ("int", NUMBER, "f", "int(v)", ACCEPTED),
    ("bool", NUMBER, "dfdx", "True", ACCEPTED),
    ("np.bool_", NUMBER, "dfdy", "np.bool_(True)", ACCEPTED),
    ("Fraction", NUMBER, "q", "Fraction(int(v))", ACCEPTED),
    ("Decimal", NUMBER, "dfdz", "Decimal(str(v))", ACCEPTED),
    *[  # unsigned ones on answers that are positive (2)
        (f"np.{dtype}", NUMBER, ("dfdq", "dfdx", "dfdy")[i % 3], f"np.{dtype}(v)", ACCEPTED)
        for i, dtype in enumerate(
            (
                "float16",
                "float32",
                "float64",
                "longdouble",
                "int8",
                "int16",
                "int32",
                "int64",
                "uint8",
                "uint16",
                "uint32",
                "uint64",
            )
        )
    ],
    ("0-d array", NUMBER, "f", "np.array(v)", ACCEPTED),
    ("one-element array", NUMBER, "q", "np.array([v])", ACCEPTED),
    ("one-element matrix", NUMBER, "dfdz", "np.array([[v]])", ACCEPTED),
    ("vector as a list", ARRAYS, "q", "v.tolist()", ACCEPTED),
    ("vector as a tuple", ARRAYS, "dfdx", "tuple(v.tolist())", ACCEPTED),
    ("vector of Fractions", ARRAYS, "dfdq", "[Fraction(x) for x in v.tolist()]", ACCEPTED),
    ("vector of Decimals", ARRAYS, "q", "[Decimal(str(x)) for x in v.tolist()]", ACCEPTED),
    ("float32 vector", ARRAYS, "q", "v.astype(np.float32)", ACCEPTED),
    ("matrix as nested lists", ARRAYS, "dfdW", "v.tolist()", ACCEPTED),
    ("matrix as nested tuples", ARRAYS, "dfdW", "tuple(map(tuple, v.tolist()))", ACCEPTED),
    ("np.matrix", ARRAYS, "dfdW", "np.matrix(v)", ACCEPTED),
    ("a string", NUMBER, "f", "str(v)", "f is text ('-10.0'), not a number"),
    ("a complex number", NUMBER, "dfdz", "complex(v)", "dfdz is a complex number ((-5+0j))"),
    ("a numpy complex", NUMBER, "dfdq", "np.complex128(v)", "dfdq is a complex number"),
    ("a complex matrix", ARRAYS, "dfdW", "v + 0j", "dfdW is a complex number ((-0.36+0j))"),
    (
        "a vector where a number is asked",
        NUMBER,
        "f",
        "[v, v]",
        "f should be a single number, not shape (2,)",
    ),
    ("a transposed matrix", ARRAYS, "dfdW", "v.T", "dfdW has shape (3, 2); it should have shape (2, 3)."),
    ("rows of different lengths", ARRAYS, "dfdW", "[v.tolist()[0], v.tolist()[1][:2]]", "dfdW has rows of"),
    ("None", ARRAYS, "dfdx", "None", "Not answered yet: dfdx (replace each ..."),
]


def literal(value):
    """Python source for a correct value: a float, or an np.array of floats."""
    if np.ndim(value) == 0:
        return repr(float(value))
    return f"np.array({np.asarray(value, dtype=float).tolist()!r})"


def answer_cell(correct, changed):
    """The hand-answer cell: every answer right but those of `changed`, {name: form}."""
    lines = ["import numpy as np", "from decimal import Decimal", "from fractions import Fraction"]
    lines += [f"{n} = {literal(v)}" for n, v in correct.items()]
    for name, form in changed.items():
        lines += [f"v = {name}", f"{name} = {form}", "del v"]
    return "\n".join(lines)


def runs(rows):
    """The rows packed into as few gradings as can hold them: rows of one exercise, each on an
    answer of its own (each answer is its own case for the grader, its own line for the others)."""
    packed = []
    for row in rows:
        label, exercise, name = row[:3]
        run = next((r for r in packed if r[0][1] == exercise and name not in {x[2] for x in r}), None)
        if run is None:
            packed.append([row])
        else:
            run.append(row)
    return packed


def context(exercise):
    return make_context(
        exercise,
        "answers",
        seed=5,
        course_id="c",
        assignment="backprop",
        randomization="per-course",
        student_id="",
    )


def correct_answers(exercise):
    e, ctx = BY_ID[exercise], context(exercise)
    return e.correct(ctx.problem_values[e.problem], ctx.problem_graphs[e.problem], "lecture")


def said_of(lines, name):
    """The line about `name` among a check's lines, stripped, or ACCEPTED when there is none."""
    not_answered = i18n.STUDENT_WORDS.gettext(forms.REASONS["unanswered"]).split("{name}")[0]
    about = [
        line.strip()
        for line in lines
        if re.match(rf"{name}(?![A-Za-z0-9_])", line.strip())  # Korean particles follow the name
        or (line.strip().startswith(not_answered) and re.search(rf"\b{name}\b", line))
    ]
    assert len(about) <= 1, lines
    return about[0] if about else ACCEPTED


@contextlib.contextmanager
def released(course, folder):
    """bpkit as a release of `course` ships it, imported from `folder` (its course.json: its
    language, its tolerances); forgotten afterwards, so other tests see no stale bpkit."""
    assemble_bpkit(folder / "bpkit", course, course.assignments[0])
    sys.path.insert(0, str(folder))
    try:
        _forget_bpkit()
        yield importlib.import_module("bpkit.selfcheck"), importlib.import_module("bpkit.validate")
    finally:
        sys.path.remove(str(folder))
        _forget_bpkit()


@pytest.fixture(scope="module", params=["en", "ko"])
def student_side(request, tmp_path_factory):
    """The self-check and Validate of a release of a course in that language."""
    course = load_course(REPO_ROOT / "course.yaml").model_copy(update={"language": request.param})
    with released(course, tmp_path_factory.mktemp(f"release-{request.param}")) as (selfcheck, validate):
        yield request.param, selfcheck, validate


def self_check_says(selfcheck, namespace, exercise):
    """The self-check's lines about answers (none when it says they have the right form: one line)."""
    shapes = answer_shapes_by_exercise()[exercise]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        selfcheck.answers(namespace, *shapes, shapes=shapes)
    return out.getvalue().splitlines()[1:]


def validate_says(validate, namespace, exercise):
    validate._FOUND.clear()
    with contextlib.redirect_stdout(io.StringIO()):
        validate.answers(exercise, namespace, answer_shapes_by_exercise()[exercise], title=exercise)
    found = validate._FOUND[exercise]
    return [] if found is None else found.problems


def grader_says(result, name):
    """(ACCEPTED or the grader's words, whether the answer earned its points)."""
    outcome = next(o for o in result.outcomes if o.name == name)
    if outcome.passed or outcome.message.startswith(grader_words("not right")):
        return ACCEPTED, outcome.passed
    return outcome.message, False


@pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")
def test_the_self_check_validate_and_the_grader_agree_on_every_form_of_an_answer(student_side):
    language, selfcheck, validate = student_side
    correct = {exercise: correct_answers(exercise) for exercise in (NUMBER, ARRAYS)}
    assert correct[NUMBER]["f"] == -10 and correct[NUMBER]["dfdq"] == 2  # what the int forms rely on
    # In Korean, the forms the student's side refuses (their English is checked in English).
    rows = FORMS if language == "en" else [row for row in FORMS if row[4] != ACCEPTED]
    said, graded = {}, {}  # label -> (self-check, Validate), (grader's words, points earned)
    packed = runs(rows)
    assert len(packed) <= 12  # many forms per grading: the test stays in the fast lane
    with StudentRunner(Limits(wall_seconds=30), require_sandbox=True) as runner, i18n.speaking(language):
        for run in packed:
            exercise = run[0][1]
            source = answer_cell(correct[exercise], {name: form for _, _, name, form, _ in run})
            namespace = {}
            exec(source, namespace)  # the student's kernel, for the self-check and Validate
            own = self_check_says(selfcheck, namespace, exercise)
            valid = validate_says(validate, namespace, exercise)
            notebook = nbformat.v4.new_notebook(
                cells=[
                    nbformat.v4.new_code_cell(
                        source, metadata={"nbgrader": {"grade_id": exercise, "solution": True}}
                    )
                ]
            )
            result = run_check(
                exercise, "answers", sandboxed_subject(runner, Submission(notebook)), context(exercise)
            )
            for label, _, name, _, _ in run:
                said[label] = (said_of(own, name), said_of(valid, name))
                graded[label] = grader_says(result, name)
    disagree = []
    for label, _, name, _form, expected in rows:
        own, valid = said[label]
        (words, points), plain = graded[label], expected == ACCEPTED
        agree = own == valid and (words == own if own == ACCEPTED else words.startswith(own))
        if language == "en":
            agree = agree and own.startswith(expected)
        else:  # the student's catalog's words (Korean keeps terms such as shape in English)
            agree = agree and name in own and bool(re.search("[\uac00-\ud7a3]", own))
        # An accepted form of the right value earns the answer's points (bool: 1 where 2 is right).
        agree = agree and points == (plain and label not in ("bool", "np.bool_"))
        if not agree:
            disagree.append((label, own, valid, words, points))
    assert not disagree, "\n".join(map(repr, disagree))


def test_the_rule_of_form_alone():
    """forms.answer without the sandbox: the conversions and refusals the agreement test relies on."""
    assert forms.answer(np.matrix([[1, 2], [3, 4]]), (2, 2)).__class__ is np.ndarray
    assert forms.answer([np.float32(1.5), np.int8(2)], (2,)).tolist() == [1.5, 2.0]
    assert forms.answer(np.array([[True]])) == 1.0
    assert forms.answer(np.array([1, 2], dtype=object), (2,)).tolist() == [1.0, 2.0]
    for value, reason in [
        (b"1", "text"),
        (np.array(["1"]), "text"),
        (1j, "complex"),
        ({}, "type"),
        ([[1.0], [1.0, 2.0]], "ragged"),
        (10**400, "overflow"),
        (float("inf"), "nonfinite"),
        ([[[[[[[[[[1.0]]]]]]]]]], "large"),
    ]:
        with pytest.raises(forms.Refused) as refused:
            forms.answer(value)
        assert refused.value.reason == reason, value


def test_the_self_check_compares_hand_answers_with_the_courses_hand_tolerance(tmp_path):
    """course.yaml's hand tolerance reaches the released self-check through course.json: a hand
    answer 0.03 from what the student's function returns agrees by a tolerance of 0.05, not by
    the default 0.005 (the grader's own comparison, forms.hand_close, with course.yaml's)."""
    course = load_course(REPO_ROOT / "course.yaml")
    assert (course.tolerances.hand_answer_abs, course.tolerances.hand_answer_rel) == (
        forms.HAND_ANSWER_ABS,
        forms.HAND_ANSWER_REL,
    )
    loose = course.model_copy(
        update={"tolerances": course.tolerances.model_copy(update={"hand_answer_abs": 0.05})}
    )
    for given, agrees in ((course, False), (loose, True)):
        with released(given, tmp_path / str(agrees)) as (selfcheck, _):
            assert selfcheck.forms.hand_tolerance()[0] == given.tolerances.hand_answer_abs
            assert selfcheck._close(1.03, 1.0) is agrees
            assert selfcheck._close([1.03, 2.0], np.array([1.0, 2.0])) is agrees


# ---------------------------------------------------------------- a gate's results (forms.gate_value)

# (label, the gate's cell, its class, what all three say: ACCEPTED or the name its refusal starts with)
GATE_FORMS = [
    (
        "gradients in a list",
        "add_gate",
        "class AddGate:\n"
        "    def forward(self, x, y):\n        return x + y\n"
        "    def backward(self, dout):\n        return [dout, dout]\n",
        ACCEPTED,
    ),
    (
        "forward returns a list",
        "mul_gate",
        "import numpy as np\nclass MulGate:\n"
        "    def forward(self, x, y):\n        self.x, self.y = x, y\n        return np.asarray(x * y).tolist()\n"
        "    def backward(self, dout):\n        return dout * self.y, dout * self.x\n",
        "forward(...)",
    ),
    (
        "a gradient as nested lists",
        "matmul_gate",
        "import numpy as np\nclass MatMulGate:\n"
        "    def forward(self, W, x):\n        self.W, self.x = W, x\n        return W @ x\n"
        "    def backward(self, dout):\n"
        "        dW = np.outer(dout, self.x) if np.ndim(self.x) == 1 else dout @ self.x.T\n"
        "        return dW.tolist(), self.W.T @ dout\n",
        "dW",
    ),
]


@pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")
def test_the_self_check_validate_and_the_grader_agree_on_a_gates_results(student_side):
    """A list where a gate returns numbers: the same words from all three (forms' own), or none."""
    language, selfcheck, validate = student_side
    disagree = []
    with StudentRunner(Limits(wall_seconds=30), require_sandbox=True) as runner, i18n.speaking(language):
        for label, grade_id, source, expected in GATE_FORMS:
            namespace = {}
            exec(source, namespace)  # the student's kernel
            cls = next(v for v in namespace.values() if isinstance(v, type))
            own = [line.strip() for f in selfcheck.gate_findings(cls, seed=1) for line in f.text()]
            validate._FOUND.clear()
            with contextlib.redirect_stdout(io.StringIO()):
                validate.gate(grade_id, "backward", namespace)
            found = next(iter(validate._FOUND.values()))
            valid = [] if found is None else found.problems
            notebook = nbformat.v4.new_notebook(
                cells=[
                    nbformat.v4.new_code_cell(
                        source, metadata={"nbgrader": {"grade_id": grade_id, "solution": True}}
                    )
                ]
            )
            graded = [
                run_check(
                    grade_id,
                    check,
                    sandboxed_subject(runner, Submission(notebook)),
                    make_context(
                        grade_id,
                        check,
                        seed=5,
                        course_id="c",
                        assignment="a",
                        randomization="per-course",
                        student_id="",
                    ),
                )
                for check in ("forward", "backward")
            ]
            words = [o.message for r in graded for o in r.outcomes if not o.passed]
            if expected == ACCEPTED:
                agree = not own and not valid and all(r.fraction == 1 for r in graded)
            else:
                refusal = forms.Refused("returned a sequence").words(i18n.STUDENT_WORDS.gettext, expected)
                agree = (
                    any(line.startswith(refusal) for line in own)
                    and any(line.startswith(refusal) for line in valid)
                    and any(refusal in w for w in words)  # "your forward gave an unusable result: ..." too
                )
            if not agree:
                disagree.append((label, own, valid, words))
    assert not disagree, "\n".join(map(repr, disagree))
