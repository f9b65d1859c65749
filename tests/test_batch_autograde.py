"""`backprop-kit autograde` against `nbgrader autograde`: the same class, two copies of one course.

One course is built and the simulated class submitted (correct, mistaken, broken and hostile
students, plus submissions nbgrader chokes on); the course is copied twice, one copy graded
by plain `nbgrader autograde`, the other by `backprop-kit autograde --jobs 2`. Every test
reads what came out: the gradebooks cell by cell, the reports, the autograded notebooks,
and nbgrader's own generate_feedback and export run on the kit's results."""

import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

import nbformat
from shared_class import (
    NOT_GRADED,
    assert_each_recorded_once_as_by_nbgrader,
    autograde_disturbed,
    backprop_kit,
    records,
)

from autograder import demo
from autograder.grading.report import read_report, report_path

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data


def graded_outputs(path):
    """{grade_id: outputs} of the graded cells of an autograded notebook (feedback and score)."""
    nb = nbformat.read(path, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.outputs
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")
    }


def test_the_kit_command_succeeds_or_names_each_failed_student(shared_class):
    kit_run = shared_class.kit_run
    assert kit_run.returncode == 1, kit_run.stdout + kit_run.stderr  # hal handed in no notebook
    out = kit_run.stdout
    # Unreadable notebooks score 0 with the reason (issue 12), in both commands.
    assert re.search(
        r"fay 0/\d+ points: backprop.ipynb cannot be graded: it is not a Jupyter notebook", out
    ), out
    assert re.search(r"gus 0/\d+ points: backprop.ipynb cannot be graded: the file is empty", out), out
    assert re.search(r"hal: no notebook was submitted in \S+hal/backprop \(expected backprop.ipynb\)", out)
    assert "Traceback" not in out + kit_run.stderr
    # Every field of a student's line says what it is: points, time, the host that graded it.
    assert re.search(r"✓ ada (\d+)/\1 points  \(graded in [0-9.]+ s on host \S+\)", out), out
    # the summary table: 13 graded, 0 failed, 1 not graded (hal), 0 skipped
    assert re.search(rf"│\s+{len(shared_class.graded)} │\s+0 │\s+{len(NOT_GRADED)} │\s+0 │", out), out


def test_every_graded_cell_scores_the_same_student_by_student(shared_class):
    stock, kit, students = shared_class.stock, shared_class.kit, shared_class.students
    for student in students:
        assert records(kit, student) == records(stock, student), student
    graded = {
        s
        for s in students
        if records(stock, s) and all(v[0] is not None for v in records(stock, s)["grades"].values())
    }
    assert graded == set(shared_class.graded) == set(students) - {"hal"}, graded
    for unreadable in ("fay", "gus"):  # graded 0 in both, every cell recorded
        assert records(kit, unreadable)["score"] == 0 and records(kit, unreadable)["grades"]
    late = {s: records(stock, s)["late_penalty"] for s in ("dan", "eve", "kim", "lee")}
    assert late["dan"] is None and all(late[s] > 0 for s in ("eve", "kim", "lee")), (
        late
    )  # penalties compared too
    pat = records(kit, "pat")  # untouched answers: the comparison covers nbgrader's "No response." rule
    assert "No response." in pat["comments"].values() and pat["score"] == 0


def test_failed_students_are_left_ungraded_in_both(shared_class):
    stock, kit = shared_class.stock, shared_class.kit
    for student in ("hal",):
        assert not (kit / "autograded" / student / "backprop").exists()
        assert not (stock / "autograded" / student / "backprop").exists()
        assert records(kit, student) == records(stock, student)
        assert read_report(report_path(kit, "backprop", student, "backprop")) is None


def test_reports_and_graded_cell_outputs_are_the_same(shared_class):
    stock, kit, students = shared_class.stock, shared_class.kit, shared_class.students
    for student in students:
        stock_report = read_report(report_path(stock, "backprop", student, "backprop"))
        kit_report = read_report(report_path(kit, "backprop", student, "backprop"))
        assert (stock_report or {}).get("cells") == (kit_report or {}).get("cells"), student
        notebook = Path("autograded", student, "backprop", "backprop.ipynb")
        if (stock / notebook).exists():
            assert graded_outputs(kit / notebook) == graded_outputs(stock / notebook), student


def test_autograded_folders_hold_what_nbgrader_puts_there_and_no_followed_links(shared_class):
    stock, kit = shared_class.stock, shared_class.kit
    kai = kit / "autograded" / "kai" / "backprop"
    assert sorted(p.name for p in kai.iterdir()) == ["backprop.ipynb", "bpkit", "data.txt"]
    assert (kai / "data.txt").read_text() == "mine"
    assert oct((kai / "backprop.ipynb").stat().st_mode & 0o777) == oct(0o444)
    report = read_report(report_path(kit, "backprop", "kai", "backprop"))
    assert report["refused_files"] == [
        {"path": "gradebook-link.db", "reason": "a symbolic link; not followed"}
    ]
    ada = kit / "autograded" / "ada" / "backprop"
    assert (ada / "timestamp.txt").read_text() == (
        stock / "autograded" / "ada" / "backprop" / "timestamp.txt"
    ).read_text()


