"""Per-student graphs (course.yaml graphs: per-student) and the show-values contract.

The fast tests read the descriptions and the draws; the class test at the end grades a class with
real nbgrader and with backprop-kit autograde (bubblewrap needed: under CI=true it refuses to skip).
"""

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import nbformat
import numpy as np
import pytest
from lanes import lane, require_sandbox

from autograder import demo
from autograder.bpkit import problems
from autograder.config import load_course
from autograder.course import init, nbgrader_environment
from autograder.exercises import BY_ID as HAND_EXERCISES
from autograder.exercises import FUNCTIONS_BY_ID
from solutions import graphs as described

REPO = Path(__file__).resolve().parent.parent
PER_STUDENT_EXERCISES = [e.id for e in described.EXERCISES if e.family is not None]
OPERATION_NAMES = {"+", "*", "max", "relu", "σ", "exp", "1/x", "W·x", "‖·‖²"}
simulated_class = demo.load_simulated_class()


def course_yaml(tmp_path, graphs="per-student", randomization="per-student"):
    text = (REPO / "course.yaml").read_text()
    text = re.sub(r"(?m)^randomization:.*$", f"randomization: {randomization}", text)
    text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", r"\1 5", text)
    text += f"\ngraphs: {graphs}\n"
    path = tmp_path / "course.yaml"
    path.write_text(text)
    return path


def show_values(config, *args):
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "show-values", "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def draw(course, student):
    return problems.draw(
        course.seed, course.course_id, "backprop", course.randomization, student, course.graphs
    )


# ---------------------------------------------------------------- the contract


def _check_contract(printed, course, student):
    assert set(printed) == {"exercises"}
    p = draw(course, student)
    assert list(printed["exercises"]) == ["simple_by_hand", "neuron_by_hand", "branch_by_hand", "l2_by_hand"]
    for exercise_id, entry in printed["exercises"].items():
        e = HAND_EXERCISES[exercise_id]
        assert set(entry) == {"graph", "values", "answers", "function"}
        graph = entry["graph"]
        assert set(graph) == {"inputs", "gates", "output"} and graph["output"] == graph["gates"][-1][0]
        for node, op, parents in graph["gates"]:  # noqa: B007
            assert op in OPERATION_NAMES or re.fullmatch(r"[*+]-?\d+(\.\d+)?", op), op
            assert isinstance(parents, list)
        assert graph == {
            "inputs": list(p.graphs[e.problem].inputs),
            "output": p.graphs[e.problem].output,
            "gates": [[n, op, list(ps)] for n, op, ps in p.graphs[e.problem].gates],
        }
        assert set(entry["values"]) == set(graph["inputs"])
        for name, value in p.inputs(e.problem).items():
            assert np.allclose(entry["values"][name], value)
        assert entry["answers"] == {k: list(v) for k, v in e.shape(course.graphs).answers.items()}
        assert entry["function"] == e.description.function.id
    return p


@pytest.mark.slow  # some 2.2 s of CPU: the CLI started as a process (the fast lane keeps tests under 2 s: docs/testing.md)
def test_show_values_json_is_the_contract_with_the_lectures_graphs(tmp_path):
    config = course_yaml(tmp_path, graphs="lecture")
    course = load_course(config)
    printed = json.loads(show_values(config, "--student", "ann", "--json"))
    _check_contract(printed, course, "ann")
    assert printed["exercises"]["simple_by_hand"]["graph"] == {
        "inputs": ["x", "y", "z"],
        "gates": [["q", "+", ["x", "y"]], ["f", "*", ["q", "z"]]],
        "output": "f",
    }
    neuron = printed["exercises"]["neuron_by_hand"]["graph"]["gates"]
    assert [op for _, op, _ in neuron] == ["*", "*", "+", "+", "*-1", "exp", "+1", "1/x"]
    assert printed["exercises"]["l2_by_hand"]["graph"]["gates"] == [
        ["q", "W·x", ["W", "x"]],
        ["f", "‖·‖²", ["q"]],
    ]


