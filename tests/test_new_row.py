"""Proof that an operation is one row: `softplus`, which the operation table (solutions/table.py)
does not have, is added to a copy of the checkout as a contributor adds it: one row, with the
mistake it brings and that mistake's model, appended to OPERATIONS; its Korean written into
bpkit.po; `backprop-kit catalogs` compiling it and `python -m autograder.docs` regenerating the
docs' tables, and nothing else by hand. `git diff --stat` of that change is printed and held to
those files.

Then, outside that cost, an exercise on a graph that uses it (a description appended to
solutions/graphs.py, its prose tests/data/softplus.py), and tests/new_row_proof.py runs in the copy:
the course builds, self-checks, validates and grades both end to end, under `nbgrader autograde`
and `backprop-kit autograde`, in English and in Korean."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lanes import require_sandbox

from autograder.catalogs import read_catalog, write_catalog

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
COPIED = ("autograder", "solutions", "assignments", "demo", "tests", "docs", "course.yaml", "pyproject.toml")

# The row, as a contributor appends it to OPERATIONS, with the mistake it brings (σ(−x) for σ(x))
# and that mistake's model. Its gradient σ(x) is written with tanh, which never overflows (the
# hidden checks draw x = ±1000).
NEW_ROW = """    Operation(
        "softplus",
        "SoftplusGate",
        ("x",),
        "one input",
        "softplus({0})",
        N_("softplus(x) = log(1 + e^x), a smooth ReLU; its local gradient is σ(x), the sigmoid of its *input*."),
        forward=lambda x: np.logaddexp(0.0, x),
        backward=lambda dout, out, x: dout * 0.5 * (1.0 + np.tanh(0.5 * x)),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "softplus-sigmoid-of-minus-x",
                N_("softplus's local gradient was computed as σ(−x) = 1 / (1 + e^x) instead of σ(x) = 1 / (1 + e^−x)."),
                N_("softplus'(x) = σ(x) = 1 / (1 + e^-x): it grows with x, as softplus does."),
                model=lambda s: [(s.dout * 0.5 * (1.0 - np.tanh(0.5 * s.inputs[0])),)],  # σ(−x) for σ(x)
                said=(N_("softplus's local gradient was σ(−x), not σ(x)"),),
                hint_by_hand=N_("softplus'(s) = σ(s) = 1 / (1 + e^−s): it grows with s, as softplus does."),
                prior=6,
            ),
            "sign-flip",
        ),
        graded=Graded("softplus_gate", extra_cases=((N_("large |x|"), _large),), kit=False),
        python=("softplus({0})",),
    ),
"""
END_OF_OPERATIONS = "\n)\n\nGRADED = tuple("  # where the row is appended: OPERATIONS' last line
# Its words: the Korean of every message the row adds.
KOREAN = {
    "softplus(x) = log(1 + e^x), a smooth ReLU; its local gradient is σ(x), the sigmoid of its *input*.": (
        "softplus(x) = log(1 + e^x), 부드러운 ReLU; local gradient는 *입력*의 sigmoid인 σ(x)입니다."
    ),
    # the mistake the row brings, with its model: its words come and go with the row
    "softplus's local gradient was computed as σ(−x) = 1 / (1 + e^x) instead of σ(x) = 1 / (1 + e^−x).": (
        "softplus의 local gradient를 σ(x) = 1 / (1 + e^−x)가 아니라 σ(−x) = 1 / (1 + e^x)로 계산했습니다."
    ),
    "softplus'(x) = σ(x) = 1 / (1 + e^-x): it grows with x, as softplus does.": (
        "softplus'(x) = σ(x) = 1 / (1 + e^-x): softplus처럼 x가 커질수록 커집니다."
    ),
    "softplus's local gradient was σ(−x), not σ(x)": "softplus의 local gradient가 σ(x)가 아니라 σ(−x)였습니다",
    "softplus'(s) = σ(s) = 1 / (1 + e^−s): it grows with s, as softplus does.": (
        "softplus'(s) = σ(s) = 1 / (1 + e^−s): softplus처럼 s가 커질수록 커집니다."
    ),
}
# The exercise on a graph that uses it (not part of the row's cost): f = softplus(x + y) · z.
NEW_EXERCISE = """

