"""Sanitize steps that run before nbgrader's own: a notebook's cells as the assignment made them.

A student's notebook can hold its assignment's cells copied, moved, retyped, renamed, with
their nbgrader metadata deleted or mangled — an everyday copy-paste in JupyterLab gives two
cells with one grade_id, and nbgrader then fails the whole notebook (KeyError in
OverwriteCells, "Duplicate grade id" in CheckCellMetadata; a schema_version edited in one
cell even stops the whole batch). `SanitizeCells` settles every such case first, so that
nbgrader's steps always see a notebook they accept, and each case costs only the cells it
touches:

- a cell's nbgrader metadata is trusted only for its grade_id, and only when the gradebook
  knows that id: the rest of it (grade, solution, locked, points, schema_version) is
  rewritten from the gradebook; a cell with an unknown or unreadable id becomes a plain cell;
- two cells with one grade_id: the one whose position fits the assignment's order best
  (most of the other assignment cells on the right side of it) keeps the id, the last of them
  on a tie, as nbgrader's own DeduplicateIds decides; a copy of a locked cell (setup or test) is dropped, a copy of
  an answer cell stays as a plain cell the checks do not read;
- a cell retyped between code and markdown gets its assignment type back, source kept;
- the assignment's cells moved out of order are put back in order, each carrying along the
  student's own cells that followed it;
- a locked cell that is missing (deleted, or its metadata removed) is put back where the
  assignment has it, so a deleted test is graded and a deleted setup cell costs nothing.

Each repair adds one plain line to the notes that `ShowNotes` puts at the top of the
graded notebook (and so in the feedback). The decisions are plain functions of the cells
and the assignment's cell list (`SourceCell`), tested without nbgrader; the preprocessors
only read the gradebook and write the notes.
"""

from dataclasses import dataclass

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from ..words import N_, _

NOTES_HEADER = N_("**Notes from the grader (backprop-kit)**")


@dataclass(frozen=True)
class SourceCell:
    """One nbgrader cell of the assignment, as the gradebook records it."""

    name: str
    cell_type: str
    locked: bool
    grade: bool
    solution: bool
    points: float
    checksum: str
    source: str

    def metadata(self):
        meta = {
            "grade": self.grade,
            "grade_id": self.name,
            "locked": self.locked,
            "schema_version": 3,
            "solution": self.solution,
        }
        if self.grade:
            meta["points"] = self.points
        if self.checksum:
            meta["checksum"] = self.checksum
        return meta


def source_cells_from_gradebook(gb, notebook, assignment):
    """[SourceCell] of one notebook in the assignment's order, or None when unknown."""
    from nbgrader.api import MissingEntry

    try:
        nb = gb.find_notebook(notebook, assignment)
    except MissingEntry:
        return None
    points = {c.name: float(c.max_score) for c in nb.grade_cells}
    answers = {c.name for c in nb.solution_cells}
    return [
        SourceCell(
            c.name,
            c.cell_type,
            bool(c.locked),
            c.name in points,
            c.name in answers,
            points.get(c.name, 0.0),
            c.checksum or "",
            c.source or "",
        )
        for c in nb.source_cells
    ]


def source_cells_from_notebook(nb):
    """[SourceCell] read from a source or release notebook (for tests and tools without a gradebook)."""
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            out.append(
                SourceCell(
                    meta["grade_id"],
                    cell.cell_type,
                    bool(meta.get("locked")),
                    bool(meta.get("grade")),
                    bool(meta.get("solution")),
                    float(meta.get("points") or 0),
                    meta.get("checksum", ""),
                    cell.source,
                )
            )
    return out


def grade_id_of(cell):
    """The grade_id a cell claims, or None when its metadata holds none that can be read."""
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) else None


def sanitize_cells(cells, source_cells):
    """(cells as the assignment made them, [note]) — see the module docstring."""
    plan = {s.name: s for s in source_cells}
    rank = {s.name: i for i, s in enumerate(source_cells)}
    notes: list = []
    cells = [_forget_unknown(c, plan, notes) for c in cells]
    cells = _deduplicate(cells, plan, rank, notes)
    cells = [_as_assigned(c, plan[gid], notes) if (gid := grade_id_of(c)) else c for c in cells]
    cells = _in_order(cells, rank, notes)
    cells = _restore_missing(cells, source_cells, rank, notes)
    return cells, notes


