"""The parts of both grading paths that replace the kernel, on their own: the sandboxed
worker running a notebook's cells as a kernel would (StudentKernelExecute, under `nbgrader
autograde` and `backprop-kit autograde` alike), and the strict reading of what comes back
(student code can write anything on the worker's channel)."""
from pathlib import Path

import nbformat
import pytest

from autograder.batch.pipeline import GradingContext
from autograder.grading.execute import clean_outputs
from autograder.grading.preprocessors import StudentKernelExecute
from autograder.grading.reading import parse_notebook
from autograder.config import load_course
from autograder.sandbox.runner import StudentRunner
from autograder.sandbox.bwrap import Limits, sandbox_available

REPO = Path(__file__).resolve().parent.parent


class Snapshot:  # only what StudentKernelExecute reads
    def __init__(self, timeout):
        course = load_course(REPO / "course.yaml")
        self.course = course.model_copy(update={"grading": course.grading.model_copy(
            update={"timeout_seconds": timeout})})


def run_cells(*sources, timeout=1):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    with StudentRunner(Limits(wall_seconds=timeout), require_sandbox=True) as runner:
        ctx = GradingContext(Snapshot(timeout), runner, "ada")
        StudentKernelExecute().preprocess(nb, {"backprop_kit": ctx, "nbgrader": {}})
    return nb.cells


@pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")
def test_cells_run_like_a_kernel_errors_timeouts_and_deaths_cost_only_their_cell():
    cells = run_cells(
        "x = 20\nprint('hello')\nx + 1",
        "class Picture:\n    def _repr_svg_(self):\n        return '<svg/>'\nPicture()",
        "1 / 0",
        "while True:\n    pass",
        "x += 1\nx",
        "import os\nos._exit(3)",
        "print('after', 'x' in globals())")
    assert [o.output_type for o in cells[0].outputs] == ["stream", "execute_result"]
    assert cells[0].outputs[0].text == "hello\n" and cells[0].outputs[1].data["text/plain"] == "21"
    assert cells[1].outputs[0].data["image/svg+xml"] == "<svg/>"
    assert cells[2].outputs[0].ename == "ZeroDivisionError"
    assert cells[3].outputs[0].ename == "CellTimeout"
    assert cells[4].outputs[0].data["text/plain"] == "21", "the namespace survives an error and a timeout"
    assert cells[5].outputs[0].ename == "KernelDied"
    assert cells[6].outputs[0].text == "after False\n", "a fresh namespace after a death, like a new kernel"
    assert [c.execution_count for c in cells] == [1, 2, 3, 4, 5, 6, 7]


def test_forged_outputs_are_dropped_or_cut():
    forged = [
        "not a dict",
        {"output_type": "display_data", "data": {"text/plain": "x"}},  # display(): kept, as a kernel shows it
        {"output_type": "update_display_data", "data": {"text/plain": "x"}},
        {"output_type": "execute_result", "data": {"application/javascript": "alert(1)", "text/plain": "1"}},
        {"output_type": "execute_result", "data": {"text/html": "<b>no text/plain</b>"}},
        {"output_type": "stream", "name": "stdin", "text": "x"},
        {"output_type": "stream", "name": "stdout", "text": "y" * 100},
        {"output_type": "error", "ename": 3, "evalue": None, "traceback": ["a", 7]},
    ]
    outputs = clean_outputs(forged, cap=10, count=4)
    assert [o.output_type for o in outputs] == ["display_data", "execute_result", "stream", "error"]
    outputs = outputs[1:]
    assert outputs[0].data == {"text/plain": "1"} and outputs[0].execution_count == 4
    assert outputs[1].text == "y" * 10
    assert outputs[2].ename == "" and outputs[2].traceback == ["a", ""]
    assert clean_outputs({"output_type": "stream"}, cap=10, count=1) == []


@pytest.mark.parametrize("data, problem", [
    (b"", "the file is empty"),
    (b"  \n", "the file is empty"),
    (b"\xff\xfe", "it is a binary file"),
    (b"{not json", "it is not a Jupyter notebook"),
    (b'{"cells": 3}', "it is not a Jupyter notebook"),
])
def test_unreadable_notebooks_are_named_plainly(data, problem):
    assert parse_notebook(data).reason.startswith(problem)  # what the batch reads notebooks with


def test_a_readable_notebook_is_not_refused():
    assert parse_notebook(nbformat.writes(nbformat.v4.new_notebook()).encode()).reason == ""


def test_the_courses_pipeline_is_run_with_one_for_one_replacements():
    from nbgrader.preprocessors import ClearOutput, Execute, IgnorePattern, OverwriteCells, SaveAutoGrades

    from autograder.batch.pipeline import (PipelineError, SnapshotOverwriteCells, WorkerTrustedChecks,
                                           CollectAutoGrades, batch_steps)
    from autograder.grading.preprocessors import TrustedChecks

    assert batch_steps([ClearOutput, OverwriteCells], "sanitize") == [ClearOutput, SnapshotOverwriteCells]
    assert batch_steps([TrustedChecks, IgnorePattern, SaveAutoGrades], "autograde") == [
        WorkerTrustedChecks, IgnorePattern, CollectAutoGrades]
    with pytest.raises(PipelineError, match="nbgrader's own Execute"):
        batch_steps([Execute, TrustedChecks, SaveAutoGrades], "autograde")
    with pytest.raises(PipelineError, match="no TrustedChecks"):
        batch_steps([IgnorePattern, SaveAutoGrades], "autograde")


def test_outside_a_course_the_command_says_what_to_do(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "autograder.cli", "autograde", "backprop"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "has no nbgrader_config.py: run backprop-kit autograde inside a course" in done.stderr
    assert "Traceback" not in done.stderr
