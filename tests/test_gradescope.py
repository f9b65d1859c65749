"""The Gradescope bundle: built from a real course, unpacked into a simulated /autograder tree
(source/, submission/, submission_metadata.json, results/) and run with run_autograder, as
Gradescope would. Its scores must equal what `nbgrader autograde` gave the same notebook for
the same student in the TA's course.

The course is the run's shared simulated class (its copy graded by plain nbgrader); one
unpacked bundle serves the whole module: setup.sh is not run (it installs
from the network); the bundle's run_autograder runs with this project's Python instead."""

import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.gradescope.results import results_json
from autograder.grading.report import report_path
from autograder.sandbox.bwrap import sandbox_available

STUDENTS = ("ben", "kim")

pytestmark = pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")


@dataclass(frozen=True)
class GradedCourse:
    course_dir: Path
    bundle: Path  # the Gradescope zip built from it


@pytest.fixture(scope="module")
def course(shared_class, tmp_path_factory) -> GradedCourse:
    """A TA's course where the class (ben and kim among it) was graded with plain nbgrader
    autograde (the run's shared class: tests/shared_class.py), and its bundle."""
    bundle = tmp_path_factory.mktemp("gradescope") / "backprop-gradescope.zip"
    made = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "gradescope", "backprop", "--out", str(bundle)],
        cwd=shared_class.stock,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    return GradedCourse(shared_class.stock, bundle)


@pytest.fixture(scope="module")
def autograder_root(course, tmp_path_factory):
    """The bundle unpacked as Gradescope does: /autograder/source is the zip's contents."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(course.bundle) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # zipfile drops the permissions it stored
        (root / "source" / name).chmod(0o755)
    return root


def run_autograder(root, files, user):
    """Submit `files` ({name: bytes}) as `user` (an entry of submission_metadata.json's users)."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    (root / "submission_metadata.json").write_text(
        json.dumps(
            {"id": 1, "assignment": {"title": "backprop"}, "users": [user], "previous_submissions": []}
        )
    )
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "BPKIT_PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text()), done.stdout + done.stderr


@pytest.fixture(scope="module")
def graded_on_gradescope(course, autograder_root):
    """ben uploads his notebook under another name (as browsers do); kim's course.yaml says
    to read the id from the email field and to show results after publishing."""
    course_dir = course.course_dir
    notebook = lambda s: (course_dir / "submitted" / s / "backprop" / "backprop.ipynb").read_bytes()  # noqa: E731
    ben = run_autograder(
        autograder_root,
        {"backprop (1).ipynb": notebook("ben")},
        {"email": "ben@example.edu", "id": 11, "name": "Ben", "sid": "ben"},
    )
    yaml_path = autograder_root / "source" / "course" / "course.yaml"
    original = yaml_path.read_text()
    yaml_path.write_text(
        original.replace("student_id_field: sid", "student_id_field: email").replace(
            "visibility: visible", "visibility: after_published"
        )
    )
    try:
        kim = run_autograder(
            autograder_root,
            {"backprop.ipynb": notebook("kim")},
            {"email": "kim", "id": 12, "name": "Kim", "sid": "not-kim"},
        )
    finally:
        yaml_path.write_text(original)
    return {"ben": ben, "kim": kim}


def gradebook_cells(course_dir, student):
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook("backprop", "backprop", student)
        return {g.name: (g.score, g.max_score) for g in nb.grades}, gb.find_submission(
            "backprop", student
        ).score


@pytest.mark.parametrize("student", STUDENTS)
def test_scores_equal_nbgrader_autograde_for_the_same_student(course, graded_on_gradescope, student):
    course_dir = course.course_dir
    results, _ = graded_on_gradescope[student]
    cells, total = gradebook_cells(course_dir, student)
    assert {t["name"]: (t["score"], t["max_score"]) for t in results["tests"]} == {
        k: (pytest.approx(s, abs=1e-3), m) for k, (s, m) in cells.items()
    }
    assert results["score"] == pytest.approx(total, abs=1e-3) and total < sum(
        t["max_score"] for t in results["tests"]
    )  # both lost points
    report = json.loads(report_path(course_dir, "backprop", student, "backprop").read_text())
    for cell, test in zip(report["cells"], results["tests"]):
        assert test["tags"] == cell["misconceptions"]
        assert test["status"] == ("passed" if cell["score"] == cell["points"] else "failed")
        for misconception in cell["misconceptions"]:
            assert f"This looks like '{misconception}'" in test["output"]


