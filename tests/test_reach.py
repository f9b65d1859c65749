"""What a graded cell can reach where it is graded (bpkit/reach.py, issue 33 item 4), read from
cells as students write them; course.yaml's grading.packages; and numbers for people in
`show-values --answers`. Fast: no grading here (test_messages_end_to_end.py grades)."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from shipped import shipped_bpkit_module

from autograder.bpkit import reach
from autograder.config import ConfigError, load_course
from autograder.course import importable_modules
from autograder.reports.wording import answer_for_people, hand_decimals

REPO = Path(__file__).resolve().parent.parent
SETUP = ["P", "STUDENT_ID", "np", "pictures", "problems", "selfcheck", "x", "y", "z"]


def beyond(cell):
    return reach.beyond_setup(reach.python_of(textwrap.dedent(cell)), SETUP)


@pytest.mark.parametrize(
    "cell, names",
    [
        ("q = x + y\nf = q * z\ndfdq, dfdz = z, q\ndfdx = dfdy = dfdq\n", []),
        ("import math\nq = x + y\nf = math.fsum([q]) * z\n", []),  # an import binds its name
        ("q = np.add(x, y)\nf = float(np.multiply(q, z))\n", []),
        ("g = MulGate()\nf = g.forward(x + y, z)\ndfdq, dfdz = g.backward(1.0)\n", ["MulGate"]),
        (
            "def chain(a, b):\n    return a * b\nq = x + y\ndfdx = chain(dfdq_from_before, 1)\n",
            ["dfdq_from_before"],
        ),
        ("grads = [k * z for k in (1, 1)]\nhelper_sum = total(grads)\n", ["total"]),
        ("q = x + y\n%precision 3\nf = q * z\n", []),  # a magic: IPython's transform first
        ("class Local:\n    scale = z\nf = Local.scale * other\n", ["other"]),
        ("f = (x + y) * z\nlambda: sigmoid(f)\n", ["sigmoid"]),
        ("q = x +\n", []),  # does not compile: it fails with its own error, nothing is guessed
    ],
)
def test_a_hand_cell_may_use_the_setup_cells_names_and_python_only(cell, names):
    assert beyond(cell) == names


@pytest.mark.parametrize(
    "setup, cell, names",
    [
        ("%time w = 2.0\n", "f = w * x\n", []),  # a line magic that runs its code in the namespace
        ("%%time\nw = 2.0\n", "f = w * x\n", []),
        (
            "%%capture shown\nw = 2.0\nprint(w)\n",
            "f = w * x\nlog = shown\n",
            [],
        ),  # the body, and the variable
        ("%%capture --no-stderr shown\nw = 2.0\n", "f = w * shown\n", []),
        ("w = %sx echo 2\n", "f = w\n", []),  # an assignment from a magic's output
        ("%timeit w = 2.0\n", "f = w * x\n", ["w"]),  # %timeit runs its code apart: nothing defined
        ("%time %time w = 2.0\n", "f = w\n", []),
    ],
)
def test_names_a_magic_defines_are_defined(setup, cell, names):
    """IPython's transformation first, then the code of the magics that run it in the notebook's
    namespace (the worker runs a cell the same way), for the setup cells' names and the hand cell's."""
    defined = SETUP + reach.bound_names(reach.python_of(setup))
    assert reach.beyond_setup(reach.python_of(cell), defined) == names
    hand = "%%time\n" + cell  # the hand cell's own names through a magic too
    assert reach.beyond_setup(reach.python_of(hand), defined) == names


def test_a_hand_cell_whose_answers_a_magic_binds_is_found_in_the_kernels_history():
    history = ["", "%time q = x + y\n", "selfcheck.answers(globals(), 'q')\n"]
    python = [reach.python_of(cell) for cell in history]  # IPython's In holds the transformed cells
    assert reach.cell_binding(python, ["q"]) == python[1]


@pytest.mark.parametrize(
    "cell, missing",
    [
        ("from scipy.special import expit\n", ["scipy"]),
        ("import scipy.special as sp\nimport numpy as np\n", ["scipy"]),
        ("import torch, math\n", ["torch"]),
        (
            "from __future__ import annotations\nimport numpy.linalg as la\nfrom collections import deque\n",
            [],
        ),
        ("from IPython.display import display\nfrom bpkit import pictures\n", []),
        ("!pip install scipy\n", []),  # a shell command, not an import
        ("def f():\n    import pandas\n    return pandas\n", ["pandas"]),
    ],
)
def test_imports_outside_the_grading_environment_are_named(cell, missing):
    importable = frozenset(importable_modules([]))
    assert reach.not_importable(reach.python_of(cell), importable) == missing


def test_grading_packages_are_importable_and_checked_by_course_yaml(tmp_path):
    assert "scipy" not in importable_modules([])
    assert {"scipy", "numpy", "json"} <= set(importable_modules(["scipy>=1.11,<2"]))
    text = (REPO / "course.yaml").read_text().replace("  packages: []", "  packages: [scipy]")
    (tmp_path / "course.yaml").write_text(text)
    assert load_course(tmp_path / "course.yaml").grading.packages == ["scipy"]
    (tmp_path / "course.yaml").write_text(text.replace("[scipy]", "['scipy; rm -rf /']"))
    with pytest.raises(ConfigError) as refused:
        load_course(tmp_path / "course.yaml")
    assert re.search(
        r"course\.yaml:\d+: grading\.packages\[0\]: expected a package name", str(refused.value)
    ), str(refused.value)
    (tmp_path / "course.yaml").write_text(text.replace("  method_points: 0.5", "  method_points: 1.5"))
    with pytest.raises(ConfigError) as refused:
        load_course(tmp_path / "course.yaml")
    assert "grading.method_points" in str(refused.value)


# ---------------------------------------------------------------- in the student's kernel, as shipped


@pytest.fixture()
def shipped(tmp_path):
    with shipped_bpkit_module(tmp_path, "reach") as module:
        settings = json.loads((tmp_path / "bpkit" / "course.json").read_text())
        settings["hand_cells"] = {"simple_by_hand": {"setup": SETUP, "answers": ["q", "f", "dfdx"]}}
        (tmp_path / "bpkit" / "course.json").write_text(json.dumps(settings))
        yield module


def test_the_shipped_rule_finds_the_hand_cell_in_the_kernels_history(shipped):
    history = [
        "",
        "class MulGate:\n    pass\n",
        "m = MulGate()\nq = x + y\nf = m.forward(q, z)\ndfdx = z\n",
        "selfcheck.answers(globals(), 'q', 'f', 'dfdx')\n",
    ]
    said = shipped.hand_cell_said({"In": history}, ["q", "f", "dfdx"])
    assert said == [
        "This answer cell uses MulGate, which the setup cells do not define. Hand answers are graded with "
        "the setup cells only, not after your other cells: write your answers as numbers, or compute "
        "them in this cell from your numbers (numpy is there)."
    ]
    history[2] = "from scipy.special import expit\nq = x + y\nf = q * z\ndfdx = float(expit(0)) * 2 * z\n"
    assert shipped.hand_cell_said({"In": history}, ["q", "f", "dfdx"]) == [
        "scipy is not available where your notebook is graded; use numpy."
    ]
    history[2] = "q = x + y\nf = q * z\ndfdx = z\n"
    assert shipped.hand_cell_said({"In": history}, ["q", "f", "dfdx"]) == []
    assert shipped.hand_cell_said({}, ["q"]) == []  # outside a kernel nothing tells


# ---------------------------------------------------------------- numbers for people


def test_answers_for_people_are_rounded_as_the_hand_tolerance_allows():
    assert hand_decimals(0.005) == 3 and hand_decimals(0.05) == 2 and hand_decimals(0) == 6
    assert answer_for_people([-0.29, -0.22999999999999998], 3) == "[-0.29, -0.23]"
    assert answer_for_people(0.13699999999999998, 3) == "0.137"
    assert answer_for_people([[1.0, -2.5e-7], [3.14159, 2.0]], 3) == "[[1, 0], [3.142, 2]]"


@pytest.mark.slow  # some 4.3 s of CPU: the CLI started as processes (the fast lane keeps tests under 2 s: docs/testing.md)
def test_show_values_answers_prints_human_numbers_and_json_stays_exact():
    def show(*args):
        done = subprocess.run(
            [sys.executable, "-m", "autograder.cli", "show-values", "--config", "course.yaml", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    printed = show("--student", "ann", "--answers")
    answers = printed.split("Correct answers (STAFF ONLY: do not share):")[1]
    numbers = re.findall(r"-?\d+\.\d+", answers)
    assert numbers and all(len(n.split(".")[1]) <= 3 for n in numbers), answers
    exact = json.loads(show("--student", "ann", "--json", "--answers"))
    decimals = [repr(v) for e in exact.values() for v in e.values() if isinstance(v, float)]
    assert any(len(d.split(".")[1]) > 3 for d in decimals if "." in d)  # --json keeps every digit


def test_hidden_tests_of_a_source_notebook_are_not_the_students_imports():
    graded_cell = (
        "from bpkit import validate\nvalidate.summary()\n### BEGIN HIDDEN TESTS\n"
        "from autograder.grading.inprocess import grade; grade('f', 'answers', globals(), points=1)\n"
        "### END HIDDEN TESTS\n"
    )
    namespace = {"In": ["", "from scipy import special\n", graded_cell]}
    importable = frozenset(importable_modules([]))
    assert [m for p in reach.history(namespace) for m in reach.not_importable(p, importable)] == ["scipy"]
