"""The batch coordinator's gradebook writes before grading (autograder/batch/record.py): the rows
nbgrader's own Gradebook.add_submission and Autograde.init_assignment write, made with less work."""

import datetime

import pytest
from gradebooks import copy_of, made_once
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from autograder.batch.record import Recorder, add_submission

# nbgrader's own add_submission (the side compared against) warns about its backrefs on this SQLAlchemy.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

NOTEBOOKS = {  # two notebooks: grade cells, answer cells, a task cell, a cell both graded and answered
    "part1": {"grade": [("test_a", 2), ("essay", 3)], "solution": ["answer_a", "essay"], "task": ["task_1"]},
    "part2": {"grade": [("test_b", 1)], "solution": ["answer_b"], "task": []},
}


def make_gradebook(url):
    with Gradebook(url) as gb:
        gb.add_assignment("hw")
        for notebook, cells in NOTEBOOKS.items():
            gb.update_or_create_notebook(notebook, "hw")
            for name, points in cells["grade"]:
                gb.update_or_create_grade_cell(name, notebook, "hw", max_score=points, cell_type="code")
            for name in cells["solution"]:
                gb.update_or_create_solution_cell(name, notebook, "hw")
            for name in cells["task"]:
                gb.update_or_create_task_cell(name, notebook, "hw", max_score=4, cell_type="markdown")


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory):
    return made_once(tmp_path_factory, make_gradebook)


def rows(url, student):
    """Every column of the student's submission rows but their random ids, named by notebook and cell."""
    with Gradebook(url) as gb:
        submission = gb.find_submission("hw", student)
        notebooks = {}
        for nb in submission.notebooks:
            notebooks[nb.name] = {
                "notebook": (nb.late_submission_penalty, nb.flagged, nb.assignment_id == submission.id),
                "grades": sorted(
                    (g.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                    for g in nb.grades
                ),
                "comments": sorted((c.name, c.auto_comment, c.manual_comment) for c in nb.comments),
            }
        return {
            "timestamp": submission.timestamp,
            "extension": submission.extension,
            "student": submission.student_id,
            "notebooks": notebooks,
        }


@pytest.mark.parametrize("timestamp", [None, "2026-12-02 10:30:00.123456 UTC"])
def test_a_new_submission_has_the_rows_nbgraders_add_submission_gives(tmp_path, empty_gradebook, timestamp):
    ours, stock = (
        copy_of(empty_gradebook, tmp_path / "ours.db"),
        copy_of(empty_gradebook, tmp_path / "stock.db"),
    )
    kwargs = {"timestamp": timestamp} if timestamp else {}
    with Gradebook(stock) as gb:
        gb.add_student("ada")
        gb.add_submission("hw", "ada", **kwargs)
    with Gradebook(ours) as gb:
        gb.add_student("ada")
        add_submission(gb, "hw", "ada", timestamp)
        gb.db.commit()
    assert rows(ours, "ada") == rows(stock, "ada")
    made = rows(ours, "ada")
    assert len(made["notebooks"]["part1"]["grades"]) == 3 and len(made["notebooks"]["part1"]["comments"]) == 3
    assert made["timestamp"] == (datetime.datetime(2026, 12, 2, 10, 30, 0, 123456) if timestamp else None)


def recorder(tmp_path, url):
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.db_url = url
    coursedir = CourseDirectory(config=config)
    return Recorder(coursedir, config, "hw", tmp_path, cells={nb: set() for nb in NOTEBOOKS})


def test_begin_creates_the_student_and_zeroes_a_notebook_not_handed_in(tmp_path, empty_gradebook):
    """Autograde.init_assignment's rule: every grade of a missing notebook is 0 and needs no
    person's look; the notebook handed in keeps its empty grades for grading to fill."""
    url = copy_of(empty_gradebook, tmp_path / "gradebook.db")
    (tmp_path / "submitted" / "ada" / "hw").mkdir(parents=True)
    (tmp_path / "submitted" / "ada" / "hw" / "timestamp.txt").write_text("2026-12-01 09:00:00 UTC")
    rec = recorder(tmp_path, url)
    rec.begin("ada", ["part1"])
    rec.close()
    made = rows(url, "ada")  # read by a new session: committed
    assert made["student"] == "ada" and made["timestamp"] == datetime.datetime(2026, 12, 1, 9, 0)
    assert made["notebooks"]["part2"]["grades"] == [("test_b", 0.0, None, None, False)]
    assert all(g[1] is None and g[4] is True for g in made["notebooks"]["part1"]["grades"])


def test_begin_again_keeps_the_submission_and_takes_the_new_timestamp(tmp_path, empty_gradebook):
    url = copy_of(empty_gradebook, tmp_path / "gradebook.db")
    stamp = tmp_path / "submitted" / "ada" / "hw" / "timestamp.txt"
    stamp.parent.mkdir(parents=True)
    stamp.write_text("2026-12-01 09:00:00 UTC")
    rec = recorder(tmp_path, url)
    rec.begin("ada", ["part1", "part2"])
    with Gradebook(url) as gb:
        first = gb.find_submission("hw", "ada").id
    stamp.write_text("2026-12-02 18:45:00 UTC")
    rec.begin("ada", ["part1", "part2"])
    rec.close()
    with Gradebook(url) as gb:
        assert [s.id for s in gb.find_student("ada").submissions] == [first]
        assert gb.find_submission("hw", "ada").timestamp == datetime.datetime(2026, 12, 2, 18, 45)