@pytest.mark.slow  # some 4.5 s of CPU: the CLI as processes (the fast lane keeps what costs less than 4 s)
def test_show_values_json_prints_no_answer(tmp_path):
    config = course_yaml(tmp_path)
    course = load_course(config)
    text = show_values(config, "--student", "ann", "--json")
    printed = json.loads(text)
    p = _check_contract(printed, course, "ann")
    shown = [HAND_EXERCISES[e] for e in printed["exercises"]]
    numbers = {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)}
    inputs = {float(v) for e in shown for vs in p.inputs(e.problem).values() for v in np.ravel(vs)}
    for e in shown:
        for name, value in e.correct(p.values[e.problem], p.graphs[e.problem], course.graphs).items():
            for v in np.ravel(value):
                if abs(v) > 1 and float(v) not in inputs and not float(v).is_integer():
                    assert float(v) not in numbers, (e.id, name)
    staff = json.loads(show_values(config, "--student", "ann", "--json", "--answers"))
    assert list(staff) == list(printed["exercises"])
    for e in shown:
        right = e.correct(p.values[e.problem], p.graphs[e.problem], course.graphs)
        assert set(staff[e.id]) == set(right)
        assert all(np.allclose(staff[e.id][k], v) for k, v in right.items())


# ---------------------------------------------------------------- the families


@pytest.mark.parametrize("exercise_id", PER_STUDENT_EXERCISES)
def test_every_graph_of_a_family_has_the_same_shape_and_difficulty(exercise_id):
    shape = HAND_EXERCISES[exercise_id].shape(described.PER_STUDENT)
    assert len(shape.graphs) >= 6
    first = shape.graphs[0]
    for g in shape.graphs:
        assert g.inputs == first.inputs
        assert [n for n, _, _ in g.gates] == [n for n, _, _ in first.gates]  # the same named nodes
        assert Counter(described.kind_of(op) for _, op, _ in g.gates) == Counter(
            described.kind_of(op) for _, op, _ in first.gates
        )
        assert len(g.branching()) == len(first.branching()) and g.depth() == first.depth() == 2
        assert g.operation(g.output) not in ("+", "max", "relu") and not g.operation(g.output).startswith("+")
        assert "relu" not in {
            op for _, op, _ in g.gates
        }  # its mistake shows only where it acts as the identity
        wins = {r.args[0] for r in shape.keep if r.kind == "wins"}
        for node, op, parents in g.gates:
            if op == "max":
                assert all(p in g.inputs for p in parents)  # a max reads only inputs
                # its loser does not branch: an input that branches is the first and is made to win
                branching = [p for p in parents if p in g.branching()]
                assert not branching or (branching == [parents[0]] and node in wins), (g.title, node)
    assert len({frozenset((n, op, frozenset(ps)) for n, op, ps in g.gates) for g in shape.graphs}) == len(
        shape.graphs
    )


@pytest.mark.slow  # some 3.5 s of CPU each: 300 ids drawn (the fast lane keeps tests under 2 s: docs/testing.md)
@pytest.mark.parametrize("exercise_id", PER_STUDENT_EXERCISES)
def test_many_graphs_among_300_ids_none_for_more_than_a_quarter(tmp_path, exercise_id):
    course = load_course(course_yaml(tmp_path))
    problem = HAND_EXERCISES[exercise_id].problem
    counts = Counter(draw(course, f"student{i:03d}").graphs[problem] for i in range(300))
    assert len(counts) >= 6 and max(counts.values()) <= 300 / 4, counts.most_common()
    listed = show_values(
        course.source,
        "--variants",
        exercise_id,
        "--roster",
        str(_roster(tmp_path, [f"student{i:03d}" for i in range(300)])),
    )
    assert listed.splitlines()[1] == f"{exercise_id}: 6 graphs in its per-student family " + (
        f"({HAND_EXERCISES[exercise_id].description.family.name}); each student draws one."
    )
    shown = [int(line.split()[0]) for line in listed.splitlines()[2:]]
    assert sorted(shown, reverse=True) == sorted(counts.values(), reverse=True) and sum(shown) == 300


def _roster(tmp_path, ids):
    path = tmp_path / "roster.txt"
    path.write_text("\n".join(ids) + "\n")
    return path


def test_per_course_randomization_gives_everyone_one_graph(tmp_path):
    course = load_course(course_yaml(tmp_path, randomization="per-course"))
    for problem in ("simple", "branch"):
        assert len({draw(course, f"s{i}").graphs[problem] for i in range(20)}) == 1


