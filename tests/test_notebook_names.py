"""Every submission is graded or said to be not graded, by name (issue 17, item 1).

A notebook handed in under another name is recognised by its cells (grading.naming.choose_notebooks)
and graded as the assignment's notebook by both `nbgrader autograde` and `backprop-kit
autograde`, with the same grades as the correctly named notebook; the student fetches its
feedback with nbgrader's own exchange. A folder with nothing that can be told to be the
notebook is listed as "not graded: why" and recorded nowhere (no 0), and canvas.csv leaves
it blank."""

import csv
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from kit_course import kit_course
from lanes import lane
from shared_class import records

from autograder import demo
from autograder.course import nbgrader_environment
from autograder.grading.naming import choose_notebooks

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

CELLS = {"backprop": {"setup", "add_gate", "test_add_gate_forward", "simple_by_hand"}}


def notebook(*grade_ids, text=""):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"# {gid} {text}", metadata={"nbgrader": {"grade_id": gid}})
        for gid in grade_ids
    ]
    return nbformat.writes(nb)


def folder_with(tmp_path, files):
    folder = tmp_path / "submitted" / "ann" / "backprop"
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)
    return folder


# ---------------------------------------------------------------- the rule


def test_a_renamed_notebook_is_recognised_by_its_cells_not_by_being_the_only_file(tmp_path):
    folder = folder_with(
        tmp_path,
        {
            "Backprop (1).ipynb": notebook("setup", "add_gate", "test_add_gate_forward"),
            "scratch.ipynb": notebook("mine"),
            "notes.txt": "x",
        },
    )
    choice = choose_notebooks(folder, CELLS)
    assert choice.files == {"backprop": "Backprop (1).ipynb"} and not choice.not_graded
    assert choice.renamed == {"backprop": "Backprop (1).ipynb"}
    assert choice.notes() == [
        "Graded Backprop (1).ipynb as backprop.ipynb: you handed it in under that other "
        "name, and it holds the assignment's cells. Name the notebook backprop.ipynb next time."
    ]


def test_a_notebook_zipped_in_a_folder_is_found(tmp_path):
    folder = folder_with(
        tmp_path,
        {
            "hw4/backprop.ipynb": notebook("setup", "add_gate"),
            ".ipynb_checkpoints/backprop-checkpoint.ipynb": notebook("setup", "add_gate", "x"),
        },
    )
    assert choose_notebooks(folder, CELLS).files == {"backprop": "hw4/backprop.ipynb"}


def test_the_correctly_named_notebook_wins_over_copies_beside_it(tmp_path):
    folder = folder_with(
        tmp_path,
        {
            "backprop.ipynb": notebook("setup"),
            "Backprop (1).ipynb": notebook("setup", "add_gate", "test_add_gate_forward"),
        },
    )
    choice = choose_notebooks(folder, CELLS)
    assert choice.files == {"backprop": "backprop.ipynb"} and choice.renamed == {} and choice.notes() == []


def test_identical_copies_are_one_notebook_and_differing_ones_cannot_be_told_apart(tmp_path):
    same = notebook("setup", "add_gate")
    folder = folder_with(tmp_path, {"a.ipynb": same, "b.ipynb": same})
    assert choose_notebooks(folder, CELLS).files == {"backprop": "a.ipynb"}
    other = folder_with(
        tmp_path / "2", {"a.ipynb": same, "b.ipynb": notebook("setup", "add_gate", text="edited")}
    )
    choice = choose_notebooks(other, CELLS)
    assert choice.files == {} and choice.not_graded.startswith(
        "a.ipynb, b.ipynb each hold 2 of backprop.ipynb's cells and differ"
    )
    # the one holding more of the assignment's cells is the notebook
    more = folder_with(
        tmp_path / "3", {"a.ipynb": same, "b.ipynb": notebook("setup", "add_gate", "simple_by_hand")}
    )
    assert choose_notebooks(more, CELLS).files == {"backprop": "b.ipynb"}


