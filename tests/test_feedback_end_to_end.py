"""What a TA and a student see after plain `nbgrader autograde` and `nbgrader generate_feedback`:
quiet logs, a wrong student id said out loud, feedback without grader internals.

One small class is graded once per session (tests/graded_course.py); every test reads what
came out: the log, the per-student reports and the feedback HTML."""

import html as html_module
import re

import numpy as np

from autograder.bpkit import problems
from autograder.config import load_course
from autograder.course import REPO_ROOT
from autograder.docs import kit_exercises
from autograder.exercises import EXERCISES as DESCRIBED

EXERCISES = [e for e in DESCRIBED if e.id in kit_exercises()]  # the kit's notebook's, of all those described
HAND_EXERCISES = tuple(f"test_{e.id}" for e in EXERCISES)  # the exercises that use the student's numbers


def differ_for(a, b):
    """The hand exercises whose numbers differ between students a and b (small integers can coincide)."""
    course = load_course(REPO_ROOT / "course.yaml")
    va, vb = (
        problems.draw(course.seed, course.course_id, "backprop", course.randomization, s).values
        for s in (a, b)
    )
    return [
        f"test_{e.id}"
        for e in EXERCISES
        if any(
            not np.array_equal(np.asarray(va[e.problem][k]), np.asarray(vb[e.problem][k]))
            for k in va[e.problem]
        )
    ]


def by_id(report):
    return {c["grade_id"]: c for c in report["cells"]}


def panels(html):
    """{grade_id: the HTML of its exercise panel} of a feedback page."""
    parts = re.split(r'<a name="(test_[a-z_0-9]+)"></a>', html)
    return {parts[i]: parts[i + 1].split('<div class="cell ')[0] for i in range(1, len(parts) - 1, 2)}


def test_untouched_test_cells_raise_no_checksum_warning_but_an_edited_one_does(graded_course):
    warnings = [line for line in graded_course.autograde_log.splitlines() if "has changed!" in line]
    assert len(warnings) == 1, warnings  # edgar's edit, and nothing for the four untouched notebooks
    assert "Attribute 'checksum' for cell test_add_gate_forward has changed!" in warnings[0]
    edgar = by_id(graded_course.report("edgar"))["test_add_gate_forward"]
    assert edgar["score"] == edgar["points"]  # restored from the gradebook and graded, as before
    assert sum(c["score"] for c in graded_course.report("carol")["cells"]) == sum(
        c["points"] for c in graded_course.report("carol")["cells"]
    )


def test_no_sqlalchemy_warnings(graded_course):
    assert "SAWarning" not in graded_course.autograde_log + graded_course.feedback_log


def test_the_report_records_whose_numbers_the_notebook_used(graded_course):
    b, dora, carol = (graded_course.report(s) for s in ("b", "dora", "carol"))
    assert (b["made_for"], b["id_mismatch"]) == ("a", True)  # the id the setup cell printed on a's JupyterHub
    assert (dora["made_for"], dora["id_mismatch"]) == ("a", True)  # the STUDENT_ID she typed
    assert (carol["made_for"], carol["id_mismatch"]) == (None, False)


def test_a_wrong_id_is_graded_with_the_graded_ids_numbers_and_names_no_mistake(graded_course):
    for student in ("b", "dora"):
        cells = by_id(graded_course.report(student))
        assert len(differ_for("a", student)) >= 3
        for grade_id in differ_for("a", student):
            assert cells[grade_id]["score"] < cells[grade_id]["points"], (student, grade_id)
            assert cells[grade_id]["misconceptions"] == [], (student, grade_id)
            assert "right for the numbers of student id 'a'" in cells[grade_id]["feedback"]
        assert cells["test_add_gate_backward"]["score"] == cells["test_add_gate_backward"]["points"]


def test_the_feedback_says_so_once_at_the_top_and_at_every_exercise_that_uses_the_numbers(graded_course):
    html = html_module.unescape(graded_course.feedback("b").read_text())
    note = "this notebook was made with the numbers of student id 'a', but it is graded as student id 'b'"
    top = html.split('<div id="toc">')[0]
    assert top.count(note) == 1
    for grade_id, panel in panels(html).items():
        assert (note in panel) == (grade_id in HAND_EXERCISES), grade_id
    assert html.count(note) == 1 + len(HAND_EXERCISES)
    assert note not in graded_course.feedback("carol").read_text()


def test_feedback_shows_no_grader_internals(graded_course):
    html = graded_course.feedback("ben").read_text()
    for internal in (
        "BEGIN HIDDEN TESTS",
        "from autograder",
        "inprocess",
        "grade(",
        "validate.",
        "selfcheck.",
    ):
        assert internal not in html, internal
    assert not re.search(
        r"Out\[[^\]]*\]:\s*</div>\s*<div[^>]*>\s*<pre>\s*[0-9.]+\s*</pre>", html
    )  # no bare scores


