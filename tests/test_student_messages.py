"""What a student reads in their own kernel when something is missing: one short message in
the cell that needs it, never a traceback through bpkit's code. Real release notebook, real
kernel."""

import os

import nbformat
import pytest
from kit_course import kit_course
from lanes import lane
from submissions import run_in_kernel


# The kit's course built by init (9 s of CPU; shared with the e2e modules in make test) and a real
# kernel: some 12 s of CPU in all, the slow lane.
@pytest.fixture(scope="module")
@lane("slow")
def release(tmp_path_factory):
    return (
        kit_course(tmp_path_factory, tmp_path_factory.mktemp("student") / "course") / "release" / "backprop"
    )


def run_first_cells(release, count):
    """The notebook's first `count` code cells, run as on a student's own computer (no
    JupyterHub user, no grader id); errors are kept as outputs, as JupyterLab shows them."""
    nb = nbformat.read(release / "backprop.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"][:count]
    nb.cells = code
    saved = {v: os.environ.pop(v, None) for v in ("BPKIT_STUDENT_ID", "JUPYTERHUB_USER")}
    try:
        run_in_kernel(nb, release, allow_errors=True)
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})
    return code


def test_an_empty_student_id_is_one_short_message_in_the_setup_cell(release):
    student_id, setup = run_first_cells(release, 2)
    assert student_id.source.startswith('STUDENT_ID = ""')
    errors = [o for o in setup.outputs if o.output_type == "error"]
    assert len(errors) == 1, setup.outputs
    shown = "\n".join(errors[0].traceback)  # what JupyterLab prints under the cell
    assert shown.startswith("Your student id is missing: type it between the quotes of STUDENT_ID")
    assert len(shown.splitlines()) == 1 and len(shown) < 200, shown
    assert "Traceback" not in shown and "File " not in shown and "problems.py" not in shown
