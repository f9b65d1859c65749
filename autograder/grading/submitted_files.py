"""Only the student's own regular files travel through nbgrader, in a kit course.

Three places in nbgrader touch a submission folder, and each follows links:
  - `nbgrader collect` copies the exchange's folder into submitted/ (shutil.copytree);
  - `nbgrader autograde` copies submitted/<student>/<assignment>/ into autograded/, and
    `nbgrader generate_feedback` copies autograded/ into feedback/, both in
    `BaseConverter.init_assignment` (shutil.copy of every non-notebook file);
  - `nbgrader autograde` reads each notebook with nbformat.read (a link or a pipe named
    backprop.ipynb is opened like a file; a notebook nested too deep raises RecursionError).

Collect and the notebook read have configuration hooks (`ExchangeFactory.collect`,
`Autograde.exporter_class`), set in nbgrader_config.py to the classes below. What has no
hook — no option runs between the choice of files and their copy, or before --force
deletes an autograded folder — `install()` replaces, in one table (PATCHES) of
BaseConverter's methods, each changed for the kit's converters only:
  - `start`: course.yaml is checked before anything is deleted or written (autograde,
    generate_feedback, generate_assignment); a bad one is the kit's one line per problem in
    the log (formgrader shows it) and nbgrader's own clean failure, no traceback;
  - `init_notebooks` (autograde): which file of each submission is which notebook is decided
    by `autograder.grading.naming.choose_notebooks` — a renamed notebook is graded under the
    assignment's name, and a folder with nothing that can be told to be the notebook is
    "not graded: why", never entered in the gradebook (so never a 0);
  - `init_assignment`: the copy through `autograder.intake.copy_submission`;
  - `write_single_notebook` (generate_feedback): the feedback of a renamed notebook is also
    written under the submitted name, which `nbgrader fetch_feedback` looks it up by.
tests/test_hostile_files.py and tests/test_notebook_names.py check them against the installed nbgrader.
"""

import datetime
import os

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.converters.base import BaseConverter, NbGraderException
from nbgrader.exchange.default.collect import ExchangeCollect

from ..intake import copy_submission, read_record, read_refused, write_record
from ..words import _, speak
from .hooks import CANNOT_BE_GRADED
from .naming import choose_notebooks
from .reading import read_submitted

CONVERTERS_THAT_WRITE = (Autograde, GenerateFeedback, GenerateAssignment)  # grades, feedback, a release
_STOCK = {
    name: getattr(BaseConverter, name)
    for name in ("start", "init_notebooks", "init_assignment", "write_single_notebook")
}


def install():
    """Put the kit's versions of PATCHES on BaseConverter. Called by the course's
    nbgrader_config.py; calling it again changes nothing."""
    for name, method in PATCHES.items():
        setattr(BaseConverter, name, method)


def _course(root):
    from .preprocessors import _course as cached_course

    return cached_course(root)


def _start(self):
    """BaseConverter.start, after course.yaml is checked: a bad course.yaml stops a converter
    that writes before it deletes or writes anything (autograde --force would remove
    autograded/ first), with the kit's one line per problem."""
    from ..config import ConfigError

    if isinstance(self, CONVERTERS_THAT_WRITE):
        try:
            speak(_course(self.coursedir.root))  # its grades' feedback, its release: the course's language
        except ConfigError as e:
            for problem in str(e).splitlines():
                self.log.error("%s", problem)
            self.log.error(
                "%s", _("backprop-kit: fix course.yaml and run the command again; nothing was changed.")
            )
            raise NbGraderException(str(e)) from None
    return _STOCK["start"](self)


