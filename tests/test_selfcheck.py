"""Students' self-checks, as shipped: bpkit/ assembled into a folder and imported from there."""
import importlib
import sys
import textwrap
import time

import pytest

from autograder.config import load_course
from autograder.course import REPO_ROOT, assemble_bpkit
from autograder.simulated_class import CORRECT_STYLES, MISTAKES
from solutions.table import BY_GRADE_ID, GATES


@pytest.fixture(scope="module")
def selfcheck(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    course = load_course(REPO_ROOT / "course.yaml")
    assemble_bpkit(root / "bpkit", course, course.assignments[0])
    sys.path.insert(0, str(root))
    try:
        for name in [m for m in sys.modules if m == "bpkit" or m.startswith("bpkit.")]:
            del sys.modules[name]
        yield importlib.import_module("bpkit.selfcheck")
    finally:
        sys.path.remove(str(root))


def define(code, name):
    ns = {}
    exec(textwrap.dedent(code), ns)
    return ns[name]


@pytest.mark.parametrize("spec", GATES, ids=lambda g: g.name)
def test_reference_gates_pass_their_self_check_quickly(selfcheck, capsys, spec):
    start = time.perf_counter()
    selfcheck.gate(spec.cls, seed=1)
    assert time.perf_counter() - start < 1.0
    out = capsys.readouterr().out
    assert "matches the slope of your forward" in out


@pytest.mark.parametrize("misconception", ["add-split", "mul-not-swapped", "upstream-ignored", "max-routes-both",
                                           "sigmoid-of-input", "l2-missing-2", "relu-mask-of-upstream"])
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
    assert "Not answered yet: f" in out and "dfdx is a str" in out
    selfcheck.answers(q=3.0, f=-12.0)
    assert "right form" in capsys.readouterr().out
