"""Exercises an instructor writes in course.yaml, end to end (issue 35, item 5): the kit installed
from its wheel into a fresh environment, a course folder outside any checkout with two exercises
of its own (tanh of a ratio, with its function built from gates; a sum times a difference drawn
per student), `language: ko`. The wheel's `backprop-kit check-config` and `init` build it; three
students are graded by `nbgrader autograde` and by `backprop-kit autograde`: the instructor's own
solutions get full marks from both, a student's mistakes with the new operations (tanh's
1 - x², the divisor's gradient without its square, the subtrahend not negated) lose points and
are named at their node, in Korean, and both graders agree cell by cell."""

import json
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import nbformat
import pytest
from course_exercises import NOTEBOOK, course_folder
from lanes import require_sandbox
from once_per_run import shared_once_per_run
from submissions import as_student

from autograder import authored, demo
from autograder.course import nbgrader_environment
from autograder.grading.report import report_path

pytestmark = pytest.mark.e2e

VENV_BIN = Path(sys.executable).parent
simulated_class = demo.load_simulated_class()
ASSIGNMENT = "own"

# A TanhGate whose local gradient is 1 - x² of its input: tanh-of-input.
TANH_OF_INPUT = """
import numpy as np


class TanhGate:
    def forward(self, x):
        self.x = x
        return np.tanh(x)

    def backward(self, dout):
        return dout * (1.0 - self.x * self.x)
"""
# A DivGate whose divisor's gradient lost its square: div-denominator-not-squared.
NOT_SQUARED = """
class DivGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, dout):
        return dout / self.y, -dout * self.x / self.y
"""


