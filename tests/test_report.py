"""`backprop-kit report` on a class graded by real nbgrader: cells.csv and canvas.csv against
nbgrader's gradebook, the integrity signals, and class.html rendered in headless Chromium.

One course is graded once (module fixture): part of the simulated class, plus mia, who
copied ben's hand answers (correct for ben's numbers, not hers) and cho's matmul gate
(reformatted, with comments), and whose notebook the fixture marks as made for ben (the
report facts made_for / id_mismatch that the grading step writes)."""

import csv
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from lanes import lane
from nbgrader.api import Gradebook

from autograder import demo
from autograder.bpkit import problems
from autograder.config import load_course
from autograder.course import init
from autograder.exercises import BY_ID as HAND_EXERCISES
from autograder.grading.report import report_path
from autograder.reports.integrity import normalised
from autograder.sandbox.bwrap import sandbox_available

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

REPO = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CLASS = ("ada", "ben", "cho", "dan", "kim", "lee")
UNFINISHED = {"una": lambda release: release, "fay": lambda release: release[:3000]}

pytestmark = pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")

COPIED_MATMUL = """
import numpy as np
# my own work!!
class MatMulGate:
  def forward(self, W, x):
    self.W, self.x = W, x      # keep both
    return W @ x

  def backward(self, dq):
    dW = np.outer(self.x, dq) if self.x.ndim == 1 else self.x @ dq.T
    return dW, self.W.T @ dq
"""


def literal_answers(answers):
    return (
        "\n".join(
            f"{name} = {json.dumps(value.tolist() if hasattr(value, 'tolist') else value)}"
            for name, value in answers.items()
        )
        + "\n"
    )


def correct_simple(course, student):
    values = problems.draw(course.seed, course.course_id, "backprop", course.randomization, student).values
    return HAND_EXERCISES["simple_by_hand"].correct(values["simple"])


@dataclass(frozen=True)
class ReportedClass:
    course_dir: Path
    out: Path  # the class report's folder
    stdout: str  # what `backprop-kit report` printed


