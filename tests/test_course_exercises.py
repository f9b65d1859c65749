"""Exercises an instructor writes in course.yaml (issue 35, item 1): the graph read from Python
(autograder/authored.py) and every bad entry refused by check-config in one pass, at its line.
The end-to-end course (an installed wheel, both graders, Korean) is
tests/test_course_exercises_e2e.py."""

import textwrap

import pytest
from course_exercises import course_folder, course_yaml

from autograder import authored
from autograder.authored import GraphError, parse_graph
from autograder.config import ConfigError, load_course


@pytest.fixture(autouse=True)
def _kit_as_it_was():
    """A course that loads registers its exercises in this process: forgotten after each test."""
    yield
    authored.uninstall()


def test_each_assignment_is_a_node_and_an_expression_of_several_operations_makes_n1_n2():
    g = parse_graph("q = w * x + b\nf = tanh(q) * y\n")
    assert g.inputs == ("w", "x", "b", "y")
    assert g.gates == (
        ("n1", "*", ("w", "x")),
        ("q", "+", ("n1", "b")),
        ("n2", "tanh", ("q",)),
        ("f", "*", ("n2", "y")),
    )
    assert g.title == "f(w, x, b, y) = tanh((w · x) + b) · y"


def test_binary_minus_and_divide_keep_their_order_and_numbers_use_the_constant_rows():
    g = parse_graph("d = b - a / c\nf = -d + 2 / e - 3\n")
    ops = {name: (op, parents) for name, op, parents in g.gates}
    assert ops["n1"] == ("/", ("a", "c")) and ops["d"] == ("-", ("b", "n1"))
    assert ("*-1", ("d",)) in ops.values() and ("1/x", ("e",)) in ops.values()
    assert ("*2", ("n4",)) in ops.values() or any(op == "*2" for op, _ in ops.values())
    assert ops["f"][0] == "+-3"
    assert parse_graph("f = x ** 2 - log(y)").gates[:2] == (("n1", "**2", ("x",)), ("n2", "log", ("y",)))


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "q = x + y\nf = sin(q) * z",
            2,
            "no operation of the kit is written 'sin(q)'; the operations: a + b",
        ),
        ("f = q * z\nq = x + y", 1, "q is used before the line that assigns it"),
        ("q = x + y\nq = x * y", 2, "q is assigned twice"),
        ("q = x + y\nf = x * y", 1, "q is computed but nothing uses it"),
        ("q = x\nf = q * y", 1, "q = x computes nothing"),
        ("q = x +", 1, "not Python"),
        ("f = x / 0", 1, "division by the number 0"),
        ("f = x ** 3", 1, "no operation of the kit is written 'x ** 3'"),
    ],
)
def test_a_bad_graph_is_refused_at_its_line(text, line, words):
    with pytest.raises(GraphError) as caught:
        parse_graph(text)
    assert caught.value.line == line and words in str(caught.value), str(caught.value)


BAD = """\
course_id: c
seed: 7
assignments:
  - name: hw
    notebooks: [mine]
    gates: [tanh, cosh]
exercises:
  - id: ratio_by_hand
    notebook: mine
    graph: |
      r = x / y
      f = tanh(r) * z
    values: {x: [-4, 4], y: [-3, 3], z: [-4, 4]}
    answers: [r, f, dfdr, dfdx, dfdy, dfdz]
  - id: bad_one
    notebook: nowhere
    graph: |
      d = a / b
      f = sin(d) * c
    values: {a: [1, 3], b: [1, 3]}
    answers: [d, f]
  - id: simple_by_hand
    notebook: mine
    graph: |
      f = q * 2
      q = x + y
    values: {x: [1, 3], y: [1, 3]}
    answers: [f]
  - id: nothing_to_see
    notebook: mine
    graph: "q = x / y\\nf = log(q) * z"
    values: {x: [1, 2], y: [1, 2], z: [1, 2]}
    answers: [f, dfdq, dfdw]
  - id: only_f
    notebook: mine
    graph: "q = x * y\\nf = tanh(q) * z"
    values: {x: [1, 2], y: [1, 2], z: [1, 2]}
    answers: [f]
  - id: ratio_by_hand
    notebook: mine
    graph: "f = x * y"
    values: {x: [1, 2], y: [1, 2]}
    answers: [f]
"""


