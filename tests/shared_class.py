"""The simulated class, graded for real once per test run and shared by every test that reads
its results (test_batch_*.py, test_autograde_end_to_end.py, test_gradescope.py).

One course is built and the whole simulated class submitted (demo/simulated_class.py: correct,
mistaken, broken, hostile), then BAD: the submissions nbgrader chokes on (not JSON, empty, no
notebook, a test cell deleted, a grade_id renamed), a good notebook with hostile files beside
it, an untouched one. Each has a submission time, the assignment a due date, and late work
scores zero, so late penalties get recorded. The course is copied twice:

  stock  graded by plain `nbgrader autograde` in two passes: the simulated class first, then
         BAD (what was graded before must not change), then `nbgrader generate_feedback`
  kit    graded by `backprop-kit autograde --jobs 2`, in one pass

Under pytest-xdist (`make test` runs two workers) the class is still built once for the run
(once_per_run.py): the first worker to ask builds it under a lock, each copies it.

Tests that need another course setting keep their own grading and say why beside it:
test_per_student_graphs.py, test_report.py, test_notebook_names.py, test_same_points.py,
test_hostile_files.py, test_new_exercise.py, test_config_errors_cost_nothing.py,
test_language_same_grades.py and test_browser_korean.py (the language), graded_course.py
and the hub tests; test_batch_autograde.py, test_batch_dask.py and test_batch_postgres.py
regrade copies of `base` because interrupting, a cluster or a database server is their subject."""

import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
import pytest
from lanes import lane
from nbgrader.api import Gradebook, MissingEntry
from once_per_run import built_once_per_run
from submissions import UNUSUAL, submit, submit_unusual

from autograder import demo
from autograder.config import load_course
from autograder.course import init, nbgrader_environment
from autograder.sandbox.bwrap import sandbox_available

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

REPO = Path(__file__).resolve().parent.parent
BAD = [*UNUSUAL, "kai", "pat"]
NOT_GRADED = ("hal",)  # handed in no notebook: nbgrader skips him, the kit says so and exits 1
DUE = "2026-11-23 12:00:00 UTC"  # dan is on time, eve, kim and lee are late


