"""Reading a submitted notebook that may be anything, and settling its cells (no nbgrader run)."""

import json
import os

import nbformat
import pytest

from autograder.grading.reading import parse_notebook, read_submitted
from autograder.grading.sanitize import SourceCell, grade_id_of, sanitize_cells


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\xff", "binary file"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'{"cells": ' + b"[" * 80 + b"]" * 80 + b', "nbformat": 4}', "more than 64 levels"),
        (b"this is not json", "not valid JSON"),
        (b'{"cells": [], "nbformat": 5, "nbformat_minor": 0, "metadata": {}}', "format version 5"),
        (b'{"cells": [], "nbformat": "4", "nbformat_minor": 0, "metadata": {}}', 'format version "4"'),
        (b'{"cells": [], "nbformat": 3, "nbformat_minor": 0, "metadata": {}}', "format version 3"),
        (b'["a", "list"]', "JSON without a list of cells"),
    ],
)
def test_unreadable_notebooks_get_one_plain_reason(data, reason):
    read = parse_notebook(data)
    assert read.nb is None and reason in read.reason and "\n" not in read.reason


def test_cells_that_cannot_be_cells_are_dropped_with_a_note_and_the_rest_is_kept():
    good = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "a"}})
    raw = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"backprop_kit": {"unreadable": None}},
        "cells": [
            7,
            {"cell_type": "code", "source": 3},
            {"cell_type": "heading", "source": "x"},
            dict(good),
            {"cell_type": "markdown", "source": ["a", "b"], "metadata": [], "attachments": ["bad"]},
        ],
    }
    read = parse_notebook(json.dumps(raw).encode())
    assert [c.source for c in read.nb.cells] == ["x = 1", "ab"]
    assert len(read.notes) == 3 and "Cell 3" in read.notes[2] and "heading" in read.notes[2]
    assert "backprop_kit" not in read.nb.metadata  # a student cannot write the grader's notes
    nbformat.validate(read.nb)


def test_links_and_pipes_are_not_opened(tmp_path):
    (tmp_path / "nb.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    os.symlink(tmp_path / "nb.ipynb", tmp_path / "link.ipynb")
    os.mkfifo(tmp_path / "pipe.ipynb")  # opening it for reading would block forever
    assert read_submitted(tmp_path / "nb.ipynb").nb is not None
    assert "symbolic link" in read_submitted(tmp_path / "link.ipynb").reason
    assert "not a regular file" in read_submitted(tmp_path / "pipe.ipynb").reason
    assert "above the course's cap" in read_submitted(tmp_path / "nb.ipynb", max_bytes=10).reason


ASSIGNMENT = [
    SourceCell("setup", "code", True, False, False, 0, "", "import numpy"),
    SourceCell("answer", "code", False, False, True, 0, "", "# YOUR CODE"),
    SourceCell("test_answer", "code", True, True, False, 2, "", "grade('answer')"),
]


def cell(gid, source="", cell_type="code", **meta):
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    return make(source, metadata={"nbgrader": {"grade_id": gid, **meta}} if gid else {})


def test_a_copy_out_of_place_loses_to_the_cell_in_the_assignments_place():
    cells = [
        cell("answer", "pasted at the top"),
        cell("setup"),
        cell("answer", "final"),
        cell("test_answer"),
        cell("test_answer"),
    ]
    out, notes = sanitize_cells(cells, ASSIGNMENT)
    assert [(grade_id_of(c), c.source) for c in out] == [
        (None, "pasted at the top"),
        ("setup", ""),
        ("answer", "final"),
        ("test_answer", ""),
    ]
    assert len(notes) == 2 and all("appears 2 times" in n for n in notes)


def test_copies_that_fit_equally_well_leave_the_last_one_graded():
    cells = [
        cell("setup"),
        cell("answer", "draft"),
        cell(None, "mine"),
        cell("answer", "final"),
        cell("test_answer"),
        cell("test_answer"),
    ]
    out, notes = sanitize_cells(cells, ASSIGNMENT)
    assert [(grade_id_of(c), c.source) for c in out] == [
        ("setup", ""),
        (None, "draft"),
        (None, "mine"),
        ("answer", "final"),
        ("test_answer", ""),
    ]
    assert len(notes) == 2 and all("appears 2 times" in n for n in notes)


def test_moved_retyped_unknown_and_deleted_cells_are_settled():
    cells = [
        cell("test_answer", schema_version=1),
        cell("answer", "mine", cell_type="markdown"),
        cell("made_up", "x", grade=True),
    ]
    out, notes = sanitize_cells(cells, ASSIGNMENT)
    assert [grade_id_of(c) for c in out] == [
        "setup",
        "answer",
        None,
        "test_answer",
    ]  # "x" moved with "answer"
    assert out[1].cell_type == "code" and out[1].source == "mine"
    assert out[0].source == "import numpy"  # put back from the assignment
    assert out[3].metadata["nbgrader"] == ASSIGNMENT[2].metadata()  # the student's metadata is not trusted
    assert "nbgrader" not in out[2].metadata
    assert len(notes) == 4  # unknown, retyped, moved, setup put back


def test_a_byte_order_mark_is_no_reason_to_refuse_a_notebook():
    data = (
        b"\xef\xbb\xbf"
        + nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])).encode()
    )
    assert [c.source for c in parse_notebook(data).nb.cells] == ["1"]


def test_the_old_nbgrader_hook_still_says_why_a_notebook_cannot_be_graded(tmp_path, caplog):
    """Courses whose nbgrader_config.py still names grading.hooks.explain_unreadable get its line
    (its keyword arguments from nbgrader once shadowed the catalog's `_`: a TypeError instead)."""
    import logging

    from autograder.grading.hooks import explain_unreadable

    notebook = tmp_path / "submitted" / "ann" / "backprop" / "backprop.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text("this is not json")
    with caplog.at_level(logging.ERROR, logger="backprop-kit"):
        explain_unreadable("backprop", "*", [str(notebook)], course_id="c", extra="ignored")
        explain_unreadable("backprop", "bo", [], course_id="c")
    said = caplog.text
    assert "ann/backprop: backprop.ipynb cannot be graded" in said, said
    assert "bo/backprop: no notebook was submitted" in said, said
