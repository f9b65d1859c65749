"""After the term: the class report tests whether every variant of a per-student exercise was as
hard as the others (autograder/reports/variants.py: a chi-square test across the variants), says
its p-value and the variant that stands out, and `backprop-kit report` warns, in the course's
language, where one differs beyond chance. The classes are simulated: each student's own graph is
drawn as the course draws it, and their score is drawn from that graph's pass rate."""

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.bpkit import problems
from autograder.bpkit.i18n import use
from autograder.config import load_course
from autograder.reports.collect import CellRow, ClassResults
from autograder.reports.page import render
from autograder.reports.variants import (
    PERMUTATIONS,
    Variant,
    chi2_sf,
    difficulty_by_cell,
    difficulty_warning,
    equal_difficulty,
    pass_rates_by_graph,
)
from solutions import graphs as described

CELL = "test_simple_by_hand"
REPO = Path(__file__).resolve().parent.parent


def course_yaml(folder):
    """The kit's course.yaml with graphs: per-student."""
    path = folder / "course.yaml"
    path.write_text((REPO / "course.yaml").read_text() + "\ngraphs: per-student\n")
    return path


# ---------------------------------------------------------------- the p-value


@pytest.mark.parametrize(
    "x, df, p",
    [  # the textbook's critical values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.4)
        (3.841, 1, 0.05),
        (6.635, 1, 0.01),
        (5.991, 2, 0.05),
        (7.815, 3, 0.05),
        (11.070, 5, 0.05),
        (15.086, 5, 0.01),
        (23.209, 10, 0.01),
        (0.0, 4, 1.0),
    ],
)
def test_the_chi_square_tail_is_the_tables(x, df, p):
    assert chi2_sf(x, df) == pytest.approx(p, abs=2e-4)


def test_the_chi_square_tail_is_simulated_chance():
    """Against the definition: the share of sums of 5 squared normals beyond 9.0."""
    draws = np.sum(np.random.default_rng(3).normal(size=(400_000, 5)) ** 2, axis=1)
    assert chi2_sf(9.0, 5) == pytest.approx(np.mean(draws >= 9.0), abs=0.002)


def test_few_students_per_variant_reshuffle_the_class_instead():
    few = [Variant("a", 6, 5), Variant("b", 7, 1), Variant("c", 6, 5)]
    d = equal_difficulty(few)
    assert not d.exact and d.stands_out.title == "b" and d.p_value >= 1 / (PERMUTATIONS + 1)
    # the exact tail of the same table, as a check of the reshuffles (not exact: few students)
    assert d.p_value == pytest.approx(0.0106, abs=0.006)
    assert equal_difficulty([Variant("a", 6, 5), Variant("b", 0, 0)]) is None  # one variant drawn


# ---------------------------------------------------------------- a simulated class


def simulated(course, rates, students=360, seed=5):
    """ClassResults of `students` who each drew their graph of simple_by_hand as the course draws
    it and got full marks with their graph's rate ({graph index: rate}, default 0.8)."""
    graphs = described.shape(described.BY_ID["simple_by_hand"], course.graphs).graphs
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(students):
        sid = f"s{i:03d}"
        g = problems.graph_of(
            course.seed,
            course.course_id,
            "backprop",
            course.randomization,
            sid,
            course.graphs,
            "simple_by_hand",
        )
        full = rng.random() < rates.get(graphs.index(g), 0.8)
        rows.append(CellRow(sid, "backprop", "backprop", CELL, 3.0 if full else 1.0, 3.0, ""))
    totals = {r.student_id: r.score for r in rows}
    return ClassResults(Path("."), "backprop", [("backprop", CELL)], {}, totals, 3.0, rows)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return load_course(course_yaml(tmp_path_factory.mktemp("difficulty")))