def test_results_follow_gradescopes_format_and_course_yaml(graded_on_gradescope):
    ben, _ = graded_on_gradescope["ben"]
    kim, _ = graded_on_gradescope["kim"]
    for results in (ben, kim):
        assert set(results) >= {"score", "output", "tests"} and isinstance(results["score"], float)
        for test in results["tests"]:
            assert set(test) == {"name", "score", "max_score", "status", "output", "tags", "visibility"}
            assert test["status"] in ("passed", "failed") and all(isinstance(t, str) for t in test["tags"])
    assert {t["visibility"] for t in ben["tests"]} == {"visible"}
    assert {t["visibility"] for t in kim["tests"]} == {"after_published"}
    add = next(t for t in ben["tests"] if t["name"] == "test_add_gate_backward")
    assert add["tags"] == ["add-split"] and add["score"] == 0 and "add-split" in add["output"]
    assert "Graded backprop (1).ipynb as backprop.ipynb" in ben["output"]


def test_a_submitter_without_the_id_field_gets_a_message_not_a_crash(autograder_root, course):
    notebook = (course.course_dir / "submitted" / "ben" / "backprop" / "backprop.ipynb").read_bytes()
    results, log = run_autograder(
        autograder_root, {"backprop.ipynb": notebook}, {"email": "x@example.edu", "id": 3}
    )
    assert results["score"] == 0 and results["tests"] == []
    assert "no 'sid'" in results["output"] and "gradescope.student_id_field" in results["output"]
    assert "email" in results["output"] and "Traceback" not in log


def test_a_submission_without_the_notebook_says_what_to_upload(autograder_root):
    results, _ = run_autograder(
        autograder_root, {"notes.txt": b"hi", "a.ipynb": b"{}", "b.ipynb": b"{}"}, {"sid": "ben"}
    )
    assert results["score"] == 0 and "must contain backprop.ipynb" in results["output"]
    assert "a.ipynb" in results["output"]


def test_id_mismatch_and_refused_files_reach_the_top_level_output():
    report = {
        "notebook": "backprop",
        "made_for": "ben",
        "id_mismatch": True,
        "refused_files": [{"path": "link.txt", "reason": "a symbolic link; not followed"}],
        "cells": [
            {
                "grade_id": "test_x",
                "points": 2,
                "score": 1,
                "status": "partial",
                "misconceptions": ["sign-flip"],
                "feedback": "test_x: 1 / 2 points",
            }
        ],
    }
    results = results_json("mia", [report], {("backprop", "test_x"): 1.0}, "hidden")
    assert "made for 'ben'" in results["output"] and "submitted by 'mia'" in results["output"]
    assert "link.txt: a symbolic link" in results["output"]
    assert results["tests"][0]["tags"] == ["sign-flip"] and results["tests"][0]["visibility"] == "hidden"
    quiet = results_json("mia", [{**report, "id_mismatch": False, "refused_files": []}], {}, "visible")
    assert quiet["output"] == ""


def test_bundle_holds_an_installable_wheel_and_valid_scripts_but_no_student_data(course, tmp_path):
    bundle = course.bundle
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        zf.extractall(tmp_path / "b")
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert not [n for n in names if re.search(r"gradebook|submitted/|autograded/|feedback/|reports/", n)], (
        names
    )
    course_nb = nbformat.read(
        tmp_path / "b" / "course" / "source" / "backprop" / "backprop.ipynb", as_version=4
    )
    assert any(
        "### BEGIN SOLUTION" in c.source for c in course_nb.cells
    )  # the instructor's source, for autograde
    for script in ("setup.sh", "run_autograder"):
        checked = subprocess.run(["bash", "-n", str(tmp_path / "b" / script)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
    assert "bubblewrap" in (tmp_path / "b" / "setup.sh").read_text()
    wheels = list((tmp_path / "b" / "wheels").glob("backprop_kit-*.whl"))
    assert len(wheels) == 1
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(wheels[0])],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_FIND_LINKS": ""},
    )
    assert done.returncode == 0, done.stderr
    site = subprocess.run(
        [str(python), "-c", "import autograder, os; print(os.path.dirname(autograder.__file__))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    installed = Path(site.stdout.strip())
    assert installed.is_relative_to(tmp_path / "venv")
    for data in (
        "gradescope/templates/run_autograder",
        "reports/templates/class.html.j2",
        "templates/nbgrader_config.py",
        "gradescope/run.py",
    ):
        assert (installed / data).is_file(), data


def test_bundle_command_outside_a_course_or_for_an_unknown_assignment_says_what_to_do(course, tmp_path):
    def gradescope(*args, cwd):
        return subprocess.run(
            [sys.executable, "-m", "autograder.cli", "gradescope", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
        )

    done = gradescope("backprop", "--out", str(tmp_path / "a.zip"), cwd=tmp_path)
    assert done.returncode == 1 and "has no course.yaml" in done.stderr and "Traceback" not in done.stderr
    done = gradescope("backprp", "--out", str(tmp_path / "b.zip"), cwd=course.course_dir)
    assert (
        done.returncode == 1 and "no assignment 'backprp'" in done.stderr and "Traceback" not in done.stderr
    )
    assert not list(tmp_path.glob("*.zip*"))