def test_check_config_refuses_every_bad_entry_in_one_pass_at_its_line(tmp_path):
    (tmp_path / "course.yaml").write_text(BAD)
    with pytest.raises(ConfigError) as caught:
        load_course(tmp_path / "course.yaml")
    said = {(p.line, p.key): p.message for p in caught.value.problems}
    assert said[(6, "assignments[0].gates[1]")].startswith("no gate 'cosh' to add (gates: ")
    assert "sub, div, square, tanh, log" in said[(6, "assignments[0].gates[1]")]
    assert said[(16, "exercises[1].notebook")] == "no assignment has a notebook nowhere (notebooks: mine)"
    assert "'sin(d)'" in said[(19, "exercises[1].graph")]
    assert "tanh(a), log(a)" in said[(19, "exercises[1].graph")]  # the known operations, listed
    assert (
        said[(22, "exercises[2].id")]
        == "simple_by_hand is the id of one of the kit's exercises: choose another"
    )
    assert said[(25, "exercises[2].graph")].startswith("q is used before the line that assigns it")
    assert said[(33, "exercises[3].answers")].startswith("dfdw names no node")
    # the answers ask for f alone: no mistake at a gradient changes it, so no draw is accepted
    assert said[(37, "exercises[4].values")] == (
        "no draw of these ranges shows every mistake: upstream-ignored at q = x · y changes the answers "
        "in no draw; widen the ranges or ask for more answers"
    )
    assert "used twice" in said[(39, "exercises[5].id")]
    assert len(said) == 8, said
    assert "ratio_by_hand" not in authored.described.AUTHORED  # nothing registered from a refused course


def test_ranges_where_a_mistake_stays_hidden_name_the_mistake_and_its_node():
    """tanh(x) · y with x in {0, 0.25}: there 1 - x² and 1 - tanh² agree within the clear margin,
    so the tanh's own mistake never shows; with x in -2..2 the same graph is accepted."""
    from autograder.authored import hidden_mistakes, values_of

    g = parse_graph("t = tanh(x)\nf = t * y")
    answers = {"t": ("value", "t"), "f": ("value", "f"), "dfdx": ("grad", "x"), "dfdy": ("grad", "y")}
    narrow, _ = values_of({"x": [0, 0.25, 0.25], "y": [-3, 3]}, g)
    assert hidden_mistakes(g, narrow, answers) == (
        "no draw of these ranges shows every mistake: tanh-of-input at t = tanh(x) changes the answers "
        "in no draw; widen the ranges or ask for more answers"
    )
    wide, _ = values_of({"x": [-2, 2], "y": [-3, 3]}, g)
    assert hidden_mistakes(g, wide, answers) is None


def test_a_divisor_that_can_only_be_0_is_said_so():
    from autograder.authored import hidden_mistakes, values_of

    g = parse_graph("f = x / y")
    values, _ = values_of({"x": [1, 3], "y": [0, 0.25, 0.25]}, g)
    said = hidden_mistakes(g, values, {"dfdy": ("grad", "y")})
    assert said.startswith("every draw leaves the domain of f = x / y: the divisor y is never 0"), said


GOOD = course_yaml()  # tests/course_exercises.py: the course the e2e twin builds, in English


def test_a_valid_course_draws_its_exercises_as_the_kits_are_drawn(tmp_path):
    from autograder.bpkit import problems
    from autograder.exercises import BY_ID, FUNCTIONS_BY_ID
    from solutions import graphs as described

    (tmp_path / "course.yaml").write_text(GOOD)
    course = load_course(tmp_path / "course.yaml")
    assert [a.exercise.id for a in course.authored] == ["tanh_ratio_by_hand", "sum_diff_by_hand"]
    family = described.BY_ID["sum_diff_by_hand"].family
    assert len(family.graphs) >= 4 and described.BY_ID["sum_diff_by_hand"].per_student
    assert "tanh_ratio_with_gates" in FUNCTIONS_BY_ID
    drawn = problems.draw(
        7, "c", "own", "per-student", "ann", exercises=("tanh_ratio_by_hand", "sum_diff_by_hand")
    )
    ratio = drawn.values["tanh_ratio_by_hand"]
    assert set(ratio) == {"x", "y", "z"} and abs(ratio["y"]) >= 1  # never a divisor of 0
    assert drawn.graphs["sum_diff_by_hand"] in family.graphs  # a variant, under graphs: lecture too
    right = BY_ID["tanh_ratio_by_hand"].correct(ratio, drawn.graphs["tanh_ratio_by_hand"], "lecture")
    assert right["r"] == pytest.approx(ratio["x"] / ratio["y"])
    # what the release's course.json carries reads back as the same exercise
    data = described.as_contract(described.BY_ID["sum_diff_by_hand"])
    again, graph = described.from_contract(data)
    assert again.family.graphs == family.graphs and graph == described.GRAPHS["sum_diff_by_hand"]
    students = [f"s{i}" for i in range(40)]
    seen = {
        problems.draw(7, "c", "own", "per-student", s, exercises=("sum_diff_by_hand",)).graphs[
            "sum_diff_by_hand"
        ]
        for s in students
    }
    assert len(seen) >= 4, len(seen)