@pytest.fixture(scope="module")
@lane("e2e")
def graded(tmp_path_factory) -> ReportedClass:
    # Its own grading, not the shared class's (shared_class.py): the report reads a class as a
    # whole, and these tests count what that class holds (mia copying ben and cho, who shares
    # whose code, "not answered" for una and fay, no "error" anywhere), with a 3 s timeout.
    root = tmp_path_factory.mktemp("report")
    text = (REPO / "course.yaml").read_text()
    text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", r"\1 3", text)  # dan's infinite loop costs 3 s a time
    (root / "course.yaml").write_text(text)
    course = load_course(root / "course.yaml")
    course_dir = root / "course"
    init(course_dir, course, root / "course.yaml", log=lambda m: None)
    source = nbformat.read(course_dir / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(course_dir / "release" / "backprop" / "backprop.ipynb", as_version=4)
    everyone = simulated_class.students(source)
    class_ = {s: everyone[s][1] for s in CLASS}
    bens = correct_simple(course, "ben")
    assert bens != correct_simple(course, "mia"), "mia and ben drew the same numbers: pick another name"
    class_["mia"] = {
        **simulated_class.reference_answers(source),
        "simple_by_hand": literal_answers(bens),
        "matmul_gate": COPIED_MATMUL,
    }
    for student, answers in class_.items():
        target = course_dir / "submitted" / student / "backprop"
        target.mkdir(parents=True)
        nbformat.write(simulated_class.fill(release, answers), target / "backprop.ipynb")
    for student, text in UNFINISHED.items():  # handed in as released, and cut off mid-upload
        target = course_dir / "submitted" / student / "backprop"
        target.mkdir(parents=True)
        (target / "backprop.ipynb").write_text(text(nbformat.writes(release)))
    done = demo.nbgrader(course_dir, "autograde", "backprop")
    assert done.returncode == 0, done.stderr[-3000:]
    done = demo.nbgrader(course_dir, "generate_feedback", "backprop")
    assert done.returncode == 0, done.stderr[-3000:]
    # What issue 8's grading step writes for a notebook made for someone else.
    path = report_path(course_dir, "backprop", "mia", "backprop")
    report = json.loads(path.read_text())
    path.write_text(json.dumps({**report, "made_for": "ben", "id_mismatch": True}))
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        gb.update_or_create_student("ben", first_name="Ben", last_name="Bitdiddle", lms_user_id="4242")
        gb.update_or_create_student("zed", first_name="Zed", last_name="Absent")  # never submitted
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "report", "backprop"],
        cwd=course_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert run.returncode == 0, run.stderr
    out = course_dir / "backprop-kit" / "class-report" / "backprop"
    return ReportedClass(course_dir, out, run.stdout)


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def gradebook(course_dir):
    """{student: {grade_id: (score, max_score)}} and {student: total}, read through nbgrader's API."""
    cells, totals = {}, {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for submission in gb.find_assignment("backprop").submissions:
            totals[submission.student_id] = submission.score
            for nb in submission.notebooks:
                cells[submission.student_id] = {g.name: (g.score, g.max_score) for g in nb.grades}
    return cells, totals


def test_cells_csv_scores_are_the_gradebooks(graded):
    course_dir, out = graded.course_dir, graded.out
    rows = read_csv(out / "cells.csv")
    assert list(rows[0]) == [
        "student_id",
        "assignment",
        "notebook",
        "grade_id",
        "score",
        "max_score",
        "status",
        "misconceptions",
    ]
    cells, _ = gradebook(course_dir)
    assert {r["student_id"] for r in rows} == set(cells) == set(CLASS) | {"mia"} | set(UNFINISHED)
    assert len(rows) == sum(len(c) for c in cells.values())
    for r in rows:
        score, max_score = cells[r["student_id"]][r["grade_id"]]
        assert float(r["score"]) == pytest.approx(score, abs=1e-3), r
        assert float(r["max_score"]) == max_score


def test_cells_csv_status_and_misconceptions_are_the_reports(graded):
    course_dir, out = graded.course_dir, graded.out
    rows = {(r["student_id"], r["grade_id"]): r for r in read_csv(out / "cells.csv")}
    for student in CLASS:
        report = json.loads(report_path(course_dir, "backprop", student, "backprop").read_text())
        for cell in report["cells"]:
            row = rows[(student, cell["grade_id"])]
            assert row["status"] == cell["status"]
            assert row["misconceptions"] == ";".join(cell["misconceptions"])
    assert rows[("ben", "test_add_gate_backward")]["misconceptions"] == "add-split"
    assert rows[("dan", "test_sigmoid_gate_forward")]["status"] == "timeout"
    # dan's syntax error is his code's fault, not the grader's: "error" is kept for the grader's own.
    assert rows[("dan", "test_max_gate_backward")]["status"] == "failed"


def test_one_status_vocabulary_and_not_answered_for_work_left_as_released(graded):
    """una handed in the release untouched, fay a notebook that cannot be read: every cell of
    theirs is "not answered" (hand cells and gates alike), and nothing in the class is "error"."""
    from autograder.grading.report import STATUSES

    rows = read_csv(graded.out / "cells.csv")
    assert {r["status"] for r in rows} <= set(STATUSES) and "error" not in {r["status"] for r in rows}
    for student in ("una", "fay"):
        mine = [r for r in rows if r["student_id"] == student]
        assert mine and {r["status"] for r in mine} == {"not answered"}, (
            student,
            {r["status"] for r in mine},
        )
    ada = {r["grade_id"]: r["status"] for r in rows if r["student_id"] == "ada"}
    assert set(ada.values()) == {"passed"}


def test_integrity_signals_only_for_code_that_exists(graded):
    from autograder.reports.collect import collect
    from autograder.reports.integrity import find_signals

    signals = find_signals(
        collect(graded.course_dir, "backprop"), load_course(graded.course_dir / "course.yaml")
    )
    assert signals.shared_code and all(g.lines > 0 for g in signals.shared_code)
    assert not [g for g in signals.shared_code if {"una", "fay"} & set(g.students)]
    assert "Integrity signals: 1 notebook made for another id, 1 hand answer correct for" in graded.stdout


def test_canvas_csv_has_canvas_columns_and_the_gradebooks_totals(graded):
    course_dir, out = graded.course_dir, graded.out
    with open(out / "canvas.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "backprop"]
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        possible = gb.find_assignment("backprop").max_score
    assert table[1][0] == "Points Possible" and float(table[1][5]) == possible
    by_id = {row[2]: row for row in table[2:]}
    _, totals = gradebook(course_dir)
    for student, total in totals.items():
        assert float(by_id[student][5]) == pytest.approx(total, abs=1e-3)
    assert by_id["ben"][:2] == ["Bitdiddle, Ben", "4242"]
    assert by_id["ada"][:2] == ["", ""] and by_id["ada"][3:5] == ["", ""]  # unknown: left blank
    assert by_id["zed"][0] == "Absent, Zed" and by_id["zed"][5] == ""  # no submission: Canvas keeps its value


def test_terminal_shows_the_most_common_misconceptions(graded):
    out, stdout = graded.out, graded.stdout
    assert "most common misconceptions" in stdout
    # matmul-transpose: cho, and mia who copied cho's gate
    assert re.search(r"matmul-transpose\s+│\s+2\s+│", stdout), stdout
    assert str(out / "class.html") in stdout.replace("\n", "")


def test_integrity_signals(graded):
    course_dir = graded.course_dir
    from autograder.reports.collect import collect
    from autograder.reports.integrity import find_signals

    signals = find_signals(collect(course_dir, "backprop"), load_course(course_dir / "course.yaml"))
    assert [(s.student, s.made_for) for s in signals.made_for] == [("mia", "ben")]
    # mia's hand answers are ben's; honest students' own correct answers never match someone else's.
    assert [(s.student, s.exercise, s.owners) for s in signals.copied_answers] == [
        ("mia", "simple_by_hand", ("ben",))
    ]
    matmul = [g for g in signals.shared_code if g.grade_id == "matmul_gate" and "mia" in g.students]
    assert matmul and matmul[0].students == ("cho", "mia") and matmul[0].writers == len(CLASS) + 1
    # Rarest first: a pair of seven before code most of the class shares.
    shares = [g.share for g in signals.shared_code]
    assert shares == sorted(shares)


def test_normalised_code_ignores_whitespace_and_comments_only():
    a = "def f(x):\n    return x + 1  # one more\n"
    assert normalised(a) == normalised("# f\ndef f(x):\n\n  return (x+1)\n")
    assert normalised(a) != normalised("def f(x):\n    return x - 1\n")
    broken = "def f(x)\n    return x  # oops\n"
    assert (
        normalised(broken)
        == normalised("def f(x)\n        return x\n")
        != normalised("def g(x)\n return x\n")
    )


def test_report_outside_a_course_or_for_an_unknown_assignment_says_what_to_do(graded, tmp_path):
    course_dir = graded.course_dir
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "report", "backprop"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "no nbgrader_config.py" in run.stderr and "Traceback" not in run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "report", "backprp", "--out", str(tmp_path / "r")],
        cwd=course_dir,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "no assignment 'backprp'" in run.stderr and "backprop" in run.stderr
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------- class.html in Chromium


@pytest.fixture(scope="module")
@lane("browser")
def browser():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but {', '.join(missing)} is missing: the browser tests would be skipped")
        pytest.skip(f"{', '.join(missing)} missing")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1300,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    )
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(graded, browser):
    out = graded.out
    # Offline means offline: nothing on the page may point at the network.
    html = (out / "class.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), (
        "class.html loads something from the network"
    )
    browser.get((out / "class.html").as_uri())
    return browser


