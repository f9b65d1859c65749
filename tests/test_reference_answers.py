"""The instructor's source notebook answers each hand exercise exactly: its generated reference cell
(autograder/notebooks.py) evaluates the student's graph with the exact local gradients of the
operation table's rows, so the answers equal the reference engine's (solutions/lecture.py) to the
last bit, on the lecture's graph and on every family's graphs drawn per student. Centered
differences, which a release's bpkit falls back on, are some 1e-9 off (5.00000000139778 for 5.0)."""

import sys

import numpy as np
import pytest

from autograder import bpkit, notebooks
from autograder.bpkit import acceptance, problems
from autograder.exercises import BY_ID as GRAPH_EXERCISES
from solutions import graphs as described

STUDENTS = ("s001", "kim.minji", "ab1234", "student-77")


def reference_answers(exercise, mode, drawn, monkeypatch):
    """The answers the generated reference cell sets, run as the source notebook runs it."""
    source = notebooks.CELL_WRITERS[("solution", False)](exercise, None, mode)
    # The cell imports the package shipped beside the notebook as `bpkit`: here, the kit's own.
    monkeypatch.setitem(sys.modules, "bpkit", bpkit)
    monkeypatch.setitem(sys.modules, "bpkit.acceptance", acceptance)
    namespace = {"P": drawn, "np": np}
    exec(compile(source, f"<reference cell of {exercise.id}>", "exec"), namespace)
    return {name: namespace[name] for name in exercise.shape(mode).answers}


@pytest.mark.parametrize("mode", [described.LECTURE, described.PER_STUDENT])
@pytest.mark.parametrize("exercise_id", sorted(GRAPH_EXERCISES))
def test_the_reference_cell_gives_the_engines_answers_to_the_last_bit(exercise_id, mode, monkeypatch):
    exercise = GRAPH_EXERCISES[exercise_id]
    for student in STUDENTS:
        drawn = problems.draw(
            4242, "cs231n-backprop", "backprop", problems.PER_STUDENT, student, graph_mode=mode
        )
        graph = drawn.graphs[exercise.problem]
        got = reference_answers(exercise, mode, drawn, monkeypatch)
        right = exercise.correct(drawn.values[exercise.problem], graph, mode)
        assert sorted(got) == sorted(right)
        for name, value in right.items():
            assert np.shape(got[name]) == np.shape(value) and np.array_equal(got[name], value), (
                f"{exercise_id} ({mode}, student {student!r}): the reference {name} is {got[name]!r}, "
                f"the engine's {value!r}"
            )


def test_without_the_rows_local_gradients_the_evaluator_is_only_close():
    """What the exact local gradients change: centered differences miss the engine's numbers."""
    exercise = GRAPH_EXERCISES["simple_by_hand"]
    drawn = problems.draw(4242, "cs231n-backprop", "backprop", problems.PER_COURSE)
    numeric = acceptance.Evaluation(exercise.shape().graphs[0], drawn.inputs(exercise.problem)).backward()
    right = exercise.correct(drawn.values[exercise.problem])
    assert any(
        numeric[node] != right[name] for name, (kind, node) in exercise.answers.items() if kind == "grad"
    )
