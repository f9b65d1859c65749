"""The sandbox writes no words for students: it reports a run's status and, for its details, a key
and plain fields; the grader words them in the course's language (autograder/grading/problems.py)."""

import ast
from pathlib import Path

from autograder.bpkit import i18n
from autograder.grading.problems import DETAILS, detail_of, problem_of
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
        # The wire format's refusals, which the grader's decode words with the gettext it is given
        # (protocol.Words), are marked in protocol.py, the file both sides load; nothing else here
        # has words for a student.
        wording = {"_", "ngettext"} | (set() if path.name == "protocol.py" else {"N_", "gettext"})
        assert not calls_to(path, wording), path


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
