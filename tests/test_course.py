"""`backprop-kit init`: a real nbgrader course from course.yaml, its release free of leaks,
its notebooks executed by real Jupyter kernels."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from kit_course import first_assignment_only
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.bpkit import problems
from autograder.config import ConfigError, load_course
from autograder.course import KIT_ASSIGNMENTS, notebook_sources
from autograder.exercises import EXERCISES, JACOBIAN_ANSWERS
from autograder.grading import registry
from autograder.notebooks import class_with_solution_markers
from solutions.table import BY_GRADE_ID, GATES

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "backprop"


def write_course_yaml(path, randomization="per-course", seed=4242):
    text = first_assignment_only((REPO / "course.yaml").read_text())
    text = re.sub(r"(?m)^randomization: .*$", f"randomization: {randomization}", text)
    text = re.sub(r"(?m)^seed: .*$", f"seed: {seed}", text)
    path.write_text(text)
    return path


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True, text=True
    )


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
    assert (course / "release" / ASSIGNMENT / "bpkit" / "exercise_table.json").is_file()


def test_the_release_has_the_graded_cells_the_readme_counts(course):
    from autograder.docs import graded_cell_counts

    nb = nbformat.read(course / "release" / ASSIGNMENT / "backprop.ipynb", as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) == sum(graded_cell_counts().values())


def reference_code_lines():
    """Every statement of every reference method body (the gate cells as the source notebook has
    them, written from the operation table's rows), as source text."""
    lines = set()
    for g in GATES:
        tree = ast.parse(class_with_solution_markers(g))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef) and fn.name != "__init__":
                for stmt in fn.body:
                    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                        lines.add(ast.unparse(stmt))
    return lines


def local_gradient_texts():
    """Each graded gate's local gradient as the operation table writes it (the body of its row's
    backward lambda), as written and without a tuple's parentheses."""
    tree = ast.parse((REPO / "solutions" / "table.py").read_text())
    graded = {g.name for g in GATES}
    texts = set()
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Operation"):
            continue
        if call.args[1].value not in graded:
            continue
        (backward,) = [k.value for k in call.keywords if k.arg == "backward"]
        texts.add(ast.unparse(backward.body))
        if isinstance(backward.body, ast.Tuple):
            texts.add(", ".join(ast.unparse(e) for e in backward.body.elts))
    assert len(texts) >= len(graded)
    return texts


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
    local_gradients = local_gradient_texts()
    answers = graded_answer_strings()
    for path in files:
        text = path.read_text()
        if path.suffix == ".ipynb":  # compare code as written, not JSON-escaped
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        for marker in (
            "BEGIN SOLUTION",
            "END SOLUTION",
            "BEGIN HIDDEN TESTS",
            "END HIDDEN TESTS",
            "import autograder",
            "from autograder",
            "import solutions",
            "from solutions",
            "BEGIN MARK SCHEME",
        ):
            assert marker not in text, f"{path.name} contains {marker!r}"
        normalized = {" ".join(line.split()) for line in text.splitlines()}
        leaked = {line for line in code_lines if line in normalized}
        assert not leaked, f"{path.name} contains reference code: {leaked}"
        gradients = {t for t in local_gradients if t in " ".join(text.split())}
        assert not gradients, f"{path.name} contains the operation table's local gradients: {gradients}"
        if path.suffix == ".py":  # bpkit/table.py: the rows, without their backward
            calls = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)]
            assert not any(k.arg == "backward" for c in calls for k in c.keywords), path
        found = {s for s in answers if s in text}
        assert not found, f"{path.name} contains graded answer values {found}"


@pytest.mark.slow  # some 12 s of CPU: `init` run twice more, as a process, on a copy of the course
def test_init_refuses_a_course_with_submissions_and_changes_nothing(course, tmp_path):
    """On a copy of the module's course (its first init succeeded there): init again updates it,
    and once a student's work is in it, refuses and changes nothing."""
    yaml_path = write_course_yaml(tmp_path / "course.yaml")
    course = shutil.copytree(course, tmp_path / "c", symlinks=True)
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
        client = NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        )
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
        assert float(text) == pytest.approx(points), (
            cell.metadata["nbgrader"]["grade_id"],
            text,
            "".join(o.get("text", "") for o in cell.outputs),
        )
        assert not any(o.get("name") == "stderr" for o in cell.outputs)


# ---- an instructor's own notebooks, and course.yaml's points -----------------------------

GATES_SOURCE = """\
# %% kind="setup" grade_id="setup"
import numpy as np
from bpkit import selfcheck

# %% kind="gate" grade_id="add_gate"

# %% kind="gate" grade_id="mul_gate"
"""

HANDS_SOURCE = """\
# %% kind="student_id" grade_id="student_id"
STUDENT_ID = ""

# %% kind="setup" grade_id="setup"
from bpkit import problems, selfcheck
P = problems.load(STUDENT_ID)
x, y, z = P.simple["x"], P.simple["y"], P.simple["z"]

# %% kind="solution" grade_id="simple_by_hand"
### BEGIN SOLUTION
q = x + y
f = q * z
dfdq, dfdz, dfdx, dfdy = z, q, z, z
### END SOLUTION

# %% kind="test" grade_id="test_simple_by_hand" points=3 title="by hand"
"""