GRAPHS["softplus"] = GraphDescription(
    "f(x, y, z) = softplus(x + y) · z",
    ("x", "y", "z"),
    (("s", "+", ("x", "y")), ("t", "softplus", ("s",)), ("f", "*", ("t", "z"))),
)
EXERCISES = (
    *EXERCISES,
    Exercise(
        "softplus_by_hand",
        "softplus",
        "softplus",
        _integers(-3, 3, ("x", "y", "z")),
        {
            "s": ("value", "s"),
            "t": ("value", "t"),
            "f": ("value", "f"),
            "dfdt": ("grad", "t"),
            "dfds": ("grad", "s"),
            "dfdx": ("grad", "x"),
            "dfdy": ("grad", "y"),
            "dfdz": ("grad", "z"),
        },
        function=Function("softplus_with_gates", "small numbers"),
    ),
)
BY_ID = {e.id: e for e in EXERCISES}
BY_PROBLEM = {e.problem: e for e in EXERCISES}
_check_descriptions()
"""


def git(checkout, *args):
    done = subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True, check=True)
    return done.stdout


def catalogs(checkout, env):
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "catalogs"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def docs(checkout, env):
    regenerated = subprocess.run(
        [sys.executable, "-m", "autograder.docs"], cwd=checkout, capture_output=True, text=True, env=env
    )
    assert regenerated.returncode == 0, regenerated.stderr


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy of the checkout with the softplus row and its words, committed on top of the copy as it was."""
    require_sandbox()
    root = tmp_path_factory.mktemp("new_row") / "checkout"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy(source, root / name)
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    catalogs(root, env)  # the copy as the tools leave it, so that only the row's own change counts
    docs(root, env)
    (root / ".gitignore").write_text("__pycache__/\n")  # the make targets write bytecode: no cost of a row
    git(root, "init", "-q")
    git(root, "add", "-A")
    subprocess.run(["git", "commit", "-qm", "before"], cwd=root, env=env, check=True)

    table = root / "solutions" / "table.py"
    text = table.read_text()
    assert '"SoftplusGate"' not in text, "the table has softplus already: the proof must add a row it lacks"
    assert text.count(END_OF_OPERATIONS) == 1, "OPERATIONS no longer ends where the test appends the row"
    table.write_text(text.replace(END_OF_OPERATIONS, "\n" + NEW_ROW.rstrip("\n") + END_OF_OPERATIONS))
    catalogs(root, env)  # the row's messages join the .po files, untranslated
    po_path = root / "autograder" / "bpkit" / "locale" / "ko" / "LC_MESSAGES" / "bpkit.po"
    po = read_catalog(po_path, "ko")
    # New, or fuzzy: babel offers the sigmoid's Korean for a row worded like the sigmoid's.
    to_translate = {m.id for m in po if m.id and (m.fuzzy or not m.string)}
    assert to_translate == set(KOREAN), to_translate
    for message in po:
        if message.id in KOREAN:
            message.string, message.flags = KOREAN[message.id], set()
            message.previous_id = []
    write_catalog(po_path, po)
    catalogs(root, env)  # and compiled
    docs(root, env)  # the docs' generated tables (operations, gates, misconceptions) list it
    git(root, "add", "-A")
    stat = git(root, "diff", "--cached", "--stat")
    print("What adding softplus costs (git diff --stat):\n" + stat)
    (root.parent / "new_row.diffstat").write_text(stat)
    subprocess.run(["git", "commit", "-qm", "softplus: one row and its words"], cwd=root, env=env, check=True)

    graphs = root / "solutions" / "graphs.py"
    graphs.write_text(graphs.read_text() + NEW_EXERCISE)
    return root, env, stat


def test_adding_softplus_is_one_row_and_its_words(checkout):
    """Written by hand: the row (solutions/table.py) and its Korean (bpkit.po). Generated from them by
    `backprop-kit catalogs` and `python -m autograder.docs`: the compiled catalog and the docs' tables."""
    _root, _env, stat = checkout
    changed = {line.split("|")[0].strip() for line in stat.splitlines() if "|" in line}
    written = {"solutions/table.py", "autograder/bpkit/locale/ko/LC_MESSAGES/bpkit.po"}
    generated = {
        "autograder/bpkit/locale/ko/LC_MESSAGES/bpkit.mo",
        "docs/instructors.md",
        "docs/misconceptions.md",
    }
    assert written <= changed <= written | generated, stat
    rows = len(NEW_ROW.splitlines())
    assert f"solutions/table.py | {rows} +" in " ".join(stat.split()), stat


def test_the_softplus_course_builds_checks_validates_and_grades_in_both_languages(checkout):
    root, env, _stat = checkout
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "tests/new_row_proof.py"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "6 passed" in done.stdout, done.stdout[-3000:]
