"""The simulated class graded both ways, once per test session, for the batch tests
(test_batch_*.py): one course built and submitted, then copied and graded by plain
`nbgrader autograde` and by `backprop-kit autograde`. Registered in conftest.py."""
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograder import demo
from autograder.config import load_course
from autograder.course import init, nbgrader_environment
from autograder.sandbox.bwrap import sandbox_available
from lanes import lane
from submissions import UNUSUAL, submit, submit_unusual


REPO = Path(__file__).resolve().parent.parent
BAD = [*UNUSUAL, "kai", "pat"]

def backprop_kit(course_dir, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=course_dir, capture_output=True,
                          text=True, env={**nbgrader_environment(), "COLUMNS": "200"}, **kwargs)


def autograde_disturbed(course_dir, *options, disturb, env=None):
    """`backprop-kit autograde backprop *options` in course_dir, its output read line by line;
    at the first student graded (a ✓ line) `disturb(process)` runs, once (kill a grader,
    cancel a task, press Ctrl-C). Returns (exit code, output lines, what disturb returned)."""
    process = subprocess.Popen([sys.executable, "-m", "autograder.cli", "autograde", "backprop", *options],
                               cwd=course_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**nbgrader_environment(), "COLUMNS": "200", **(env or {})})
    lines, disturbed = [], None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("✓") and disturbed is None:
            disturbed = (disturb(process),)
    process.wait(timeout=300)
    return process.returncode, lines, disturbed[0] if disturbed else None


def assert_each_recorded_once_as_by_nbgrader(course_dir, stock, students, returncode, lines):
    """The whole class graded despite the disturbance: hal handed in no notebook (exit code 1,
    as everywhere), every other student has exactly one line (✓, or ✗ with why: fay's and
    gus's unreadable notebooks score 0) and the gradebook records nbgrader gave."""
    output = "".join(lines)
    assert returncode == 1, output
    for student in [s for s in students if s != "hal"]:
        assert sum(line.startswith((f"✓ {student} ", f"✗ {student} ")) for line in lines) == 1, (student, output)
    for student in students:
        assert records(course_dir, student) == records(stock, student), student


def make_course(root):
    text = (REPO / "course.yaml").read_text()
    text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", r"\1 5", text)
    text = re.sub(r"(?m)^(\s*require_sandbox:).*$", r"\1 true", text)
    (root / "course.yaml").write_text(text)
    course_dir = root / "base"
    init(course_dir, load_course(root / "course.yaml"), root / "course.yaml", log=lambda m: None)
    roster = demo.submit_class(course_dir, "backprop", "backprop")
    submit_bad_class(course_dir)
    for i, student in enumerate(sorted(roster)):  # nbgrader's submission timestamps travel to the gradebook
        (course_dir / "submitted" / student / "backprop" / "timestamp.txt").write_text(
            f"2026-11-2{i} 10:00:00.000000 UTC")
    set_due_date(f"sqlite:///{course_dir / 'gradebook.db'}")
    with open(course_dir / "nbgrader_config.py", "a") as config:  # late work scores zero: penalties get recorded
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    return course_dir, sorted(roster) + BAD


DUE = "2026-11-23 12:00:00 UTC"  # dan is on time, eve, kim and lee are late


def set_due_date(db_url, course_id="default_course"):
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_assignment("backprop", duedate=DUE)


def submit_bad_class(course_dir):
    release, good = submit_unusual(course_dir)
    submit(course_dir, "pat", nbformat.writes(release))  # handed in untouched: "No response." comments, zeros
    kai = submit(course_dir, "kai", nbformat.writes(good))  # a good notebook, with hostile files beside it
    (kai / "extra.ipynb").write_text(nbformat.writes(good))
    (kai / "data.txt").write_text("mine")
    os.symlink(course_dir / "gradebook.db", kai / "gradebook-link.db")


@dataclass(frozen=True)
class BatchClass:
    base: Path  # the course with the class submitted, left ungraded for tests that grade their own copy
    stock: Path  # a copy graded by `nbgrader autograde`
    kit: Path  # a copy graded by `backprop-kit autograde --jobs 2`
    students: list  # every student with a folder in submitted/
    stock_run: subprocess.CompletedProcess
    kit_run: subprocess.CompletedProcess


@pytest.fixture(scope="session")
@lane("e2e")
def batch_class(tmp_path_factory) -> BatchClass:
    """The simulated class graded both ways (BatchClass). Built once per session."""
    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    root = tmp_path_factory.mktemp("batch")
    base, students = make_course(root)
    stock, kit = root / "stock", root / "kit"
    shutil.copytree(base, stock, symlinks=True)
    shutil.copytree(base, kit, symlinks=True)
    stock_run = demo.nbgrader(stock, "autograde", "backprop")
    kit_run = backprop_kit(kit, "autograde", "backprop", "--jobs", "2")
    return BatchClass(base, stock, kit, students, stock_run, kit_run)


def records(course_dir, student, db_url=None):
    """Everything the gradebook holds about one student's submission, or None."""
    with Gradebook(db_url or f"sqlite:///{course_dir / 'gradebook.db'}", "cs231n" if db_url else "default_course") as gb:
        try:
            submission = gb.find_submission("backprop", student)
        except MissingEntry:
            return None
        nb = gb.find_submission_notebook("backprop", "backprop", student)
        return {"timestamp": submission.timestamp,
                "grades": {g.name: (g.auto_score, g.needs_manual_grade, g.manual_score) for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
                "late_penalty": nb.late_submission_penalty, "score": nb.score}