def _forget_unknown(cell, plan, notes):
    if not isinstance(cell.get("metadata"), dict):
        cell["metadata"] = {}
    if "nbgrader" not in cell["metadata"]:
        return cell
    gid = grade_id_of(cell)
    if gid not in plan:
        del cell["metadata"]["nbgrader"]
        if gid:
            notes.append(
                f"A cell named {gid!r} is not part of the assignment; it was treated as a plain cell."
            )
    return cell


def _deduplicate(cells, plan, rank, notes):
    """Keep, for each grade_id, the cell whose position fits the assignment's order."""
    positions: dict = {}
    for i, cell in enumerate(cells):
        if (gid := grade_id_of(cell)) is not None:
            positions.setdefault(gid, []).append(i)
    if all(len(p) == 1 for p in positions.values()):
        return cells
    unique = [(i, rank[gid]) for gid, p in positions.items() if len(p) == 1 for i in p]
    drop: set = set()
    strip: set = set()
    for gid, found in positions.items():
        if len(found) == 1:
            continue
        own = rank[gid]
        fit = {i: sum(1 for j, r in unique if (j < i and r < own) or (j > i and r > own)) for i in found}
        keeper = max(
            found, key=lambda i: (fit[i], i)
        )  # a tie goes to the last, as in nbgrader's DeduplicateIds
        copies = [i for i in found if i != keeper]
        (drop if plan[gid].locked else strip).update(copies)
        notes.append(
            _copies_note(plan[gid].locked, len(copies) == 1).format(name=repr(gid), times=len(found))
        )
    for i in strip:
        del cells[i]["metadata"]["nbgrader"]
    return [c for i, c in enumerate(cells) if i not in drop]


def _copies_note(locked, one_copy):
    """What the feedback says of a cell found more than once (the whole sentence per case, so
    each language can say it its own way)."""
    if locked:
        return (
            _(
                "The cell {name} appears {times} times; the one in the assignment's place was graded and "
                "the copy was ignored."
            )
            if one_copy
            else _(
                "The cell {name} appears {times} times; the one in the assignment's place was graded and "
                "the copies were ignored."
            )
        )
    return (
        _(
            "The answer cell {name} appears {times} times; the one in the assignment's place was graded and "
            "the copy was ignored."
        )
        if one_copy
        else _(
            "The answer cell {name} appears {times} times; the one in the assignment's place was graded and "
            "the copies were ignored."
        )
    )


def _as_assigned(cell, source, notes):
    """The cell with the assignment's metadata and cell type (the student's source kept)."""
    if cell.get("cell_type") != source.cell_type:
        notes.append(
            _(
                "The cell {name} was changed to {found}; it was graded as the {expected} cell the "
                "assignment has."
            ).format(name=repr(source.name), found=cell.get("cell_type"), expected=source.cell_type)
        )
        fresh = (nbformat.v4.new_code_cell if source.cell_type == "code" else nbformat.v4.new_markdown_cell)(
            source=cell.get("source", ""), metadata=cell["metadata"]
        )
        if "id" in cell:
            fresh["id"] = cell["id"]
        cell = fresh
    cell["metadata"]["nbgrader"] = nbformat.from_dict(source.metadata())
    return cell


def _in_order(cells, rank, notes):
    """Put the assignment's cells back in its order; a student's own cells move with the
    assignment cell they follow."""
    ranks = [rank[gid] for c in cells if (gid := grade_id_of(c)) is not None]
    if ranks == sorted(ranks):
        return cells
    notes.append(_("Cells of the assignment were moved; they were graded in the assignment's order."))
    segments: list[tuple[int, list]] = [
        (-1, [])
    ]  # (rank of the assignment cell that starts it, its cells); the first has none
    for cell in cells:
        gid = grade_id_of(cell)
        if gid is not None:
            segments.append((rank[gid], [cell]))
        else:
            segments[-1][1].append(cell)
    return [cell for _, group in sorted(segments, key=lambda s: s[0]) for cell in group]


