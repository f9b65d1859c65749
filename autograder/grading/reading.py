"""Reading a submitted notebook that may be anything: a notebook, or a reason it is not one.

nbgrader reads a submission with `nbformat.read`, following links and trusting the JSON's
shape, so a notebook nested too deep raises RecursionError, a named pipe blocks the whole
batch and a cell with a wrong type fails a preprocessor with a traceback. Here the file is
opened without following links, read up to the course's size cap, parsed, and rebuilt cell
by cell from what a notebook cell may hold: a cell that cannot be one is dropped (it costs
only itself, and a note says so); a file that cannot be a notebook at all gets one plain
reason, which the grader turns into a 0 and the student's feedback.
"""

import json
import os
import stat
from dataclasses import dataclass, field

import nbformat

from ..intake import DEFAULT_MAX_FILE_BYTES
from ..words import _
from . import nodes


def _is_text_list(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_flat_dict(value):
    return isinstance(value, dict) and all(
        isinstance(v, (str, int, float, bool)) or v is None for v in value.values()
    )


# Cell metadata the grading tools read (nbgrader's own is settled by SanitizeCells), each with
# the shape they expect; the grader's own notes ("backprop_kit") are never taken from a student.
CELL_METADATA = {
    "nbgrader": lambda v: True,
    "tags": _is_text_list,
    "editable": lambda v: isinstance(v, bool),
    "deletable": lambda v: isinstance(v, bool),
    "collapsed": lambda v: isinstance(v, bool),
    "scrolled": lambda v: isinstance(v, bool) or v == "auto",
    "jupyter": lambda v: isinstance(v, dict) and all(isinstance(x, bool) for x in v.values()),
}
NOTEBOOK_METADATA = {
    "kernelspec": _is_flat_dict,
    "language_info": lambda v: (
        isinstance(v, dict)
        and all(isinstance(x, (str, int, float, bool)) or x is None or _is_flat_dict(x) for x in v.values())
    ),
}

# A real notebook nests about ten levels (widget state a few more); every later step (schema
# checks, nbconvert's copies, writing JSON back) recurses, so far deeper content is refused here.
MAX_DEPTH = 64
CELL_TYPES = ("code", "markdown", "raw")


@dataclass
class Read:
    nb: nbformat.NotebookNode | None = None  # a valid nbformat 4 notebook, or None when unreadable
    reason: str = ""  # why it cannot be graded, in plain words ("" when nb is set)
    notes: list = field(default_factory=list)  # what was dropped or repaired, one line each


def read_submitted(path, max_bytes=DEFAULT_MAX_FILE_BYTES):
    """Read the notebook at `path` as a Read; never raises for what the file holds."""
    data, reason = read_bytes(path, max_bytes)
    if reason:
        return Read(reason=reason)
    return parse_notebook(data)


def read_bytes(path, max_bytes):
    """(bytes, "") or (None, reason): the file's bytes, without following a link or blocking on a pipe."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return None, _("it is a symbolic link, not a file; links are not followed")
        except OSError:
            pass
        return None, _("the file cannot be opened ({error})").format(error=e.strerror)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, _("it is not a regular file (a pipe, a device or a folder)")
        if info.st_size > max_bytes:
            return None, _("it is {size} MB, above the course's cap of {cap} MB per file").format(
                size=f"{info.st_size / 1e6:.1f}", cap=f"{max_bytes / 1e6:.1f}"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(max_bytes + 1)[:max_bytes], ""
    finally:
        os.close(fd)


def parse_notebook(data):
    """Read the bytes of a submitted notebook (see the module's docstring)."""
    if not data.strip():
        return Read(reason=_("the file is empty"))
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (some Windows editors write one) is fine
    except UnicodeDecodeError:
        return Read(reason=_("it is a binary file, not a Jupyter notebook (which is text)"))
    try:
        raw = json.loads(text)
    except RecursionError:
        return Read(reason=_("it is not a Jupyter notebook (its JSON is nested too deeply to read)"))
    except ValueError as e:
        return Read(
            reason=_("it is not a Jupyter notebook (not valid JSON: {error})").format(
                error=str(e).splitlines()[0][:160]
            )
        )
    if _depth(raw) > MAX_DEPTH:
        return Read(
            reason=_(
                "it is not a Jupyter notebook (its JSON is nested more than {depth} levels deep)"
            ).format(depth=MAX_DEPTH)
        )
    return _rebuild(raw)


def _depth(value):
    """How deeply lists and objects nest in `value`, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend(
                    (child, level + 1) for child in (item.values() if isinstance(item, dict) else item)
                )
    return deepest


def _rebuild(raw):
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        return Read(reason=_("it is not a Jupyter notebook (JSON without a list of cells)"))
    version = raw.get("nbformat")
    if version == 3 and type(version) is int and isinstance(raw.get("worksheets"), list):
        try:
            raw = nbformat.convert(nbformat.from_dict(raw), 4)
            if not isinstance(raw.get("cells"), list):
                raise ValueError("no cells after the upgrade")
        except Exception as e:  # an old notebook nbformat cannot upgrade
            return Read(
                reason=_("it is an old (version 3) notebook that cannot be upgraded ({error})").format(
                    error=_first_line(e)
                )
            )
    elif version != 4 or type(version) is not int:
        return Read(
            reason=_(
                "it says it is a notebook of format version {version}; backprop-kit reads version 4, "
                "which JupyterLab writes (open it there and save it again)"
            ).format(version=_shown(version))
        )
    notes: list = []
    cells: list = []
    ids: set = set()
    for number, cell in enumerate(raw.get("cells", []), start=1):
        rebuilt, problem = _rebuild_cell(cell, ids)
        if rebuilt is None:
            notes.append(
                _("Cell {number} of the submitted notebook was ignored: {problem}.").format(
                    number=number, problem=problem
                )
            )
        else:
            cells.append(rebuilt)
    nb = nodes.notebook(cells=cells, metadata=_kept(raw.get("metadata"), NOTEBOOK_METADATA))
    try:
        nbformat.validate(nb)  # once, whole: the nodes above were built unchecked
    except nbformat.ValidationError as e:
        return Read(reason=_("it is not a valid Jupyter notebook ({error})").format(error=_first_line(e)))
    return Read(nb=nb, notes=notes)


def _rebuild_cell(cell, ids):
    """(a fresh cell holding what `cell` may hold, "") or (None, why it cannot be a cell)."""
    if not isinstance(cell, dict):
        return None, _("it is not a cell")
    if cell.get("cell_type") not in CELL_TYPES:
        return None, _("its cell_type {found} is not code, markdown or raw").format(
            found=_shown(cell.get("cell_type"))
        )
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)
    if not isinstance(source, str):
        return None, _("its source is not text")
    new = nodes.cell(cell["cell_type"], source, metadata=_kept(cell.get("metadata"), CELL_METADATA))
    if cell["cell_type"] == "code":
        new["outputs"] = _stream_outputs(cell.get("outputs"))
    attachments = cell.get("attachments")
    if cell["cell_type"] != "code" and _valid_attachments(attachments):
        new["attachments"] = attachments
    cell_id = cell.get("id")
    if isinstance(cell_id, str) and cell_id not in ids and _valid_id(cell_id):
        new["id"] = cell_id  # keep the student's id; new_*_cell made a fresh one otherwise
    ids.add(new["id"])
    return new, ""


def _kept(metadata, allowed):
    """The metadata keys the grader's tools read, where they hold what those tools expect: a
    student's `"tags": 5` or `"execution": "x"` would otherwise fail nbclient or nbconvert
    for the whole notebook. The rest of a student's metadata is not needed to grade it."""
    if not isinstance(metadata, dict):
        return {}
    return {key: value for key, value in metadata.items() if key in allowed and allowed[key](value)}


def _stream_outputs(outputs):
    """The well-formed printed text of a code cell; the rest of its outputs are dropped. Sanitize
    clears outputs anyway, but its first step reads what the setup cell printed (whose numbers
    the notebook was made with: grading/identity.py)."""
    if not isinstance(outputs, list):
        return []
    kept = []
    for output in outputs:
        if not (
            isinstance(output, dict)
            and output.get("output_type") == "stream"
            and output.get("name") in ("stdout", "stderr")
        ):
            continue
        text = output.get("text", "")
        if isinstance(text, list) and all(isinstance(t, str) for t in text):
            text = "".join(text)
        if isinstance(text, str):
            kept.append(nodes.output("stream", name=output["name"], text=text))
    return kept


def _valid_attachments(attachments):
    return isinstance(attachments, dict) and all(
        isinstance(k, str)
        and isinstance(v, dict)
        and all(isinstance(t, str) and isinstance(d, (str, list)) for t, d in v.items())
        for k, v in attachments.items()
    )


def _valid_id(cell_id):
    return 1 <= len(cell_id) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in cell_id)


def _shown(value):
    text = json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
