"""Build an nbgrader course directory from course.yaml: source notebooks, the student-side
helpers (bpkit/), nbgrader_config.py, and the release made by nbgrader itself."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

import solutions
from solutions.table import shipped_table

from . import notebooks
from .exercises import shipped_functions

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
BPKIT_MODULES = ("__init__.py", "gradcheck.py", "graphs.py", "pictures.py", "problems.py", "selfcheck.py",
                 "validate.py")
STUDENT_WORK = ("submitted", "autograded", "feedback")  # never touched by init


class CourseDirectoryError(RuntimeError):
    pass


def assemble_bpkit(dest, course, assignment):
    """bpkit/ as shipped to students: the student-side modules, the misconception catalog,
    the gate table and the functions built from gates as data (gate_table.json,
    exercise_table.json: generated here, so they cannot disagree with the kit's tables) and
    the course settings that pick the student's numbers."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in BPKIT_MODULES:
        shutil.copyfile(PACKAGE_DIR / "bpkit" / name, dest / name)
    shutil.copyfile(Path(solutions.__file__).with_name("misconceptions.py"), dest / "misconceptions.py")
    (dest / "gate_table.json").write_text(json.dumps(shipped_table(), indent=1) + "\n")
    (dest / "exercise_table.json").write_text(json.dumps(shipped_functions(), indent=1) + "\n")
    (dest / "course.json").write_text(json.dumps({
        "course_id": course.course_id, "seed": course.seed, "randomization": course.randomization,
        "assignment": assignment.name, "tolerances": course.tolerances.model_dump()}, indent=1) + "\n")
    return dest


def render_source(course_dir, course, assignments_dir=None):
    """source/<assignment>/: one notebook per jupytext script, and bpkit/."""
    assignments_dir = Path(assignments_dir or REPO_ROOT / "assignments")
    for assignment in course.assignments:
        target = Path(course_dir) / "source" / assignment.name
        target.mkdir(parents=True, exist_ok=True)
        for notebook in assignment.notebooks:
            script = assignments_dir / f"{notebook}.py"
            if not script.is_file():
                raise CourseDirectoryError(
                    f"course.yaml: assignment {assignment.name!r} lists notebook {notebook!r}, "
                    f"but {script} does not exist")
            nb = notebooks.render(script, points=dict(assignment.points or {}))
            nbformat.write(nb, target / f"{notebook}.ipynb")
        assemble_bpkit(target / "bpkit", course, assignment)


def nbgrader_environment():
    """The environment for running nbgrader: it calls `alembic` by name, so the tools of this
    Python's environment come first on PATH even when it was not activated."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def holds_student_work(course_dir):
    course_dir = Path(course_dir)
    return [d for d in STUDENT_WORK if (course_dir / d).is_dir() and any((course_dir / d).iterdir())]


def write_config(course_dir, course_yaml):
    template = (PACKAGE_DIR / "templates" / "nbgrader_config.py").read_text()
    (Path(course_dir) / "nbgrader_config.py").write_text(template)
    shutil.copyfile(course_yaml, Path(course_dir) / "course.yaml")


def init(course_dir, course, course_yaml, run=subprocess.run, log=print):
    """Make (or safely update) an nbgrader course directory. Returns "created" or "updated".

    Submissions, autograded notebooks, feedback and the gradebook are never touched: when
    a directory already holds student work, init refuses, because regenerating an
    assignment under graded submissions could change what they are graded against."""
    course_dir = Path(course_dir)
    busy = holds_student_work(course_dir)
    if busy:
        raise CourseDirectoryError(
            f"{course_dir} already holds student work ({', '.join(busy)}/); init leaves such a course alone. "
            "Nothing was changed. Use a new directory for a new term.")
    state = "updated" if (course_dir / "nbgrader_config.py").exists() else "created"
    course_dir.mkdir(parents=True, exist_ok=True)
    write_config(course_dir, course_yaml)
    render_source(course_dir, course)
    for assignment in course.assignments:
        log(f"nbgrader generate_assignment {assignment.name}")
        done = run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment.name, "--force"],
                   cwd=course_dir, capture_output=True, text=True, env=nbgrader_environment())
        if done.returncode != 0:
            raise CourseDirectoryError(
                f"nbgrader generate_assignment {assignment.name} failed in {course_dir}:\n{done.stderr[-3000:]}")
    return state
