"""The seams are typed: each class that stands on one side of a Protocol has every member
the Protocol declares, with the same parameters, so an editor (and a reader) can follow a
call from the coordinator or a check to whichever implementation runs it."""

import inspect
from typing import Protocol

import pytest

from autograder.batch.cluster import DaskGraders
from autograder.batch.graders import Graders
from autograder.batch.run import LocalGraders
from autograder.exercises import FUNCTIONS, HAND_ANSWERS, FunctionExercise, HandAnswers
from autograder.grading.inprocess import InProcessSubject
from autograder.grading.sandboxed import RunAgainWhenBusy, Runs, SandboxRuns, ShareRuns, SkipAfterTimeout
from autograder.grading.subject import Subject


def members(protocol: type) -> dict[str, inspect.Signature | None]:
    """{name: signature (None for a data attribute)} that `protocol` declares. A property is a
    data attribute too: a read-only one (HandAnswers' id, problem and answers)."""
    declared = {name: None for name in getattr(protocol, "__annotations__", {})}
    for name, value in vars(protocol).items():
        if isinstance(value, property):
            declared[name] = None
        elif callable(value) and not name.startswith("_"):
            declared[name] = inspect.signature(value)
    return declared


def has_attribute(cls: type, name: str) -> bool:
    """Does `cls` declare `name` (a field, a class attribute) or set it on self (read from its source)?"""
    import re

    return (
        name in getattr(cls, "__annotations__", {})
        or hasattr(cls, name)
        or re.search(
            rf"self\.{name}\s*=|self\.{name}\s*,[^=\n]*=|,\s*self\.{name}\s*=", inspect.getsource(cls)
        )
        is not None
    )


def missing(protocol: type, cls: type) -> list[str]:
    """What `cls` lacks of `protocol`: a member, or a method whose parameters do not begin
    with the protocol's (more parameters, with defaults, are allowed)."""
    problems = []
    for name, signature in members(protocol).items():
        if signature is None:
            if not has_attribute(cls, name):
                problems.append(f"{cls.__name__} has no attribute {name!r}")
        elif not callable(getattr(cls, name, None)):
            problems.append(f"{cls.__name__} has no method {name!r}")
        else:
            own = inspect.signature(getattr(cls, name))
            wanted, have = list(signature.parameters), list(own.parameters)
            extra = list(own.parameters.values())[len(wanted) :]
            if have[: len(wanted)] != wanted or any(
                p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in extra
            ):
                problems.append(f"{cls.__name__}.{name}{own} is not {protocol.__name__}.{name}{signature}")
    return problems


@pytest.mark.parametrize(
    "protocol, cls",
    [
        (Graders, LocalGraders),
        (Graders, DaskGraders),
        (Subject, ShareRuns),
        (Runs, SandboxRuns),
        (Runs, ShareRuns),
        (Runs, SkipAfterTimeout),
        (Runs, RunAgainWhenBusy),
        (Subject, InProcessSubject),
    ],
    ids=lambda x: x.__name__,
)
def test_each_implementation_has_what_its_protocol_declares(protocol, cls):
    assert issubclass(protocol, Protocol)
    assert not missing(protocol, cls)


def test_every_hand_answers_exercise_and_function_has_what_its_kind_declares():
    for exercise in HAND_ANSWERS.values():
        assert not missing(HandAnswers, type(exercise)), exercise.id
    for exercise in FUNCTIONS:
        assert isinstance(exercise, FunctionExercise)


def test_a_read_only_member_is_declared_and_required():
    assert {"id", "problem", "answers", "correct", "mistaken"} <= set(members(HandAnswers))

    class NoProblem:
        id, answers = "x", {}

        def correct(self, values, graph=None, mode="lecture"):
            return {}

        def mistaken(self, values, graph=None, mode="lecture"):
            return {}

    assert missing(HandAnswers, NoProblem) == ["NoProblem has no attribute 'problem'"]


def test_a_missing_member_or_another_signature_is_named():
    class Half:
        def __init__(self):
            self.window = 2

        def submit(self, job, extra):
            pass

    found = missing(Graders, Half)
    assert "Half has no method 'wait'" in found and any(
        p.startswith("Half.submit(self, job, extra)") for p in found
    )
    assert not any("'window'" in p for p in found)
