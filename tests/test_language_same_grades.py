"""`language` changes words only: the simulated class (tests/shared_class.py: every correct style,
every catalogued mistake, broken code, attacks, unreadable and renamed notebooks, hostile files,
late work) graded under `language: ko` gets, student for student, the gradebook records and the
per-student reports' scores, statuses and misconception ids that `language: en` gave — under
plain `nbgrader autograde` and under `backprop-kit autograde` alike. The words did change: the
graded notebooks' feedback is Korean (else this would compare English with English)."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import nbformat
import pytest
from shared_class import backprop_kit, grade_stock, records

pytestmark = pytest.mark.e2e

HANGUL = re.compile("[\uac00-\ud7a3]")


def in_korean(base: Path, where: Path) -> Path:
    shutil.copytree(base, where, symlinks=True)
    course_yaml = where / "course.yaml"
    text, found = re.subn(r"(?m)^language:.*$", "language: ko", course_yaml.read_text())
    course_yaml.write_text(text if found else text + "\nlanguage: ko\n")
    return where


def verdicts(course_dir: Path, student: str):
    """What a per-student report decides (never its words): each cell's points, score, status and
    misconception ids."""
    path = course_dir / "backprop-kit" / "reports" / "backprop" / student / "backprop.json"
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    return [
        (c["grade_id"], c["points"], c["score"], c["status"], c["misconceptions"]) for c in report["cells"]
    ]


def graded_feedback(course_dir: Path, student: str) -> str:
    nb = nbformat.read(course_dir / "autograded" / student / "backprop" / "backprop.ipynb", as_version=4)
    return "".join(
        o.get("text", "")
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream"
    )


class KoreanGrading(NamedTuple):
    """The shared class graded again under language: ko: the English gradings, the two Korean
    course copies, nbgrader's pass over the bad submissions and the kit's run."""

    shared_class: Any  # the SimulatedClass of tests/shared_class.py
    stock: Path
    kit: Path
    bad_run: subprocess.CompletedProcess
    kit_run: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def korean_class(shared_class, tmp_path_factory):
    """The shared class's ungraded course, copied twice with `language: ko` and graded both ways
    as the shared class was (nbgrader in its two passes, then generate_feedback; the kit in one)."""
    root = tmp_path_factory.mktemp("korean")
    stock, kit = in_korean(shared_class.base, root / "stock"), in_korean(shared_class.base, root / "kit")
    _class_run, bad_run, _before = grade_stock(stock, shared_class.roster)
    kit_run = backprop_kit(kit, "autograde", "backprop", "--jobs", "2")
    return KoreanGrading(shared_class, stock, kit, bad_run, kit_run)


@pytest.mark.parametrize("how", ["stock", "kit"])
def test_the_same_gradebook_in_korean(korean_class, how):
    shared_class, stock, kit, bad_run, kit_run = korean_class
    english, korean = (shared_class.stock, stock) if how == "stock" else (shared_class.kit, kit)
    run = bad_run if how == "stock" else kit_run
    assert (
        run.returncode == (shared_class.stock_bad_run if how == "stock" else shared_class.kit_run).returncode
    ), run.stdout[-3000:] + run.stderr[-3000:]
    graded = 0
    for student in shared_class.students:
        assert records(korean, student) == records(english, student), (how, student)
        assert verdicts(korean, student) == verdicts(english, student), (how, student)
        graded += verdicts(english, student) is not None
    assert graded >= 10, graded  # the comparison covered the class (13 graded), not a few missing reports


@pytest.mark.parametrize("how", ["stock", "kit"])
def test_the_words_are_korean(korean_class, how):
    shared_class, stock, kit, kit_run = (
        korean_class.shared_class,
        korean_class.stock,
        korean_class.kit,
        korean_class.kit_run,
    )
    korean, english = (stock, shared_class.stock) if how == "stock" else (kit, shared_class.kit)
    student = next(
        s
        for s in shared_class.students
        if (english / "autograded" / s).is_dir() and "This looks like '" in graded_feedback(english, s)
    )  # someone whose mistake was named
    words = graded_feedback(korean, student)
    assert HANGUL.search(words) and "points" not in words, words[:2000]
    assert not HANGUL.search(graded_feedback(english, student))
    if how == "kit":  # the command's own lines too: a student's line and the summary table's heads
        assert "점" in kit_run.stdout and "채점됨" in kit_run.stdout, kit_run.stdout[-3000:]
    else:  # and the feedback page generate_feedback wrote
        page = (korean / "feedback" / student / "backprop" / "backprop.html").read_text(encoding="utf-8")
        assert "실패:" in page and "Failed:" not in page