def test_the_notebooks_cells_ran_and_show_their_outputs(shared_class):
    """No kernel starts, but the notebook's own cells still run in the sandbox and show
    their outputs (the pictures, prints), like the kernel's; a cell that kills its process
    costs that cell only."""
    kit = shared_class.kit
    nb = nbformat.read(kit / "autograded" / "ada" / "backprop" / "backprop.ipynb", as_version=4)
    pictures = [
        c for c in nb.cells if str(c.metadata.get("nbgrader", {}).get("grade_id", "")).startswith("picture")
    ]
    assert pictures and all(any("image/svg+xml" in o.get("data", {}) for o in c.outputs) for c in pictures)
    lee = nbformat.read(kit / "autograded" / "lee" / "backprop" / "backprop.ipynb", as_version=4)
    died = [c for c in lee.cells if any(o.get("ename") == "KernelDied" for o in c.get("outputs", []))]
    assert [c.metadata["nbgrader"]["grade_id"] for c in died] == ["branch_by_hand"]
    after = [c for c in lee.cells[lee.cells.index(died[0]) + 1 :] if c.cell_type == "code" and c.outputs]
    assert after, "the cells after the dead process ran in a fresh one"


def test_generate_feedback_and_export_work_unchanged_on_the_kits_results(shared_class):
    stock, kit = shared_class.stock, shared_class.kit
    for course_dir in (stock, kit):
        done = demo.nbgrader(course_dir, "generate_feedback", "backprop")
        assert done.returncode == 0, done.stderr[-2000:]
        done = demo.nbgrader(course_dir, "export")
        assert done.returncode == 0, done.stderr[-2000:]
    html = (kit / "feedback" / "ben" / "backprop" / "backprop.html").read_text()
    assert "add-split" in html
    assert (kit / "grades.csv").read_text() == (stock / "grades.csv").read_text()


def test_a_rerun_grades_only_what_is_missing_and_force_regrades(shared_class):
    kit, students = shared_class.kit, shared_class.students
    before = {s: records(kit, s) for s in students}
    again = backprop_kit(kit, "autograde", "backprop", "--jobs", "2")
    assert f"{len(shared_class.graded)} student(s) already graded, skipped" in again.stdout, again.stdout
    assert "✓" not in again.stdout
    assert {s: records(kit, s) for s in students} == before
    ada = kit / "autograded" / "ada" / "backprop" / "backprop.ipynb"
    mtime = ada.stat().st_mtime_ns
    forced = backprop_kit(kit, "autograde", "backprop", "--student", "ada", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert re.search(r"✓ ada (\d+)/\1 points", forced.stdout) and "ben" not in forced.stdout
    assert ada.stat().st_mtime_ns != mtime
    assert {s: records(kit, s) for s in students} == before


def test_interrupted_midway_loses_nothing_and_a_rerun_finishes(shared_class, tmp_path):
    base, stock, students = shared_class.base, shared_class.stock, shared_class.students
    course = tmp_path / "interrupted"
    shutil.copytree(base, course, symlinks=True)
    returncode, lines, _ = autograde_disturbed(
        course, "--jobs", "1", disturb=lambda process: process.send_signal(signal.SIGINT)
    )
    output = "".join(lines)
    assert returncode == 130, output
    assert "Interrupted" in output and "Traceback" not in output
    graded = [s for s in students if (course / "autograded" / s / "backprop").exists()]
    assert 1 <= len(graded) < 11, output
    for student in graded:  # what was recorded is whole
        assert records(course, student) == records(stock, student), student
    assert not list((course / "autograded").glob("*/.backprop.grading-*")), "staging folders left behind"
    done = backprop_kit(course, "autograde", "backprop", "--jobs", "2")
    assert f"{len(graded)} student(s) already graded, skipped" in done.stdout
    for student in students:
        assert records(course, student) == records(stock, student), student


def grading_processes(coordinator):
    """The local grading processes of a running `backprop-kit autograde`: its children forked
    from it (same command line), not the helpers multiprocessing may start."""
    own = Path(f"/proc/{coordinator}/cmdline").read_bytes()
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == coordinator and (stat.parent / "cmdline").read_bytes() == own:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):  # gone meanwhile
            pass
    return children


def test_a_grading_process_killed_midway_costs_nothing(shared_class, tmp_path):
    """SIGKILL one of the warm local graders (what the kernel's out-of-memory killer does):
    the pool is started again, what it was grading is graded again, each student is recorded
    once with nbgrader's grades, and no sandbox's scratch directory is left behind."""
    base, stock, students = shared_class.base, shared_class.stock, shared_class.students
    # A short TMPDIR: the fork server that starts the new pool binds a Unix socket there, and a
    # socket's path has at most 107 bytes (pytest's own folders under xdist come close).
    course, temporary = tmp_path / "killed", Path(tempfile.mkdtemp(prefix="bk-"))
    shutil.copytree(base, course, symlinks=True)

    def kill_one_grader(process):
        killed = grading_processes(process.pid)[:1]
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    returncode, lines, killed = autograde_disturbed(
        course, "--jobs", "2", disturb=kill_one_grader, env={"TMPDIR": str(temporary)}
    )
    assert killed, "".join(lines)
    assert_each_recorded_once_as_by_nbgrader(course, stock, students, returncode, lines)
    left = list(temporary.iterdir())
    shutil.rmtree(temporary, ignore_errors=True)
    assert not left, "the killed process's sandbox left its scratch directory behind"


def test_unknown_assignment_or_student_get_a_plain_message(shared_class):
    kit = shared_class.kit
    done = backprop_kit(kit, "autograde", "nope")
    assert done.returncode == 1 and "no assignment 'nope' in the gradebook" in done.stderr
    done = backprop_kit(kit, "autograde", "backprop", "--student", "zed")
    assert done.returncode == 1 and "✗ zed: no submission in" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_hostile_code_leaves_nothing_behind(shared_class):
    """eve's attacks (file writes, a detached process, a fork bomb) under the batch: the
    sandbox is the same, so nothing outlives grading and the gradebook is intact."""
    import sqlite3

    kit = shared_class.kit
    survivors = simulated_class.late_attackers_alive()
    assert not survivors, f"processes started by student code outlived grading: {survivors}"
    assert not list(kit.rglob("pwned"))
    with sqlite3.connect(kit / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
