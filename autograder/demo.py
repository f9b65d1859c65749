"""`backprop-kit demo`: build the course, grade a simulated class with real nbgrader, show the result.

Everything runs for real: `backprop-kit init`, then `nbgrader autograde` and
`nbgrader generate_feedback` as a TA would type them, each student's notebook executed
in a sandboxed kernel and scored by the out-of-process checks.

The simulated class is demo data, not part of the installed kit: demo/simulated_class.py of
the repository checkout, loaded by path (`load_simulated_class`).
"""

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .course import REPO_ROOT, init, nbgrader_environment
from .grading.report import read_report, report_path

SIMULATED_CLASS = REPO_ROOT / "demo" / "simulated_class.py"


class DemoDataMissing(RuntimeError):
    """The kit was installed without the repository checkout that holds the demo's class."""


@functools.cache
def load_simulated_class():
    """The module demo/simulated_class.py of the repository checkout (student code, attacks
    included, that pip never installs). Raises DemoDataMissing when it is not there."""
    if not SIMULATED_CLASS.is_file():
        raise DemoDataMissing(
            f"the demo grades a simulated class kept in the repository checkout ({SIMULATED_CLASS} "
            "is missing): the installed kit ships no student code. Run the demo from a clone of "
            "backprop-kit (`make demo` there), or grade your own class with `backprop-kit init`."
        )
    spec = importlib.util.spec_from_file_location("backprop_kit_demo_simulated_class", SIMULATED_CLASS)
    if spec is None or spec.loader is None:  # a .py file always has one; said, not asserted
        raise DemoDataMissing(f"{SIMULATED_CLASS} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nbgrader(course_dir, *args):
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )


def submit_class(course_dir, assignment, notebook):
    source = nbformat.read(course_dir / "source" / assignment / f"{notebook}.ipynb", as_version=4)
    release = nbformat.read(course_dir / "release" / assignment / f"{notebook}.ipynb", as_version=4)
    simulated_class = load_simulated_class()
    roster = {}
    for student, (description, answers) in simulated_class.students(source).items():
        target = course_dir / "submitted" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(simulated_class.fill(release, answers), target / f"{notebook}.ipynb")
        roster[student] = description
    return roster


def read_reports(course_dir, assignment, notebook, students):
    """{student: the graded cells of their report (see grading/report.py), or None when not graded}."""
    reports = {}
    for student in students:
        report = read_report(report_path(course_dir, assignment, student, notebook))
        reports[student] = None if report is None else report["cells"]
    return reports


def progress_columns(console):
    """A spinner only where it can spin: in a log or a pipe rich prints the last frame, glyph and all."""
    spinner = [SpinnerColumn(finished_text="✓")] if console.is_terminal else []
    return spinner + [TextColumn("{task.description}"), TimeElapsedColumn()]


def run(course_dir, course, course_yaml, console=None):
    """Build, submit, autograde, feedback. Returns (roster, reports, log of nbgrader's output)."""
    console = console or Console()
    course_dir = Path(course_dir)
    assignment = course.assignments[0]
    notebook = assignment.notebooks[0]
    log = []
    with Progress(*progress_columns(console), console=console, transient=False) as progress:
        step = progress.add_task(f"backprop-kit init {course_dir}", total=None)
        init(course_dir, course, course_yaml, log=lambda m: None)
        progress.update(step, description=f"[green]course built in {course_dir}")
        progress.stop_task(step)
        roster = submit_class(course_dir, assignment.name, notebook)
        for student in roster:
            task = progress.add_task(f"nbgrader autograde {assignment.name} --student {student}", total=None)
            done = nbgrader(course_dir, "autograde", assignment.name, "--student", student)
            log.append(done.stdout + done.stderr)
            progress.update(
                task,
                description=f"[green]autograded {student}"
                if done.returncode == 0
                else f"[red]autograde {student} exited {done.returncode}",
            )
            progress.stop_task(task)
        task = progress.add_task(f"nbgrader generate_feedback {assignment.name}", total=None)
        done = nbgrader(course_dir, "generate_feedback", assignment.name)
        log.append(done.stdout + done.stderr)
        progress.update(
            task,
            description="[green]feedback written"
            if done.returncode == 0
            else f"[red]generate_feedback exited {done.returncode}",
        )
        progress.stop_task(task)
    return roster, read_reports(course_dir, assignment.name, notebook, roster), log


def table(roster, reports):
    t = Table(title="Simulated class: points per exercise (misconceptions named by the grader)")
    t.add_column("student")
    t.add_column("who")
    t.add_column("total", justify="right")
    t.add_column("lost points, and why")
    for student, description in roster.items():
        report = reports[student]
        if report is None:
            t.add_row(student, description, "-", "[red]not graded (see nbgrader's log)")
            continue
        total = sum(r["score"] for r in report)
        possible = sum(r["points"] for r in report)
        lost = [
            f"{r['grade_id'].removeprefix('test_')} {r['score']:g}/{r['points']:g}"
            + (f" [yellow]{', '.join(r['misconceptions'])}[/]" if r["misconceptions"] else "")
            for r in report
            if r["score"] < r["points"]
        ]
        t.add_row(student, description, f"{total:g}/{possible:g}", "\n".join(lost) or "[green]full marks")
    return t


def main(course_dir, course, course_yaml, temporary=False):
    console = Console()
    roster, reports, _ = run(course_dir, course, course_yaml, console)
    console.print(table(roster, reports))
    feedback = Path(course_dir) / "feedback"
    console.print(f"Feedback (HTML, one per student): {feedback}/<student>/{course.assignments[0].name}/")
    console.print(
        f"Gradebook: {Path(course_dir) / 'gradebook.db'}   Reports: {Path(course_dir) / 'backprop-kit' / 'reports'}"
    )
    if temporary:
        console.print(
            f"The demo's course is kept in {course_dir} so you can look around "
            f"(open the feedback in a browser, run nbgrader there); remove it with: rm -rf {course_dir}",
            soft_wrap=True,
        )
    return 0 if all(r is not None for r in reports.values()) else 1
