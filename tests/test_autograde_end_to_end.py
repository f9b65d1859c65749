"""Plain `nbgrader autograde` on a simulated class: real nbgrader, real kernels, the real sandbox.

The class is the run's shared one (tests/shared_class.py: its `stock` copy, graded by plain
nbgrader, the class first, then the submissions nbgrader chokes on, then generate_feedback);
every test reads what came out: the gradebook, the reports, the feedback HTML and the machine
around it."""

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from shared_class import SimulatedClass, gradebook_scores
from submissions import UNUSUAL

from autograder import demo
from autograder.sandbox.bwrap import sandbox_available

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed"),
]


@dataclass(frozen=True)
class GradedClass:
    course_dir: Path
    roster: dict  # {student: description}
    reports: dict  # {student: the report's cells, or None}


@pytest.fixture(scope="module")
def graded(shared_class: SimulatedClass) -> GradedClass:
    """The simulated class as plain nbgrader graded it."""
    course_dir, roster = shared_class.stock, shared_class.roster
    return GradedClass(course_dir, roster, demo.read_reports(course_dir, "backprop", "backprop", roster))


def by_id(report):
    return {r["grade_id"]: r for r in report}


def test_correct_submission_in_other_valid_styles_gets_full_marks(graded):
    course_dir, reports = graded.course_dir, graded.reports
    report = reports["ada"]
    assert report and all(r["score"] == r["points"] for r in report), [
        r for r in report if r["score"] < r["points"]
    ]
    scores = gradebook_scores(course_dir, "ada")
    assert len(scores) == len(report) and all(scores[r["grade_id"]] == r["points"] for r in report)


def catalogued_mistakes_in_the_class():
    """(student, answer cell, misconception) for every catalogued mistake the simulated class
    makes, read from its tables: a student whose cell holds a mistake's code makes it. (The
    class is built on a notebook of empty answer cells, one per answer cell of the tables:
    only the mistakes matter here, and the source notebook is built later, by the fixture.)"""
    from autograder.exercises import FUNCTIONS, HAND_ANSWERS
    from solutions.table import GATES

    answer_cells = [g.grade_id for g in GATES] + list(HAND_ANSWERS) + [f.id for f in FUNCTIONS]
    placeholder = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("", metadata={"nbgrader": {"solution": True, "grade_id": grade_id}})
            for grade_id in answer_cells
        ]
    )
    roster = simulated_class.students(placeholder)
    return [
        (student, cell, mid)
        for student, (_, answers) in roster.items()
        for mid, (cell, code) in simulated_class.MISTAKES.items()
        if answers.get(cell) == code
    ]


@pytest.mark.parametrize("student, cell, misconception", catalogued_mistakes_in_the_class())
def test_misconceptions_lose_points_and_are_named_in_gradebook_and_feedback(
    graded, student, cell, misconception
):
    """Some graded cell of the mistaken exercise names the mistake; each that does loses points,
    the gradebook agrees, and the feedback names it."""
    course_dir, reports = graded.course_dir, graded.reports
    naming = [
        row
        for row in reports[student]
        if misconception in row["misconceptions"]
        and (row["grade_id"] == f"test_{cell}" or row["grade_id"].startswith(f"test_{cell}_"))
    ]
    assert naming, (
        student,
        cell,
        misconception,
        [(r["grade_id"], r["misconceptions"]) for r in reports[student]],
    )
    for row in naming:
        assert row["score"] < row["points"]
        assert gradebook_scores(course_dir, student)[row["grade_id"]] == pytest.approx(row["score"])
    html = (course_dir / "feedback" / student / "backprop" / "backprop.html").read_text()
    assert f'<span class="bpkit-mistake-id">({misconception})</span>' in html


def test_the_class_makes_every_catalogued_gate_and_graph_mistake_it_is_meant_to():
    """The derived list is not empty by accident: the simulated class makes each of its
    MISTAKES somewhere (kim, ben, cho and lee carry them)."""
    made = {mid for _, _, mid in catalogued_mistakes_in_the_class()}
    assert made == set(simulated_class.MISTAKES) and len(catalogued_mistakes_in_the_class()) == len(made)


