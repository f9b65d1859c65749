"""`language` changes words only: the simulated class (tests/batch_class.py: every correct style,
every catalogued mistake, broken code, attacks, unreadable and renamed notebooks, hostile files,
late work) graded under `language: ko` gets, student for student, the gradebook records and the
per-student reports' scores, statuses and misconception ids that `language: en` gave — under
plain `nbgrader autograde` and under `backprop-kit autograde` alike. The words did change: the
graded notebooks' feedback is Korean (else this would compare English with English)."""
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import demo
from batch_class import backprop_kit, records

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
    return [(c["grade_id"], c["points"], c["score"], c["status"], c["misconceptions"]) for c in report["cells"]]


def graded_feedback(course_dir: Path, student: str) -> str:
    nb = nbformat.read(course_dir / "autograded" / student / "backprop" / "backprop.ipynb", as_version=4)
    return "".join(o.get("text", "") for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")
                   for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.fixture(scope="module")
def korean_class(batch_class, tmp_path_factory):
    """The batch class's ungraded course, copied twice with `language: ko` and graded both ways."""
    root = tmp_path_factory.mktemp("korean")
    stock, kit = in_korean(batch_class.base, root / "stock"), in_korean(batch_class.base, root / "kit")
    stock_run = demo.nbgrader(stock, "autograde", "backprop")
    kit_run = backprop_kit(kit, "autograde", "backprop", "--jobs", "2")
    return batch_class, stock, kit, stock_run, kit_run


@pytest.mark.parametrize("how", ["stock", "kit"])
def test_the_same_gradebook_in_korean(korean_class, how):
    batch_class, stock, kit, stock_run, kit_run = korean_class
    english, korean = (batch_class.stock, stock) if how == "stock" else (batch_class.kit, kit)
    run = stock_run if how == "stock" else kit_run
    assert run.returncode == (batch_class.stock_run if how == "stock" else batch_class.kit_run).returncode, \
        run.stdout[-3000:] + run.stderr[-3000:]
    graded = 0
    for student in batch_class.students:
        assert records(korean, student) == records(english, student), (how, student)
        assert verdicts(korean, student) == verdicts(english, student), (how, student)
        graded += verdicts(english, student) is not None
    assert graded >= 10, graded  # the comparison covered the class (13 graded), not a few missing reports


@pytest.mark.parametrize("how", ["stock", "kit"])
def test_the_words_are_korean(korean_class, how):
    batch_class, stock, kit, *_ = korean_class
    korean, english = (stock, batch_class.stock) if how == "stock" else (kit, batch_class.kit)
    student = next(s for s in batch_class.students if verdicts(english, s) and (korean / "autograded" / s).is_dir()
                   and any(v[2] < v[1] for v in verdicts(english, s)))  # someone who lost points
    words = graded_feedback(korean, student)
    assert HANGUL.search(words) and "points" not in words, words[:2000]
    assert not HANGUL.search(graded_feedback(english, student))