def test_no_candidate_says_what_was_found(tmp_path):
    assert (
        "it holds notes.txt" in choose_notebooks(folder_with(tmp_path, {"notes.txt": "x"}), CELLS).not_graded
    )
    choice = choose_notebooks(
        folder_with(tmp_path / "2", {"homework4.ipynb": "not json", "mine.ipynb": notebook("other")}), CELLS
    )
    assert choice.files == {}
    assert "homework4.ipynb (it cannot be read: it is not a Jupyter notebook" in choice.not_graded
    assert "mine.ipynb (none of the assignment's cells)" in choice.not_graded
    empty = tmp_path / "3"
    empty.mkdir()
    assert (
        choose_notebooks(empty, CELLS).not_graded
        == f"no notebook was submitted in {empty} (expected backprop.ipynb)"
    )


# ---------------------------------------------------------------- end to end

STUDENTS = {  # student: (files, graded as)
    "ann": ("Backprop (1).ipynb",),  # renamed by the browser
    "bo": ("homework4.ipynb",),  # renamed by the student
    "cy": ("backprop.ipynb", "backprop (1).ipynb"),  # the right name beside an older copy: it wins
    "ref": ("backprop.ipynb",),  # the same answers, correctly named: the grades to compare with
}
NOT_GRADED = {
    "dee": "no notebook was submitted in",  # only a text file
    "eve": "each hold",  # two different notebooks, both with the assignment's cells
}


class GradedNames(NamedTuple):
    """Both commands' gradings of the class whose files are its cases: the two course copies,
    nbgrader's log, the kit's run."""

    stock: Path
    kit: Path
    stock_log: str
    kit_run: subprocess.CompletedProcess


@pytest.fixture(scope="module")
@lane("e2e")
def course(tmp_path_factory):
    # Its own grading, not the shared class's (shared_class.py): the students here are the
    # names of their files (renamed, several, none), and both commands' logs are read whole.
    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    root = tmp_path_factory.mktemp("names")
    base = kit_course(tmp_path_factory, root / "base")
    source = nbformat.read(base / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(base / "release" / "backprop" / "backprop.ipynb", as_version=4)
    good = nbformat.writes(simulated_class.fill(release, simulated_class.reference_answers(source)))
    mistaken = nbformat.writes(
        simulated_class.fill(
            release,
            {
                **simulated_class.reference_answers(source),
                "add_gate": simulated_class.MISTAKES["add-split"][1],
            },
        )
    )
    for student, files in STUDENTS.items():
        folder = base / "submitted" / student / "backprop"
        folder.mkdir(parents=True)
        for i, name in enumerate(files):
            (folder / name).write_text(good if i == 0 else mistaken)
    (base / "submitted" / "dee" / "backprop").mkdir(parents=True)
    (base / "submitted" / "dee" / "backprop" / "notes.txt").write_text("my answers are on paper")
    (base / "submitted" / "eve" / "backprop").mkdir(parents=True)
    (base / "submitted" / "eve" / "backprop" / "backprop (1).ipynb").write_text(good)
    (base / "submitted" / "eve" / "backprop" / "backprop (2).ipynb").write_text(mistaken)
    stock, kit = root / "stock", root / "kit"
    shutil.copytree(base, stock)
    shutil.copytree(base, kit)
    stock_run = demo.nbgrader(stock, "autograde", "backprop")
    kit_run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "autograde", "backprop", "--jobs", "2"],
        cwd=kit,
        capture_output=True,
        text=True,
        env={**nbgrader_environment(), "COLUMNS": "250"},
    )
    return GradedNames(stock, kit, stock_run.stdout + stock_run.stderr, kit_run)


def test_renamed_notebooks_get_the_grades_of_the_correctly_named_one_under_both_commands(course):
    stock, kit = course.stock, course.kit
    reference = records(stock, "ref")
    assert reference["score"] > 0
    for student in STUDENTS:
        for course_dir in (stock, kit):
            got = records(course_dir, student)
            assert got["grades"] == reference["grades"], (course_dir.name, student)


