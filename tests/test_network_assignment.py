"""The `network` assignment of the kit's course.yaml (issue 36, item 1): its own notebook,
assignments/network.py, whose layer cells are the operation table's rows graded by the same
row-driven checks as the first notebook's gates (test_<id>_forward, test_<id>_backward); an
instructor can drop it from course.yaml and nothing of the first assignment changes; its release
holds no layer's answer."""

import nbformat
import pytest
from kit_course import first_assignment_only, kit_course

from autograder.config import load_course
from autograder.course import KIT_ASSIGNMENTS, REPO_ROOT, build_sources
from autograder.notebooks import graded_exercises, render

LAYER_CELLS = ("affine_gate", "relu_gate", "softmax_ce_gate", "svm_loss_gate")


def test_the_network_notebook_grades_each_layer_by_its_ids():
    nb = render(KIT_ASSIGNMENTS / "network.py")
    graded = [
        c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
    ]
    assert graded == [f"test_{cell}_{check}" for cell in LAYER_CELLS for check in ("forward", "backward")]
    assert graded_exercises(nb) == list(LAYER_CELLS)
    answers = [
        c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
    ]
    assert answers == list(LAYER_CELLS)


def test_dropping_the_network_assignment_changes_nothing_of_the_first(tmp_path):
    (tmp_path / "course.yaml").write_text(first_assignment_only((REPO_ROOT / "course.yaml").read_text()))
    (tmp_path / "assignments").symlink_to(KIT_ASSIGNMENTS)
    alone = {a.name: nbs for a, nbs in build_sources(load_course(tmp_path / "course.yaml"))}
    both = {a.name: nbs for a, nbs in build_sources(load_course(REPO_ROOT / "course.yaml"))}
    assert list(alone) == ["backprop"] and list(both) == ["backprop", "network"]
    first, with_network = alone["backprop"], both["backprop"]

    def cells(nb):  # nbformat's cell ids are random: every cell's source and metadata
        return [(c.cell_type, c.source, c.metadata) for c in nb.cells]

    assert cells(first["backprop"]) == cells(with_network["backprop"])


@pytest.mark.e2e  # the kit's course as init builds it (nbgrader generate_assignment): ~13 CPU s alone
def test_the_network_release_holds_no_layers_answer(tmp_path_factory, tmp_path):
    course = kit_course(tmp_path_factory, tmp_path / "course")
    release = nbformat.read(course / "release" / "network" / "network.ipynb", as_version=4)
    code = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    for answer in (
        "return x @ W + b",
        "@ self.W.T",
        "self.x.T @",
        "np.eye(",
        "np.exp(",
        "BEGIN HIDDEN TESTS",
        "inprocess",
    ):
        assert answer not in code, answer
    for layer in ("AffineGate", "SoftmaxCrossEntropyGate", "SVMLossGate", "ReLUGate"):
        assert f"class {layer}:" in code and f"selfcheck.gate({layer})" in code
    shipped = (course / "release" / "network" / "bpkit" / "table.py").read_text()
    assert "forward=lambda x, W, b" not in shipped and "backward=lambda" not in shipped
