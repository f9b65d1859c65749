"""Which file of a submission folder is which notebook of the assignment.

Browsers and LMS downloads rename notebooks ("Backprop (1).ipynb", "homework4.ipynb") and
zips put them in a folder. A notebook is recognised by what it holds — the assignment's
cells, by grade_id — never by counting files: the file with the assignment's name wins,
otherwise the one file holding most of that notebook's cells. Every grading path (nbgrader
autograde in a kit course, `backprop-kit autograde`, the Gradescope bundle) asks this rule,
and the intake record (autograder.intake.write_record) keeps its answer.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..intake import DEFAULT_MAX_FILE_BYTES, skipped, survey
from ..words import _
from .reading import read_submitted

CHECKPOINTS = ".ipynb_checkpoints"


@dataclass(frozen=True)
class NotebookChoice:
    """What a submission folder holds for each of the assignment's notebooks."""

    files: dict  # {notebook: relative path of the submitted file graded as it}
    not_graded: str = ""  # why nothing of this submission can be graded ("" when something can)

    @property
    def renamed(self):
        """{notebook: submitted path} for the files graded under a name they were not submitted with."""
        return {nb: rel for nb, rel in self.files.items() if rel != f"{nb}.ipynb"}

    def notes(self, notebook=None):
        """One line per renamed file (of `notebook`, or of all), for the log and the top of the feedback."""
        return [
            _(
                "Graded {submitted} as {notebook}.ipynb: you handed it in under that other name, and it holds the "
                "assignment's cells. Name the notebook {notebook}.ipynb next time."
            ).format(submitted=rel, notebook=nb)
            for nb, rel in sorted(self.renamed.items())
            if notebook in (None, nb)
        ]

    def as_record(self):
        return {"graded_as": dict(self.files), "not_graded": self.not_graded}

    @classmethod
    def from_record(cls, record):
        """The choice an intake record holds (None when it holds none)."""
        if "graded_as" not in record:
            return None
        return cls(dict(record["graded_as"]), str(record.get("not_graded") or ""))


def choose_notebooks(folder, expected, max_file_bytes=DEFAULT_MAX_FILE_BYTES, skip=()):
    """The NotebookChoice for the submission at `folder`. `expected`: {notebook name: the
    grade_ids of its cells, as the gradebook has them}. Only files that may travel (`survey`) count; `skip` holds
    nbgrader's ignore patterns. Nothing is read but notebooks, and those without following a link."""
    travel, refused = survey(folder, max_file_bytes)
    notebooks = [rel for rel in travel if rel.endswith(".ipynb") and not skipped(rel, [*skip, CHECKPOINTS])]
    # Anything with the notebook's name is the notebook, even what may not travel (a link, a
    # pipe, a folder, too large): it is graded 0 with the reason, as an unreadable notebook is.
    files = {nb: f"{nb}.ipynb" for nb in expected if os.path.lexists(Path(folder) / f"{nb}.ipynb")}
    pool: dict[str, Any] = {
        rel: None for rel in notebooks if rel not in files.values()
    }  # rel -> its grade ids, read once
    ambiguous = []
    for nb in [n for n in expected if n not in files]:
        if not pool:
            break
        for rel in pool:
            if pool[rel] is None:
                pool[rel] = _cell_ids(Path(folder) / rel, max_file_bytes)
        shared = {rel: len(set(expected[nb]) & ids[0]) for rel, ids in pool.items()}
        best = max(shared.values())
        if best == 0:
            continue
        tops = sorted(rel for rel, n in shared.items() if n == best)
        if len({(Path(folder) / rel).read_bytes() for rel in tops}) > 1:  # identical copies are one notebook
            ambiguous.append(
                _(
                    "{files} each hold {count} of {notebook}.ipynb's cells and differ, so which one to "
                    "grade cannot be told; keep one, named {notebook}.ipynb"
                ).format(files=", ".join(tops), count=best, notebook=nb)
            )
            continue
        files[nb] = tops[0]
        del pool[tops[0]]
    if ambiguous:
        return NotebookChoice({}, "; ".join(ambiguous))
    if not files:
        return NotebookChoice({}, _nothing_to_grade(folder, expected, notebooks, pool, travel, refused))
    return NotebookChoice(files)


def _cell_ids(path, max_file_bytes):
    """(grade_ids of the notebook's cells, why it cannot be read or "")."""
    read = read_submitted(path, max_file_bytes)
    if read.nb is None:
        return set(), read.reason
    ids = {(cell.metadata.get("nbgrader") or {}).get("grade_id") for cell in read.nb.cells}
    return {i for i in ids if isinstance(i, str) and i}, ""


def _nothing_to_grade(folder, expected, notebooks, pool, travel, refused):
    wanted = _(" or ").join(f"{nb}.ipynb" for nb in expected)
    if notebooks:
        found = []
        for rel in notebooks:
            ids, reason = pool.get(rel) or (set(), "")
            found.append(
                f"{rel} ("
                + (
                    _("it cannot be read: {why}").format(why=reason)
                    if reason
                    else _("none of the assignment's cells")
                )
                + ")"
            )
        return _("no notebook of the assignment (expected {wanted}); found {found}").format(
            wanted=wanted, found=", ".join(found)
        )
    others = [*travel, *(_("{path} (refused: {why})").format(path=r.path, why=r.reason) for r in refused)]
    shown = ", ".join(others[:8]) + (
        _(" and {count} more").format(count=len(others) - 8) if len(others) > 8 else ""
    )
    return _("no notebook was submitted in {folder} (expected {wanted})").format(
        folder=folder, wanted=wanted
    ) + (_("; it holds {files}").format(files=shown) if others else "")
