"""Grading runs what Jupyter runs: cells written with IPython's own syntax and helpers (line and
cell magics, shell escapes, help, automagics, display(), get_ipython(), indented code) give, in the sandboxed worker that both
grading commands use, what they give in a real Jupyter kernel; what that kernel refuses is an
error of that cell only. The same cells run both ways here and the outputs are compared.
(That such answer cells earn their marks under both commands: tests/test_same_points.py.)"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.config import load_course
from autograder.grading.execute import run_notebook_cells
from autograder.sandbox.bwrap import sandbox_available
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

REPO = Path(__file__).resolve().parent.parent

CELLS = [
    "x = 20\n%env BPKIT_GREETING=hello\nimport os\nprint(os.environ['BPKIT_GREETING'], x)",
    "lines = !echo hi there\nprint(lines)",
    "%%writefile note.txt\nwritten by a cell magic",
    "print(open('note.txt').read())",
    "display(x)\nget_ipython().user_ns['w'] = 5\nw + x",
    "from IPython.display import HTML\ndisplay(HTML('<b>bold</b>'))",
    "%nosuchmagic",  # the kernel refuses it: an error of this cell only
    "def f(:\n    pass",  # not even IPython: a SyntaxError, this cell only
    "%%capture captured\nprint('hidden')",
    "print(captured.stdout.strip(), w, x)",
    "import numpy as np\nnp.arange(3)",
    "    y = x + 1\n    if y:\n        print('indented', y)",  # pasted indented: IPython removes the common indent
    "x?",  # help goes to the notebook's pager, not to the cell's output
    "env BPKIT_GREETING",  # a single-line automagic: %env without its %
    "    %who_ls int",  # a magic, indented
]


def notebook():
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in CELLS],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def shown(nb):
    """What each cell showed, in order: streams merged as a notebook displays them, rich data
    by its text/plain and HTML, errors by their name."""
    cells = []
    for cell in nb.cells:
        out = []
        for o in cell.outputs:
            if o.output_type == "stream" and out and out[-1][0] == o.name:
                out[-1] = (o.name, out[-1][1] + o.text)
            elif o.output_type == "stream":
                out.append((o.name, o.text))
            elif o.output_type in ("display_data", "execute_result"):
                out.append((o.output_type, o.data.get("text/plain"), o.data.get("text/html")))
            else:
                out.append(("error", o.ename))
        cells.append(
            [
                (kind, *(v.replace("\r\n", "\n") if isinstance(v, str) else v for v in rest))
                for kind, *rest in out
            ]
        )
    return cells


@pytest.fixture(scope="module")
def in_kernel(tmp_path_factory):
    """The cells in a real Jupyter kernel (ipykernel, as `nbgrader autograde` used to start)."""
    nb = notebook()
    NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("kernel"))}},
    ).execute()
    return shown(nb)


@pytest.fixture(scope="module")
def in_worker():
    """The same cells as both grading commands run them: the submission's sandboxed worker."""
    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    grading = load_course(REPO / "course.yaml").grading
    nb = notebook()
    with StudentRunner(Limits.from_course(grading), require_sandbox=True) as runner:
        run_notebook_cells(nb, runner, grading)
    return shown(nb)


def test_ipython_cells_show_in_the_worker_what_they_show_in_a_kernel(in_kernel, in_worker):
    for source, kernel, worker in zip(CELLS, in_kernel, in_worker):
        assert worker == kernel, source


def test_what_the_kernel_refuses_is_an_error_of_that_cell_only(in_worker):
    assert in_worker[6] == [("stderr", "UsageError: Line magic function `%nosuchmagic` not found.\n")]
    assert in_worker[7] == [("error", "SyntaxError")]
    assert in_worker[9] == [("stdout", "hidden 5 20\n")], "the cells after them ran, in the same namespace"
    assert in_worker[1] == [("stdout", "['hi there']\n")] and in_worker[4][0] == ("display_data", "20", None)


def test_every_cell_goes_through_ipythons_transformation_not_only_those_that_look_like_ipython(in_worker):
    assert in_worker[11] == [("stdout", "indented 21\n")]
    assert in_worker[12] == []
    assert in_worker[13] == [("execute_result", "'hello'", None)]
    assert in_worker[14] == [("execute_result", "['w', 'x', 'y']", None)]


def test_a_cell_pasted_indented_runs_as_in_a_kernel_when_nothing_else_looks_like_ipython():
    # The notebook above has magics, so a shell runs all of it; here no cell has any IPython
    # syntax, as in a hidden check's run of one pasted answer cell.
    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    grading = load_course(REPO / "course.yaml").grading
    with StudentRunner(Limits.from_course(grading), require_sandbox=True) as runner:
        reply = runner.run({"cells": ["    def f(x):\n        return 2 * x\n\n    print(f(21))\n"]})
    assert (reply.status, reply.output) == ("ok", "42\n"), reply