def test_every_exercise_has_its_title_points_and_results_and_each_mistake_once(graded_course):
    html = graded_course.feedback("ben").read_text()
    toc = html.split('<div id="toc">')[1].split("</ol>")[0]
    assert "Test cell" not in toc
    assert re.search(r"AddGate\.backward</a>: [0-9.]+ / 2\.0", toc)
    assert "f = (x + y) · z by hand (part 1)</a>: 3.0 / 3.0" in toc
    add = panels(html)["test_add_gate_backward"]
    assert "<h3>AddGate.backward</h3>" in add and "/ 2.0 points" in add
    assert "Failed:" in add and add.count("✗") == 2  # every input at once, and the slope of ben's own forward
    assert (
        "✗ backward dx and dy, on the lecture&#x27;s numbers, Python floats, 0-d arrays, vectors and matrices"
        in add.replace("'", "&#x27;")
    )
    assert add.count("add-split") == 1 and add.count("Hint:") == 1 and "looks like" not in add
    assert add.index("halved the gradient") < add.index('<span class="bpkit-mistake-id">(add-split)</span>')
    full = panels(html)["test_max_gate_backward"]
    assert "Failed:" not in full and "✓ Passed" in full and "2.0 / 2.0 points" in full


def test_pictures_have_alt_text(graded_course):
    html = graded_course.feedback("carol").read_text()
    alts = re.findall(r'<img[^>]*alt="([^"]*)"', html)
    assert alts and all(a.startswith("Computational graph: f(") for a in alts), alts
    assert "No description has been provided" not in html
    assert "<img" not in re.sub(r'<img[^>]*alt="[^"]+"', "", html)


def test_self_check_cells_are_left_out_of_the_feedback(graded_course):
    html = graded_course.feedback("carol").read_text()
    assert 'selfcheck</span><span class="o">.</span>' not in html  # only the setup cell's import names it


def student_lines(log, student):
    """The log lines of plain `nbgrader autograde` / `generate_feedback` about one student."""
    return [
        line
        for line in log.splitlines()
        if any(f"{a}{student}{b}" in line for a, b in (("'", "'"), ("/", "/"), (" ", "/")))
    ]


def test_the_autograde_log_has_one_line_per_student_and_more_only_when_something_needs_a_look(graded_course):
    log = graded_course.autograde_log
    assert "Copying " not in log and "Copied " not in log  # bpkit/'s files, eleven lines a student before
    for student in ("carol", "ben", "dora"):  # nothing to look at
        assert student_lines(log, student) == [
            f"[AutogradeApp | INFO] Creating/updating student with ID '{student}': {{}}"
        ]
    fay = student_lines(log, "fay")  # her line, and why her notebook scores 0
    assert (
        len(fay) == 2
        and "fay/backprop: backprop.ipynb cannot be graded: it is not a Jupyter notebook" in fay[1]
    )
    lines = log.splitlines()
    edgar = lines.index("[AutogradeApp | INFO] Creating/updating student with ID 'edgar': {}")
    assert "Attribute 'checksum' for cell test_add_gate_forward has changed!" in lines[edgar + 1]  # his edit


def test_generate_feedback_prints_no_warning_about_the_kits_own_config_and_one_line_per_student(
    graded_course,
):
    log = graded_course.feedback_log
    assert "not recognized" not in log and "WARNING" not in log, log[:2000]
    assert student_lines(log, "ben") == [
        line for line in log.splitlines() if "feedback/ben/backprop/backprop.html" in line
    ]
    assert len(student_lines(log, "ben")) == 1


def test_the_feedback_page_loads_nothing_from_the_network_and_carries_its_math(graded_course):
    for student in ("carol", "ben", "fay"):
        html = graded_course.feedback(student).read_text()
        assert not re.search(r"<script[^>]*\bsrc=", html), student  # no script is loaded from anywhere
        assert not re.search(r"<link[^>]*\bhref=", html), student
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html, re.I), student
        assert not re.search(r"cdn|mathjax\.js|latest\.js", html, re.I), student
    carol = graded_course.feedback("carol").read_text()
    assert re.findall(r'<math\b[^>]*\bdisplay="(\w+)"', carol) == ["inline", "block"]
    assert "\\frac" not in carol and "$$" not in carol  # rendered, not left for a script to typeset


def test_an_unreadable_notebooks_feedback_is_the_reason_and_what_to_do_and_nothing_else(graded_course):
    html = graded_course.feedback("fay").read_text()
    text = re.sub(
        r"\s+", " ", html_module.unescape(re.sub(r"<style.*?</style>|<[^>]+>", " ", html, flags=re.S))
    )
    assert "Your notebook could not be read: it is not a Jupyter notebook" in text
    assert "submit the notebook as JupyterLab saves it" in text
    assert (
        not re.search(r'class="[^"]*bpkit-exercise', html) and "In [" not in text and "STUDENT_ID" not in text
    )
    assert "NameError" not in text and "not graded, the notebook could not be read" not in text
    assert len(text.split("Notes from the grader")[1]) < 400, text  # one note: the reason and what to do
