"""Running a submission's notebook cells, the one way both grading paths do it.

`nbgrader autograde` (StudentKernelExecute) and `backprop-kit autograde` (batch/pipeline.py)
hand the same cells to the submission's sandboxed worker (sandbox/worker.py, a "notebook"
request), which runs them as a Jupyter kernel would: one namespace, an IPython shell for the
cells that use IPython's syntax or helpers, an error or a timeout ending only its cell. A cell
that kills its process costs that cell (the "kernel died" output below) and the rest run in a
fresh one. What comes back is student-written and read strictly (`clean_outputs`); it is only
ever shown as feedback, never scored.
"""

import time

import nbformat

from ..sandbox import limits as limits_module
from ..words import _
from . import nodes
from .cells import is_graded
from .problems import detail_of, shown_detail

# What a cell's outputs may carry into the graded notebook (and so into the feedback page).
ALLOWED_DATA = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
)
START_MARGIN_SECONDS = 5  # on top of the cells' own backstop, for the process that runs them to start
# The notebook's cells together may use this many times the course's timeout of CPU time, however
# many restarts their failures take: a submission's whole time is then its checks plus at most
# this much (issue 32), whatever its cells do. The lecture's notebook runs in about a second.
NOTEBOOK_SHARE = 2.0


def cells_to_run(nb):
    """The indices of the cells a kernel would run for grading: code cells, but not the graded
    cells (scored out of process by TrustedChecks) nor the self-checks (for the student)."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and not is_graded(cell)
        and not str(cell.metadata.get("nbgrader", {}).get("grade_id", "")).startswith("selfcheck")
    ]


def cell_name(cell, index):
    return str(cell.metadata.get("nbgrader", {}).get("grade_id") or f"in [{index}]")


def run_notebook_cells(nb, runner, grading):
    """Run `cells_to_run(nb)` with `runner` (a started StudentRunner) and put each cell's
    outputs and execution count in place. `grading`: course.yaml's grading settings (the
    per-cell timeout and the output cap). Each cell may use the timeout in CPU time (its
    parent stops it: sandbox/worker.py's CellClock); all of them together NOTEBOOK_SHARE times
    that, and the cells left when it is used up are not run (their outputs say so). Outputs
    are only shown, never scored: the checks run the cells they need themselves."""
    seconds = float(grading.timeout_seconds)
    cap = int(grading.output_kb) * 1024
    budget = NOTEBOOK_SHARE * seconds
    backstop = time.monotonic() + limits_module.WALL_FACTOR * budget + START_MARGIN_SECONDS
    pending, count = cells_to_run(nb), 0
    while pending:
        left = min(budget, (backstop - time.monotonic()) / limits_module.WALL_FACTOR)
        if left <= 0:
            for index in pending:
                nb.cells[index].outputs = [not_run_output(budget)]
            return nb
        cells = [[cell_name(nb.cells[i], i), nb.cells[i].source] for i in pending]
        reply = runner.run(
            {
                "cells": cells,
                "notebook": True,
                "limits": {
                    "cell_seconds": min(seconds, left),
                    "cpu_seconds": left,
                    "wall_seconds": limits_module.WALL_FACTOR * left + START_MARGIN_SECONDS,
                },
            }
        )
        budget -= reply.cpu_seconds
        finished = reply.results if isinstance(reply.results, list) else []
        for index, outputs in zip(pending, finished):
            count += 1
            nb.cells[index].outputs = clean_outputs(outputs, cap, count)
            nb.cells[index].execution_count = count
        if len(finished) >= len(pending):
            return nb
        died = pending[len(finished)]
        count += 1
        nb.cells[died].execution_count = count
        nb.cells[died].outputs = [dead_kernel_output(f"{reply.status}: {detail_of(reply)[:300]}")]
        pending = pending[len(finished) + 1 :]
    return nb


def not_run_output(seconds):
    return nbformat.v4.new_output(
        "error",
        ename="NotRun",
        evalue=_("not run: the notebook's cells used up their time"),
        traceback=[
            _(
                "Not run: the cells before it used up the {seconds:g} seconds of CPU time the "
                "notebook's cells may take together (an infinite loop?). Grading is not affected: "
                "each check runs the cells it needs by itself."
            ).format(seconds=seconds)
        ],
    )


def dead_kernel_output(why):
    return nbformat.v4.new_output(
        "error",
        ename="KernelDied",
        evalue=_("the kernel died while running this cell"),
        traceback=[
            _(
                "The kernel died while running this cell (e.g. os._exit or a crash); the notebook went on in "
                "a new kernel. ({why})"
            ).format(why=why)
        ],
    )


def clean_outputs(raw, cap, count):
    """nbformat outputs from what student code sent back: only well-typed, size-capped
    stream, display_data, execute_result and error outputs (student code can forge anything)."""
    outputs = []
    for out in raw if type(raw) is list else []:
        if type(out) is not dict:
            continue
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") in ("stdout", "stderr") and type(out.get("text")) is str:
            outputs.append(nodes.output("stream", name=out["name"], text=out["text"][:cap]))
        elif kind in ("execute_result", "display_data") and type(out.get("data")) is dict:
            data = {k: v[:cap] for k, v in out["data"].items() if k in ALLOWED_DATA and type(v) is str}
            if "text/plain" in data:
                extra = {"execution_count": count} if kind == "execute_result" else {}
                outputs.append(nodes.output(kind, data=data, **extra))
        elif kind == "error" and type(out.get("traceback")) is list:
            english = _text(out.get("evalue"), cap)
            shown = shown_detail(
                english, out.get("words")
            )  # the worker's own words (a cell's timeout), translated
            outputs.append(
                nodes.output(
                    "error",
                    ename=_text(out.get("ename"), 200),
                    evalue=shown,
                    traceback=[
                        _text(line, 2000).replace(english, shown) if english else _text(line, 2000)
                        for line in out["traceback"][:200]
                    ],
                )
            )
    return outputs


def _text(value, cap):
    return value[:cap] if type(value) is str else ""
