"""The sandbox writes no words for students: it reports a run's status and, for its details, a key
and plain fields, and the wire format refuses a result with a key and plain fields; the grader words
them in the course's language (autograder/grading/problems.py)."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from autograder.bpkit import i18n
from autograder.grading.problems import DETAILS, REFUSALS, UNSUPPORTED, detail_of, problem_of, refusal_of
from autograder.sandbox import protocol
from autograder.sandbox.protocol import detail
from autograder.sandbox.runner import RunResult

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = sorted((ROOT / "autograder" / "sandbox").glob("*.py"))
GRADER_SIDE = [*SANDBOX, *sorted((ROOT / "autograder" / "grading").glob("*.py"))]


def calls_to(path: Path, names: set[str]) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and (node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)) in names
    ]


def test_the_sandbox_package_has_no_catalog_and_no_message():
    for path in SANDBOX:
        tree = ast.parse(path.read_text())
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        assert not any(module.split(".")[-1] in ("words", "i18n", "gettext") for module in imported), path
        # protocol.py too: the wire format's refusals travel as keys (protocol.InvalidAnswer,
        # protocol.UNSUPPORTED), worded by the grader (problems.refusal_of).
        assert not calls_to(path, {"_", "N_", "gettext", "ngettext"}), path
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "N_"], path


def test_every_refusal_key_the_code_raises_has_its_words():
    raised = {
        call.args[0].value
        for path in GRADER_SIDE
        for call in calls_to(path, {"InvalidAnswer"})
        if call.args and isinstance(call.args[0], ast.Constant)
    }
    # every key raised and every key protocol.py declares (but "refused": a hand answer the student's
    # side refused, in forms' own words, Refused.words), and every kind of value encode could not send
    worded = set(REFUSALS) | {"refused"}
    assert len(raised) >= 20 and raised <= worded and set(protocol.REFUSALS) <= worded, raised - worded
    assert set(protocol.UNSUPPORTED) | {"type"} == set(UNSUPPORTED)


def test_a_refusal_is_worded_in_the_course_language_and_a_forged_kind_refused():
    unsendable = protocol.encode(np.array([1 + 2j]))
    assert "complex128" in unsendable["fields"]["dtype"] and "numpy" not in json.dumps(unsendable)
    with pytest.raises(protocol.InvalidAnswer) as refused:
        protocol.decode(unsendable)
    assert refusal_of(refused.value) == (
        "your result is a numpy array of dtype complex128, not a number or a plain numpy array of floats"
    )
    with i18n.speaking("ko"):
        korean = refusal_of(refused.value)
    assert "dtype이 complex128인 numpy 배열" in korean and "not a number" not in korean, korean
    for forged in (
        {"unsupported": "dtype", "fields": {"dtype": "x", "more": "y"}},  # a field its words lack
        {"unsupported": "made up", "fields": {}},
        {"unsupported": "dtype", "fields": {"dtype": 1}},
    ):
        with pytest.raises(protocol.InvalidAnswer) as refused:
            protocol.decode(forged)
        assert refusal_of(refused.value) == "no usable result came back", forged
    with pytest.raises(protocol.InvalidAnswer) as refused:
        protocol.decode({"unsupported": "x" * 500})
    assert refusal_of(refused.value).count("x") == protocol.FIELD_CHARS  # a type's name, bounded


def test_every_detail_key_the_code_sends_has_its_words():
    sent = {
        call.args[0].value
        for path in GRADER_SIDE
        for call in calls_to(path, {"detail"})
        if call.args and isinstance(call.args[0], ast.Constant)
    }
    assert len(sent) >= 15 and sent <= set(DETAILS), sent - set(DETAILS)


def test_a_detail_is_worded_in_the_course_language_and_a_forged_one_shown_as_it_came():
    timeout = RunResult("crashed", **detail("no reply", seconds=12.0))
    assert "no reply" in timeout.detail and "seconds=12.0" in timeout.detail  # the plain form, for logs
    assert problem_of(timeout) == (
        "your code crashed: the worker running your code stopped answering (no reply within 12 s)"
    )
    with i18n.speaking("ko"):
        korean = problem_of(timeout)
    assert "12초" in korean and "stopped answering" not in korean, korean
    forged = RunResult("crashed", "I am fine", words={"key": "no such key", "fields": {}})
    assert detail_of(forged) == "I am fine"
    unfitting = RunResult("crashed", "plain", words={"key": "no reply", "fields": {"seconds": [1]}})
    assert detail_of(unfitting) == "plain"  # a field that is not plain: the template cannot take it


def test_a_class_or_function_the_notebook_did_not_define_is_named_in_the_course_language():
    """The sandbox sends only the name of what is missing (protocol._not_defined); the words are the
    grader's (problems.REFUSALS), in English and in Korean, whether a gate or a function was asked."""
    from submissions import graded_in_process

    from solutions.table import GATES

    gate = GATES[0]
    assert protocol.perform_call({}, {"op": "gate", "class": gate.name, "steps": []}) == [
        {"undefined": gate.name}
    ]

    def graded(grade_id, check):
        return graded_in_process(grade_id, check, "import numpy as np").feedback(grade_id, 2)

    english = graded(gate.grade_id, "backward")
    assert f"{gate.name} is not defined (did its cell run?)" in english and "NameError" not in english, (
        english
    )
    with i18n.speaking("ko"):
        korean = graded(gate.grade_id, "backward")
        function = graded("simple_with_gates", "function")
    assert f"{gate.name}이(가) 정의되어 있지 않습니다 (그 셀을 실행했나요?)" in korean, korean
    assert "is not defined" not in korean + function, korean + function
    assert "simple_with_gates이(가) 정의되어 있지 않습니다" in function, function
    with pytest.raises(protocol.InvalidAnswer) as forged:  # a forged name is cut to a field's length
        protocol.decode({"undefined": "x" * 10_000})
    assert forged.value.fields == {"name": "x" * protocol.FIELD_CHARS}
