"""An instructor's first steps (issue 17, item 8): the wheel alone builds a course, a starter
course.yaml with a seed of its own, check-config inside a course built from the instructor's
own notebooks, init's word about an assignment course.yaml no longer lists, show-values
without a student id."""

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from kit_course import first_assignment_only

from autograder.course import REPO_ROOT, nbgrader_environment

VENV_BIN = Path(sys.executable).parent


def kit(cwd, *args, python=sys.executable):
    return subprocess.run(
        [python, "-m", "autograder.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )


def test_show_values_without_a_student_id_answers_the_instructor(tmp_path):
    done = kit(tmp_path, "show-values", "--config", str(REPO_ROOT / "course.yaml"), "--student", "")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "pass --student ID" in done.stderr and "per-student" in done.stderr
    assert "set STUDENT_ID in the first code cell" not in done.stderr  # the students' message


@pytest.mark.slow  # some 5 s of CPU: the CLI as processes (the fast lane keeps what costs less than 4 s)
def test_starter_writes_the_kits_course_yaml_with_a_fresh_seed(tmp_path):
    from autograder.bpkit import problems
    from autograder.config import load_course, with_seed

    courses = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        done = kit(tmp_path / name, "starter")
        assert done.returncode == 0, done.stderr
        courses.append(load_course(tmp_path / name / "course.yaml"))
        assert f"fresh seed ({courses[-1].seed})" in done.stdout
    kit_course = load_course(REPO_ROOT / "course.yaml")
    a, b = courses
    assert a.seed != b.seed and kit_course.seed not in (a.seed, b.seed)
    assert with_seed(a, kit_course.seed) == kit_course  # the kit's course but for the seed
    # only the seed differs from the kit's file, line for line
    changed = [
        x
        for x, y in zip(
            (tmp_path / "a" / "course.yaml").read_text().splitlines(),
            (REPO_ROOT / "course.yaml").read_text().splitlines(),
        )
        if x != y
    ]
    assert len(changed) == 1 and changed[0].startswith("seed:")
    values = [problems.draw(c.seed, c.course_id, "backprop", c.randomization, "ada").values for c in (a, b)]
    assert str(values[0]) != str(values[1])  # two courses made this way do not share numbers
    again = kit(tmp_path / "a", "starter")
    assert again.returncode == 1 and "exists" in again.stderr
    assert load_course(tmp_path / "a" / "course.yaml").seed == a.seed


@pytest.mark.e2e
def test_check_config_works_inside_a_course_built_from_the_instructors_own_notebooks(tmp_path):
    own = tmp_path / "own"
    (own / "assignments").mkdir(parents=True)
    shutil.copyfile(REPO_ROOT / "assignments" / "backprop.py", own / "assignments" / "week4.py")
    text = first_assignment_only((REPO_ROOT / "course.yaml").read_text()).replace(
        "notebooks: [backprop]", "notebooks: [week4]"
    )
    (own / "course.yaml").write_text(text)
    done = kit(own, "init", str(tmp_path / "course"))
    assert done.returncode == 0, done.stderr
    inside = kit(tmp_path / "course", "check-config")
    assert inside.returncode == 0, inside.stderr
    assert "OK" in inside.stdout
    assert (tmp_path / "course" / "assignments" / "week4.py").read_bytes() == (
        own / "assignments" / "week4.py"
    ).read_bytes()


@pytest.mark.e2e
def test_init_says_what_it_does_with_an_assignment_course_yaml_no_longer_lists(tmp_path):
    text = first_assignment_only((REPO_ROOT / "course.yaml").read_text())
    two = text.replace("    points: {}\n", "    points: {}\n  - name: extra\n    notebooks: [backprop]\n", 1)
    assert two != text
    (tmp_path / "course.yaml").write_text(two)
    done = kit(tmp_path, "init", "course")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "course" / "source" / "extra").is_dir()
    (tmp_path / "course.yaml").write_text(text)
    done = kit(tmp_path, "init", "course")
    assert done.returncode == 0, done.stderr
    line = next(l for l in done.stdout.splitlines() if "'extra'" in l)  # noqa: E741
    assert "no longer in course.yaml: kept as it is (source/extra/, release/extra/, the gradebook)" in line
    command = line.split("run in the course directory: ")[1]
    assert command == "nbgrader db assignment remove extra && rm -r source/extra release/extra"
    assert (tmp_path / "course" / "source" / "extra").is_dir()  # kept
    removed = subprocess.run(
        command,
        shell=True,
        cwd=tmp_path / "course",
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )
    assert removed.returncode == 0, removed.stderr  # the command it gives works
    again = kit(tmp_path, "init", "course")
    assert again.returncode == 0 and "'extra'" not in again.stdout


@pytest.mark.e2e
def test_the_wheel_alone_builds_the_kits_course(tmp_path):
    """pip install of the wheel (no checkout): `backprop-kit init DIR` where there is no
    course.yaml builds the kit's own course from the files in the wheel, and says so. The
    fresh environment gets the kit's dependencies from this one's site-packages (a .pth
    file), so the test needs no network; the kit itself comes from the wheel only."""
    from autograder.gradescope.bundle import build_wheel

    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "instructor"
    elsewhere.mkdir()
    where = subprocess.run(
        [python, "-c", "import autograder.course as c; print(c.KIT_COURSE_YAML)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where == str(site / "autograder" / "kit" / "course.yaml")
    env = {**nbgrader_environment(), "PATH": f"{venv / 'bin'}:{VENV_BIN}:/usr/bin:/bin"}
    done = subprocess.run(
        [venv / "bin" / "backprop-kit", "init", "course"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"No course.yaml here: building the kit's own course ({where})" in done.stdout
    release = nbformat.read(elsewhere / "course" / "release" / "backprop" / "backprop.ipynb", as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in release.cells if "nbgrader" in c.metadata]
    assert "test_add_gate_forward" in ids and "simple_by_hand" in ids
    assert (elsewhere / "course" / "course.yaml").read_bytes() == (REPO_ROOT / "course.yaml").read_bytes()
    started = subprocess.run(
        [venv / "bin" / "backprop-kit", "starter"], cwd=elsewhere, capture_output=True, text=True, env=env
    )
    assert started.returncode == 0, started.stderr
    assert re.search(r"fresh seed \(\d+\)", started.stdout)
