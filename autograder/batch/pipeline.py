"""Grade one submission from bytes: nbgrader's autograde pipeline, minus the gradebook and the kernel.

`grade_submission(snapshot, job)` is a pure function of the submission's notebooks (bytes)
and the AssignmentSnapshot: it returns the autograded notebooks and the records
SaveAutoGrades would write, and touches neither the gradebook nor the course directory.
It runs the course's own pipeline (nbgrader_config.py: `Autograde.sanitize_preprocessors`
and `Autograde.autograde_preprocessors`, with their settings), every step as nbgrader runs it,
except the steps that need the gradebook or a kernel, which are replaced one for one:

  OverwriteKernelspec, OverwriteCells,  -> the same steps reading the snapshot instead of the
  SanitizeCells, RestoreHiddenTests        gradebook (nbgrader's own OverwriteCells code runs)
  CheckCellMetadata                     -> CheckCellMetadataOnce (grading/steps.py), as the course's
                                           nbgrader_config.py has it now: the schema compiled once
  StudentKernelExecute                  -> itself: the same cells (grading/execute.py), run by the
                                           submission's sandboxed worker, which the batch starts
  TrustedChecks                         -> the same checks (score_notebook), on that worker, the
                                           report returned instead of written
  SaveAutoGrades(Once)                  -> CollectAutoGrades: the same scores (steps.auto_score) and
                                           nbgrader's "No response." rule, returned instead of written
  AssignLatePenalties                   -> applied by the coordinator, which owns the gradebook

The work saved per submission is the gradebook sessions, and nbconvert's copies, disk round
trip and per-step validations (the notebook is validated once per pass); every check and
every sandbox boundary is the same. One sandboxed
worker (its own fresh uid as root) serves one submission and is killed after it.
"""

import copy
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.converters import Autograde
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from traitlets.config import Config

from ..grading.hidden_tests import RestoreHiddenTests
from ..grading.preprocessors import SANDBOX, TrustedChecks, score_notebook, scores_in
from ..grading.reading import Read, parse_notebook
from ..grading.sanitize import SanitizeCells, source_cells_from_gradebook
from ..grading.steps import CheckCellMetadataOnce, SaveAutoGradesOnce, collect_records, scores_of
from ..sandbox.limits import Limits
from ..sandbox.runner import StudentRunner
from ..words import speak

if TYPE_CHECKING:  # the snapshot imports nbgrader's gradebook, which grading on a worker never needs
    from .snapshot import AssignmentSnapshot

KEY = SANDBOX  # where the grading context travels in nbconvert's resources (as the sandbox does)


class PipelineError(ValueError):
    """The course's nbgrader pipeline cannot be run by `backprop-kit autograde`."""


@dataclass
class SubmissionJob:
    student: str
    notebooks: dict  # {notebook name: the submitted .ipynb's bytes}
    refused_files: list = field(default_factory=list)  # [{"path", "reason"}]: what the intake did not copy
    notes: dict = field(
        default_factory=dict
    )  # {notebook: [lines]}: what the intake says, e.g. a renamed file
    unreadable: dict = field(default_factory=dict)  # {notebook: why}: submitted but refused (a link, a pipe)


@dataclass
class NotebookResult:
    autograded: str | None = None  # the autograded notebook, as nbgrader writes it
    grades: dict = field(default_factory=dict)  # {grade_id: auto_score} (SaveAutoGrades)
    comments: dict = field(default_factory=dict)  # {grade_id: auto_comment}
    report: list = field(default_factory=list)  # the per-student report's cells (grading/report.py)
    facts: dict = field(
        default_factory=dict
    )  # and its facts: refused_files, unreadable, notes, answers, made_for...
    error: str = ""  # why this notebook could not be graded (the student then fails, as in nbgrader)


@dataclass
class SubmissionResult:
    student: str
    notebooks: dict  # {notebook name: NotebookResult}
    seconds: float = 0.0
    where: str = ""  # the host that graded it

    @property
    def error(self):
        return "; ".join(r.error for r in self.notebooks.values() if r.error)


@dataclass
class GradingContext:
    """What the replaced steps need, passed along in nbconvert's resources."""

    snapshot: "AssignmentSnapshot"
    runner: StudentRunner
    student: str
    grades: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    report: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)  # the report's facts (grading/report.py)

    owned = False  # the batch stops the runner itself, after the submission's last notebook

    @property
    def course(self):
        return self.snapshot.course

    def __deepcopy__(self, memo):  # nbconvert deep-copies resources; the runner is one live process
        return self


def context(resources):
    return resources[KEY]


# ---------------------------------------------------------------- the replaced steps


