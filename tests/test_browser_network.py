"""The `network` notebook in a real JupyterLab (headless Chromium), as a student with their own id
runs it: the layer cells written (the reference), every cell run, each self-check printing its
relative errors as cs231n's notebooks do and saying the backward matches; no traceback. The
screenshot is kept for a person to look at (issue 36, item 3)."""

import shutil

import nbformat
import pytest
from browser import require_chromium
from kit_course import kit_course
from test_browser_student import open_notebook, outputs_text, run_all, scroll_to_text, served

from autograder import demo

pytestmark = pytest.mark.browser
simulated_class = demo.load_simulated_class()
STUDENT = "kim.minji"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_chromium()
    base = tmp_path_factory.mktemp("lab_network")
    course_dir = kit_course(tmp_path_factory, base / "course")
    work, home = base / "work", base / "home"
    shutil.copytree(course_dir / "release" / "network", work)
    source = nbformat.read(course_dir / "source" / "network" / "network.ipynb", as_version=4)
    release = nbformat.read(work / "network.ipynb", as_version=4)
    nbformat.write(
        simulated_class.fill(release, simulated_class.reference_answers(source)), work / "layers.ipynb"
    )
    yield from served(work, home, base, STUDENT, screenshots="student-network")


def test_the_network_notebook_runs_and_its_self_checks_print_cs231ns_relative_errors(lab):
    driver, url, token, folder = lab.driver, lab.url, lab.token, lab.folder
    open_notebook(driver, url, token, "layers.ipynb")
    run_all(driver)
    text = outputs_text(driver)
    assert "Traceback" not in text, text[-2000:]
    for layer in ("AffineGate", "SoftmaxCrossEntropyGate", "SVMLossGate"):
        assert f"{layer}: backward matches the slope of your forward" in text, text[-3000:]
    assert "dW relative error" in text and "dscores relative error" in text, text[-3000:]
    driver.save_screenshot(str(folder / "network-top.png"))
    scroll_to_text(driver, "SoftmaxCrossEntropyGate: backward matches")
    driver.save_screenshot(str(folder / "network-softmax-self-check.png"))