def _install(folder: Path) -> dict:
    """The kit's wheel installed into a folder of its own (pip install --target): run with this
    interpreter and PYTHONPATH on that folder, the kit is the wheel's, not the checkout's (its
    dependencies are this environment's, which the grading sandbox binds as a real install's)."""
    from autograder.gradescope.bundle import build_wheel

    wheel = build_wheel(folder / "dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(folder / "kit"),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return {}


def run(kit, *args, cwd):
    """A command of the installed kit (`backprop-kit ...` or `nbgrader ...`), in `cwd`."""
    env = {**nbgrader_environment(), "PYTHONPATH": str(kit), "PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    if args[0].startswith("-"):  # python's own options: python -c ...
        command = [sys.executable, *map(str, args)]
    else:
        module = "autograder.cli" if args[0] == "backprop-kit" else args[0]
        command = [sys.executable, "-m", module, *map(str, args[1:])]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _typed(answers):
    return "\n".join(f"{name} = {float(value)!r}" for name, value in answers.items())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course built by the installed kit, three students graded by both graders:
    {grader: {student: {grade_id: cell}}} and the course folder."""
    require_sandbox()
    kit = shared_once_per_run(tmp_path_factory, "installed_kit", _install) / "kit"
    instructor = tmp_path_factory.mktemp("instructor")  # no checkout here, nor above
    course_folder(instructor, course_id="own35", seed=11, language="ko")
    where = run(kit, "-c", "import autograder; print(autograder.__file__)", cwd=instructor)
    assert where.startswith(str(kit)), where  # the wheel's kit, not the checkout's
    checked = run(kit, "backprop-kit", "check-config", cwd=instructor)
    run(kit, "backprop-kit", "init", "course", cwd=instructor)
    course = instructor / "course"

    # The students' numbers and graphs, as the kit draws them (this process registers the
    # course's exercises by loading its course.yaml, as every command does).
    from autograder.bpkit import acceptance, problems
    from autograder.config import load_course
    from autograder.exercises import BY_ID
    from solutions import graphs as described
    from solutions.table import CATALOG_BY_ID as CATALOG

    settings = load_course(course / "course.yaml")

    def answers(student, exercise_id, mistake=None, at=None):
        p = problems.draw(
            settings.seed, settings.course_id, ASSIGNMENT, "per-student", student, exercises=(exercise_id,)
        )
        e = BY_ID[exercise_id]
        graph, values = p.graphs[e.problem], p.values[e.problem]
        if mistake is None:
            return e.correct(values, graph, "lecture"), graph
        evaluation = acceptance.Evaluation(graph, described.flatten_inputs(e.shape("lecture").values, values))
        node = next(n for n, op, _ in graph.gates if op == at)
        made = evaluation.backward(CATALOG[mistake], node, 0)
        return evaluation.answers(e.shape("lecture").answers, made), graph

    source = nbformat.read(course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    reference = simulated_class.reference_answers(source)
    # at the node of the table's symbol (tests may name one): tanh, division, subtraction
    bo_ratio, ratio_graph = answers("bo", "tanh_ratio_by_hand", "tanh-of-input", "tanh")
    bo_sum, sum_graph = answers("bo", "sum_diff_by_hand", "sub-not-negated", "-")
    cy_ratio, _ = answers("cy", "tanh_ratio_by_hand", "div-denominator-not-squared", "/")
    students = {
        "ann": reference,
        "bo": {
            **reference,
            "tanh_ratio_by_hand": _typed(bo_ratio),
            "sum_diff_by_hand": _typed(bo_sum),
            "tanh_gate": TANH_OF_INPUT,
        },
        "cy": {**reference, "tanh_ratio_by_hand": _typed(cy_ratio), "div_gate": NOT_SQUARED},
    }
    for student, filled in students.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(
            as_student(simulated_class.fill(release, filled), student), folder / f"{NOTEBOOK}.ipynb"
        )

    def reports():
        out = {}
        for student in students:
            path = report_path(course, ASSIGNMENT, student, NOTEBOOK)
            out[student] = {c["grade_id"]: c for c in json.loads(path.read_text())["cells"]}
        return out

    run(kit, "nbgrader", "autograde", ASSIGNMENT, cwd=course)
    by_nbgrader = reports()
    shutil.rmtree(course / "backprop-kit" / "reports")
    run(kit, "backprop-kit", "autograde", ASSIGNMENT, "--force", cwd=course)
    shown = json.loads(run(kit, "backprop-kit", "show-values", "--student", "bo", "--json", cwd=course))
    yield {
        "nbgrader": by_nbgrader,
        "backprop-kit": reports(),
        "course": course,
        "checked": checked,
        "release": release,
        "graphs": {"bo": (ratio_graph, sum_graph)},
        "shown": shown,
    }
    authored.uninstall()


def test_the_installed_kit_checks_and_builds_a_course_of_its_own_exercises(graded):
    assert "OK" in graded["checked"] or "own35" in graded["checked"], graded["checked"]
    text = "\n".join(c.source for c in graded["release"].cells)
    assert (
        "pictures.your_graph(P, 'tanh_ratio_by_hand')" in text
        and "def tanh_ratio_with_gates(x, y, z):" in text
    )
    assert "class TanhGate:" in text and "class DivGate:" in text  # the gate cells its function needs
    assert "np.tanh" not in text and "BEGIN SOLUTION" not in text and "grade(" not in text
    # the Korean course: the new rows' words and the frame, from the catalogs
    assert "local gradient 1 - tanh^2는 *출력*을 씁니다" in text
    assert "0에서 떨어진 y에 대한 x / y" in text
    assert "**손으로**, 여러분의 숫자로" in text
    shipped = json.loads((graded["course"] / "release" / ASSIGNMENT / "bpkit" / "course.json").read_text())
    assert [a["id"] for a in shipped["authored"]] == ["tanh_ratio_by_hand", "sum_diff_by_hand"]
    assert "r" not in json.dumps(shipped["authored"][0]["values"]["ranges"])  # ranges only, no answers


def test_show_values_prints_the_course_exercises_in_todays_contract(graded):
    shown = graded["shown"]["exercises"]
    ratio, summed = shown["tanh_ratio_by_hand"], shown["sum_diff_by_hand"]
    assert ratio["graph"]["gates"] == [["r", "/", ["x", "y"]], ["n1", "tanh", ["r"]], ["f", "*", ["n1", "z"]]]
    assert ratio["function"] == "tanh_ratio_with_gates" and ratio["answers"]["dfdr"] == ["grad", "r"]
    assert abs(ratio["values"]["y"]) >= 1
    ratio_graph, sum_graph = graded["graphs"]["bo"]
    assert summed["graph"]["gates"] == [
        [n, op, list(ps)] for n, op, ps in sum_graph.gates
    ]  # bo's own variant
    assert "-" in [op for _, op, _ in summed["graph"]["gates"]] and summed["function"] is None


@pytest.mark.parametrize("grader", ["nbgrader", "backprop-kit"])
def test_the_instructors_own_solutions_get_full_marks_under_both_graders(graded, grader):
    ann = graded[grader]["ann"]
    assert {"test_tanh_ratio_by_hand", "test_sum_diff_by_hand", "test_tanh_ratio_with_gates"} <= set(ann)
    assert {"test_tanh_gate_backward", "test_div_gate_backward"} <= set(ann)
    assert all(c["score"] == c["points"] for c in ann.values()), {
        k: c for k, c in ann.items() if c["score"] < c["points"]
    }


@pytest.mark.parametrize("grader", ["nbgrader", "backprop-kit"])
def test_each_mistake_with_the_new_operations_loses_points_and_is_named_at_its_node_in_korean(graded, grader):
    bo, cy = graded[grader]["bo"], graded[grader]["cy"]
    ratio_graph, sum_graph = graded["graphs"]["bo"]
    from solutions import graphs as described

    def lost(cell, mistake):
        assert cell["score"] < cell["points"] and mistake in cell["misconceptions"], cell
        return cell["feedback"]

    said = lost(bo["test_tanh_ratio_by_hand"], "tanh-of-input")
    tanh_node = next(n for n, op, _ in ratio_graph.gates if op == "tanh")
    assert f"{tanh_node} = {described.gate_expression(ratio_graph, tanh_node)}" in said
    assert "tanh의 local gradient가 출력의 1 − tanh²가 아니라 입력의 1 − x²였습니다" in said, said
    said = lost(bo["test_sum_diff_by_hand"], "sub-not-negated")
    minus = next(n for n, op, _ in sum_graph.gates if op == "-")
    assert f"{minus} = {described.gate_expression(sum_graph, minus)}" in said, said
    assert "음수 부호를 붙이지 않았습니다" in said, said
    lost(bo["test_tanh_gate_backward"], "tanh-of-input")
    lost(bo["test_tanh_ratio_with_gates"], "tanh-of-input")
    said = lost(cy["test_tanh_ratio_by_hand"], "div-denominator-not-squared")
    assert "r = x / y" in said and "−x/y²가 아니라 −x/y였습니다" in said, said
    lost(cy["test_div_gate_backward"], "div-denominator-not-squared")
    lost(cy["test_tanh_ratio_with_gates"], "div-denominator-not-squared")


def test_both_graders_agree_cell_by_cell(graded):
    for student, cells in graded["nbgrader"].items():
        mine = graded["backprop-kit"][student]
        assert {k: (c["score"], c["misconceptions"]) for k, c in cells.items()} == {
            k: (c["score"], c["misconceptions"]) for k, c in mine.items()
        }, student


@pytest.mark.browser
def test_a_student_sees_their_own_variant_picture_in_jupyterlab(graded, tmp_path):
    """The correct notebook of student 'bo' in a real JupyterLab (headless Chromium): Run All draws
    both exercises' pictures, the per-student one bo's own variant; the screenshot is looked at."""
    from browser import require_chromium
    from test_browser_student import open_notebook, rendered_pictures, run_all, served

    from autograder.bpkit import problems

    require_chromium()
    course = graded["course"]
    work, home = tmp_path / "work", tmp_path / "home"
    shutil.copytree(course / "release" / ASSIGNMENT, work)
    shutil.copy(course / "submitted" / "ann" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", work / f"{NOTEBOOK}.ipynb")
    nb = nbformat.read(work / f"{NOTEBOOK}.ipynb", as_version=4)
    nbformat.write(as_student(nb, ""), work / f"{NOTEBOOK}.ipynb")  # the id comes from JupyterHub's user
    mine = problems.draw(11, "own35", ASSIGNMENT, "per-student", "bo", exercises=("sum_diff_by_hand",))
    own = mine.graphs["sum_diff_by_hand"]
    lab = served(work, home, tmp_path, student="bo", screenshots="course-exercises")
    lab_ = next(lab)
    try:
        driver = lab_.driver
        open_notebook(driver, lab_.url, lab_.token, f"{NOTEBOOK}.ipynb")
        run_all(driver)
        pictures = rendered_pictures(driver)
        assert len(pictures) == 2 and all(n > 100 and s > 100 for n, s in pictures), pictures
        text = driver.execute_script(
            "return [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-RenderedSVG')]"
            ".map(e => e.innerHTML).join('\\n')"
        )
        text = urllib.parse.unquote(text)  # JupyterLab shows an SVG as a data: URL
        for node, _, _ in own.gates:
            assert f">{node}<" in text or f"{node} =" in text, node
        driver.execute_script(
            "const s = [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-RenderedSVG')];"
            "s[s.length - 1].scrollIntoView({block: 'center'});"
        )
        import time

        time.sleep(0.5)
        driver.save_screenshot(str(lab_.folder / "own-variant.png"))
        print("screenshot:", lab_.folder / "own-variant.png", "bo's graph:", own.title)
    finally:
        lab.close()
