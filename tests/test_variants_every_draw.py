"""Over 10,000 student ids, every accepted draw of every generated variant keeps every applicable
mistake visible (issue 35, item 5): two families generated from authors' graphs with the new
operations (tanh; subtraction), each variant drawn as a course draws it (bpkit/problems.py, accepted by
bpkit/acceptance.py), then judged by the reference engine with the mistaken gates the grader names
mistakes with (exercises.mistaken, as tests/test_draws_10000.py does), not by the evaluator
that accepted the draw."""

from collections import Counter

import pytest
from test_draws_10000 import applicable

from autograder.bpkit import problems
from autograder.exercises import GraphExercise
from solutions import graphs as described
from solutions.graphs import GraphDescription, Values, family, rule

pytestmark = (
    pytest.mark.slow
)  # some 60 CPU s: 10,000 draws (two thirds of it), each mistake run by the engine

STUDENTS = 10_000
INPUTS = ("w", "x", "y", "z")


def _exercise(name, gates, vary, keep, lo_hi):
    """A hand exercise on the family generated from `gates` (as a course.yaml exercise with
    per_student: true is), asking every node's value and every gradient."""
    nodes = tuple(n for n, _, _ in gates)
    return GraphExercise(
        described.Exercise(
            f"{name}_by_hand",
            name,
            "simple",  # the lecture's graph: unused with graphs: per-student
            Values("integers", {"lo": -lo_hi, "hi": lo_hi}, tuple((n, n) for n in INPUTS)),
            {},
            family=family(name, GraphDescription("", INPUTS, gates), keep, vary),
            answers_per_student={
                **{n: ("value", n) for n in nodes},
                **{f"dfd{n}": ("grad", n) for n in nodes[:-1] + INPUTS},
            },
        )
    )


# Authors' graphs with the new operations, generated as a course.yaml exercise is: tanh of a sum
# or a max times the other pair's max or sum (+ and max swap; p and q are not symmetric: 12
# variants), and a difference times a product (- and · swap; a - b is not b - a: 12 variants).
TANH = _exercise(
    "tanh_family",
    (("p", "+", ("w", "x")), ("q", "max", ("y", "z")), ("t", "tanh", ("p",)), ("f", "*", ("t", "q"))),
    described.DEFAULT_VARY,
    (rule("at least", "∂q", 0.5),),
    3,
)
SUBTRACT = _exercise(
    "sub_family",
    (("p", "-", ("w", "x")), ("q", "*", ("y", "z")), ("f", "*", ("p", "q"))),
    (("-", "*"),),
    (rule("at least", "∂p", 2), rule("at least", "∂q", 2)),
    5,
)
# The kit's own families (simple, branch) are drawn 10,000 times each and judged the same way in
# tests/test_draws_10000.py (graphs: per-student).
CASES = (TANH, SUBTRACT)


def test_the_authors_families_are_generated_with_twelve_variants_each():
    assert [len(e.description.family.graphs) for e in CASES] == [12, 12]


def test_every_accepted_draw_of_every_variant_shows_every_mistake():
    hidden, drawn, judged = Counter(), Counter(), {}
    for i in range(STUDENTS):
        exercise = CASES[i % len(CASES)]
        shape = exercise.shape(described.PER_STUDENT)
        graph, values = problems.draw_exercise(shape, 13, "c", "a", f"s{i}", exercise.problem)
        drawn[exercise.id, graph] += 1
        key = (exercise.id, graph, tuple(values.items()))  # small integers: draws repeat, judged once
        if key not in judged:
            judged[key] = set(exercise.mistaken(values, graph, described.PER_STUDENT))
        shown = judged[key]
        for mid in applicable(graph) - set(shown) - {"batch-not-summed"}:  # no batch by hand
            hidden[exercise.id, graph.title, mid] += 1
    assert not hidden, hidden.most_common(10)
    for exercise in CASES:  # every variant of every family was drawn, and checked
        variants = exercise.shape(described.PER_STUDENT).graphs
        assert all(drawn[exercise.id, g] > 0 for g in variants), exercise.id