def test_lecture_mode_and_the_exercises_without_a_family_keep_the_lectures_graph(tmp_path):
    lecture = load_course(course_yaml(tmp_path, graphs="lecture"))
    own = load_course(course_yaml(tmp_path))
    for student in ("ann", "bo"):
        a, b = draw(lecture, student), draw(own, student)
        assert a.graphs["simple"] == described.GRAPHS["simple"]
        assert b.graphs["neuron"] == described.GRAPHS["neuron_staged"]
        assert b.graphs["l2"] == described.GRAPHS["l2_of_matmul"]
        assert a.values["neuron"] == b.values["neuron"] and np.array_equal(
            a.values["l2"]["W"], b.values["l2"]["W"]
        )


def test_the_per_student_notebook_speaks_of_your_graph_and_asks_the_familys_answers():
    from autograder import notebooks

    nb = notebooks.render(REPO / "assignments" / "backprop.py", described.PER_STUDENT)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "your graph" in text.lower()
    assert "def simple_with_gates(w, x, y, z):" in by_id["simple_with_gates"].source
    assert by_id["picture_simple"].source == "pictures.your_graph(P, 'simple')"
    for name in ("p", "q", "f", "dfdp", "dfdq", "dfdw", "dfdx", "dfdy", "dfdz"):
        assert f"\n{name} = ...\n" in by_id["simple_by_hand"].source
    assert FUNCTIONS_BY_ID["simple_with_gates"].needs_for(described.PER_STUDENT) == (
        "add_gate",
        "mul_gate",
        "max_gate",
    )


# ---------------------------------------------------------------- a class graded both ways


def _records(course_dir, student):
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        try:
            nb = gb.find_submission_notebook("backprop", "backprop", student)
        except MissingEntry:
            return None
        return {g.name: (g.auto_score, g.max_score) for g in nb.grades}


def _typed(answers):
    lines = []
    for name, value in answers.items():
        value = np.asarray(value, dtype=float)
        lines.append(
            f"{name} = {float(value)!r}" if value.ndim == 0 else f"{name} = np.array({value.tolist()!r})"
        )
    return "\n".join(lines)


class PerStudentClass(NamedTuple):
    """The per-student class graded both ways: the two course copies; the students who answered
    their own graph; dee, who typed ann's answers; ann; eve, with a wrong MaxGate and one sign
    flipped by hand."""

    stock: Path
    kit: Path
    honest: list[str]
    dee: str
    ann: str
    eve: str


@lane("e2e")
@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    # Its own grading, not the shared class's (shared_class.py): another course setting,
    # per-student graphs and values, which the shared class's lecture graphs are not.
    require_sandbox()
    root = tmp_path_factory.mktemp("per_student")
    config = course_yaml(root)
    course = load_course(config)
    base = root / "base"
    init(base, course, config, log=lambda m: None)
    source = nbformat.read(base / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(base / "release" / "backprop" / "backprop.ipynb", as_version=4)
    correct = simulated_class.reference_answers(source)
    # Four students whose simple and branch graphs all differ from ann's; dee types ann's answers.
    roster = [f"s{i:02d}" for i in range(60)]
    ann = roster[0]
    others = [
        s
        for s in roster[1:]
        if all(draw(course, s).graphs[p] != draw(course, ann).graphs[p] for p in ("simple", "branch"))
    ][:3]
    honest, dee = [ann] + others[:2], others[2]
    anns = draw(course, ann)
    copied = {
        e: _typed(
            HAND_EXERCISES[e].correct(
                anns.values[HAND_EXERCISES[e].problem], anns.graphs[HAND_EXERCISES[e].problem], course.graphs
            )
        )
        for e in PER_STUDENT_EXERCISES
    }
    # eve: a MaxGate that routes to the smaller input (so her functions go wrong at the max of her own
    # graph) and, by hand, the sign of one input of her plus gate flipped.
    eve = "eve"
    eves = draw(course, eve)
    graph = eves.graphs["simple"]
    plus = next(n for n, op, _ in graph.gates if op == "+")
    by_hand = HAND_EXERCISES["simple_by_hand"].correct(eves.values["simple"], graph, course.graphs)
    by_hand[f"dfd{graph.parents(plus)[1]}"] = -by_hand[f"dfd{graph.parents(plus)[1]}"]
    eve_answers = {
        **correct,
        "max_gate": simulated_class.MISTAKES["max-routes-smaller"][1],
        "simple_by_hand": _typed(by_hand),
    }
    for student in honest + [dee, eve]:
        answers = {**correct, **copied} if student == dee else eve_answers if student == eve else correct
        folder = base / "submitted" / student / "backprop"
        folder.mkdir(parents=True)
        nb = simulated_class.fill(release, answers)
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
                cell.source = f'STUDENT_ID = "{student}"'
        nbformat.write(nb, folder / "backprop.ipynb")
    stock, kit = root / "stock", root / "kit"
    shutil.copytree(base, stock, symlinks=True)
    shutil.copytree(base, kit, symlinks=True)
    stock_run = demo.nbgrader(stock, "autograde", "backprop")
    assert stock_run.returncode == 0, stock_run.stderr[-3000:]
    kit_run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "autograde", "backprop", "--jobs", "2"],
        cwd=kit,
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )
    assert kit_run.returncode == 0, kit_run.stdout[-3000:] + kit_run.stderr[-3000:]
    return PerStudentClass(stock, kit, honest, dee, ann, eve)


