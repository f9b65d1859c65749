"""Proof that an operation is one row: `tanh` is one row of the operation table
(solutions/table.py) plus its words in the student catalog. A copy of the checkout has the row
taken out (and `backprop-kit catalogs` and `python -m autograder.docs` run, so the copy is a kit
without tanh); then the row is added back as a contributor adds it, with its Korean written into
bpkit.po, `backprop-kit catalogs` compiling it and `python -m autograder.docs` regenerating the
docs' tables, and nothing else by hand. `git diff --stat` of that change is printed and held to
those files.

Then, outside that cost, an exercise on a graph that uses it (a description appended to
solutions/graphs.py, its prose tests/data/tanh.py), and tests/tanh_proof.py runs in the copy:
the course builds, self-checks, validates and grades both end to end, under `nbgrader autograde`
and `backprop-kit autograde`, in English and in Korean."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.catalogs import read_catalog, write_catalog

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
COPIED = ("autograder", "solutions", "assignments", "demo", "tests", "docs", "course.yaml", "pyproject.toml")

# The row, as a contributor adds it to OPERATIONS (the table's own text: the copy takes it out first),
# with the mistake it brings (1 - x² for 1 - tanh²) and that mistake's model.
TANH_ROW = """    Operation(
        "tanh",
        "TanhGate",
        ("x",),
        "one input",
        "tanh({0})",
        N_("tanh(x) = (e^x - e^-x) / (e^x + e^-x); its local gradient 1 - tanh^2 uses the *output*."),
        forward=lambda x: np.tanh(x),
        backward=lambda dout, out, x: dout * (1.0 - out * out),
        misconceptions=(
            "upstream-ignored",
            Misconception(
                "tanh-of-input",
                N_(
                    "tanh's local gradient was computed as 1 - x² from its input x instead of 1 - tanh² "
                    "from its output."
                ),
                N_("tanh'(x) = 1 - tanh(x)^2 is written with the value forward computed, not with x."),
                model=lambda s: [(s.dout * (1 - s.inputs[0] * s.inputs[0]),)],  # 1 - x² for 1 - tanh²
                said=(N_("tanh's local gradient was 1 − x² of its input, not 1 − tanh² of its output"),),
                hint_by_hand=N_(
                    "tanh'(s) = 1 − tanh(s)² is written with the value tanh(s) you computed on the way "
                    "forward, not with s."
                ),
                prior=6,
            ),
            "sign-flip",
        ),
        graded=Graded("tanh_gate", extra_cases=((N_("large |x|"), _large),), kit=False),
        python=("tanh({0})",),
    ),
"""
# Its words: the Korean of every message the row adds.
KOREAN = {
    "tanh(x) = (e^x - e^-x) / (e^x + e^-x); its local gradient 1 - tanh^2 uses the *output*.": (
        "tanh(x) = (e^x - e^-x) / (e^x + e^-x); local gradient 1 - tanh^2는 *출력*을 씁니다."
    ),
    # the mistake the row brings, with its model: its words come and go with the row
    "tanh's local gradient was computed as 1 - x² from its input x instead of 1 - tanh² from its output.": (
        "tanh의 local gradient를 출력으로 1 - tanh²를 계산하지 않고 입력 x로 1 - x²를 계산했습니다."
    ),
    "tanh'(x) = 1 - tanh(x)^2 is written with the value forward computed, not with x.": (
        "tanh'(x) = 1 - tanh(x)^2는 x가 아니라 forward가 계산한 값으로 씁니다."
    ),
    "tanh's local gradient was 1 − x² of its input, not 1 − tanh² of its output": (
        "tanh의 local gradient가 출력의 1 − tanh²가 아니라 입력의 1 − x²였습니다"
    ),
    "tanh'(s) = 1 − tanh(s)² is written with the value tanh(s) you computed on the way forward, not with s.": (
        "tanh'(s) = 1 − tanh(s)²는 s가 아니라 forward 방향으로 계산해 둔 값 tanh(s)로 씁니다."
    ),
}
# The exercise on a graph that uses it (not part of the row's cost): f = tanh(x + y) · z.
TANH_EXERCISE = """

GRAPHS["tanh"] = GraphDescription(
    "f(x, y, z) = tanh(x + y) · z",
    ("x", "y", "z"),
    (("s", "+", ("x", "y")), ("t", "tanh", ("s",)), ("f", "*", ("t", "z"))),
)
EXERCISES = (
    *EXERCISES,
    Exercise(
        "tanh_by_hand",
        "tanh",
        "tanh",
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
        function=Function("tanh_with_gates", "small numbers"),
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
    """A copy of the checkout with the tanh row and its words, committed on top of the copy as it was."""
    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        if os.environ.get("CI"):
            pytest.fail("CI=true: bubblewrap is needed to grade the tanh course")
        pytest.skip("bubblewrap (bwrap) is not installed")
    root = tmp_path_factory.mktemp("tanh") / "checkout"
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
    table = root / "solutions" / "table.py"
    text = table.read_text()
    assert text.count(TANH_ROW) == 1, "the test's TANH_ROW is not the table's row, as written there"
    table.write_text(text.replace(TANH_ROW, ""))  # a kit without tanh: its words and docs go too
    catalogs(root, env)
    docs(root, env)
    (root / ".gitignore").write_text(
        "__pycache__/\n"
    )  # the make targets write bytecode; it is no cost of a row
    git(root, "init", "-q")
    git(root, "add", "-A")
    subprocess.run(["git", "commit", "-qm", "before"], cwd=root, env=env, check=True)

    table.write_text(text)  # the row, where it was
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
    print("What adding tanh costs (git diff --stat):\n" + stat)
    (root.parent / "tanh.diffstat").write_text(stat)
    subprocess.run(["git", "commit", "-qm", "tanh: one row and its words"], cwd=root, env=env, check=True)

    graphs = root / "solutions" / "graphs.py"
    graphs.write_text(graphs.read_text() + TANH_EXERCISE)
    return root, env, stat


def test_adding_tanh_is_one_row_and_its_words(checkout):
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
    rows = len(TANH_ROW.splitlines())
    assert f"solutions/table.py | {rows} +" in " ".join(stat.split()), stat


def test_the_tanh_course_builds_checks_validates_and_grades_in_both_languages(checkout):
    root, env, _stat = checkout
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "tests/tanh_proof.py"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "6 passed" in done.stdout, done.stdout[-3000:]