def test_both_logs_say_which_file_was_graded_and_which_were_not_graded(course):
    stock_log, kit_run = course.stock_log, course.kit_run
    kit_log = kit_run.stdout + kit_run.stderr
    for log in (stock_log, kit_log):
        assert "Traceback" not in log and "No notebooks found" not in log
        assert "ann" in log and "graded Backprop (1).ipynb as backprop.ipynb".lower() in log.lower()
        assert "graded homework4.ipynb as backprop.ipynb" in log.lower()
        assert (
            "cy/backprop: graded" not in log and "! cy:" not in log
        )  # its correctly named notebook was graded
    for student, why in NOT_GRADED.items():
        assert f"{student}/backprop: not graded: " in stock_log and why in stock_log
        assert f"✗ {student}: " in kit_log and "not graded, nothing recorded" in kit_log
        assert f"not graded: {student}: " in kit_log  # the summary lists them too
    assert kit_run.returncode == 1  # something needs a look


def test_not_graded_folders_are_recorded_nowhere(course):
    stock, kit = course.stock, course.kit
    for course_dir in (stock, kit):
        for student in NOT_GRADED:
            assert records(course_dir, student) is None, (course_dir.name, student)
            assert not (course_dir / "autograded" / student).exists()


@pytest.mark.browser
def test_the_feedback_of_a_renamed_notebook_says_so(course):
    stock, kit = course.stock, course.kit
    for course_dir in (stock, kit):
        done = demo.nbgrader(course_dir, "generate_feedback", "backprop")
        assert done.returncode == 0, done.stderr[-2000:]
        page = (course_dir / "feedback" / "ann" / "backprop" / "backprop.html").read_text()
        assert "Graded Backprop (1).ipynb as backprop.ipynb" in page
        # written under the submitted name too: nbgrader fetch_feedback looks it up by that name
        assert (course_dir / "feedback" / "ann" / "backprop" / "Backprop (1).html").read_text() == page
        assert not (course_dir / "feedback" / "cy" / "backprop" / "backprop (1).html").exists()
    html = stock / "feedback" / "ann" / "backprop" / "backprop.html"
    from browser import chrome, screenshot_folder

    shots = screenshot_folder("renamed-notebook-feedback")
    driver = chrome(1100, 900)
    try:
        driver.get(html.as_uri())
        driver.save_screenshot(str(shots / "feedback-of-a-renamed-notebook.png"))
        assert "Graded Backprop (1).ipynb as backprop.ipynb" in driver.find_element("tag name", "body").text
    finally:
        driver.quit()