def test_gates_adds_a_graded_cell_of_an_optional_row(tmp_path):
    from autograder.authored import authored_cells

    (tmp_path / "course.yaml").write_text(
        textwrap.dedent(
            """\
            course_id: c
            seed: 7
            assignments:
              - name: hw
                notebooks: [mine, other]
                gates: [tanh, div]
            """
        )
    )
    course = load_course(tmp_path / "course.yaml")
    cells = authored_cells(course, course.assignments[0], "mine", tmp_path / "missing.py")
    assert cells.split() == [
        "#",
        "%%",
        'kind="gate"',
        'grade_id="tanh_gate"',
        "#",
        "%%",
        'kind="gate"',
        'grade_id="div_gate"',
    ]
    assert authored_cells(course, course.assignments[0], "other", tmp_path / "missing.py") == ""


@pytest.mark.slow  # some 4 s of CPU per student
@pytest.mark.parametrize("student", ["ann", "bo"])
def test_every_applicable_mistake_by_hand_loses_points_and_is_named_at_its_node(tmp_path, student):
    """Each catalogued mistake the student's own graph can show, made by hand at one node, is what
    the grader's hand-answer check names, at that node (in process; sandboxed end to end in
    tests/test_course_exercises_e2e.py)."""
    from autograder.bpkit import acceptance
    from autograder.exercises import BY_ID
    from autograder.grading.context import make_context
    from autograder.grading.inprocess import InProcessSubject
    from autograder.grading.registry import run_check
    from solutions import graphs as described

    (tmp_path / "course.yaml").write_text(GOOD)
    load_course(tmp_path / "course.yaml")
    tried = set()
    for exercise_id in ("tanh_ratio_by_hand", "sum_diff_by_hand"):
        ctx = make_context(
            exercise_id,
            "answers",
            seed=7,
            course_id="c",
            assignment="own",
            randomization="per-student",
            student_id=student,
        )
        e = BY_ID[exercise_id]
        graph, values = ctx.problem_graphs[e.problem], ctx.problem_values[e.problem]
        asked = e.shape("lecture").answers
        evaluation = acceptance.Evaluation(graph, described.flatten_inputs(e.shape("lecture").values, values))
        for m, node, way in acceptance.applicable_mistakes(evaluation):
            given = evaluation.answers(asked, evaluation.backward(m, node, way))
            r = run_check(exercise_id, "answers", InProcessSubject(given), ctx)
            text = r.feedback(exercise_id, 3)
            assert r.fraction < 1 and r.misconceptions == [m.id], (m.id, node, text)
            assert f"at {node} = {described.gate_expression(graph, node)}, " in text, (m.id, node, text)
            tried.add(m.id)
    assert {
        "tanh-of-input",
        "div-denominator-not-squared",
        "div-denominator-sign",
        "sub-not-negated",
    } <= tried


def _draws_hiding_a_mistake(exercise_id, ids):
    """Over `ids` student ids: each drawn graph is a variant of the family (the same nodes and
    operations), and every catalogued mistake its gates can make changes the answers as the
    grader's reference engine computes them (not bpkit's evaluator that accepted the draw). The
    mistakes that stayed hidden (id -> how often), and how often each graph was drawn."""
    from collections import Counter

    from autograder.bpkit import problems
    from autograder.exercises import BY_ID
    from solutions import graphs as described
    from solutions.table import CATALOG, gates_named_by

    exercise = BY_ID[exercise_id]
    shape = exercise.shape("lecture")
    kinds = Counter(described.kind_of(op) for _, op, _ in shape.graphs[0].gates)
    hidden, drawn_graphs = Counter(), Counter()
    for i in range(ids):
        graph, values = problems.draw_exercise(shape, 7, "c", "own", f"s{i}", exercise.problem)
        assert graph in shape.graphs and Counter(described.kind_of(op) for _, op, _ in graph.gates) == kinds
        drawn_graphs[graph] += 1
        used = {described.gate_of(op)[0] for _, op, _ in graph.gates}
        applicable = {
            m.id
            for m in CATALOG
            if (m.scope == "graph" and graph.branching())
            or (m.scope == "gate" and used & set(gates_named_by(m.id)))
        }
        for mid in applicable - set(exercise.mistaken(values, graph, "lecture")):
            hidden[mid] += 1
    return hidden, drawn_graphs, shape


@pytest.mark.e2e  # 10,000 draws of each: about a minute of CPU
@pytest.mark.parametrize("exercise_id", ["tanh_ratio_by_hand", "sum_diff_by_hand"])
def test_ten_thousand_ids_draw_the_family_and_every_mistake_shows_to_the_grader(tmp_path, exercise_id):
    (tmp_path / "course.yaml").write_text(GOOD)
    load_course(tmp_path / "course.yaml")
    hidden, drawn_graphs, shape = _draws_hiding_a_mistake(exercise_id, 10_000)
    assert not hidden, hidden
    assert len(drawn_graphs) == len(shape.graphs), drawn_graphs  # every variant is drawn