def test_mistakes_cost_only_the_exercises_they_touch(graded):
    reports = graded.reports
    ben = by_id(reports["ben"])
    for untouched in (
        "test_max_gate_backward",
        "test_sigmoid_gate_backward",
        "test_l2_by_hand",
        "test_simple_by_hand",
    ):
        assert ben[untouched]["score"] == ben[untouched]["points"]


def test_broken_code_costs_only_its_own_exercises(graded):
    reports = graded.reports
    dan = by_id(reports["dan"])
    for broken in (
        "max_gate",
        "sigmoid_gate",
        "matmul_gate",
        "l2_gate",
    ):  # syntax error, loop, 8 GB, os._exit
        assert all(r["score"] == 0 for gid, r in dan.items() if gid.startswith(f"test_{broken}"))
    for fine in (
        "test_add_gate_backward",
        "test_mul_gate_backward",
        "test_simple_by_hand",
        "test_branch_with_gates",
        "test_neuron_by_hand",
        "test_l2_by_hand",
        "test_jacobian_question",
    ):
        assert dan[fine]["score"] == dan[fine]["points"], fine
        assert dan[fine]["status"] == "passed", fine
    # The report says why each broken gate lost its points: the loop ran out of time, the rest
    # failed (their own code's fault: "error" is kept for the grader's own faults).
    assert {dan[f"test_sigmoid_gate_{c}"]["status"] for c in ("forward", "backward")} == {"timeout"}
    assert {dan[f"test_{g}_backward"]["status"] for g in ("max_gate", "matmul_gate", "l2_gate")} == {"failed"}