def png_is_not_blank(png):
    """Decode the PNG's pixel rows (zlib) and look for more than a background colour."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    data, i = b"", 8
    while i < len(png):
        length, kind = struct.unpack(">I4s", png[i : i + 8])
        if kind == b"IDAT":
            data += png[i + 8 : i + 8 + length]
        i += 12 + length
    pixels = zlib.decompress(data)
    return len(set(pixels)) > 32 and sum(b not in (0, 255) for b in pixels[::97]) > len(pixels[::97]) // 100


def test_class_html_renders_with_charts(page, graded):
    body = page.find_element("tag name", "body")
    assert "what the class got wrong" in body.text and len(body.text) > 1000
    charts = page.execute_script(
        "return Array.from(document.querySelectorAll('svg')).map(s => [s.getAttribute('class'),"
        " s.getBoundingClientRect().width, Array.from(s.querySelectorAll('rect')).filter(r => r.getBBox().width > 0"
        " && r.getBBox().height > 0).length])"
    )
    kinds = {}
    for kind, width, painted in charts:
        assert width > 0
        kinds.setdefault(kind, []).append(painted)
    rows = read_csv(graded.out / "cells.csv")
    n_cells = len({r["grade_id"] for r in rows})
    assert len(kinds["status-bar"]) == n_cells and all(n >= 1 for n in kinds["status-bar"])
    assert len(kinds["histogram"]) == n_cells and all(n >= 1 for n in kinds["histogram"])
    assert sum(kinds["totals"]) >= 1 and len(kinds["misconception-bar"]) >= 1
    page.set_window_size(1300, min(page.execute_script("return document.body.scrollHeight"), 2600))
    png = page.get_screenshot_as_png()
    assert png_is_not_blank(png)
    shots = os.environ.get(
        "BPKIT_SCREENSHOT_DIR"
    )  # `BPKIT_SCREENSHOT_DIR=docs pytest ...` refreshes the docs' class-report.png
    if shots:
        Path(shots, "class-report.png").write_bytes(png)


def test_class_html_numbers_match_cells_csv(page, graded):
    rows = read_csv(graded.out / "cells.csv")
    for tr in page.find_elements("css selector", "#rates tr"):
        grade_id = tr.get_attribute("data-grade-id")
        mine = [r for r in rows if r["grade_id"] == grade_id]
        full = sum(float(r["score"]) == float(r["max_score"]) for r in mine)
        assert f"{full}/{len(mine)}" in tr.text, (grade_id, tr.text)
    shown = {}
    for td in page.find_elements("css selector", "#students td.cell"):
        student = td.find_element("xpath", "..").get_attribute("data-student")
        shown[(student, td.get_attribute("data-grade-id"))] = float(td.text)
    assert shown == {
        (r["student_id"], r["grade_id"]): pytest.approx(float(r["score"]), abs=0.006) for r in rows
    }
    counted = {}
    for r in rows:
        for m in filter(None, r["misconceptions"].split(";")):
            counted.setdefault(m, set()).add(r["student_id"])
    on_page = {
        tr.get_attribute("data-misconception"): int(tr.get_attribute("data-students"))
        for tr in page.find_elements("css selector", "#misconception-table tr")
    }
    assert on_page == {m: len(s) for m, s in counted.items()}
    text = page.find_element("id", "integrity").find_element("xpath", "..").text
    assert "mia submitted a notebook made for ben" in text
    assert "are the correct answers for ben's numbers" in text


def test_class_html_writes_numbers_as_people_do(page):
    from autograder.reports.wording import counted, for_people

    assert [for_people(v) for v in (0.9996, 4 / 3, 2.5, 2.0, 0, 12.345)] == [
        "1",
        "1.33",
        "2.5",
        "2",
        "0",
        "12.35",
    ]
    assert (counted(1, "notebook"), counted(2, "notebook"), counted(0, "group")) == (
        "1 notebook",
        "2 notebooks",
        "0 groups",
    )
    means = re.findall(r"mean (\S+) / (\S+)", page.find_element("id", "rates").text)
    assert means and all(re.fullmatch(r"\d+(\.\d?[1-9])?", n) for pair in means for n in pair), means


def test_students_table_sorts_and_links_feedback(page, graded):
    def column(index):
        return [
            tr.find_elements("tag name", "td")[index].get_attribute("data-value")
            for tr in page.find_elements("css selector", "#students tbody tr")
        ]

    total = page.find_elements("css selector", "#students th")[1]
    total.click()
    ascending = [float(v) for v in column(1)]
    assert ascending == sorted(ascending)
    total.click()
    assert [float(v) for v in column(1)] == sorted(ascending, reverse=True)
    links = page.find_elements("css selector", "#students tbody a")
    assert len(links) == len(CLASS) + 1 + len(UNFINISHED)
    for a in links:
        assert Path(a.get_attribute("href").removeprefix("file://")).is_file()
        assert not a.get_attribute("outerHTML").count(
            "file://"
        )  # relative links: the folder can move with the course


def test_copied_hand_answers_are_told_from_own_and_wrong_ones():
    """The comparison itself, on drawn numbers: no grading needed."""
    from autograder.reports.integrity import CorrectAnswers

    course = load_course(REPO / "course.yaml")
    roster = ["ann", "bob", "cyd"]
    draws = {
        s: problems.draw(course.seed, course.course_id, "backprop", course.randomization, s) for s in roster
    }
    exercise = HAND_EXERCISES["l2_by_hand"]
    table = CorrectAnswers(exercise, roster, draws)
    tol = (course.tolerances.hand_answer_abs, course.tolerances.hand_answer_rel)
    bobs = {
        k: v.tolist() if hasattr(v, "tolist") else v
        for k, v in exercise.correct(draws["bob"].values["l2"]).items()
    }
    assert table.owners("ann", bobs, *tol) == (("bob",), len(bobs))
    assert table.owners("bob", bobs, *tol) is None  # his own answers
    rounded = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in bobs.items()}
    assert table.owners("ann", rounded, *tol)[0] == ("bob",)  # three decimals are still bob's
    wrong = {**bobs, "f": bobs["f"] + 1}
    assert table.owners("ann", wrong, *tol) is None
    assert table.owners("ann", {"f": bobs["f"]}, *tol) is None  # one number alone proves nothing
    assert table.owners("ann", {"f": "not a number", "q": [1, 2, 3]}, *tol) is None
