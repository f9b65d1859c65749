"""No misnaming on unlucky draws (issue 33, item 2): 10,000 drawn students, spread over every hand
exercise in both graph modes, each making every catalogued mistake the student's graph can show
(at one node, in each of its ways; one branch kept alone), typing the answers it gives to three
decimals. The grader's naming (exercises.explaining, what checks.py's hand-answer judge calls,
pure Python and numpy: no kernel) must name the mistake made, or a list that contains it; never
another mistake alone. Where the draws keep every two mistakes apart (the acceptance rule of
graphs drawn per student and of new exercises), the mistake made is named alone."""

from collections import Counter

import numpy as np
import pytest

from autograder.bpkit import forms, problems
from autograder.exercises import BY_ID as HAND_EXERCISES
from autograder.exercises import explaining
from solutions import graphs as described

pytestmark = (
    pytest.mark.slow
)  # some 3 CPU minutes: every mistake of every draw, run by the reference engine and named

STUDENTS = 10_000
CASES = [
    (e.id, mode)
    for e in described.EXERCISES
    for mode in described.GRAPH_MODES
    if mode == described.LECTURE or e.family is not None
]


def same(a, b):
    """course.yaml's default hand tolerance, as the grader's judge compares (forms.hand_close),
    with a fast way for plain numbers: the test asks it some 40 million times."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= forms.HAND_ANSWER_ABS + forms.HAND_ANSWER_REL * abs(b)
    return forms.hand_close(a, b)


def named_for(exercise, values, graph, mode):
    """[(the mistake made, [what is named for each wrong answer])] for every mistake this draw shows."""
    at_nodes = exercise.mistaken_at_nodes(values, graph, mode)
    right = exercise.correct(values, graph, mode)
    out = []
    for made in at_nodes:
        typed = {k: np.round(v, 3) if np.ndim(v) else round(float(v), 3) for k, v in made.made.items()}
        wrong = [k for k, v in typed.items() if not same(v, right[k])]
        out.append((made, list(explaining(wrong, typed, at_nodes, same).values())))
    return out


def test_the_mistake_made_is_named_or_among_those_named_never_another_alone():
    misnamed, alone, listed = [], Counter(), Counter()
    apart_but_listed = []
    for i in range(STUDENTS):
        exercise_id, mode = CASES[i % len(CASES)]
        e = described.BY_ID[exercise_id]
        shape = described.shape(e, mode)
        graph, values = problems.draw_exercise(shape, 11, "c", "a", f"s{i}", e.problem)
        for made, namings in named_for(HAND_EXERCISES[exercise_id], values, graph, mode):
            key = (made.misconception, made.nodes)
            for named in namings:
                keys = [(m.misconception, m.nodes) for m in named]
                if key not in keys:
                    misnamed.append((exercise_id, mode, f"s{i}", key, keys))
                elif len(keys) == 1:
                    alone[exercise_id, mode] += 1
                else:
                    listed[exercise_id, mode] += 1
                    if shape.discriminate and made.way == 0:
                        apart_but_listed.append((exercise_id, mode, f"s{i}", key, keys))
    print("named alone:", dict(alone), "\nnamed among others:", dict(listed))
    assert not misnamed, misnamed[:10]
    # The draws keep every two mistakes apart where the rule applies (a sign flipped on one input
    # only, way 1 and 2, is not among those kept apart: it cannot show where that input's
    # gradient is 0).
    assert not apart_but_listed, apart_but_listed[:10]
