"""Per-student variants generated from one graph (solutions/variants.py): the kit's own families
are its output, graph for graph and draw for draw as when they were chosen by hand; what a
variant keeps and what it may change; the structural checks; a family under 4 refused."""

from collections import Counter
from pathlib import Path

import pytest

from autograder.bpkit import problems
from solutions import graphs as described
from solutions.graphs import GraphDescription, Shape, rule
from solutions.variants import FamilyRefused, commutative, generate, passes_unit, routes, variants


def _graph(inputs, gates):
    g = GraphDescription("", tuple(inputs), tuple(gates))
    return g._replace(title=f"f({', '.join(inputs)}) = {g.formula()}")


# ---------------------------------------------------------------- today's families, by hand
# Copied from solutions/graphs.py as they were chosen by hand (before the generator): the
# reference the generated families must reproduce.


def _hand_simple_family():
    inputs = ("w", "x", "y", "z")
    graphs = []
    for partner in ("x", "y", "z"):
        pair = ("w", partner)
        other = tuple(n for n in inputs if n not in pair)
        for p_op, q_op in (("+", "max"), ("max", "+")):
            graphs.append(_graph(inputs, (("p", p_op, pair), ("q", q_op, other), ("f", "*", ("p", "q")))))
    return tuple(graphs)


def _hand_branch_family():
    inputs = ("x", "y", "z")
    graphs = []
    for b in inputs:
        u, v = (n for n in inputs if n != b)
        for p_op, q_op in (("+", "max"), ("max", "+")):
            graphs.append(_graph(inputs, (("p", p_op, (b, u)), ("q", q_op, (b, v)), ("f", "*", ("p", "q")))))
    return tuple(graphs)


_SIZES = (rule("at least", "∂p", 2), rule("at least", "∂q", 2), rule("apart in size", "p", "q", 1))
HAND = {
    "simple_by_hand": described.Family("simple", _hand_simple_family(), _SIZES),
    "branch_by_hand": described.Family(
        "branch", _hand_branch_family(), (rule("wins", "p"), rule("wins", "q"), *_SIZES)
    ),
}


@pytest.mark.parametrize("exercise_id", sorted(HAND))
def test_the_kit_families_are_the_generators_output_as_chosen_by_hand(exercise_id):
    assert described.BY_ID[exercise_id].family == HAND[exercise_id]


def _same_draws(exercise_id, students):
    e = described.BY_ID[exercise_id]
    generated = described.shape(e, described.PER_STUDENT)
    by_hand = Shape(e, HAND[exercise_id].graphs, generated.values, generated.answers, HAND[exercise_id].keep)
    for i in students:
        key = (20261207, "cs231n", "backprop", f"student{i}", e.problem)
        assert problems.draw_exercise(generated, *key) == problems.draw_exercise(by_hand, *key), i


@pytest.mark.parametrize("exercise_id", sorted(HAND))
def test_students_keep_their_graph_and_numbers(exercise_id):
    _same_draws(exercise_id, range(40))


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id", sorted(HAND))
def test_five_hundred_students_keep_their_graph_and_numbers(exercise_id):
    """About 7 CPU s for both: the ids after the fast lane's 40."""
    _same_draws(exercise_id, range(40, 500))


# ---------------------------------------------------------------- what a variant keeps


def _profile(g):
    return (Counter(op for _, op, _ in g.gates), g.depth(), len(g.branching()))


@pytest.mark.parametrize("exercise_id", sorted(HAND))
def test_every_variant_keeps_inputs_nodes_operations_depth_and_branches(exercise_id):
    family = described.BY_ID[exercise_id].family.graphs
    first = family[0]
    for g in family:
        assert g.inputs == first.inputs and [n for n, _, _ in g.gates] == [n for n, _, _ in first.gates]
        assert _profile(g) == _profile(first)
    assert len(set(family)) == len(family)


def test_the_rows_are_probed_not_named():
    assert commutative("+") and commutative("max") and commutative("*") and not commutative("W·x")
    assert passes_unit("+", 0) and passes_unit("max", 1) and passes_unit("*-1", 0)
    assert not passes_unit("*", 0) and not passes_unit("σ", 0) and not passes_unit("1/x", 0)
    assert routes("max") and not routes("+") and not routes("relu")
    assert not commutative("-") and not commutative("/") and passes_unit("-", 1)
    assert not passes_unit("log", 0) and not passes_unit("tanh", 0) and not passes_unit("**2", 0)


def test_an_output_passing_on_one_is_refused_with_the_reason():
    # f = p + q: a forgotten upstream factor at p or q changes nothing on any draw
    graph = _graph(
        ("w", "x", "y", "z"), (("p", "*", ("w", "x")), ("q", "max", ("y", "z")), ("f", "+", ("p", "q")))
    )
    with pytest.raises(
        FamilyRefused, match=r"0 variant\(s\), at least 4 needed.*upstream gradient is ±1 or 0"
    ):
        variants(graph, (("+", "max"),))