def _restore_missing(cells, source_cells, rank, notes):
    """Put back every locked cell of the assignment that is missing, after the nearest
    assignment cell before it."""
    present = {gid for c in cells if (gid := grade_id_of(c)) is not None}
    for source in source_cells:
        if source.name in present or not source.locked:
            continue
        after = max(
            (
                i
                for i, c in enumerate(cells)
                if (gid := grade_id_of(c)) is not None and rank[gid] < rank[source.name]
            ),
            default=-1,
        )
        make = nbformat.v4.new_code_cell if source.cell_type == "code" else nbformat.v4.new_markdown_cell
        cells.insert(
            after + 1,
            make(
                source=source.source,
                metadata={"nbgrader": source.metadata(), "deletable": False, "editable": False},
            ),
        )
        present.add(source.name)
        if source.grade:
            notes.append(
                _("The test cell {name} was missing; it was put back and graded.").format(
                    name=repr(source.name)
                )
            )
        else:
            notes.append(
                _("The cell {name} was missing; the assignment's version was put back.").format(
                    name=repr(source.name)
                )
            )
    return cells


def notes_of(nb):
    """The notebook's backprop-kit facts ({"notes", "unreadable", "refused_files"}), created if absent."""
    facts = nb.metadata.setdefault("backprop_kit", {})
    facts.setdefault("notes", [])
    facts.setdefault("unreadable", None)
    facts.setdefault("refused_files", [])
    return facts


class SanitizeCells(NbGraderPreprocessor):
    """Sanitize step before nbgrader's own (see the module docstring)."""

    def source_cells(self, resources):
        """[SourceCell] of the assignment's notebook (from the gradebook; `backprop-kit
        autograde` reads them from its snapshot instead), or None when unknown."""
        from nbgrader.api import Gradebook

        meta = resources["nbgrader"]
        with Gradebook(meta["db_url"]) as gb:
            return source_cells_from_gradebook(gb, meta["notebook"], meta["assignment"])

    def preprocess(self, nb, resources):
        meta = resources["nbgrader"]
        source_cells = self.source_cells(resources)
        if source_cells is None:
            return nb, resources
        cells, notes = sanitize_cells(list(nb.cells), source_cells)
        nb.cells = cells
        if notes_of(nb)["unreadable"]:
            return nb, resources  # every cell was put back: the one note that matters is why
        for note in notes:
            self.log.warning(
                "backprop-kit: %s/%s: %s", meta["student"], meta["notebook"], note
            )  # the note is words
        notes_of(nb)["notes"].extend(notes)
        return nb, resources


class ShowNotes(NbGraderPreprocessor):
    """Last sanitize step: one markdown cell at the top of the graded notebook (and so of the
    feedback) with a line per thing the grader ignored or repaired, and why."""

    def preprocess(self, nb, resources):
        facts = notes_of(nb)
        lines = []
        if facts["unreadable"]:
            lines.append(
                _(
                    "Your notebook could not be read: {why}. Every exercise scores 0; submit the notebook "
                    "as JupyterLab saves it."
                ).format(why=facts["unreadable"])
            )
        notebook = f"{resources['nbgrader']['notebook']}.ipynb"
        lines += [
            _('The file "{path}" in your submission was ignored: {reason}.').format(
                path=r["path"], reason=r["reason"]
            )
            for r in facts["refused_files"]
            if not (facts["unreadable"] and r["path"] == notebook)
        ]
        lines += facts["notes"]
        if lines:
            text = "\n".join([_(NOTES_HEADER), ""] + [f"- {_plain(line)}" for line in lines])
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(text, metadata={"backprop_kit": "notes"}))
        return nb, resources


def _plain(line):
    """A line safe to show as one markdown list item (names in it come from the student):
    no raw HTML, no links or code spans, no line breaks, at most 500 characters."""
    line = " ".join(str(line).split())[:500]
    for char in "\\`*_[]<>#|!":
        line = line.replace(char, "\\" + char)
    return line