class SnapshotKernelspec(OverwriteKernelspec):
    def preprocess(self, nb, resources):
        meta = resources["nbgrader"]
        kernelspec = (
            context(resources).snapshot.find_notebook(meta["notebook"], meta["assignment"]).kernelspec
        )
        if kernelspec:
            nb.metadata["kernelspec"] = json.loads(kernelspec)
        return nb, resources


class SnapshotSanitizeCells(SanitizeCells):
    def source_cells(self, resources):
        meta = resources["nbgrader"]
        return source_cells_from_gradebook(context(resources).snapshot, meta["notebook"], meta["assignment"])


class SnapshotRestoreHiddenTests(RestoreHiddenTests):
    def locked(self, resources):
        return self.locked_sources(context(resources).snapshot, resources["nbgrader"])


class SnapshotOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells, its `gradebook` being the snapshot."""

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.gradebook = context(resources).snapshot
        nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class WorkerTrustedChecks(NbGraderPreprocessor):
    """TrustedChecks on the submission's worker; the report is returned, not written."""

    def preprocess(self, nb, resources):
        ctx, meta = context(resources), resources["nbgrader"]
        ctx.report, ctx.facts = score_notebook(
            nb, ctx.snapshot.course, meta["student"], meta["assignment"], ctx.runner
        )
        scores_of(resources).update(scores_in(ctx.report))
        return nb, resources


class CollectAutoGrades(NbGraderPreprocessor):
    """What SaveAutoGrades would write, read from the cells the same way."""

    def preprocess(self, nb, resources):
        ctx = context(resources)
        ctx.grades, ctx.comments = collect_records(nb, resources, self.log)
        return nb, resources


SUBSTITUTES = {
    OverwriteKernelspec: SnapshotKernelspec,
    OverwriteCells: SnapshotOverwriteCells,
    SanitizeCells: SnapshotSanitizeCells,
    RestoreHiddenTests: SnapshotRestoreHiddenTests,
    CheckCellMetadata: CheckCellMetadataOnce,  # courses made before it was in nbgrader_config.py
    TrustedChecks: WorkerTrustedChecks,
    SaveAutoGrades: CollectAutoGrades,
    SaveAutoGradesOnce: CollectAutoGrades,
    AssignLatePenalties: None,
}


def _import(step):
    if isinstance(step, str):
        from traitlets.utils.importstring import import_item

        return import_item(step)
    return step if isinstance(step, type) else type(step)


def batch_steps(steps, which):
    """The batch version of one of the course's preprocessor lists."""
    steps = [_import(s) for s in steps]
    if which == "autograde":
        if Execute in steps:
            raise PipelineError(
                "the course's nbgrader_config.py runs nbgrader's own Execute (a kernel with the "
                "TA's rights, no sandbox); backprop-kit autograde grades only courses made by "
                "`backprop-kit init`. Use `nbgrader autograde` for this course."
            )
        if TrustedChecks not in steps:
            raise PipelineError(
                "the course's Autograde.autograde_preprocessors has no TrustedChecks: it is not a "
                "backprop-kit course (`backprop-kit init` writes one)"
            )
    out = []
    for step in steps:
        replacement = SUBSTITUTES.get(step, step)
        if replacement is not None:
            out.append(replacement)
    return out


class Pipeline:
    """The course's two passes (sanitize, autograde), each an nbconvert exporter holding its
    configured steps, built once per process and reused for every submission it grades."""

    def __init__(self, snapshot):
        self.snapshot = snapshot
        config = copy.deepcopy(snapshot.config) if snapshot.config is not None else Config()
        config.Exporter.default_preprocessors = []
        configured, defaults = (
            config.get("Autograde", {}),
            Autograde.class_traits(),
        )  # nbgrader's own defaults
        self.sanitize, self.autograde = (
            self._exporter(config, batch_steps(configured.get(name, defaults[name].default()), which))
            for name, which in (
                ("sanitize_preprocessors", "sanitize"),
                ("autograde_preprocessors", "autograde"),
            )
        )

    @staticmethod
    def _exporter(config, steps):
        exporter = NotebookExporter(config=config)
        exporter._preprocessors = []
        for step in steps:
            exporter.register_preprocessor(step)  # as nbgrader does: enabled unless the step says otherwise
        return exporter

    def resources(self, ctx, notebook):
        return {
            "unique_key": notebook,
            "output_files_dir": f"{notebook}_files",
            KEY: ctx,
            "nbgrader": {
                "student": ctx.student,
                "assignment": self.snapshot.assignment,
                "notebook": notebook,
                "db_url": None,
            },
        }  # no gradebook here: a step that asks for one fails loudly

    @staticmethod
    def run_steps(exporter, nb, resources):
        """One pass, as nbconvert's exporter runs it (its enabled steps in order, the notebook
        validated after the last), on the notebook itself: nbgrader writes the sanitized
        notebook to disk and reads it back, and nbconvert deep-copies it first, neither of
        which changes it."""
        for step in exporter._preprocessors:
            if step.enabled:
                nb, resources = step(nb, resources)
        nbformat.validate(nb, relax_add_props=True)
        return nb

    def grade_notebook(self, student, notebook, nb, runner):
        """One parsed notebook through both passes (it is changed in place)."""
        ctx = GradingContext(self.snapshot, runner, student)
        try:
            nb = self.run_steps(self.sanitize, nb, self.resources(ctx, notebook))
            nb = self.run_steps(self.autograde, nb, self.resources(ctx, notebook))
            autograded = notebook_text(nb)
        except Exception as e:  # nbgrader fails the student on any step's exception; so do we, and say why
            message = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
            return NotebookResult(
                error=f"{notebook}.ipynb could not be graded: {type(e).__name__}: {message}"
            )
        return NotebookResult(
            autograded=autograded,
            grades=ctx.grades,
            comments=ctx.comments,
            report=ctx.report,
            facts=ctx.facts,
        )


