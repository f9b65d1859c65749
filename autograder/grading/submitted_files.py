"""Only the student's own regular files travel through nbgrader, in a kit course.

Three places in nbgrader touch a submission folder, and each follows links:
  - `nbgrader collect` copies the exchange's folder into submitted/ (shutil.copytree);
  - `nbgrader autograde` copies submitted/<student>/<assignment>/ into autograded/, and
    `nbgrader generate_feedback` copies autograded/ into feedback/, both in
    `BaseConverter.init_assignment` (shutil.copy of every non-notebook file);
  - `nbgrader autograde` reads each notebook with nbformat.read (a link or a pipe named
    backprop.ipynb is opened like a file; a notebook nested too deep raises RecursionError).

Collect and the notebook read have configuration hooks (`ExchangeFactory.collect`,
`Autograde.exporter_class`), set in nbgrader_config.py to the classes below. The copy in
`init_assignment` has none — no option and no hook runs between the choice of files and
their copy — so `install()` replaces that one method, for Autograde and GenerateFeedback
only, with a copy through `autograder.intake.copy_submission`. It is the kit's only change
to nbgrader's code; tests/test_hostile_files.py checks it against the installed nbgrader.
"""
import datetime
import os

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.converters.base import BaseConverter
from nbgrader.exchange.default.collect import ExchangeCollect

from ..intake import copy_submission, read_refused, write_record
from .reading import read_submitted

_STOCK_INIT_ASSIGNMENT = BaseConverter.init_assignment


def install():
    """Route the file copies of autograde and generate_feedback through copy_submission.
    Called by the course's nbgrader_config.py; calling it again changes nothing."""
    BaseConverter.init_assignment = _init_assignment


def _course(root):
    from .preprocessors import _course as cached_course

    return cached_course(root)


def _init_assignment(self, assignment_id, student_id):
    """BaseConverter.init_assignment, which only copies the non-notebook files of the
    input folder to the output folder: for a submission, copy_submission does it."""
    autograding = isinstance(self, Autograde) and self._sanitizing
    if not (autograding or isinstance(self, GenerateFeedback)):
        return _STOCK_INIT_ASSIGNMENT(self, assignment_id, student_id)
    root = self.coursedir.root
    source = self._format_source(assignment_id, student_id)
    intake = copy_submission(source, self._format_dest(assignment_id, student_id),
                             max_file_bytes=_course(root).grading.max_file_bytes,
                             skip=[*self.coursedir.ignore, "*.ipynb"])
    for refused in intake.refused:
        self.log.warning("backprop-kit: %s/%s: %s was not copied: %s.", student_id, assignment_id,
                         refused.path, refused.reason)
    if autograding:
        write_record(root, assignment_id, student_id, intake)
    for copied in intake.copied:
        self.log.info("Copied %s (a regular file of the submission)", os.path.join(source, copied))


class SafeCollect(ExchangeCollect):
    """nbgrader's collect (default exchange), copying each submission with copy_submission:
    what a student leaves in the exchange besides regular files stays there."""

    def do_copy(self, src, dest, log=None):
        from ..intake import DEFAULT_MAX_FILE_BYTES

        size = self.get_size(src)  # nbgrader's own limit on the whole folder (links not counted)
        if size > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(f"Directory size is too big. Size is {size}, maximum size is "
                               f"{1000 * self.coursedir.max_dir_size}")
        try:
            cap = _course(self.coursedir.root).grading.max_file_bytes
        except Exception:  # collect must not depend on course.yaml being valid today
            cap = DEFAULT_MAX_FILE_BYTES
        cap = min(cap, int(1000 * self.coursedir.max_file_size))  # nbgrader's per-file limit, in kB
        intake = copy_submission(src, dest, max_file_bytes=cap, skip=self.coursedir.ignore)
        for refused in intake.refused:
            self.log.warning("backprop-kit: %s: %s was not collected: %s.", src, refused.path, refused.reason)


class SubmittedNotebookExporter(NotebookExporter):
    """The exporter of `nbgrader autograde`: on the sanitize pass (reading submitted/) it
    reads the notebook with `read_submitted` — no link followed, no pipe opened, the size
    capped, the cells rebuilt — and a notebook that cannot be read becomes an empty one
    marked `unreadable`, which the later steps grade as 0 with the reason; the autograde
    pass reads what nbgrader itself wrote, as usual."""

    def from_filename(self, filename, resources=None, **kw):
        converter = self.parent
        if not (isinstance(converter, Autograde) and converter._sanitizing):
            return super().from_filename(filename, resources, **kw)
        resources = resources if resources is not None else {}
        resources.setdefault("metadata", {})
        resources["metadata"].update(name=os.path.splitext(os.path.basename(filename))[0],
                                     path=os.path.dirname(filename), modified_date=_modified(filename))
        meta = resources["nbgrader"]
        root = converter.coursedir.root
        read = read_submitted(filename, _course(root).grading.max_file_bytes)
        nb = read.nb
        if nb is None:
            self.log.error("backprop-kit: %s/%s: %s cannot be graded: %s. It scores 0; other students are not "
                           "affected.", meta["student"], meta["assignment"], os.path.basename(filename), read.reason)
            nb = nbformat.v4.new_notebook()
        nb.metadata["backprop_kit"] = {
            "unreadable": read.reason or None,
            "notes": list(read.notes),
            "refused_files": read_refused(root, meta["assignment"], meta["student"]),
        }
        return self.from_notebook_node(nb, resources, **kw)


def _modified(path):
    try:
        stamp = os.lstat(path).st_mtime
    except OSError:
        stamp = 0
    return datetime.datetime.fromtimestamp(stamp, tz=datetime.timezone.utc).strftime("%B %-d, %Y")