def test_a_per_student_class_grades_alike_both_ways_and_copies_cost_points(graded_class):
    stock, kit, honest, dee, ann, eve = graded_class
    for student in honest + [dee, eve]:
        assert _records(stock, student) == _records(kit, student), student
    for student in honest:  # each answered their own graph: full marks everywhere
        grades = _records(stock, student)
        assert all(score == top for score, top in grades.values()), (student, grades)
    grades = _records(stock, dee)
    for exercise_id in PER_STUDENT_EXERCISES:  # right for ann's graph, wrong for dee's
        score, top = grades[f"test_{exercise_id}"]
        assert score < top, (exercise_id, score)
    report = json.loads((stock / "backprop-kit" / "reports" / "backprop" / dee / "backprop.json").read_text())
    named = {c["grade_id"]: c for c in report["cells"]}
    assert named["test_simple_by_hand"]["score"] < named["test_simple_by_hand"]["points"]


def test_the_class_report_lists_answers_right_for_a_classmates_graph(graded_class):
    stock, kit, honest, dee, ann, eve = graded_class
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "report", "backprop"],
        cwd=stock,
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    from autograder.config import load_course as load
    from autograder.reports.collect import collect
    from autograder.reports.integrity import find_signals

    course = load(stock / "course.yaml")
    signals = find_signals(collect(stock, "backprop"), course)
    copied = {(c.student, c.exercise) for c in signals.copied_answers}
    assert {(dee, e) for e in PER_STUDENT_EXERCISES} <= copied, signals.copied_answers
    assert not any(s in honest for s, _ in copied)
    html = (stock / "backprop-kit" / "class-report" / "backprop" / "class.html").read_text()
    assert dee in html
    # The pass rate of each drawn graph: everyone but dee (copied) and eve (one sign flipped) passed
    # simple_by_hand on their own graph.
    rows = re.findall(
        r'<tr data-grade-id="test_simple_by_hand" data-full="(\d+)" data-n="(\d+)">\s*<td>(?:<code>[^<]*</code>)?'
        r"</td>\s*<td>([^<]*)</td>",
        html,
    )
    assert len(rows) == 6 and sum(int(n) for _, n, _ in rows) == len(honest) + 2, rows
    assert sum(int(full) for full, _, _ in rows) == len(honest)
    titles = {t for _, n, t in rows if int(n)}
    assert {draw(course, s).graphs["simple"].title for s in honest + [dee, eve]} == titles


