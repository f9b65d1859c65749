"""Submissions nbgrader chokes on, written into a course's submitted/ folder: shared by the
end-to-end tests of `nbgrader autograde` and of `backprop-kit autograde`."""

import nbformat
from nbclient import NotebookClient

from autograder import demo

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data
UNUSUAL = (
    "fay",
    "gus",
    "hal",
    "ivy",
    "jon",
)  # not JSON, empty, no notebook, a test cell deleted, a grade_id renamed


def as_student(nb, student):
    """`nb` with its STUDENT_ID cell set to `student` (as a student types their id off JupyterHub)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
            cell.source = f'STUDENT_ID = "{student}"'
    return nb


def run_in_kernel(nb, folder, allow_errors=False):
    """`nb` run in place by a real Python kernel in `folder` (a student's copy of the release, bpkit/
    beside it), as a student runs all its cells; `allow_errors` for a notebook whose Validate lines
    fail it (a wrong answer)."""
    NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    return nb


def outputs_of(nb, grade_id):
    """The text a cell printed (its stream outputs), found by its grade id."""
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("text", "") for o in cell.outputs)


def submit(course_dir, student, content):
    """submitted/<student>/backprop/ with backprop.ipynb holding `content` (no notebook when None)."""
    target = course_dir / "submitted" / student / "backprop"
    target.mkdir(parents=True)
    if content is not None:
        (target / "backprop.ipynb").write_text(content)
    return target


def submit_unusual(course_dir):
    """Submit UNUSUAL; returns (the release notebook, a correct notebook) for more."""
    release = nbformat.read(course_dir / "release" / "backprop" / "backprop.ipynb", as_version=4)
    source = nbformat.read(course_dir / "source" / "backprop" / "backprop.ipynb", as_version=4)
    good = simulated_class.fill(release, simulated_class.reference_answers(source))
    tampered = simulated_class.cells_tampered_with(good)
    submit(course_dir, "fay", "this is not json")
    submit(course_dir, "gus", "")
    submit(course_dir, "hal", None)
    submit(course_dir, "ivy", nbformat.writes(tampered["deleted"]))
    submit(course_dir, "jon", nbformat.writes(tampered["renamed"]))
    return release, good


def class_context(grade_id, check, **overrides):
    """The grading context of one graded cell in the tests' one course (seed 5, course "c", the
    backprop assignment, per-course values, no student id); `overrides` replace any of these or set
    make_context's other keywords (tolerances, graphs, method_points)."""
    from autograder.grading.context import make_context

    course = dict(seed=5, course_id="c", assignment="backprop", randomization="per-course", student_id="")
    return make_context(grade_id, check, **{**course, **overrides})


def graded_in_process(grade_id, check, code, **overrides):
    """One graded cell's CheckResult for a student whose notebook ran `code`, graded in-process
    (no sandbox: the hidden checks alone) in class_context."""
    from autograder.grading.inprocess import InProcessSubject
    from autograder.grading.registry import run_check

    ctx = class_context(grade_id, check, **overrides)
    return run_check(grade_id, check, InProcessSubject(simulated_class.namespace_of(code)), ctx)


def sandboxed_course(root, timeout_seconds=None):
    """The kit's course built by init in root/base from the repository's course.yaml with
    `require_sandbox: true` (a grading that cannot sandbox fails, never runs unsandboxed) and, if
    given, another `timeout_seconds`: (base, its source notebook, its release notebook)."""
    import re
    from pathlib import Path

    from autograder.config import load_course
    from autograder.course import init

    text = (Path(__file__).resolve().parent.parent / "course.yaml").read_text()
    text = re.sub(r"(?m)^(\s*require_sandbox:).*$", r"\1 true", text)
    if timeout_seconds is not None:
        text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", rf"\1 {timeout_seconds}", text)
    (root / "course.yaml").write_text(text)
    base = root / "base"
    init(base, load_course(root / "course.yaml"), root / "course.yaml", log=lambda m: None)
    source = nbformat.read(base / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(base / "release" / "backprop" / "backprop.ipynb", as_version=4)
    return base, source, release


def submit_class(base, release, answers_by_student):
    """Each student's release notebook filled with their answers ({cell: code or value}), in
    submitted/<student>/backprop/ as nbgrader collects it."""
    for student, answers in answers_by_student.items():
        target = base / "submitted" / student / "backprop"
        target.mkdir(parents=True)
        nbformat.write(simulated_class.fill(release, answers), target / "backprop.ipynb")


def autograde_beside(course, command, busy, memory_mb=0):
    """`nbgrader autograde backprop` or `backprop-kit autograde backprop --jobs 2` (command:
    "nbgrader" or "backprop-kit") in `course`, beside `busy` processes keeping the cores busy for
    the whole grading, each also holding `memory_mb` and writing through it without end (memory
    pressure: the caches and the memory bus shared); asserted to succeed."""
    import subprocess
    import sys

    from shared_class import backprop_kit

    hog = (
        f"b = bytearray({int(memory_mb)} * 1024**2)\nwhile True:\n    b[::4096] = bytes(len(b[::4096]))"
        if memory_mb
        else "while True: pass"
    )
    hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(busy)]
    try:
        done = (
            demo.nbgrader(course, "autograde", "backprop")
            if command == "nbgrader"
            else backprop_kit(course, "autograde", "backprop", "--jobs", "2")
        )
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done
