"""The `network` assignment graded end to end (issue 36, item 2, its layer cells): the kit's
course as `init` builds it, one simulated class (tests/network_class.py: each catalogued layer
mistake, each valid alternative, the reference), graded by one `nbgrader autograde network` and
one `backprop-kit autograde network` call. Both give the same score and name the same mistakes,
cell by cell; each mistake is named at its layer's variable; the valid alternatives get full
marks; the class report counts each mistake for the students who made it; the assignment's
Gradescope bundle grades a student as both graders did."""

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from collections import Counter

import nbformat
import pytest
from kit_course import kit_course
from network_class import MISTAKES, VALID
from shared_class import backprop_kit
from submissions import as_student

from autograder import demo
from autograder.grading.report import report_path

pytestmark = pytest.mark.e2e

ASSIGNMENT = NOTEBOOK = "network"
simulated_class = demo.load_simulated_class()


def _class(reference):
    """{student: (what they did, the misconception id or None, {cell: code})}."""
    students = {"ann": ("the reference", None, reference)}
    for i, (label, mid, cell, code) in enumerate(MISTAKES):
        students[f"m{i:02d}"] = (label, mid, {**reference, cell: code})
    for i, (label, cell, code) in enumerate(VALID):
        students[f"v{i}"] = (label, None, {**reference, cell: code})
    return students


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    course = kit_course(tmp_path_factory, tmp_path_factory.mktemp("network") / "course")
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    students = _class(simulated_class.reference_answers(source))
    for student, (_, _, code) in students.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(as_student(simulated_class.fill(release, code), student), folder / f"{NOTEBOOK}.ipynb")

    def reports():
        out = {}
        for student in students:
            path = report_path(course, ASSIGNMENT, student, NOTEBOOK)
            out[student] = {c["grade_id"]: c for c in json.loads(path.read_text())["cells"]}
        return out

    done = demo.nbgrader(course, "autograde", ASSIGNMENT)
    assert done.returncode == 0, done.stderr[-3000:]
    by_nbgrader = reports()
    shutil.rmtree(course / "backprop-kit" / "reports")
    done = backprop_kit(course, "autograde", ASSIGNMENT, "--force")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    by_kit = reports()
    done = backprop_kit(course, "report", ASSIGNMENT, "--out", str(course / "class-report"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with open(course / "class-report" / "cells.csv", newline="") as f:
        cells = list(csv.DictReader(f))
    return {
        "students": students,
        "nbgrader": by_nbgrader,
        "backprop-kit": by_kit,
        "cells": cells,
        "course": course,
    }


@pytest.mark.parametrize("grader", ["nbgrader", "backprop-kit"])
def test_the_reference_and_every_valid_alternative_get_full_marks(graded, grader):
    for student, (label, mid, _) in graded["students"].items():
        if mid is None:
            cells = graded[grader][student]
            lost = {k: c["feedback"] for k, c in cells.items() if c["score"] < c["points"]}
            assert set(cells) >= {"test_affine_gate_backward", "test_svm_loss_gate_forward"}
            assert not lost, (label, lost)


@pytest.mark.parametrize("grader", ["nbgrader", "backprop-kit"])
def test_each_layer_mistake_is_named_at_its_variable_and_nothing_else_is(graded, grader):
    for student, (label, mid, _) in graded["students"].items():
        if mid is None:
            continue
        cell = next(c for c in MISTAKES if c[0] == label)[2]
        cells = graded[grader][student]
        backward = cells[f"test_{cell}_backward"]
        assert backward["score"] < backward["points"], (label, backward)
        assert backward["misconceptions"] == [mid], (label, backward["feedback"])
        assert f"(looks like '{mid}')" in backward["feedback"], (label, backward["feedback"])
        others = {k: c for k, c in cells.items() if c["misconceptions"] and k != f"test_{cell}_backward"}
        assert all(c["misconceptions"] == [mid] for c in others.values()), (label, others)
    said = {
        graded["students"][s][0]: cells["test_affine_gate_backward"]["feedback"]
        for s, cells in graded[grader].items()
    }
    assert "the gradient to b was taken from one sample of the batch" in said["db of one sample (the last)"]
    assert "the gradient to x used W instead of its transpose" in said["dx with W, not its transpose"]


def test_both_graders_agree_cell_by_cell(graded):
    for student, cells in graded["nbgrader"].items():
        mine = graded["backprop-kit"][student]
        assert {k: (c["score"], c["misconceptions"]) for k, c in cells.items()} == {
            k: (c["score"], c["misconceptions"]) for k, c in mine.items()
        }, student


def test_the_class_report_counts_each_mistake_for_those_who_made_it(graded):
    counted = Counter(
        mid
        for row in graded["cells"]
        for mid in filter(None, row["misconceptions"].split(";"))
        if row["grade_id"].endswith("_backward")
    )
    made = Counter(mid for _, mid, _ in graded["students"].values() if mid)
    assert counted == made, (counted, made)


def test_the_gradescope_bundle_of_the_network_assignment_grades_as_both_graders_did(graded, tmp_path):
    from test_gradescope import run_autograder

    bundle = tmp_path / "network-gradescope.zip"
    made = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "gradescope", ASSIGNMENT, "--out", str(bundle)],
        cwd=graded["course"],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # zipfile drops the permissions it stored
        (root / "source" / name).chmod(0o755)
    student = next(s for s, (label, _, _) in graded["students"].items() if label == "dW transposed")
    notebook = (graded["course"] / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes()
    results, _ = run_autograder(
        root,
        {f"{NOTEBOOK}.ipynb": notebook},
        {"email": "x@example.edu", "id": 7, "name": "X", "sid": student},
    )
    cells = graded["nbgrader"][student]
    assert {t["name"]: (t["score"], t["max_score"]) for t in results["tests"]} == {
        k: (pytest.approx(c["score"], abs=1e-3), c["points"]) for k, c in cells.items()
    }
    backward = next(t for t in results["tests"] if t["name"] == "test_affine_gate_backward")
    assert backward["tags"] == ["matmul-transpose"] and backward["status"] == "failed"