def test_the_gradescope_bundle_grades_per_student_graphs_as_nbgrader_does(graded_class, tmp_path):
    import zipfile

    from test_gradescope import gradebook_cells, run_autograder

    stock, kit, honest, dee, ann, eve = graded_class
    bundle = tmp_path / "bundle.zip"
    made = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "gradescope", "backprop", "--out", str(bundle)],
        cwd=stock,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)
    for student in (honest[1], dee, eve):
        notebook = (stock / "submitted" / student / "backprop" / "backprop.ipynb").read_bytes()
        results, output = run_autograder(
            root, {"backprop.ipynb": notebook}, {"email": "", "id": 1, "name": student, "sid": student}
        )
        cells, total = gradebook_cells(stock, student)
        assert {t["name"]: (t["score"], t["max_score"]) for t in results["tests"]} == {
            k: (pytest.approx(s, abs=1e-3), m) for k, (s, m) in cells.items()
        }, (student, results.get("output"), output[-3000:])
        assert results["score"] == pytest.approx(total, abs=1e-3)


def _eves_mistakes(course, eve):
    graph = draw(course, eve).graphs["simple"]
    max_node = next(n for n, op, _ in graph.gates if op == "max")
    plus = next(n for n, op, _ in graph.gates if op == "+")
    flipped = graph.parents(plus)[1]
    return {  # grade id -> (the mistake named, where and what the feedback says)
        "test_simple_with_gates": (
            "max-routes-smaller",
            f"at {max_node} = {described.expression(graph, max_node)}, "
            "the gradient went to the smaller input",
        ),
        "test_simple_by_hand": (
            "sign-flip",
            f"dfd{flipped}: not right: at {plus} = "
            f"{described.expression(graph, plus)}, the gradient to input {flipped} "
            "has the wrong sign",
        ),
        "test_max_gate_backward": ("max-routes-smaller", "the gradient went to the smaller input"),
    }


def test_feedback_names_each_mistake_at_the_node_of_the_students_own_graph(graded_class):
    """Graded for real in the sandbox, by both commands: eve's wrong MaxGate is named at the max
    of her own graph in her function's feedback, her one flipped sign by hand at its input."""
    stock, kit, honest, dee, ann, eve = graded_class
    course = load_course(stock / "course.yaml")
    for folder in (stock, kit):
        report = json.loads(
            (folder / "backprop-kit" / "reports" / "backprop" / eve / "backprop.json").read_text()
        )
        cells = {c["grade_id"]: c for c in report["cells"]}
        for grade_id, (misconception, said) in _eves_mistakes(course, eve).items():
            cell = cells[grade_id]
            assert cell["score"] < cell["points"] and cell["misconceptions"] == [misconception], (
                grade_id,
                cell,
            )
            assert said in cell["feedback"], (grade_id, cell["feedback"])
        branch = cells["test_branch_with_gates"]  # her max is wrong there too, at that graph's max
        assert (
            branch["misconceptions"] == ["max-routes-smaller"]
            and "the gradient went to the smaller input" in branch["feedback"]
        ), branch
        assert all(
            c["score"] == c["points"]
            for gid, c in cells.items()
            if gid not in _eves_mistakes(course, eve)
            and gid not in ("test_branch_with_gates", "test_max_gate_ties")
        ), cells


@pytest.mark.browser
def test_the_feedback_page_shows_the_mistake_at_the_node(graded_class):
    """nbgrader generate_feedback's page for eve, rendered in headless Chromium: the node-level
    words read as the student sees them (screenshots under /tmp/backprop-kit-screenshots/)."""
    from browser import chrome, screenshot_folder
    from test_browser_feedback import panel

    stock, kit, honest, dee, ann, eve = graded_class
    done = demo.nbgrader(stock, "generate_feedback", "backprop", "--student", eve)
    assert done.returncode == 0, done.stderr[-3000:]
    page = stock / "feedback" / eve / "backprop" / "backprop.html"
    course = load_course(stock / "course.yaml")
    folder = screenshot_folder("node-feedback")
    driver = chrome(1100, 900)
    try:
        driver.get(page.as_uri())
        for grade_id, (misconception, said) in _eves_mistakes(course, eve).items():
            shown = panel(driver, grade_id)
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", shown)
            text = " ".join(shown.text.split())
            assert " ".join(said.split(": not right: ")[-1].split()) in text, (grade_id, text)
            # The id once, after the words that explain it (no "looks like 'id'" jargon first).
            assert text.count(f"({misconception})") == 1 and text.count("Hint:") == 1, text
            assert f"looks like '{misconception}'" not in text, text
            shown.screenshot(str(folder / f"eve-{grade_id}.png"))
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0
    finally:
        driver.quit()