def test_check_config_and_show_values_count_a_course_exercise_family(tmp_path):
    """A course.yaml exercise with per_student: true in a course whose `graphs` is the lecture's:
    check-config says its family's size (it said nothing: it counted only under graphs:
    per-student), and show-values --variants lists every variant once, with how many of the
    roster draw it, the same counts problems.draw gives student by student."""
    from collections import Counter

    from click.testing import CliRunner

    from autograder.bpkit import problems
    from autograder.cli import main
    from solutions import graphs as described

    yaml_path = course_folder(tmp_path)
    checked = CliRunner().invoke(main, ["check-config", "--config", str(yaml_path)])
    assert checked.exit_code == 0, checked.output
    family = described.BY_ID["sum_diff_by_hand"].family
    assert (
        f"sum_diff_by_hand: {len(family.graphs)} graphs in its per-student family (sum_diff_by_hand); "
        "each student draws one." in checked.output
    ), checked.output
    assert "tanh_ratio_by_hand:" not in checked.output  # one graph: no family to count

    roster = [f"s{i}" for i in range(30)]
    (tmp_path / "roster.txt").write_text("\n".join(roster) + "\n")
    shown = CliRunner().invoke(
        main,
        [
            "show-values",
            "--config",
            str(yaml_path),
            "--variants",
            "sum_diff_by_hand",
            "--roster",
            str(tmp_path / "roster.txt"),
        ],
    )
    assert shown.exit_code == 0, shown.output
    drawn = Counter(
        problems.draw(7, "c", "own", "per-student", s, exercises=("sum_diff_by_hand",))
        .graphs["sum_diff_by_hand"]
        .title
        for s in roster
    )
    listed = {}
    for line in shown.output.splitlines():
        count, _, title = line.strip().partition("  ")
        if count.isdigit():
            listed[title.strip()] = int(count)
    assert listed == {g.title: drawn[g.title] for g in family.graphs}, shown.output
    assert f"sum_diff_by_hand: {len(family.graphs)} graphs in its per-student family" in shown.output


FEW_VARIANTS = """\
exercises:
  - id: product_by_hand
    notebook: mine
    graph: |
      q = x * y
      f = q * z
    values: {x: [-4, 4], y: [-4, 4], z: [-4, 4]}
    answers: [q, f, dfdx, dfdy, dfdz]
    per_student: true
"""


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "f(x, y, z) = (x · y) · z: 3 variant(s), at least 4 needed (left out: "),
        ("ko", "f(x, y, z) = (x · y) · z: 변형 3개, 4개 이상 필요"),
    ],
)
def test_a_refused_family_is_said_at_its_per_student_line_in_the_course_language(tmp_path, language, words):
    """check-config's reason for refusing a family goes through the catalogs (FamilyRefused
    carries its message id and fields): a Korean course reads it in Korean, at per_student's line."""
    from click.testing import CliRunner

    from autograder.cli import main

    yaml_path = course_folder(tmp_path, language=language, exercises=FEW_VARIANTS)
    line = (
        course_yaml(language=language, exercises=FEW_VARIANTS).splitlines().index("    per_student: true") + 1
    )
    checked = CliRunner().invoke(main, ["check-config", "--config", str(yaml_path)])
    assert checked.exit_code != 0
    said = next(t for t in checked.output.splitlines() if "exercises[0].per_student" in t)
    assert (
        said.startswith(f"{yaml_path}:{line}: exercises[0].per_student: ")
        or f"course.yaml:{line}: exercises[0].per_student" in said
    ), checked.output
    assert words in said, said
    if language == "ko":
        assert "variant(s)" not in said and "left out" not in said, said


def _entry(graph="f = tanh(x) * y", values="{x: [-2, 2], y: [-3, 3]}", answers="[f, dfdx, dfdy]", **more):
    """One `exercises:` entry as course.yaml text (id e1, in the notebook mine)."""
    fields = {"id": "e1", "notebook": "mine", "graph": graph, "values": values, "answers": answers, **more}
    out = "exercises:\n  - "
    for i, (key, value) in enumerate(fields.items()):
        if key == "graph" and "\n" in value:
            value = "|\n" + "".join(f"      {line}\n" for line in value.splitlines())
            out += ("    " if i else "") + f"{key}: {value}"
            continue
        out += ("    " if i else "") + f"{key}: {value}\n"
    return out