def two_notebook_course(folder, notebooks="[gates, hands]", points="{add_gate: 4, simple_by_hand: 6}"):
    """An instructor's folder: course.yaml and assignments/ with two notebooks of one assignment."""
    (folder / "assignments").mkdir(parents=True)
    (folder / "assignments" / "gates.py").write_text(GATES_SOURCE)
    (folder / "assignments" / "hands.py").write_text(HANDS_SOURCE)
    text = write_course_yaml(folder / "course.yaml").read_text()
    text = text.replace("  - name: backprop", "  - name: two")
    text = text.replace("    notebooks: [backprop]", f"    notebooks: {notebooks}")
    text = text.replace("    points: {}", f"    points: {points}")
    (folder / "course.yaml").write_text(text)
    return folder / "course.yaml"


def points_by_cell(path):
    nb = nbformat.read(path, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


@pytest.mark.slow  # some 9 s of CPU: a second whole course built by `init`, as a process
def test_each_notebook_of_an_assignment_gets_the_points_course_yaml_gives_its_exercises(tmp_path):
    """An override for an exercise of one notebook does not stop the other from rendering; each
    total is spread over its exercise's cells in proportion to the defaults."""
    yaml_path = two_notebook_course(tmp_path / "instructor")
    done = run_cli("init", str(tmp_path / "course"), "--config", str(yaml_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    release = tmp_path / "course" / "release" / "two"
    add = dict(registry.gate_checks(BY_GRADE_ID["add_gate"]))
    mul = dict(registry.gate_checks(BY_GRADE_ID["mul_gate"]))
    assert points_by_cell(release / "gates.ipynb") == {
        **{
            f"test_add_gate_{check}": pytest.approx(4 * p / sum(add.values()), abs=1e-3)
            for check, p in add.items()
        },
        **{f"test_mul_gate_{check}": p for check, p in mul.items()},
    }
    assert points_by_cell(release / "hands.ipynb") == {"test_simple_by_hand": 6}


def test_a_misspelled_exercise_in_points_is_one_clear_error_naming_its_line(tmp_path):
    yaml_path = two_notebook_course(tmp_path, points="{add_gate: 4, simple_by_hnad: 6}")
    line = 1 + yaml_path.read_text().splitlines().index("    points: {add_gate: 4, simple_by_hnad: 6}")
    done = run_cli("init", str(tmp_path / "course"), "--config", str(yaml_path), cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"Error: {yaml_path}:{line}: assignments[0].points.simple_by_hnad: no exercise 'simple_by_hnad' in "
        "assignment 'two' (notebooks: gates, hands); did you mean 'simple_by_hand'?"
    )
    assert not (tmp_path / "course").exists()  # found before anything is written


def test_a_listed_notebook_without_a_source_is_one_clear_error_naming_where_it_was_looked_for(tmp_path):
    yaml_path = two_notebook_course(tmp_path, notebooks="[gates, hands, extra]")
    line = 1 + yaml_path.read_text().splitlines().index("    notebooks: [gates, hands, extra]")
    done = run_cli("init", str(tmp_path / "course"), "--config", str(yaml_path), cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"Error: {yaml_path}:{line}: assignments[0].notebooks[2]: assignment 'two' lists notebook 'extra', but its "
        f"source {tmp_path / 'assignments' / 'extra.py'} does not exist (notebook sources are read from the "
        "assignments/ folder beside course.yaml)"
    )
    assert not (tmp_path / "course").exists()


def test_notebook_sources_are_beside_course_yaml_or_else_the_kits_own(tmp_path):
    """An instructor's assignments/ beside course.yaml is used, and only it; a course.yaml kept
    alone (like the copy init writes into the course directory) builds the kit's notebooks."""
    own = load_course(two_notebook_course(tmp_path / "own"))
    assert notebook_sources(own, own.assignments[0]) == {
        "gates": tmp_path / "own" / "assignments" / "gates.py",
        "hands": tmp_path / "own" / "assignments" / "hands.py",
    }
    alone = load_course(write_course_yaml(tmp_path / "course.yaml"))
    assert notebook_sources(alone, alone.assignments[0]) == {"backprop": KIT_ASSIGNMENTS / "backprop.py"}
    assert (
        load_course(REPO / "course.yaml").root / "assignments" == KIT_ASSIGNMENTS
    )  # the checkout's own are beside it
    (tmp_path / "course.yaml").write_text(
        (tmp_path / "course.yaml")
        .read_text()
        .replace("notebooks: [backprop]", "notebooks: [backprop, backprob]")
    )
    misspelled = load_course(tmp_path / "course.yaml")
    with pytest.raises(
        ConfigError,
        match=re.escape(
            f"assignments[0].notebooks[1]: assignment 'backprop' lists notebook 'backprob', but its source "
            f"{KIT_ASSIGNMENTS / 'backprob.py'} does not exist (notebook sources are read from the kit's own "
            "assignments/, as there is no assignments/ folder beside course.yaml)"
        ),
    ):
        notebook_sources(misspelled, misspelled.assignments[0])