def test_hostile_code_changes_nothing_it_should_not(graded):
    course_dir, roster, reports = graded.course_dir, graded.roster, graded.reports
    eve = by_id(reports["eve"])
    # Lying types, NaN, an ndarray subclass with a custom __eq__, a monkeypatched numpy: no points.
    for cell in (
        "test_add_gate_forward",
        "test_add_gate_backward",
        "test_mul_gate_forward",
        "test_mul_gate_backward",
    ):
        assert eve[cell]["score"] == 0
    # Her honest answers still count, and everyone else was graded normally.
    assert eve["test_simple_by_hand"]["score"] == eve["test_simple_by_hand"]["points"]
    # Her fork bomb (in the kernel and in every check of the sigmoid gate) hit the sandbox's
    # process cap before 1000 forks, so the correct gate beneath it still earns its points.
    for cell in ("test_sigmoid_gate_forward", "test_sigmoid_gate_backward"):
        assert eve[cell]["score"] == eve[cell]["points"], eve[cell]
    assert all(reports[s] is not None for s in roster)
    # Nothing was written outside the sandbox, the gradebook is intact, the late process died.
    assert not (Path("/work") / "pwned").exists() and not (Path.home() / "pwned").exists()
    # Eve's detached process sleeps ten minutes before it acts: had it outlived its sandbox, it
    # would still be running now (its marker would land in the sandbox's own /tmp, unseen here).
    survivors = simulated_class.late_attackers_alive()
    assert not survivors, f"processes started by student code outlived grading: {survivors}"
    with sqlite3.connect(course_dir / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert all(gradebook_scores(course_dir, s) for s in roster)


def test_stderr_from_correct_code_does_not_zero_a_test(graded):
    """ada's naive sigmoid overflows (a RuntimeWarning on stderr) at x = -1000: still full marks."""
    reports = graded.reports
    assert by_id(reports["ada"])["test_sigmoid_gate_forward"]["score"] == 1


def test_feedback_never_shows_reference_code(graded):
    course_dir = graded.course_dir
    html = (course_dir / "feedback" / "ben" / "backprop" / "backprop.html").read_text()
    assert "np.where(self.x_wins" not in html and "dout * self.y, dout * self.x" not in html


@dataclass(frozen=True)
class BadSubmissions:
    course_dir: Path
    before: dict  # {student: gradebook scores} of the class before they were graded
    log: str
    reports: dict


@pytest.fixture(scope="module")
def bad_submissions(shared_class: SimulatedClass) -> BadSubmissions:
    """Submissions nbgrader chokes on, graded after the class: nobody else's grades may change."""
    course_dir, run = shared_class.stock, shared_class.stock_bad_run
    return BadSubmissions(
        course_dir,
        shared_class.stock_before_bad,
        run.stdout + run.stderr,
        demo.read_reports(course_dir, "backprop", "backprop", UNUSUAL),
    )


def test_unreadable_submissions_get_a_plain_message_and_stop_nothing(bad_submissions, graded):
    course_dir, before, log, reports = (
        bad_submissions.course_dir,
        bad_submissions.before,
        bad_submissions.log,
        bad_submissions.reports,
    )
    assert "fay/backprop: backprop.ipynb cannot be graded: it is not a Jupyter notebook" in log
    assert "gus/backprop: backprop.ipynb cannot be graded: the file is empty" in log
    assert reports["hal"] is None  # nothing submitted: nbgrader skips the student
    for student in ("fay", "gus"):  # graded as 0, every cell, in the gradebook too
        assert reports[student] and all(r["score"] == 0 for r in reports[student])
        assert set(gradebook_scores(course_dir, student).values()) == {0}
    assert {s: gradebook_scores(course_dir, s) for s in graded.roster} == before


def test_deleted_or_edited_test_cells_are_restored_and_graded(bad_submissions):
    ivy = by_id(bad_submissions.reports["ivy"])
    assert (
        ivy["test_add_gate_backward"]["score"] == ivy["test_add_gate_backward"]["points"]
    )  # put back, graded
    assert (
        ivy["test_mul_gate_forward"]["score"] == ivy["test_mul_gate_forward"]["points"]
    )  # her edit was undone
    assert sum(r["score"] for r in ivy.values()) == sum(r["points"] for r in ivy.values())


def test_a_changed_grade_id_costs_only_the_exercises_that_need_that_cell(bad_submissions):
    jon = by_id(bad_submissions.reports["jon"])
    needs_mul = {
        "test_mul_gate_forward",
        "test_mul_gate_backward",
        "test_simple_with_gates",
        "test_neuron_with_gates",
        "test_branch_with_gates",
    }
    assert all(jon[g]["score"] == 0 for g in needs_mul)
    assert all(r["score"] == r["points"] for g, r in jon.items() if g not in needs_mul)


def test_every_catalogued_misconception_is_named_for_someone(graded):
    from solutions.table import kit_catalog

    named = {m for report in graded.reports.values() if report for r in report for m in r["misconceptions"]}
    # The kit's own course can make these; the network's layers and course.yaml's added operations
    # are named by their own courses' tests.
    catalogued = {m.id for m in kit_catalog()}
    assert catalogued <= named, catalogued - named


def test_ties_sent_to_y_get_full_marks(graded):
    ben = by_id(graded.reports["ben"])
    assert all(
        ben[g]["score"] == ben[g]["points"]
        for g in ("test_max_gate_forward", "test_max_gate_backward", "test_max_gate_ties")
    )


def test_a_dead_kernel_and_a_stub_cost_only_their_own_exercise(graded):
    course_dir, reports = graded.course_dir, graded.reports
    lee = by_id(reports["lee"])
    assert lee["test_branch_by_hand"]["score"] == 0 and lee["test_l2_with_gates"]["score"] == 0
    for fine in (
        "test_l2_by_hand",
        "test_neuron_by_hand",
        "test_jacobian_question",
        "test_matmul_gate_backward",
    ):
        assert lee[fine]["score"] == lee[fine]["points"], fine
    nb = nbformat.read(course_dir / "autograded" / "lee" / "backprop" / "backprop.ipynb", as_version=4)
    died = [c for c in nb.cells if any(o.get("ename") == "KernelDied" for o in c.get("outputs", []))]
    assert [c.metadata["nbgrader"]["grade_id"] for c in died] == ["branch_by_hand"]
    after = [c for c in nb.cells[nb.cells.index(died[0]) + 1 :] if c.cell_type == "code" and c.outputs]
    assert after, "the cells after the dead kernel ran in a new kernel"
