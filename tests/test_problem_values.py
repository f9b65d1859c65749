"""Randomized problem values: reproducible, per student, easy by hand, and discriminating."""

import numpy as np
import pytest

from autograder.bpkit import problems
from autograder.exercises import EXERCISES


def differs(a, b, abs_tol, rel_tol, margin=1.0):
    """True when a and b differ in shape, or somewhere by more than margin * tolerance."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return True
    return bool(np.any(np.abs(a - b) > margin * (abs_tol + rel_tol * np.abs(b))))


ABS_TOL, REL_TOL = 0.005, 0.005  # course.yaml's default hand-answer tolerance
MARGIN = 5  # "clearly more than the tolerance"
N_SEEDS = 1000


def test_same_seed_same_values_and_different_seeds_differ():
    a = problems.draw(7, "c", "backprop", problems.PER_COURSE)
    b = problems.draw(7, "c", "backprop", problems.PER_COURSE)
    c = problems.draw(8, "c", "backprop", problems.PER_COURSE)
    assert repr(a.values) == repr(b.values)
    assert repr(a.values) != repr(c.values)


def test_per_student_values_differ_between_students_and_are_reproduced_from_the_id():
    alice = problems.draw(7, "c", "backprop", problems.PER_STUDENT, "alice")
    bob = problems.draw(7, "c", "backprop", problems.PER_STUDENT, "bob")
    assert repr(alice.values) != repr(bob.values)
    assert repr(problems.draw(7, "c", "backprop", problems.PER_STUDENT, " alice ").values) == repr(
        alice.values
    )
    assert "alice" in alice.describe()


def test_per_course_mode_ignores_the_student_id():
    a = problems.draw(7, "c", "backprop", problems.PER_COURSE, "alice")
    b = problems.draw(7, "c", "backprop", problems.PER_COURSE, "bob")
    assert repr(a.values) == repr(b.values) and a.student_id == ""


def test_per_student_mode_without_an_id_says_how_to_give_one():
    with pytest.raises(ValueError, match="STUDENT_ID"):
        problems.draw(7, "c", "backprop", problems.PER_STUDENT, "")


def test_environment_id_wins_over_the_notebook_cell(monkeypatch):
    monkeypatch.setenv("BPKIT_STUDENT_ID", "graded-id")
    assert problems.student_id_from_environment("typed-in-cell") == "graded-id"
    monkeypatch.delenv("BPKIT_STUDENT_ID")
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert problems.student_id_from_environment("typed-in-cell") == "typed-in-cell"


def _easy_by_hand(v):
    return float(v) == round(float(v), 1) and abs(float(v)) <= 9


def test_the_workers_warm_copy_goes_once_to_the_same_course_and_student(tmp_path, monkeypatch):
    """warm() (the sandboxed worker, before any student code) leaves one copy of the student's
    values for the first load() of each fork: the same values load() would draw, handed out once
    (a second load gets its own copy), and never to another course's or student's load()."""
    import json

    course = tmp_path / "course.json"
    course.write_text(
        json.dumps(
            {"seed": 7, "course_id": "c", "assignment": "backprop", "randomization": problems.PER_STUDENT}
        )
    )
    monkeypatch.setenv("BPKIT_STUDENT_ID", "alice")
    alice = problems.draw(7, "c", "backprop", problems.PER_STUDENT, "alice")
    problems.warm(course_file=course)
    first = problems.load(course_file=course)
    assert repr(first.values) == repr(alice.values)
    first.values.clear()  # student code may change what it was given
    assert repr(problems.load(course_file=course).values) == repr(alice.values)  # a copy of its own

    problems.warm(course_file=course)
    monkeypatch.setenv("BPKIT_STUDENT_ID", "bob")  # another student: not alice's copy
    assert repr(problems.load(course_file=course).values) == repr(
        problems.draw(7, "c", "backprop", problems.PER_STUDENT, "bob").values
    )
    monkeypatch.setenv("BPKIT_STUDENT_ID", "alice")
    problems.warm(course_file=course)
    course.write_text(
        json.dumps(
            {"seed": 8, "course_id": "c", "assignment": "backprop", "randomization": problems.PER_STUDENT}
        )
    )  # the course changed since
    assert repr(problems.load(course_file=course).values) == repr(
        problems.draw(8, "c", "backprop", problems.PER_STUDENT, "alice").values
    )


@pytest.mark.parametrize("seed", range(200))
def test_values_are_easy_to_work_by_hand(seed):
    p = problems.draw(seed, "c", "backprop", problems.PER_STUDENT, f"s{seed}")
    flat = [
        v for values in p.values.values() for value in values.values() for v in np.ravel(value)
    ]  # every problem's
    assert {e.problem for e in EXERCISES} <= set(p.values) and len(flat) >= len(p.values)
    assert all(_easy_by_hand(v) for v in flat)
    assert p.l2["W"].shape[0] != p.l2["W"].shape[1]  # non-square: a wrong transpose cannot fit


@pytest.mark.slow  # some 14 s of CPU: every drawn variant of every exercise
def test_every_misconception_is_discriminated_for_every_drawn_variant():
    """Over 1,000 students, each catalogued mistake gives some answer of each exercise it can
    affect that is off by more than MARGIN times the grading tolerance."""
    failures, listed = [], {}
    for seed in range(N_SEEDS):
        p = problems.draw(20261123, "cs231n", "backprop", problems.PER_STUDENT, f"student-{seed}")
        for exercise in EXERCISES:
            values = p.values[exercise.problem]
            correct = exercise.correct(values)
            for mid, variants in exercise.mistaken(values).items():
                listed[exercise.id, mid] = listed.get((exercise.id, mid), 0) + 1
                for k, wrong in enumerate(variants):
                    if not any(differs(wrong[n], correct[n], ABS_TOL, REL_TOL, MARGIN) for n in correct):
                        failures.append((seed, exercise.id, mid, k, values))
    assert not failures, f"{len(failures)} undiscriminated variants, first: {failures[:3]}"
    # A mistake too close to the right answers for some student is not named for them; the draws
    # must keep that rare, or the mistake goes unnamed for whole classes.
    rare = {key: n for key, n in listed.items() if n < 0.99 * N_SEEDS}
    assert not rare, f"mistakes named for fewer than 99% of students: {rare}"


@pytest.mark.slow  # some 3.6 s of CPU: every drawn variant (the fast lane keeps tests under 2 s: docs/testing.md)
def test_sigmoid_inputs_are_not_saturated():
    for seed in range(N_SEEDS):
        n = problems.draw(seed, "c", "backprop", problems.PER_STUDENT, "x").neuron
        s = n["w"][0] * n["x"][0] + n["w"][1] * n["x"][1] + n["w"][2]
        assert 0.5 - 1e-9 <= abs(s) <= 1.5 + 1e-9
