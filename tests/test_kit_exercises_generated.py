"""The kit's own four graph exercises and the Jacobian question are generated from their
descriptions (assignments/backprop.py keeps only their cells' headers), and that changed nothing a
gradebook or a student's numbers depend on.

The reference is the code from before (commit BEFORE, where those cells were written by hand):
tests/data/kit_course_before_generation.json is its snapshot (tests/course_snapshot.py), made with

    git archive BEFORE autograder solutions assignments course.yaml demo | tar -x -C /tmp/before
    .venv/bin/python tests/course_snapshot.py /tmp/before tests/data/kit_course_before_generation.json

test_the_reference_is_what_the_code_before_made makes it again from that commit whenever the
checkout has the commit (a shallow clone does not: the test is skipped there), so the reference
is the old code's own output, not numbers written down."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lanes import lane

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "tests" / "course_snapshot.py"
REFERENCE = REPO / "tests" / "data" / "kit_course_before_generation.json"
BEFORE = "f20e71a8358787fb172f1604d20f0b41f6e995e0"  # the last commit with hand-written exercise cells


def snapshot_of(checkout, tmp_path):
    """The snapshot of a checkout, made in a process of its own (it imports that checkout's kit)."""
    out = tmp_path / "snapshot.json"
    subprocess.run([sys.executable, str(SNAPSHOT), str(checkout), str(out)], check=True, cwd=tmp_path)
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def reference():
    return json.loads(REFERENCE.read_text())


# Each snapshot renders three courses and runs their notebooks (some 5 s of CPU): not in the
# minute-to-minute lane.
@lane("e2e")
@pytest.fixture(scope="module")
def now(tmp_path_factory):
    return snapshot_of(REPO, tmp_path_factory.mktemp("now"))


@pytest.mark.e2e
def test_the_reference_is_what_the_code_before_made(reference, tmp_path):
    if shutil.which("git") is None or (REPO / ".git").exists() is False:
        pytest.skip("not a git checkout: the reference cannot be made again here")
    has = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{BEFORE}^{{commit}}"], capture_output=True
    )
    if has.returncode != 0:
        pytest.skip(
            f"commit {BEFORE[:7]} is not in this clone (shallow?): the reference cannot be made again"
        )
    before = tmp_path / "before"
    before.mkdir()
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(REPO),
            "archive",
            BEFORE,
            "autograder",
            "solutions",
            "assignments",
            "course.yaml",
            "demo",
        ],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    assert snapshot_of(before, tmp_path) == reference


def test_the_kit_notebook_keeps_no_exercise_cell_written_by_hand():
    """The kit's exercise cells are only headers: everything in them comes from a description."""
    from autograder.exercises import FUNCTIONS_BY_ID, HAND_ANSWERS

    text = (REPO / "assignments" / "backprop.py").read_text()
    cells = text.split("\n# %%")
    generated = [
        c for c in cells if 'kind="setup" grade_id="setup_' in c or 'kind="display" grade_id="picture_' in c
    ]
    generated += [
        c
        for c in cells
        for name in list(HAND_ANSWERS) + list(FUNCTIONS_BY_ID)
        if f'grade_id="{name}"' in c or f'grade_id="selfcheck_{name}"' in c
    ]
    generated = [c for c in generated if "_lecture" not in c.split("\n", 1)[0]]  # the slides' worked examples
    assert len(generated) == 4 * 6 + 2, [c.split("\n", 1)[0] for c in generated]
    for cell in generated:
        assert not cell.split("\n", 1)[1].strip(), f"written by hand: {cell}"


def _close(a, b):
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-7, atol=1e-9)


def _equal(a, b):
    return np.shape(a) == np.shape(b) and np.array_equal(a, b)


# Before, with graphs per student, a hand exercise's reference cell took numeric gradients (some
# 1e-9 off); with the lecture's graphs it was written by hand, exactly. Now every one is exact:
# equal to the numbers written by hand, close to the numeric ones.
NUMERIC_BEFORE = "graphs per student"


def test_the_kit_course_is_the_same_as_before_cell_by_cell(reference, now):
    assert sorted(now) == sorted(reference)
    for config, notebooks in reference.items():
        assert sorted(now[config]) == sorted(notebooks), config
        for name, before in notebooks.items():
            after = now[config][name]
            where = f"{config}, {name}"
            # Cell by cell: types, grade ids, nbgrader's flags and points, in order.
            assert len(after["cells"]) == len(before["cells"]), where
            for i, (a, b) in enumerate(zip(after["cells"], before["cells"])):
                assert a == b, f"{where}: cell {i + 1}: {a} (now) != {b} (before)"
            for student, was in before["students"].items():
                got, who = after["students"][student], f"{where}, student {student!r}"
                assert got["values"] == was["values"], f"{who}: drawn values differ"
                assert got["setup"] == was["setup"], f"{who}: the numbers the setup cells print differ"
                assert got["pictures"] == was["pictures"], f"{who}: a picture differs"
                assert sorted(got["answers"]) == sorted(was["answers"]), who
                for cell, answers in was["answers"].items():
                    assert list(got["answers"][cell]) == list(answers), f"{who}: {cell} asks for other names"
                    for answer, value in answers.items():
                        same = _close if config == NUMERIC_BEFORE else _equal
                        assert same(got["answers"][cell][answer], value), (
                            f"{who}: {cell}: the reference {answer} is {got['answers'][cell][answer]}, was {value}"
                        )
                assert sorted(got["functions"]) == sorted(was["functions"]), who
                for fn, value in was["functions"].items():
                    f, grads = got["functions"][fn]
                    assert _close(f, value[0]), f"{who}: {fn} returns f = {f}, was {value[0]}"
                    flat = [np.ravel(g) for g in _leaves(grads)]
                    was_flat = [np.ravel(g) for g in _leaves(value[1])]
                    assert len(flat) == len(was_flat) and all(map(_close, flat, was_flat)), (
                        f"{who}: {fn} returns gradients {grads}, was {value[1]}"
                    )


def _leaves(grads):
    """The gradients a function returns, one per group: a group of inputs gives a list of numbers."""
    return [np.asarray(g, float) for g in grads]
