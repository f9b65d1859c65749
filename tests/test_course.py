"""`backprop-kit init`: a real nbgrader course from course.yaml, its release free of leaks,
its notebooks executed by real Jupyter kernels."""
import ast
import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.bpkit import problems
from autograder.exercises import EXERCISES, JACOBIAN_ANSWERS
from solutions.table import GATES

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "backprop"


def write_course_yaml(path, randomization="per-course", seed=4242):
    text = (REPO / "course.yaml").read_text()
    text = re.sub(r"(?m)^randomization: .*$", f"randomization: {randomization}", text)
    text = re.sub(r"(?m)^seed: .*$", f"seed: {seed}", text)
    path.write_text(text)
    return path


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """One course built per-course (so graded values are fixed and can be searched for)."""
    root = tmp_path_factory.mktemp("course")
    yaml_path = write_course_yaml(root / "course.yaml")
    done = run_cli("init", str(root / "course"), "--config", str(yaml_path), cwd=REPO)
    assert done.returncode == 0, done.stderr + done.stdout
    return root / "course"


def release_files(course):
    return [p for p in (course / "release").rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def test_init_builds_source_release_and_config(course):
    assert (course / "nbgrader_config.py").is_file() and (course / "course.yaml").is_file()
    nb = nbformat.read(course / "release" / ASSIGNMENT / "backprop.ipynb", as_version=4)
    ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    for g in GATES:
        assert g.grade_id in ids and f"test_{g.grade_id}_backward" in ids
    assert (course / "release" / ASSIGNMENT / "bpkit" / "selfcheck.py").is_file()
    assert (course / "release" / ASSIGNMENT / "bpkit" / "misconceptions.py").is_file()


def reference_code_lines():
    """Every statement of every reference method body, as source text."""
    lines = set()
    for g in GATES:
        tree = ast.parse(textwrap.dedent(inspect.getsource(g.cls)))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef) and fn.name != "__init__":
                for stmt in fn.body:
                    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                        lines.add(ast.unparse(stmt))
    return lines


def graded_answer_strings(seed=4242):
    """The correct values of the graded hand answers, as they could be written down."""
    p = problems.draw(seed, "cs231n-backprop", ASSIGNMENT, problems.PER_COURSE)
    strings = set()
    for exercise in EXERCISES:
        for value in exercise.correct(p.values[exercise.problem]).values():
            for v in np.ravel(value):
                if float(v) != round(float(v)):  # whole numbers are everywhere in a notebook
                    strings |= {repr(float(v)), f"{float(v):.4f}"}
    # 4096 itself is in the question; the products are the answers.
    strings |= {str(v) for v in JACOBIAN_ANSWERS.values() if v > 4096}
    return strings


def test_release_carries_no_solution_code_hidden_tests_markers_or_graded_values(course):
    files = release_files(course)
    assert len(files) >= 8
    code_lines = reference_code_lines()
    answers = graded_answer_strings()
    for path in files:
        text = path.read_text()
        if path.suffix == ".ipynb":  # compare code as written, not JSON-escaped
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                       "import autograder", "from autograder", "import solutions", "from solutions", "BEGIN MARK SCHEME"):
            assert marker not in text, f"{path.name} contains {marker!r}"
        normalized = {" ".join(line.split()) for line in text.splitlines()}
        leaked = {line for line in code_lines if line in normalized}
        assert not leaked, f"{path.name} contains reference code: {leaked}"
        found = {s for s in answers if s in text}
        assert not found, f"{path.name} contains graded answer values {found}"


def test_init_refuses_a_course_with_submissions_and_changes_nothing(tmp_path):
    yaml_path = write_course_yaml(tmp_path / "course.yaml")
    course = tmp_path / "c"
    assert run_cli("init", str(course), "--config", str(yaml_path), cwd=REPO).returncode == 0
    again = run_cli("init", str(course), "--config", str(yaml_path), cwd=REPO)
    assert again.returncode == 0 and "updated" in again.stdout
    work = course / "submitted" / "alice" / ASSIGNMENT / "backprop.ipynb"
    work.parent.mkdir(parents=True)
    work.write_text("my work")
    before = {p: p.read_bytes() for p in course.rglob("*") if p.is_file()}
    refused = run_cli("init", str(course), "--config", str(yaml_path), cwd=REPO)
    assert refused.returncode != 0
    assert "already holds student work" in refused.stderr and "Nothing was changed" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert {p: p.read_bytes() for p in course.rglob("*") if p.is_file()} == before


def execute(path, env_student="alice"):
    nb = nbformat.read(path, as_version=4)
    os.environ["BPKIT_STUDENT_ID"] = env_student
    try:
        client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        error = None
        try:
            client.execute()
        except CellExecutionError as e:
            error = e
    finally:
        os.environ.pop("BPKIT_STUDENT_ID", None)
    return nb, error


def test_release_notebook_runs_up_to_the_first_stub_with_a_clear_message(course):
    nb, error = execute(course / "release" / ASSIGNMENT / "backprop.ipynb")
    assert error is not None and "NotImplementedError" in str(error)
    assert "replace this line with your code" in str(error)
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "These numbers belong to everyone" in outputs
    svgs = [o for c in nb.cells for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert svgs, "the lecture's graph picture is embedded in the notebook"


def test_source_notebook_passes_every_one_of_its_own_tests(course):
    nb, error = execute(course / "source" / ASSIGNMENT / "backprop.ipynb")
    assert error is None, error
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) >= 20
    for cell in graded:
        points = cell.metadata["nbgrader"]["points"]
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert results, f"{cell.metadata['nbgrader']['grade_id']} printed no score"
        text = results[0]["data"]["text/plain"]
        assert float(text) == pytest.approx(points), (cell.metadata["nbgrader"]["grade_id"], text,
                                                      "".join(o.get("text", "") for o in cell.outputs))
        assert not any(o.get("name") == "stderr" for o in cell.outputs)
