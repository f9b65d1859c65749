"""The parts of both grading paths that replace the kernel, on their own: the sandboxed
worker running a notebook's cells as a kernel would (StudentKernelExecute, under `nbgrader
autograde` and `backprop-kit autograde` alike), and the strict reading of what comes back
(student code can write anything on the worker's channel)."""

from pathlib import Path

import nbformat
import pytest

from autograder.batch.pipeline import GradingContext
from autograder.bpkit import i18n
from autograder.config import load_course
from autograder.grading.execute import clean_outputs
from autograder.grading.preprocessors import StudentKernelExecute
from autograder.grading.reading import parse_notebook
from autograder.sandbox.bwrap import sandbox_available
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

REPO = Path(__file__).resolve().parent.parent


class Snapshot:  # only what StudentKernelExecute reads
    def __init__(self, timeout):
        course = load_course(REPO / "course.yaml")
        self.course = course.model_copy(
            update={"grading": course.grading.model_copy(update={"timeout_seconds": timeout})}
        )


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
        "print('after', 'x' in globals())",
    )
    assert [o.output_type for o in cells[0].outputs] == ["stream", "execute_result"]
    assert cells[0].outputs[0].text == "hello\n" and cells[0].outputs[1].data["text/plain"] == "21"
    assert cells[1].outputs[0].data["image/svg+xml"] == "<svg/>"
    assert cells[2].outputs[0].ename == "ZeroDivisionError"
    assert cells[3].outputs[0].ename == "CellTimeout"
    assert cells[4].outputs[0].data["text/plain"] == "21", "the namespace survives an error and a timeout"
    assert cells[5].outputs[0].ename == "KernelDied"
    assert cells[6].outputs[0].text == "after False\n", "a fresh namespace after a death, like a new kernel"
    assert [c.execution_count for c in cells] == [1, 2, 3, 4, 5, 6, 7]
    assert cells[3].outputs[0].evalue == "the cell used more than 1 s of CPU time and was interrupted"


@pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")
def test_a_cell_that_loops_forever_is_told_in_the_course_language():
    """The worker says it in English (it has no catalog), with the message's key and fields
    beside it; the grader shows it in the course's language, on the cell and in its traceback."""
    with i18n.speaking("ko"):
        looped = run_cells("while True:\n    pass", "import os\nos._exit(3)")
    timeout, died = looped[0].outputs[0], looped[1].outputs[0]
    assert (
        timeout.ename == "CellTimeout"
        and timeout.evalue == "셀이 CPU 시간을 1초보다 많이 써서 중단되었습니다"
    )
    assert timeout.evalue in timeout.traceback[-1] and "CPU time" not in "".join(timeout.traceback)
    assert "프로세스가 종료되었습니다 (종료 코드 3)" in died.traceback[0], died.traceback


@pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")
def test_a_check_whose_code_loops_forever_gets_the_same_grade_in_every_language():
    """The same looping gate, graded under en and under ko: the same fraction and status, the
    message in the course's language."""
    from types import SimpleNamespace

    import numpy as np

    from autograder.grading.cells import Submission
    from autograder.grading.checks import CHECKS, gate_row
    from autograder.grading.report import cell_status
    from autograder.grading.sandboxed import sandboxed_subject

    looping = (
        "class MulGate:\n    def forward(self, x, y):\n        while True:\n            pass\n"
        "    def backward(self, d):\n        return d, d\n"
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                looping, metadata={"nbgrader": {"grade_id": "mul_gate", "solution": True}}
            )
        ]
    )
    ctx = SimpleNamespace(
        rng=np.random.default_rng(0), tolerances=load_course(REPO / "course.yaml").tolerances
    )
    graded = {}
    with StudentRunner(Limits(wall_seconds=1), require_sandbox=True) as runner:
        for language in ("en", "ko"):
            with i18n.speaking(language):
                result = CHECKS["forward"].run(
                    gate_row("mul_gate"), sandboxed_subject(runner, Submission(nb)), ctx
                )
                graded[language] = (
                    result.fraction,
                    cell_status(result),
                    result.error_kind,
                    result.feedback("MulGate", 1),
                )
    assert graded["en"][:3] == graded["ko"][:3] == (0.0, "timeout", "timeout")
    assert "did not finish in time" in graded["en"][3]
    assert "코드가 시간 안에 끝나지 않았습니다" in graded["ko"][3] and "did not finish" not in graded["ko"][3]


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


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"", "the file is empty"),
        (b"  \n", "the file is empty"),
        (b"\xff\xfe", "it is a binary file"),
        (b"{not json", "it is not a Jupyter notebook"),
        (b'{"cells": 3}', "it is not a Jupyter notebook"),
    ],
)
def test_unreadable_notebooks_are_named_plainly(data, problem):
    assert parse_notebook(data).reason.startswith(problem)  # what the batch reads notebooks with


def test_a_readable_notebook_is_not_refused():
    assert parse_notebook(nbformat.writes(nbformat.v4.new_notebook()).encode()).reason == ""


def test_the_courses_pipeline_is_run_with_one_for_one_replacements():
    from nbgrader.preprocessors import ClearOutput, Execute, IgnorePattern, OverwriteCells, SaveAutoGrades

    from autograder.batch.pipeline import (
        CollectAutoGrades,
        PipelineError,
        SnapshotOverwriteCells,
        WorkerTrustedChecks,
        batch_steps,
    )
    from autograder.grading.preprocessors import TrustedChecks

    assert batch_steps([ClearOutput, OverwriteCells], "sanitize") == [ClearOutput, SnapshotOverwriteCells]
    assert batch_steps([TrustedChecks, IgnorePattern, SaveAutoGrades], "autograde") == [
        WorkerTrustedChecks,
        IgnorePattern,
        CollectAutoGrades,
    ]
    with pytest.raises(PipelineError, match="nbgrader's own Execute"):
        batch_steps([Execute, TrustedChecks, SaveAutoGrades], "autograde")
    with pytest.raises(PipelineError, match="no TrustedChecks"):
        batch_steps([IgnorePattern, SaveAutoGrades], "autograde")


@pytest.mark.slow  # some 4 s of CPU: the CLI started as a process (the fast lane keeps tests under 2 s: docs/testing.md)
def test_outside_a_course_the_command_says_what_to_do(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "autograde", "backprop"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "has no nbgrader_config.py: run backprop-kit autograde inside a course" in done.stderr
    assert "Traceback" not in done.stderr
