"""Notebook nodes built without nbformat's per-node schema check.

`nbformat.v4.new_output` and `new_*_cell` validate each node they make with jsonschema
against a sub-schema: about a third of a millisecond each, some 150 nodes per graded
notebook, a tenth of the grader's CPU per submission. The grader builds nodes only in
steps whose notebook is then validated whole, once (reading.py before grading; nbformat
when the graded notebook is written, and the batch's run_steps after each pass), so the
per-node checks prove nothing more. The fields and defaults are nbformat's own.
"""

from nbformat import from_dict
from nbformat.v4.nbbase import nbformat as NBFORMAT
from nbformat.v4.nbbase import nbformat_minor as NBFORMAT_MINOR
from nbformat.v4.nbbase import random_cell_id

OUTPUT_DEFAULTS: dict[str, dict] = {
    "stream": {"name": "stdout", "text": ""},
    "display_data": {"metadata": {}, "data": {}},
    "execute_result": {"metadata": {}, "data": {}, "execution_count": None},
    "error": {"ename": "NotImplementedError", "evalue": "", "traceback": []},
}


def output(output_type, **fields):
    """As nbformat.v4.new_output(output_type, **fields)."""
    return from_dict({"output_type": output_type, **OUTPUT_DEFAULTS[output_type], **fields})


def cell(cell_type, source="", **fields):
    """As nbformat.v4.new_code_cell / new_markdown_cell / new_raw_cell(source, **fields)."""
    node = {"id": random_cell_id(), "cell_type": cell_type, "metadata": {}, "source": source}
    if cell_type == "code":
        node.update(execution_count=None, outputs=[])
    node.update(fields)
    return from_dict(node)


def notebook(**fields):
    """As nbformat.v4.new_notebook(**fields)."""
    return from_dict(
        {"nbformat": NBFORMAT, "nbformat_minor": NBFORMAT_MINOR, "metadata": {}, "cells": [], **fields}
    )