def _init_notebooks(self):
    """BaseConverter.init_notebooks, for autograde: each submission's notebooks chosen by
    choose_notebooks. {submission folder: NotebookChoice} is kept on the converter, and
    self.assignments lists each chosen notebook under the assignment's name (the exporter
    reads the submitted file behind that name)."""
    if not (isinstance(self, Autograde) and self.coursedir.notebook_id == "*"):
        return _STOCK["init_notebooks"](self)
    import glob

    coursedir = self.coursedir
    root = coursedir.root
    expected = gradebook_cells(coursedir)
    if not expected:  # the assignment is not in the gradebook: nbgrader says so, its own way
        return _STOCK["init_notebooks"](self)
    folders = sorted(glob.glob(self._format_source(coursedir.assignment_id, coursedir.student_id)))
    exclude = set(filter(None, (coursedir.student_id_exclude or "").split(",")))
    self.assignments, self.notebooks, self._bpkit_choices = {}, [], {}
    for folder in folders:
        student = os.path.basename(os.path.dirname(folder))
        assignment = os.path.basename(folder)
        if not os.path.isdir(folder) or student in exclude or assignment not in expected:
            continue
        choice = choose_notebooks(
            folder, expected[assignment], _course(root).grading.max_file_bytes, skip=coursedir.ignore
        )
        self._bpkit_choices[os.path.normpath(folder)] = choice
        if choice.not_graded:
            self.log.error(
                "%s",
                _(
                    "backprop-kit: {student}/{assignment}: not graded: {why}. Nothing was recorded; fix "
                    "the folder and run autograde again."
                ).format(student=student, assignment=assignment, why=choice.not_graded),
            )
            write_not_graded(root, assignment, student, choice)
            continue
        for notebook, rel in choice.renamed.items():
            self.log.warning(
                "%s",
                _(
                    "backprop-kit: {student}/{assignment}: graded {file} as {notebook}.ipynb: it holds "
                    "the assignment's cells."
                ).format(student=student, assignment=assignment, file=rel, notebook=notebook),
            )
        self.assignments[folder] = [os.path.join(folder, f"{nb}.ipynb") for nb in sorted(choice.files)]
    if not self.assignments:
        msg = (
            _("No submission of {assignment} could be graded (each is listed above with why)")
            if self._bpkit_choices
            else _("No submission of {assignment} could be graded: no folder matches {pattern}")
        ).format(
            assignment=repr(coursedir.assignment_id),
            pattern=self._format_source(coursedir.assignment_id, coursedir.student_id),
        )
        self.log.error(msg)
        raise NbGraderException(msg)


def gradebook_cells(coursedir):
    """{assignment: {notebook: the grade_ids of its cells}} from the gradebook, for the
    assignments matching coursedir.assignment_id (what autograde grades against)."""
    import fnmatch

    from nbgrader.api import Gradebook

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        return {
            a.name: {nb.name: {c.name for c in nb.source_cells} for nb in a.notebooks}
            for a in gb.assignments
            if fnmatch.fnmatchcase(a.name, coursedir.assignment_id)
        }


def write_not_graded(root, assignment, student, choice):
    from ..intake import Intake

    write_record(root, assignment, student, Intake(), choice)


def choice_for(converter, notebook_filename):
    """(NotebookChoice, notebook name) of a path self.assignments lists, or (None, name)."""
    folder, name = os.path.split(os.path.normpath(notebook_filename))
    choices = getattr(converter, "_bpkit_choices", {})
    return choices.get(folder), os.path.splitext(name)[0]


def _write_single_notebook(self, output, resources):
    """BaseConverter.write_single_notebook; for generate_feedback, the feedback of a notebook
    handed in under another name is written under that name too: `nbgrader release_feedback`
    hashes each feedback file's name, and `nbgrader fetch_feedback` looks up the name the
    student submitted."""
    _STOCK["write_single_notebook"](self, output, resources)
    if not isinstance(self, GenerateFeedback):
        return
    meta = resources["nbgrader"]
    submitted = read_record(self.coursedir.root, meta["assignment"], meta["student"]).get("graded_as", {})
    rel = submitted.get(meta["notebook"])
    if (
        not rel or rel == f"{meta['notebook']}.ipynb" or "/" in rel
    ):  # fetch_feedback sees top-level names only
        return
    copy = dict(resources, unique_key=os.path.splitext(rel)[0])
    _STOCK["write_single_notebook"](self, output, copy)