@dataclass(frozen=True)
class Run:
    """What one command printed: a subprocess.CompletedProcess that survives a JSON file."""

    returncode: int
    stdout: str
    stderr: str

    @classmethod
    def of(cls, done: subprocess.CompletedProcess) -> "Run":
        return cls(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class SimulatedClass:
    base: Path  # the course with the class submitted, left ungraded for tests that grade their own copy
    stock: Path  # a copy graded by `nbgrader autograde` (two passes) and `generate_feedback`
    kit: Path  # a copy graded by `backprop-kit autograde --jobs 2`
    students: list[str]  # every student with a folder in submitted/, the simulated class first
    roster: dict[str, str]  # the simulated class: {student: what they got wrong}
    stock_before_bad: dict[str, dict]  # {student of roster: gradebook auto scores} before BAD was graded
    stock_class_run: Run  # `nbgrader autograde`'s pass over the simulated class
    stock_bad_run: Run  # its pass over BAD
    kit_run: Run

    @property
    def graded(self) -> list[str]:
        """The students both commands record a grade for."""
        return [s for s in self.students if s not in NOT_GRADED]


def backprop_kit(course_dir, *args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=course_dir,
        capture_output=True,
        text=True,
        env={**nbgrader_environment(), "COLUMNS": "200"},
        **kwargs,
    )


def autograde_disturbed(course_dir, *options, disturb, env=None):
    """`backprop-kit autograde backprop *options` in course_dir, its output read line by line;
    at the first student graded (a ✓ line) `disturb(process)` runs, once (kill a grader,
    cancel a task, press Ctrl-C). Returns (exit code, output lines, what disturb returned)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder.cli", "autograde", "backprop", *options],
        cwd=course_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**nbgrader_environment(), "COLUMNS": "200", **(env or {})},
    )
    lines, disturbed = [], None
    # A coordinator that hangs fails this test in minutes, not the suite's whole budget.
    watchdog = threading.Timer(300, process.kill)
    watchdog.start()
    for line in process.stdout:
        lines.append(line)
        if line.startswith("✓") and disturbed is None:
            disturbed = (disturb(process),)
    process.wait(timeout=300)
    watchdog.cancel()
    return process.returncode, lines, disturbed[0] if disturbed else None


def assert_each_recorded_once_as_by_nbgrader(course_dir, stock, students, returncode, lines):
    """The whole class graded despite the disturbance: hal handed in no notebook (exit code 1,
    as everywhere), every other student has exactly one line (✓, or ✗ with why: fay's and
    gus's unreadable notebooks score 0) and the gradebook records nbgrader gave."""
    output = "".join(lines)
    assert returncode == 1, output
    for student in [s for s in students if s not in NOT_GRADED]:
        assert sum(line.startswith((f"✓ {student} ", f"✗ {student} ")) for line in lines) == 1, (
            student,
            output,
        )
    for student in students:
        assert records(course_dir, student) == records(stock, student), student


def records(course_dir, student, db_url=None):
    """Everything the gradebook holds about one student's submission, or None."""
    with Gradebook(
        db_url or f"sqlite:///{course_dir / 'gradebook.db'}", "cs231n" if db_url else "default_course"
    ) as gb:
        try:
            submission = gb.find_submission("backprop", student)
        except MissingEntry:
            return None
        nb = gb.find_submission_notebook("backprop", "backprop", student)
        return {
            "timestamp": submission.timestamp,
            "grades": {g.name: (g.auto_score, g.needs_manual_grade, g.manual_score) for g in nb.grades},
            "comments": {c.name: c.auto_comment for c in nb.comments},
            "late_penalty": nb.late_submission_penalty,
            "score": nb.score,
        }


def gradebook_scores(course_dir, student):
    """{grade_id: auto score} of one student's graded notebook."""
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook("backprop", "backprop", student)
        return {g.name: g.auto_score for g in notebook.grades}


def set_due_date(db_url, course_id="default_course"):
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_assignment("backprop", duedate=DUE)


# ---------------------------------------------------------------- building the course


def make_course(root):
    """root/base: the course, the whole class submitted, nothing graded. Returns (base, roster)."""
    text = (REPO / "course.yaml").read_text()
    text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", r"\1 5", text)  # dan's infinite loop costs 5 s, not 10
    text = re.sub(r"(?m)^(\s*require_sandbox:).*$", r"\1 true", text)
    (root / "course.yaml").write_text(text)
    course_dir = root / "base"
    init(course_dir, load_course(root / "course.yaml"), root / "course.yaml", log=lambda m: None)
    roster = demo.submit_class(course_dir, "backprop", "backprop")
    submit_bad_class(course_dir)
    for i, student in enumerate(sorted(roster)):  # nbgrader's submission timestamps travel to the gradebook
        (course_dir / "submitted" / student / "backprop" / "timestamp.txt").write_text(
            f"2026-11-2{i} 10:00:00.000000 UTC"
        )
    set_due_date(f"sqlite:///{course_dir / 'gradebook.db'}")
    with open(
        course_dir / "nbgrader_config.py", "a"
    ) as config:  # late work scores zero: penalties get recorded
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    return course_dir, roster


def submit_bad_class(course_dir):
    release, good = submit_unusual(course_dir)
    submit(course_dir, "pat", nbformat.writes(release))  # handed in untouched: "No response." comments, zeros
    kai = submit(course_dir, "kai", nbformat.writes(good))  # a good notebook, with hostile files beside it
    (kai / "extra.ipynb").write_text(nbformat.writes(good))
    (kai / "data.txt").write_text("mine")
    os.symlink(course_dir / "gradebook.db", kai / "gradebook-link.db")


def grade_stock(stock, roster):
    """`nbgrader autograde` over the simulated class, then over BAD (their folders put aside
    for the first pass): nbgrader grades only who has no autograded folder yet.

    `nbgrader export` lists students in the order they entered the gradebook, and one pass
    enters them in the order of their names: the roster is entered so first (as a TA's
    `nbgrader db student import` would), so the two passes export as the kit's one pass must."""
    with Gradebook(f"sqlite:///{stock / 'gradebook.db'}") as gb:
        for student in sorted(set(roster) | set(BAD) - set(NOT_GRADED)):
            gb.update_or_create_student(student)
    aside = stock / "bad-aside"
    aside.mkdir()
    for student in BAD:
        (stock / "submitted" / student).rename(aside / student)
    class_run = demo.nbgrader(stock, "autograde", "backprop")
    assert class_run.returncode == 0, class_run.stderr[-3000:]
    before_bad = {s: gradebook_scores(stock, s) for s in roster}
    for student in BAD:
        (aside / student).rename(stock / "submitted" / student)
    aside.rmdir()
    bad_run = demo.nbgrader(stock, "autograde", "backprop")
    feedback = demo.nbgrader(stock, "generate_feedback", "backprop")
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    return Run.of(class_run), Run.of(bad_run), before_bad


def build(root: Path) -> dict:
    """Build and grade the class in root (base/, stock/, kit/); returns what the copies do not
    hold themselves (the roster, the command's outputs), as JSON-ready data."""
    base, roster = make_course(root)
    stock, kit = root / "stock", root / "kit"
    shutil.copytree(base, stock, symlinks=True)
    shutil.copytree(base, kit, symlinks=True)
    class_run, bad_run, before_bad = grade_stock(stock, roster)
    kit_run = Run.of(backprop_kit(kit, "autograde", "backprop", "--jobs", "2"))
    return {
        "students": sorted(roster) + BAD,
        "roster": roster,
        "stock_before_bad": before_bad,
        "stock_class_run": asdict(class_run),
        "stock_bad_run": asdict(bad_run),
        "kit_run": asdict(kit_run),
    }


def opened(root: Path, built: dict) -> SimulatedClass:
    runs = {name: Run(**built[name]) for name in ("stock_class_run", "stock_bad_run", "kit_run")}
    return SimulatedClass(
        root / "base",
        root / "stock",
        root / "kit",
        built["students"],
        built["roster"],
        built["stock_before_bad"],
        **runs,
    )


@pytest.fixture(scope="session")
@lane("e2e")
def shared_class(tmp_path_factory) -> SimulatedClass:
    """The simulated class graded both ways (SimulatedClass). Built once per test run."""
    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    folder, built = built_once_per_run(tmp_path_factory, "simulated-class", build)
    return opened(folder, built)
