"""nbgrader's steps with less work (autograder/grading/steps.py): SaveAutoGradesOnce writes what
nbgrader's SaveAutoGrades writes, except that a graded cell's score is the number TrustedChecks
gave it, never its printed output parsed back; every other cell follows nbgrader's own rules."""

import nbformat
import pytest
from gradebooks import copy_of, made_once
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from autograder.grading.steps import SaveAutoGradesOnce, scores_of


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory):
    return made_once(tmp_path_factory, make_gradebook)


def meta(grade_id, **kind):
    return {
        "nbgrader": {
            "schema_version": 3,
            "grade_id": grade_id,
            "locked": False,
            "grade": False,
            "solution": False,
            **kind,
        }
    }


def graded_notebook():
    """A checked cell whose output claims full marks, a plain test cell nbgrader scores by its
    output, an untouched answer (a "No response." comment) and a hand-graded one."""
    checked = nbformat.v4.new_code_cell(
        "grade('x', 'y', globals(), 2)", metadata=meta("test_checked", grade=True, points=2)
    )
    checked.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2.0"})]
    plain = nbformat.v4.new_code_cell("assert True", metadata=meta("test_plain", grade=True, points=1))
    plain.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])]
    untouched = nbformat.v4.new_code_cell("# YOUR CODE HERE", metadata=meta("answer", solution=True))
    essay = nbformat.v4.new_markdown_cell(
        "my essay", metadata=meta("essay", solution=True, grade=True, points=3)
    )
    nb = nbformat.v4.new_notebook(cells=[untouched, checked, plain, essay])
    untouched.metadata.nbgrader["checksum"] = utils.compute_checksum(untouched)
    essay.metadata.nbgrader["checksum"] = "edited since"
    return nb


def make_gradebook(url):
    with Gradebook(url) as gb:
        gb.add_assignment("hw")
        gb.update_or_create_notebook("nb", "hw")
        for name, points, cell_type in (
            ("test_checked", 2, "code"),
            ("test_plain", 1, "code"),
            ("essay", 3, "markdown"),
        ):
            gb.update_or_create_grade_cell(name, "nb", "hw", max_score=points, cell_type=cell_type)
        for name in ("answer", "essay"):
            gb.update_or_create_solution_cell(name, "nb", "hw")
        gb.add_student("ada")
        gb.add_submission("hw", "ada")
    return url


def recorded(url):
    with Gradebook(url) as gb:
        nb = gb.find_submission_notebook("nb", "hw", "ada")
        return (
            {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
            {c.name: c.auto_comment for c in nb.comments},
        )


def resources(url, scores):
    res = {"nbgrader": {"notebook": "nb", "assignment": "hw", "student": "ada", "db_url": url}}
    scores_of(res).update(scores)
    return res


def test_a_checked_cell_records_trustedchecks_number_not_its_printed_output(tmp_path, empty_gradebook):
    url = copy_of(empty_gradebook, tmp_path / "gradebook.db")
    SaveAutoGradesOnce().preprocess(graded_notebook(), resources(url, {"test_checked": 0.5}))
    grades, comments = recorded(url)
    assert grades["test_checked"] == (0.5, False)  # the output says 2.0
    assert comments["answer"] == "No response."


def test_every_other_cell_is_recorded_as_nbgrader_records_it(tmp_path, empty_gradebook):
    ours, stock = (copy_of(empty_gradebook, tmp_path / name) for name in ("ours.db", "stock.db"))
    SaveAutoGradesOnce().preprocess(graded_notebook(), resources(ours, {"test_checked": 2.0}))
    SaveAutoGrades().preprocess(graded_notebook(), resources(stock, {}))
    assert recorded(ours) == recorded(stock)
    assert recorded(ours)[0]["test_plain"] == (0.0, False) and recorded(ours)[0]["essay"] == (None, True)


def test_the_metadata_schema_is_compiled_once_for_every_notebook_and_still_refuses_bad_metadata(monkeypatch):
    """nbgrader builds its schema anew for every pass; CheckCellMetadataOnce compiles it once
    (not once a notebook), and a cell whose metadata breaks the schema is still refused."""
    import fastjsonschema
    import jsonschema
    import nbformat
    import pytest

    from autograder.grading.steps import CheckCellMetadataOnce, _SchemaCompiledOnce

    monkeypatch.setattr(CheckCellMetadataOnce, "_validation", _SchemaCompiledOnce())
    compiled, real_compile = [], fastjsonschema.compile
    monkeypatch.setattr(fastjsonschema, "compile", lambda schema: compiled.append(1) or real_compile(schema))

    def notebook(points):
        cell = nbformat.v4.new_code_cell("x = 1")
        cell.metadata["nbgrader"] = {
            "grade": True,
            "solution": False,
            "locked": True,
            "grade_id": "g",
            "points": points,
            "schema_version": 3,
        }
        return nbformat.v4.new_notebook(cells=[cell])

    for _ in range(3):
        CheckCellMetadataOnce().preprocess(notebook(1), {})
    assert len(compiled) == 1
    with pytest.raises(jsonschema.ValidationError):
        CheckCellMetadataOnce().preprocess(notebook("one"), {})