def _init_assignment(self, assignment_id, student_id):
    """BaseConverter.init_assignment, which only copies the non-notebook files of the
    input folder to the output folder: for a submission, copy_submission does it."""
    autograding = isinstance(self, Autograde) and self._sanitizing
    if not (autograding or isinstance(self, GenerateFeedback)):
        return _STOCK["init_assignment"](self, assignment_id, student_id)
    root = self.coursedir.root
    source = self._format_source(assignment_id, student_id)
    intake = copy_submission(
        source,
        self._format_dest(assignment_id, student_id),
        max_file_bytes=_course(root).grading.max_file_bytes,
        skip=[*self.coursedir.ignore, "*.ipynb"],
    )
    for refused in intake.refused:
        self.log.warning(
            "%s",
            _("backprop-kit: {student}/{assignment}: {file} was not copied: {why}.").format(
                student=student_id, assignment=assignment_id, file=refused.path, why=refused.reason
            ),
        )
    if autograding:
        choice, _read = choice_for(self, os.path.join(source, "x.ipynb"))
        write_record(root, assignment_id, student_id, intake, choice)
    for copied in intake.copied:
        self.log.info("Copied %s (a regular file of the submission)", os.path.join(source, copied))


PATCHES = {
    "start": _start,
    "init_notebooks": _init_notebooks,
    "init_assignment": _init_assignment,
    "write_single_notebook": _write_single_notebook,
}


class SafeCollect(ExchangeCollect):
    """nbgrader's collect (default exchange), copying each submission with copy_submission:
    what a student leaves in the exchange besides regular files stays there."""

    def do_copy(self, src, dest, log=None):
        from ..intake import DEFAULT_MAX_FILE_BYTES

        size = self.get_size(src)  # nbgrader's own limit on the whole folder (links not counted)
        if size > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(
                f"Directory size is too big. Size is {size}, maximum size is "
                f"{1000 * self.coursedir.max_dir_size}"
            )
        try:
            cap = _course(self.coursedir.root).grading.max_file_bytes
        except Exception:  # collect must not depend on course.yaml being valid today
            cap = DEFAULT_MAX_FILE_BYTES
        cap = min(cap, int(1000 * self.coursedir.max_file_size))  # nbgrader's per-file limit, in kB
        intake = copy_submission(src, dest, max_file_bytes=cap, skip=self.coursedir.ignore)
        for refused in intake.refused:
            self.log.warning(
                "%s",
                _("backprop-kit: {folder}: {file} was not collected: {why}.").format(
                    folder=src, file=refused.path, why=refused.reason
                ),
            )


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
        resources["metadata"].update(
            name=os.path.splitext(os.path.basename(filename))[0],
            path=os.path.dirname(filename),
            modified_date=_modified(filename),
        )
        meta = resources["nbgrader"]
        root = converter.coursedir.root
        choice, notebook = choice_for(converter, filename)
        renamed = choice.renamed.get(notebook) if choice else None
        if renamed:  # the file handed in under another name, graded under the assignment's
            filename = os.path.join(os.path.dirname(filename), renamed)
            resources["metadata"]["modified_date"] = _modified(filename)
        read = read_submitted(filename, _course(root).grading.max_file_bytes)
        nb = read.nb
        if nb is None:
            self.log.error(
                "%s",
                _(CANNOT_BE_GRADED).format(
                    student=meta["student"],
                    assignment=meta["assignment"],
                    file=os.path.basename(filename),
                    why=read.reason,
                ),
            )
            nb = nbformat.v4.new_notebook()
        nb.metadata["backprop_kit"] = {
            "unreadable": read.reason or None,
            "notes": (choice.notes(notebook) if renamed else []) + list(read.notes),
            "refused_files": read_refused(root, meta["assignment"], meta["student"]),
        }
        return self.from_notebook_node(nb, resources, **kw)


def _modified(path):
    try:
        stamp = os.lstat(path).st_mtime
    except OSError:
        stamp = 0
    return datetime.datetime.fromtimestamp(stamp, tz=datetime.timezone.utc).strftime("%B %-d, %Y")