def test_a_class_with_one_harder_variant_is_warned_naming_it(course):
    harder = described.SIMPLE_FAMILY.graphs[2]
    results = simulated(course, {2: 0.35})
    variants = pass_rates_by_graph(results, course)
    assert sum(v.n for v in variants[CELL]) == 360 and all(v.n > 30 for v in variants[CELL])
    d = difficulty_by_cell(variants)[CELL]
    assert d.beyond_chance and d.p_value < 1e-4 and d.exact and d.df == 5
    assert d.stands_out.title == harder.title and d.stands_out.pass_rate < 0.5 < d.rest_rate
    use("en")
    assert difficulty_warning(CELL, d).startswith(
        f"{CELL}: its graphs are not equally hard (chi-square, p < 0.0001)"
    )
    assert harder.title in difficulty_warning(CELL, d)


def test_a_class_with_equal_variants_is_not_warned(course):
    for seed in range(5):  # chance alone: a false alarm would be 1 in 20 at most
        d = difficulty_by_cell(pass_rates_by_graph(simulated(course, {}, seed=seed), course))[CELL]
        assert not d.beyond_chance and d.p_value > 0.05 / 5, (seed, d)


def test_class_html_shows_the_test_and_the_warning_in_korean(course, tmp_path):
    from autograder.reports.integrity import Signals

    results = simulated(course, {2: 0.35})
    variants = pass_rates_by_graph(results, course)
    difficulty = difficulty_by_cell(variants)
    use("ko")
    try:
        page = render(results, Signals([], [], [], []), tmp_path, course.course_id, variants, difficulty)
        warned = re.search(
            r'<p class="unequal difficulty" data-grade-id="test_simple_by_hand"[^>]*>(.*?)</p>', page, re.S
        )
        assert warned, page
        text = warned.group(1)
        assert "카이제곱" in text and "자유도 5" in text and described.SIMPLE_FAMILY.graphs[2].title in text
        assert not re.search(r"\b(graphs|equally|difficulty|degrees)\b", text), text
    finally:
        use("en")
    page = render(
        simulated(course, {}), Signals([], [], [], []), tmp_path, course.course_id, *_tested(course, {})
    )
    assert 'class="muted difficulty"' in page and "unequal" not in page.split("</style>")[1]


def _tested(course, rates):
    variants = pass_rates_by_graph(simulated(course, rates), course)
    return variants, difficulty_by_cell(variants)


# ---------------------------------------------------------------- backprop-kit report, on a gradebook


@pytest.mark.slow  # some 8 CPU s: 120 submissions written into a real nbgrader gradebook, two reports
def test_backprop_kit_report_warns_from_nbgrader_s_gradebook_in_english_and_korean(
    course, tmp_path, monkeypatch
):
    """The report reads the scores from nbgrader's own gradebook (written through its API, as
    autograde leaves them) and warns in the course's language."""
    from click.testing import CliRunner
    from nbgrader.api import Gradebook

    from autograder.cli import main

    monkeypatch.setenv(
        "PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )  # its alembic
    results = simulated(course, {2: 0.15}, students=120)
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment("backprop")
        gb.add_notebook("backprop", "backprop")
        gb.add_grade_cell(CELL, "backprop", "backprop", max_score=3.0, cell_type="code")
        for row in results.rows:
            gb.add_student(row.student_id)
            gb.add_submission("backprop", row.student_id)
            grade = gb.find_grade(CELL, "backprop", "backprop", row.student_id)
            grade.auto_score = row.score
        gb.db.commit()
    harder = described.SIMPLE_FAMILY.graphs[2].title
    for language, words in (
        ("en", "its graphs are not equally hard"),
        ("ko", "그래프들의 난이도가 같지 않습니다"),
    ):
        text = course_yaml(tmp_path).read_text().replace("\nlanguage: en\n", f"\nlanguage: {language}\n")
        (tmp_path / "course.yaml").write_text(text)
        done = CliRunner().invoke(
            main, ["report", "backprop", "--course", str(tmp_path)], env={"COLUMNS": "400"}
        )
        assert done.exit_code == 0, done.output
        warned = [line for line in done.output.splitlines() if words in line]
        assert len(warned) == 1 and CELL in warned[0] and harder in warned[0], done.output
        page = (tmp_path / "backprop-kit" / "class-report" / "backprop" / "class.html").read_text()
        assert 'class="unequal difficulty"' in page