# An instructor's slips writing an exercise: each refused by check-config at its line (counted from
# `exercises:`, its line 1; a graph's own lines from the graph key's), naming the key and saying
# what was expected and what was found, never a traceback.
MALFORMED = {
    "the graph a list": (_entry(graph="[q = x + y]"), 4, "graph", "expected text, found a list of 1 item"),
    "values a text": (
        _entry(values="'1..3'"),
        5,
        "values",
        "expected a mapping of texts to a list of numbers",
    ),
    "a range of words": (
        _entry(values="{x: [a, 3], y: [-3, 3]}"),
        5,
        "values.x[0]",
        "expected a number, found 'a'",
    ),
    "answers a text": (_entry(answers="f"), 6, "answers", "expected a non-empty list of texts, found 'f'"),
    "an unknown operation": (
        _entry(graph="q = x * y\nf = cos(q) * z"),
        6,
        "graph",
        "no operation of the kit is written 'cos(q)'; the operations: a + b",
    ),
    "a cycle": (
        _entry(graph="q = f + x\nf = q * y", values="{x: [-3, 3], y: [-3, 3]}"),
        5,
        "graph",
        "f is used before the line that assigns it",
    ),
    "an input the graph does not have": (
        _entry(values="{x: [-2, 2], y: [-3, 3], z: [1, 2]}"),
        5,
        "values",
        "z: not an input of the graph (its inputs: x, y)",
    ),
    "a duplicate id": (
        _entry() + _entry().removeprefix("exercises:\n"),
        7,
        "id",
        "the id e1 is used twice in exercises (also at exercises[0])",
    ),
    "a Korean id": (_entry().replace("id: e1", "id: 연습1"), 2, "id", "expected an exercise id"),
    "a matrix product": (
        _entry(graph="q = W @ x\nf = tanh(q) * y", values="{W: [-2, 2], x: [-2, 2], y: [-3, 3]}"),
        5,
        "graph",
        "W·x works on arrays, and an exercise's values are numbers",
    ),
    "a range of a million values": (
        _entry(values="{x: [-2, 2, 0.000001], y: [-3, 3]}"),
        5,
        "values",
        "x: -2.0 to 2.0 by 1e-06 is 4000001 values, at most 1000",
    ),
    "a gate reading one input twice": (
        _entry(graph="q = x * x\nf = tanh(q) * y"),
        5,
        "graph",
        "q = x · x reads x twice: a gate's inputs are different nodes (for a square write x ** 2)",
    ),
    "an input named np": (
        _entry(graph="f = tanh(np) * y", values="{np: [-2, 2], y: [-3, 3]}"),
        4,
        "graph",
        "np is a name the student's notebook already uses",
    ),
    "an answer asked twice": (_entry(answers="[f, dfdx, f]"), 6, "answers", "f is asked twice"),
    "a function named as its exercise": (_entry(function="e1"), 7, "function", "e1 is the exercise's own id"),
    "a function named as the kit's": (
        _entry(function="simple_with_gates"),
        7,
        "function",
        "simple_with_gates is the id of one of the kit's exercises",
    ),
    "a function on a node without a gate cell": (
        _entry(graph="f = exp(x) * y", function="e1_with_gates"),
        7,
        "function",
        "n1 = exp(x) has no gate cell: leave function out, or write the graph with operations that have "
        "one (a + b, a * b, max(a, b), relu(a), sigmoid(a), a - b, a / b, a ** 2, tanh(a), log(a))",
    ),
    "Korean prose, a slip on the line after a comment": (
        _entry(graph="# 입력의 곱\nq = x * y\nf = 탄(q) * z", title="'탄젠트 뉴런'"),
        7,
        "graph",
        "no operation of the kit is written '탄(q)'",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_exercise_is_refused_at_its_line_with_what_was_expected(tmp_path, case):
    exercises, line, key, words = MALFORMED[case]
    header = len(course_yaml(exercises="").splitlines())
    with pytest.raises(ConfigError) as caught:
        load_course(course_folder(tmp_path, exercises=exercises))
    said = {(p.line, p.key): p.message for p in caught.value.problems}
    where = (header + line, f"exercises[{1 if case == 'a duplicate id' else 0}].{key}")
    assert where in said and words in said[where], (where, said)


def test_korean_prose_and_node_names_are_an_exercise_like_any_other(tmp_path):
    """A Korean title, a Korean comment in the graph and a Korean node name (a Python name) load."""
    course = load_course(
        course_folder(
            tmp_path,
            exercises=_entry(
                graph="# 입력의 곱\n곱 = x * y\nf = tanh(곱) * z",
                values="{x: [-2, 2], y: [-2, 2], z: [-3, 3]}",
                answers="[곱, f, dfd곱, dfdx, dfdy, dfdz]",
                title="'탄젠트 뉴런'",
            ),
        )
    )
    (read,) = course.authored
    assert read.title == "탄젠트 뉴런" and read.graph.gates[0] == ("곱", "*", ("x", "y"))


def test_one_rule_says_what_a_draw_hides_to_check_config_and_to_the_variants_no_draw_fits(monkeypatch):
    """acceptance.mistakes_shown is the one rule: a course.yaml exercise's reason (authored.py) and
    a variant no draw fits (problems.undrawable) both change when it changes. A mutant that calls
    every forgotten upstream factor hidden makes both refuse, naming that mistake."""
    from autograder.authored import hidden_mistakes, values_of
    from autograder.bpkit import acceptance, problems
    from solutions import graphs as described

    graph = parse_graph("t = tanh(x)\nf = t * y")
    values, _ = values_of({"x": [-2, 2], "y": [-3, 3]}, graph)
    answers = {"t": ("value", "t"), "f": ("value", "f"), "dfdx": ("grad", "x"), "dfdy": ("grad", "y")}
    family = described.shape(described.BY_ID["simple_by_hand"], described.PER_STUDENT)
    assert hidden_mistakes(graph, values, answers) is None
    assert problems.undrawable(family, tries=5) == {}

    rule = acceptance.mistakes_shown

    def blind_to_the_upstream(evaluation, asked):
        return {key: shown and key[0] != "upstream-ignored" for key, shown in rule(evaluation, asked).items()}

    monkeypatch.setattr(acceptance, "mistakes_shown", blind_to_the_upstream)
    assert hidden_mistakes(graph, values, answers) == (
        "no draw of these ranges shows every mistake: upstream-ignored at t = tanh(x) changes the answers "
        "in no draw; widen the ranges or ask for more answers"
    )
    refused = problems.undrawable(family, tries=5)
    assert list(refused) == list(family.graphs), refused
    assert all(why.startswith("upstream-ignored at ") for why in refused.values()), refused


def test_a_branch_kept_alone_that_no_answer_shows_is_refused_on_both_sides():
    """f = (x + y) · x asking dfdq and dfdy but not dfdx: keeping one of x's two branches changes
    nothing asked, on every draw. check-config's reason and problems.undrawable both say so
    (a mutant rule that never calls a branch hidden fails both assertions)."""
    from autograder.authored import hidden_mistakes, values_of
    from autograder.bpkit import problems
    from solutions import graphs as described

    graph = parse_graph("q = x + y\nf = q * x")
    values, _ = values_of({"x": [-3, 3], "y": [-3, 3]}, graph)
    answers = {"q": ("value", "q"), "f": ("value", "f"), "dfdq": ("grad", "q"), "dfdy": ("grad", "y")}
    exercise = described.Exercise("branchy_by_hand", "branchy_by_hand", "branchy_by_hand", values, answers)
    described.register(exercise, graph)  # forgotten after the test (the autouse fixture)
    said = (hidden_mistakes(graph, values, answers), problems.undrawable(described.shape(exercise), tries=20))
    assert said == (
        "no draw of these ranges shows every mistake: branch-overwrite at a branch changes the answers "
        "in no draw; widen the ranges or ask for more answers",
        {graph: "branch-overwrite at a branch stays hidden on 20 of 20 draws"},
    )


WITH_NUMBERS = """\
exercises:
  - id: scaled_neuron_by_hand
    notebook: mine
    graph: |
      q = 2 * x
      r = q * y + 1
      f = sigmoid(r) * z
    values: {x: [-1, 1, 0.5], y: [-1, 1, 0.5], z: [-3, 3]}
    answers: [q, n1, r, n2, f, dfdn2, dfdr, dfdn1, dfdq, dfdx, dfdy, dfdz]
    function: scaled_neuron_with_gates
"""
# The student's function: the gates for · and σ; the nodes with a number by hand.
SCALED_NEURON = """
def scaled_neuron_with_gates(x, y, z):
    times, squash, out = MulGate(), SigmoidGate(), MulGate()
    q = 2 * x
    n1 = times.forward(q, y)
    r = n1 + 1
    s = squash.forward(r)
    f = out.forward(s, z)
    ds, dz = out.backward(1.0)
    dr = squash.backward(ds)
    dq, dy = times.backward(dr)
    return f, (DX, dy, dz)
"""


@pytest.mark.parametrize(
    ("who", "code", "fraction"),
    [
        ("the instructor's own solution", None, 1),
        ("a student computing 2 · x and its gradient by hand", SCALED_NEURON.replace("DX", "2 * dq"), 1),
        ("a student forgetting the 2 in the gradient", SCALED_NEURON.replace("DX", "dq"), None),
    ],
)
def test_a_function_exercise_on_a_graph_with_numbers_is_built_and_graded(tmp_path, who, code, fraction):
    """2 · x and r + 1 are nodes without a gate cell: the function computes them itself. The
    source notebook's solution does, its prose says so, and the grader's function check (with its
    method check, which scales only the gates' backward) gives full marks to a right function
    and takes points from a wrong gradient at the number's node."""
    import textwrap

    from autograder import demo, notebooks
    from autograder.authored import authored_cells
    from autograder.bpkit import problems
    from autograder.exercises import BY_ID, FUNCTIONS_BY_ID
    from autograder.grading.context import make_context
    from autograder.grading.inprocess import InProcessSubject
    from autograder.grading.registry import run_check

    course = load_course(course_folder(tmp_path, exercises=WITH_NUMBERS))
    cells = authored_cells(course, course.assignments[0], "mine", tmp_path / "assignments" / "mine.py")
    assert "`q = 2 · x`, `r = n1 + 1` take a number and have no gate" in cells
    fn = FUNCTIONS_BY_ID["scaled_neuron_with_gates"]
    assert fn.needs_for("lecture") == ("mul_gate", "sigmoid_gate")  # no cell for 2 · x nor r + 1
    if code is None:
        code = notebooks._solution_source(BY_ID["scaled_neuron_by_hand"], fn, "lecture")
    simulated = demo.load_simulated_class()
    gates = "\n".join(textwrap.dedent(simulated.CORRECT_STYLES[g]) for g in fn.needs_for("lecture"))
    namespace = simulated.namespace_of(gates + textwrap.dedent(code))
    namespace["P"] = problems.draw(7, "c", "own", "per-student", "ann", exercises=("scaled_neuron_by_hand",))
    ctx = make_context(
        fn.id,
        "function",
        seed=7,
        course_id="c",
        assignment="own",
        randomization="per-student",
        student_id="ann",
    )
    result = run_check(fn.id, "function", InProcessSubject(namespace), ctx)
    said = result.feedback(fn.id, 2)
    if fraction == 1:
        assert result.fraction == 1 and "[ok ] gradients from your gates' backward" in said, (who, said)
    else:
        assert result.fraction < 1 and "dx: off by" in said and "[ok ] f, dy and dz" in said, (who, said)


@pytest.mark.parametrize(("x", "shown"), [(-3, False), (-2, True), (3, False)])
def test_a_mistake_of_two_ways_shows_only_where_both_do(x, shown):
    """σ's missing term is two ways (σ alone, 1 - σ alone): at x = -3 the first gives nearly the
    right dσ, at x = 3 the second does. The one rule calls the mistake shown only where both ways
    move an answer clearly, as the draws' acceptance requires (a mutant reading `any` fails here)."""
    from autograder.bpkit import acceptance

    graph = parse_graph("s = sigmoid(x)\nf = s * y")
    answers = {"s": ("value", "s"), "f": ("value", "f"), "dfdx": ("grad", "x"), "dfdy": ("grad", "y")}
    evaluation = acceptance.Evaluation(graph, {"x": x, "y": 3})
    assert acceptance.mistakes_shown(evaluation, answers)[("sigmoid-missing-term", "s")] is shown


# Issue 35's `vary:`: a sum or a max feeding a sigmoid or a tanh, multiplied at the output; the
# instructor lets a variant swap + with max and sigmoid with tanh.
VARIED = {
    "graph": "p = w + x\nq = max(y, z)\ns = sigmoid(p)\nt = tanh(q)\nf = s * t",
    "values": "{w: [-4, 4], x: [-4, 4], y: [-4, 4], z: [-4, 4]}",
    "answers": "[p, q, s, t, f, dfds, dfdt, dfdp, dfdq, dfdw, dfdx, dfdy, dfdz]",
    "per_student": "true",
}


def _operations_by_node(graph):
    return {node: op for node, op, _ in graph.gates}


def test_vary_swaps_operations_within_its_classes_only_and_by_default_only_plus_and_max(tmp_path):
    """Every variant keeps each node's operation or puts another of its class there, and both
    classes are swapped somewhere; left out, vary swaps only + and max (the exercise read as
    course.yaml's loader reads it, without building a course: the family is what differs)."""
    from autograder.config.schema import AuthoredExercise
    from solutions import graphs as described

    written = _operations_by_node(parse_graph(VARIED["graph"]))
    classes = [{"+", "max"}, {"σ", "tanh"}]  # the table's symbols of + max sigmoid tanh
    load_course(course_folder(tmp_path, exercises=_entry(**VARIED, vary="[[+, max], [sigmoid, tanh]]")))
    family = described.BY_ID["e1"].family
    swapped = set()
    for variant in family.graphs:
        for node, op in _operations_by_node(variant).items():
            assert op == written[node] or any({op, written[node]} <= c for c in classes), (node, op)
            if op != written[node]:
                swapped.add((node, op))
    assert {("p", "max"), ("q", "+"), ("s", "tanh"), ("t", "σ")} <= swapped, swapped
    assert len(family.graphs) == 12

    entry = AuthoredExercise(
        id="e1", notebook="mine", graph=VARIED["graph"], values={}, answers=["f"], per_student=True
    )
    vary, problems = authored.vary_of(entry)
    assert vary == described.DEFAULT_VARY and problems == []
    by_default = described.family("e1", parse_graph(VARIED["graph"]), vary=vary).graphs
    assert {_operations_by_node(g)["s"] for g in by_default} == {"σ"}  # sigmoid and tanh stay put
    assert {_operations_by_node(g)["p"] for g in by_default} == {"+", "max"}


@pytest.mark.slow  # check-config, then 300 draws graded by the reference engine: some 12 CPU s
def test_a_varied_family_is_counted_by_check_config_and_every_variant_shows_every_mistake(tmp_path):
    """check-config says the family's size, and over 300 ids every one of its 12 variants is
    drawn and every applicable mistake changes the answers the grader computes."""
    from click.testing import CliRunner

    from autograder.cli import main

    yaml_path = course_folder(tmp_path, exercises=_entry(**VARIED, vary="[[+, max], [sigmoid, tanh]]"))
    checked = CliRunner().invoke(main, ["check-config", "--config", str(yaml_path)])
    assert checked.exit_code == 0, checked.output
    assert "e1: 12 graphs in its per-student family (e1)" in checked.output, checked.output
    hidden, drawn, _shape = _draws_hiding_a_mistake("e1", 300)
    assert not hidden, hidden
    assert len(drawn) == 12, drawn


_VARY_LINE = 4 + len(VARIED["graph"].splitlines()) + 4  # exercises: is line 1; vary comes after per_student
VARY_REFUSED = {
    "an unknown operation": (
        dict(VARIED, vary="[[+, max], [sigmoid, cos]]"),
        _VARY_LINE,
        "vary[1][1]",
        "no operation is written 'cos'; the operations: +, *, max, relu, sigmoid, exp, 1/, -, /, **2, tanh, log",
    ),
    "an unknown operation, a class a line": (
        dict(VARIED, vary="\n      - [+, max]\n      - [sigmoid, cos]"),
        _VARY_LINE + 2,
        "vary[1][1]",
        "no operation is written 'cos'",
    ),
    "a class of one": (
        dict(VARIED, vary="[[+, max], [tanh]]"),
        _VARY_LINE,
        "vary[1]",
        "a class swaps its operations with each other: name at least two, found [tanh]",
    ),
    "operations of two arities": (
        dict(VARIED, vary="[[+, max, tanh]]"),
        _VARY_LINE,
        "vary[0]",
        "a class swaps operations taking as many inputs each, found + of 2 input(s), max of 2 input(s), "
        "tanh of 1 input(s)",
    ),
    "an operation in two classes": (
        dict(VARIED, vary='[[+, max], [max, "*"]]'),
        _VARY_LINE,
        "vary[1][0]",
        "max is named twice (also at vary[0][1]): an operation swaps within one class",
    ),
    "vary without per_student": (
        {k: v for k, v in dict(VARIED, vary="[[+, max]]").items() if k != "per_student"},
        _VARY_LINE - 1,
        "vary",
        "vary names the operations a per-student variant may swap, and this exercise has no variants",
    ),
}


@pytest.mark.parametrize("case", VARY_REFUSED)
def test_a_bad_vary_is_refused_at_its_line_with_the_reason(tmp_path, case):
    fields, line, key, words = VARY_REFUSED[case]
    header = len(course_yaml(exercises="").splitlines())
    with pytest.raises(ConfigError) as caught:
        load_course(course_folder(tmp_path, exercises=_entry(**fields)))
    said = {(p.line, p.key): p.message for p in caught.value.problems}
    where = (header + line, f"exercises[0].{key}")
    assert where in said and words in said[where], said


@pytest.mark.parametrize("case", ["an unknown operation", "a class of one", "operations of two arities"])
def test_a_bad_vary_is_said_in_korean_in_a_korean_course(tmp_path, case):
    """check-config, as the instructor runs it, says the reason in the course's language."""
    from click.testing import CliRunner

    from autograder.cli import main

    fields, _line, key, words = VARY_REFUSED[case]
    yaml_path = course_folder(tmp_path, language="ko", exercises=_entry(**fields))
    checked = CliRunner().invoke(main, ["check-config", "--config", str(yaml_path)])
    assert checked.exit_code != 0
    (said,) = [t for t in checked.output.splitlines() if f"exercises[0].{key}: " in t]
    english = words.split(":")[0].split(";")[0]
    assert english not in said and "input(s)" not in said and "class" not in said, said
    assert "부류" in said or "연산은 없습니다" in said, said