def test_a_max_whose_loser_feeds_more_is_refused_and_a_sure_winner_goes_first():
    # max(p, q) at the output: whichever loses hides every mistake below it
    graph = _graph(
        ("w", "x", "y", "z"), (("p", "+", ("w", "x")), ("q", "*", ("y", "z")), ("f", "max", ("p", "q")))
    )
    with pytest.raises(FamilyRefused, match="loser would feed more"):
        variants(graph, described.DEFAULT_VARY)
    made = generate(described.BRANCH_FAMILY.graphs[0], described.DEFAULT_VARY)
    for g in made.graphs:
        for _, op, parents in g.gates:
            if op == "max":
                assert len(g.branching()) == 1 and parents[0] == g.branching()[0]
    assert made.winners == ("p", "q")
    # an author writing the branching input second, or the other pair first, gets the same family
    written = _graph(
        ("x", "y", "z"), (("p", "+", ("y", "x")), ("q", "max", ("z", "x")), ("f", "*", ("q", "p")))
    )
    assert generate(written, described.DEFAULT_VARY).graphs == described.BRANCH_FAMILY.graphs


def test_a_family_of_fewer_than_four_is_refused_saying_how_many():
    # two inputs, one + and one ·: (x + y) · x and (y + x) · y, 2 variants
    with pytest.raises(FamilyRefused, match=r"2 variant\(s\), at least 4 needed"):
        variants(described.GRAPHS["branch"], described.DEFAULT_VARY)


def test_vary_is_checked_and_a_class_swaps_operations_of_one_arity():
    with pytest.raises(FamilyRefused, match="no operation is written 'tan'"):
        variants(described.GRAPHS["max_sigmoid"], (("σ", "tan"),))
    with pytest.raises(FamilyRefused, match="as many inputs"):
        variants(described.GRAPHS["max_sigmoid"], (("σ", "max"),))
    # max(x, y) · σ(z): its one max rewired three ways (σ alone in its class moves nowhere): refused
    with pytest.raises(FamilyRefused, match=r"3 variant\(s\), at least 4 needed"):
        variants(described.GRAPHS["max_sigmoid"], (("+", "max"), ("σ", "exp")))
    # (w + x) · max(y, z) with + ↔ max and · ↔ max: a max at the output is left out, the rest kept
    graph = described.SIMPLE_FAMILY.graphs[0]
    made = generate(graph, (("+", "max", "*"),))
    assert made.graphs == described.SIMPLE_FAMILY.graphs and any(
        "loser would feed more" in r for r in made.refused
    )


def test_check_config_says_how_many_graphs_each_family_has(tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    REPO = Path(__file__).resolve().parent.parent
    config = tmp_path / "course.yaml"
    config.write_text((REPO / "course.yaml").read_text() + "\ngraphs: per-student\n")
    done = CliRunner().invoke(main, ["check-config", "--config", str(config)])
    assert done.exit_code == 0, done.output
    said = done.output.splitlines()
    assert "  simple_by_hand: 6 graphs in its per-student family (simple); each student draws one." in said
    assert "  branch_by_hand: 6 graphs in its per-student family (branch); each student draws one." in said


def test_a_variant_no_draw_fits_is_found_saying_why():
    """problems.undrawable: the variants on which no draw of the values is accepted (a student
    drawing one would get no numbers), with the mistake hidden most often, or the kink."""
    assert (
        problems.undrawable(described.shape(described.BY_ID["simple_by_hand"], described.PER_STUDENT)) == {}
    )
    twos = described.Values("integers", {"lo": 2, "hi": 2}, tuple((n, n) for n in "wxyz"))
    on_ties = described.BY_ID["simple_by_hand"]._replace(values_per_student=twos)
    found = problems.undrawable(described.shape(on_ties, described.PER_STUDENT), tries=20)
    assert list(found) == list(described.SIMPLE_FAMILY.graphs)  # 2 + 2 · max(2, 2): every max ties
    assert set(found.values()) == {"20 of 20 draws sit on a kink (a max's tie, a ReLU at 0)"}
    # w - x = 0 on every draw of ones: whatever reads p's gradient shows nothing
    ones = described.Values("integers", {"lo": 1, "hi": 1}, tuple((n, n) for n in "wxyz"))
    graph = _graph("wxyz", (("p", "-", ("w", "x")), ("q", "*", ("y", "z")), ("f", "*", ("p", "q"))))
    zero = described.Exercise(
        "zero_by_hand",
        "zero",
        "simple",
        ones,
        {},
        family=described.family("zero", graph, (), (("-", "*"),)),
        answers_per_student={"f": ("value", "f"), "dfdq": ("grad", "q"), "dfdy": ("grad", "y")},
    )
    found = problems.undrawable(described.shape(zero, described.PER_STUDENT), tries=10)
    assert found[graph] == "upstream-ignored at p stays hidden on 10 of 10 draws"
