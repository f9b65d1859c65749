"""A student of a course with graphs: per-student in a real JupyterLab (headless Chromium): the
notebook prints and draws *their own* graph of part 1 and part 4, with their numbers, and the
picture is the one show-values describes. The screenshot is kept for a person to look at."""

import re
import shutil

import nbformat
import pytest
from browser import require_chromium
from test_browser_student import open_notebook, outputs_text, rendered_pictures, run_all, served
from test_per_student_graphs import course_yaml

from autograder import demo
from autograder.bpkit import problems
from autograder.config import load_course
from autograder.course import init

pytestmark = pytest.mark.browser
simulated_class = demo.load_simulated_class()
STUDENT = "alice"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_chromium()
    base = tmp_path_factory.mktemp("lab_per_student")
    config = course_yaml(base)
    course = load_course(config)
    init(base / "course", course, config, log=lambda m: None)
    work, home = base / "work", base / "home"
    shutil.copytree(base / "course" / "release" / "backprop", work)
    source = nbformat.read(base / "course" / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(work / "backprop.ipynb", as_version=4)
    nbformat.write(
        simulated_class.fill(release, simulated_class.reference_answers(source)), work / "correct.ipynb"
    )
    drawn = problems.draw(
        course.seed, course.course_id, "backprop", course.randomization, STUDENT, course.graphs
    )
    for session in served(work, home, base, STUDENT, screenshots="student-per-student-graphs"):
        yield session, drawn


def test_the_student_sees_their_own_graph_and_its_picture(lab):
    session, drawn = lab
    driver, url, token, folder = session.driver, session.url, session.token, session.folder
    open_notebook(driver, url, token, "correct.ipynb")
    run_all(driver)
    text = outputs_text(driver)
    assert "Traceback" not in text, text[-2000:]
    for problem in ("simple", "branch"):
        assert f"Your graph: {drawn.graphs[problem].title}" in text
    assert "simple_with_gates agrees with your hand answers." in text
    assert "branch_with_gates agrees with your hand answers." in text
    pictures = rendered_pictures(driver)
    assert len(pictures) == 7 and all(natural > 100 and shown > 100 for natural, shown in pictures), pictures
    # The picture of part 1 is the student's graph: its gates' operations, in its own wiring.
    svg = driver.execute_script("""
        const nb = window.jupyterapp.shell.currentWidget.content;
        const cell = nb.widgets.find(c => c.model.sharedModel.getSource() === "pictures.your_graph(P, 'simple')");
        cell.node.scrollIntoView({block: 'center'});
        const out = cell.model.outputs.toJSON().find(o => o.data && o.data['image/svg+xml']);
        const svg = out.data['image/svg+xml'];
        return Array.isArray(svg) ? svg.join('') : svg;""")
    labels = set(re.findall(r">([^<>]+)</text>", svg))
    graph = drawn.graphs["simple"]
    assert {"p", "q", "f"} <= labels and "?" in labels, labels  # its nodes, and what to compute
    assert {op for _, op, _ in graph.gates} <= labels  # its gates' operations
    assert graph.title in labels  # its formula as the picture's title: the student's own wiring
    for name, value in drawn.inputs("simple").items():  # noqa: B007
        assert str(value) in labels  # the student's numbers on the input wires
    driver.save_screenshot(str(folder / "your-graph-part-1.png"))