def notebook_text(nb):
    """What NotebookExporter writes for the graded notebook: nbformat.writes(nb, version=4)'s
    bytes, without its two costs that do nothing here (some 10 ms a submission): the notebook
    was validated by `run_steps` a moment ago, and nothing reads it after, so it need not be
    deep-copied before its sources are split into lines."""
    from nbformat.v4.nbjson import BytesEncoder
    from nbformat.v4.rwbase import split_lines, strip_transient

    text = json.dumps(
        strip_transient(split_lines(nb)),
        cls=BytesEncoder,
        indent=1,
        sort_keys=True,
        separators=(",", ": "),
        ensure_ascii=False,
    )
    return text if text.endswith("\n") else text + "\n"


def parse(data, refused_files=(), notes=(), unreadable=""):
    """The notebook to grade from the submitted bytes, read as `nbgrader autograde` reads it in
    a kit course (grading/reading.py; submitted_files.SubmittedNotebookExporter): cells that
    cannot be cells dropped with a note, and a file that is no notebook becomes an empty one
    marked `unreadable`, which the pipeline grades 0 with the reason."""
    read = Read(reason=unreadable) if unreadable else parse_notebook(data)
    nb = read.nb if read.nb is not None else nbformat.v4.new_notebook()
    nb.metadata["backprop_kit"] = {
        "unreadable": read.reason or None,
        "notes": [*notes, *read.notes],
        "refused_files": list(refused_files),
    }
    return nb


_warm = threading.local()  # this thread's Pipeline, built on its first submission


def pipeline_for(snapshot):
    """The Pipeline for this snapshot, built once per process and thread (a Dask worker may
    run tasks in several threads; a pipeline's steps keep per-notebook state)."""
    if getattr(_warm, "snapshot", None) is not snapshot:
        _warm.snapshot, _warm.pipeline = snapshot, Pipeline(snapshot)
    return _warm.pipeline


def grade_submission(
    snapshot: "AssignmentSnapshot", job: SubmissionJob, scratch_parent: str | None = None
) -> SubmissionResult:
    """The pure function: one submission's notebooks (bytes) -> SubmissionResult. Notebooks
    the assignment does not have are ignored, as nbgrader does. `scratch_parent`: where the
    sandbox's scratch directory is made (the system's temporary folder by default)."""
    import socket

    started = time.monotonic()
    speak(snapshot.course)  # the feedback it writes is in the course's language, on any worker
    pipeline = pipeline_for(snapshot)
    names = sorted(n for n in {*job.notebooks, *job.unreadable} if n in snapshot.notebooks)
    results = {}
    if names:
        course = snapshot.course
        with StudentRunner(
            Limits.from_course(course.grading),
            scratch_parent=scratch_parent,
            require_sandbox=course.grading.require_sandbox,
            require_cgroup=course.grading.require_cgroup,
            helper_files=snapshot.helper_files,
            env={"BPKIT_STUDENT_ID": str(job.student)},
        ) as runner:
            for name in names:
                nb = parse(
                    job.notebooks.get(name),
                    job.refused_files,
                    job.notes.get(name, ()),
                    job.unreadable.get(name, ""),
                )
                results[name] = pipeline.grade_notebook(job.student, name, nb, runner)
    return SubmissionResult(
        job.student,
        {n: results[n] for n in names},
        round(time.monotonic() - started, 3),
        socket.gethostname(),
    )