@pytest.mark.browser
def test_the_class_report_lists_not_graded_submissions_and_canvas_leaves_them_blank(course):
    stock = course.stock
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "report", "backprop"],
        cwd=stock,
        capture_output=True,
        text=True,
        env={**nbgrader_environment(), "COLUMNS": "250"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for student, why in NOT_GRADED.items():
        assert f"not graded: {student}: " in done.stdout and why in done.stdout
    out = stock / "backprop-kit" / "class-report" / "backprop"
    with open(out / "canvas.csv") as handle:
        rows = {row["SIS User ID"]: row["backprop"] for row in csv.DictReader(handle) if row["SIS User ID"]}
    assert rows["dee"] == "" and rows["eve"] == "" and float(rows["ann"]) == float(rows["ref"]) > 0
    from browser import chrome, screenshot_folder

    shots = screenshot_folder("class-report-not-graded")
    driver = chrome(1200, 900)
    try:
        driver.get((out / "class.html").as_uri())
        section = driver.find_element("id", "not-graded")
        driver.execute_script("arguments[0].scrollIntoView()", section)
        driver.save_screenshot(str(shots / "class-report-not-graded.png"))
        listed = [
            row.get_attribute("data-student")
            for row in driver.find_elements("css selector", "#not-graded-list tr[data-student]")
        ]
        assert listed == ["dee", "eve"]
        assert driver.find_element("id", "n-not-graded").text == "2"
    finally:
        driver.quit()


@pytest.mark.e2e
def test_a_student_fetches_the_feedback_of_a_renamed_notebook_through_nbgraders_exchange(
    tmp_path, tmp_path_factory
):
    """The whole exchange, for real: release, fetch, submit under another name, collect,
    autograde, generate and release feedback, fetch_feedback."""
    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    exchange, cache, home = tmp_path / "exchange", tmp_path / "cache", tmp_path / "student"
    exchange.mkdir(mode=0o777)
    home.mkdir()
    settings = textwrap.dedent(f"""
        c.CourseDirectory.course_id = "cs231n"
        c.Exchange.root = {str(exchange)!r}
        c.Exchange.cache = {str(cache)!r}
    """)
    course_dir = kit_course(tmp_path_factory, tmp_path / "course")
    with open(course_dir / "nbgrader_config.py", "a") as config:
        config.write(settings)
    (home / "nbgrader_config.py").write_text("c = get_config()\n" + settings)

    def run(where, *args):
        done = demo.nbgrader(where, *args)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
        return done.stdout + done.stderr

    run(course_dir, "generate_assignment", "backprop", "--force")
    run(course_dir, "release_assignment", "backprop")
    run(home, "fetch_assignment", "backprop")
    fetched = home / "backprop" / "backprop.ipynb"
    source = nbformat.read(course_dir / "source" / "backprop" / "backprop.ipynb", as_version=4)
    answered = simulated_class.fill(
        nbformat.read(fetched, as_version=4), simulated_class.reference_answers(source)
    )
    fetched.unlink()
    nbformat.write(answered, home / "backprop" / "Backprop (1).ipynb")  # what a browser download makes of it
    run(home, "submit", "backprop")
    run(course_dir, "collect", "backprop")
    [student] = [p.name for p in (course_dir / "submitted").iterdir()]
    log = run(course_dir, "autograde", "backprop")
    assert "graded Backprop (1).ipynb as backprop.ipynb" in log
    assert records(course_dir, student)["score"] > 0
    run(course_dir, "generate_feedback", "backprop")
    run(course_dir, "release_feedback", "backprop")
    run(home, "fetch_feedback", "backprop")
    [fetched_feedback] = (home / "backprop" / "feedback").glob("*/*.html")
    assert fetched_feedback.name == "Backprop (1).html"
    assert "Graded Backprop (1).ipynb as backprop.ipynb" in fetched_feedback.read_text()
    assert json.loads((course_dir / "backprop-kit" / "intake" / "backprop" / f"{student}.json").read_text())[
        "graded_as"
    ] == {"backprop": "Backprop (1).ipynb"}


def test_each_report_records_the_kit_version_and_the_course_yaml_it_was_graded_with(course):
    import hashlib

    from autograder import __version__
    from autograder.grading.report import read_report, report_path

    stock, kit = course.stock, course.kit
    for course_dir in (stock, kit):
        digest = hashlib.sha256((course_dir / "course.yaml").read_bytes()).hexdigest()
        for student in STUDENTS:
            report = read_report(report_path(course_dir, "backprop", student, "backprop"))
            assert report["kit_version"] == __version__ and report["course_yaml_sha256"] == digest, student


def test_a_file_with_the_notebooks_name_that_may_not_travel_is_still_the_notebook(tmp_path):
    """A link or a pipe named backprop.ipynb is graded 0 with the reason (as an unreadable
    notebook is), not taken for a missing notebook, nor replaced by a copy beside it."""
    import os

    folder = folder_with(tmp_path, {"copy.ipynb": notebook("setup", "add_gate")})
    os.symlink("/etc/passwd", folder / "backprop.ipynb")
    assert choose_notebooks(folder, CELLS).files == {"backprop": "backprop.ipynb"}
    os.unlink(folder / "backprop.ipynb")
    (folder / "backprop.ipynb").mkdir()  # a folder named like the notebook
    assert choose_notebooks(folder, CELLS).files == {"backprop": "backprop.ipynb"}
