"""nbgrader preprocessors that `backprop-kit init` wires into `nbgrader autograde`.

The stock pipeline is kept, with two steps changed (see nbgrader_config.py):

  Execute        -> StudentKernelExecute: graded cells are never run in the student's
                    kernel (their scores must not depend on it); a dead kernel is
                    restarted and the remaining cells still run.
  (new)          -> TrustedChecks: every graded cell's check runs out of process against
                    a sandboxed worker; its feedback and score become the cell's only
                    outputs (stdout text and a plain number), which SaveAutoGrades reads.
"""
import functools
import os
import shutil
from pathlib import Path

import nbformat
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Unicode

from ..runner import RunResult, StudentRunner
from ..sandbox import Limits, make_scratch
from .cells import Submission, graded_call, is_graded
from .context import make_context
from .kernel import sandboxed_kernel_manager_factory
from .registry import known, run_check
from .report import cell_entry, cell_status, write_report


def _course(root):
    """The course's course.yaml, read again only when the file changes: both steps below
    need it for every notebook of a batch."""
    path = Path(root) / "course.yaml"
    try:
        stat = path.stat()
    except OSError:
        return _load_course(path, None, None)  # load_course says plainly what is wrong
    return _load_course(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load_course(path, mtime_ns, size):
    from ..config import load_course

    return load_course(path)


class StudentKernelExecute(Execute):
    """nbgrader's Execute in a sandboxed kernel, minus graded cells and self-checks (which
    are for students), surviving a dead kernel."""

    course_root = Unicode("", help="The course directory (where course.yaml is).").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        meta = (resources or {}).get("nbgrader", {})
        root = Path(self.course_root or os.getcwd())
        course = _course(root)
        self.timeout = int(course.grading.timeout_seconds)
        # Nothing in the sandbox needs a graceful goodbye: killing it saves ~0.2 s per notebook.
        self.shutdown_kernel = "immediate"
        parent, scratch = make_scratch(prefix="bpkit-kernel-",
                                       helper_dirs={"bpkit": root / "source" / meta.get("assignment", "") / "bpkit"})
        # One factory per notebook: a kernel restarted after a death gets the same sandbox uid.
        self._kernel_manager_class = sandboxed_kernel_manager_factory(
            Limits.from_course(course.grading), scratch, require_sandbox=course.grading.require_sandbox,
            env={"BPKIT_STUDENT_ID": str(meta.get("student", ""))})  # the student's own numbers
        pending = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and not is_graded(cell)
                   and not str(cell.metadata.get("nbgrader", {}).get("grade_id", "")).startswith("selfcheck")]
        try:
            while pending:
                pending = self._run_until_death(nb, resources, pending)
        finally:
            shutil.rmtree(parent, ignore_errors=True)
        return nb, resources

    def create_kernel_manager(self):
        self.km = self._kernel_manager_class(kernel_name=self.kernel_name or "python3", config=self.config)
        return self.km

    def _run_until_death(self, nb, resources, indices):
        """Run cells until done ([] returned) or the kernel dies (the cells after it returned)."""
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, None)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        done = 0
        try:
            with self.setup_kernel():
                for done, index in enumerate(indices):
                    self.preprocess_cell(nb.cells[index], resources, index)
            return []
        except DeadKernelError:
            cell = nb.cells[indices[done]]
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="KernelDied", evalue="the kernel died while running this cell",
                traceback=["The kernel died while running this cell (e.g. os._exit or a crash); "
                           "the notebook went on in a new kernel."]))
            return indices[done + 1:]


class TrustedChecks(NbGraderPreprocessor):
    """Score every graded cell outside the student's process."""

    course_root = Unicode("", help="The course directory (where course.yaml is).").tag(config=True)

    def preprocess(self, nb, resources):
        root = Path(self.course_root or os.getcwd())
        course = _course(root)
        meta = resources["nbgrader"]
        student, assignment, notebook = meta["student"], meta["assignment"], meta["notebook"]
        helpers = {"bpkit": root / "source" / assignment / "bpkit"}
        with StudentRunner(Limits.from_course(course.grading), require_sandbox=course.grading.require_sandbox,
                           helper_dirs=helpers, env={"BPKIT_STUDENT_ID": str(student)}) as runner:
            report = score_graded_cells(nb, course, student, assignment, runner)
        write_report(root, assignment, student, notebook, report)
        return nb, resources


def score_graded_cells(nb, course, student, assignment, runner):
    """Score every graded cell of a sanitized notebook with the student's code run by
    `runner`: each graded cell's outputs become its feedback (stdout) and its score (a plain
    number). Returns the report's cell entries. (TrustedChecks, and `backprop-kit autograde`.)"""
    subject = SandboxSubject(runner, Submission(nb))  # one per notebook: it remembers cells that loop
    report = []
    for cell in nb.cells:
        if not is_graded(cell):
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        points = float(cell.metadata["nbgrader"].get("points") or 0)
        call = graded_call(cell.source)
        if call is None or not known(call.exercise, call.check):
            feedback, earned, names = (f"{grade_id}: backprop-kit cannot tell which check this cell runs; "
                                       "0 points. (Instructors: was the cell edited in the source?)"), 0.0, []
            status = "error"
        else:
            ctx = make_context(call.exercise, call.check, seed=course.seed, course_id=course.course_id,
                               assignment=assignment, randomization=course.randomization,
                               student_id=student, tolerances=course.tolerances)
            result = run_check(call.exercise, call.check, subject, ctx)
            earned = round(points * result.fraction, 3)
            feedback, names = result.feedback(grade_id, points), result.misconceptions
            status = cell_status(result)
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text=feedback + "\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": repr(earned)}, execution_count=None),
        ]
        report.append(cell_entry(grade_id, points, earned, status, names, feedback))
    return report


class SandboxSubject:
    """Student code of one submission, run by the sandboxed worker."""

    def __init__(self, runner, submission):
        self.runner, self.submission = runner, submission
        # Cell sets that ran out of time by themselves, before any call: every later check that
        # runs them would too, so it fails at once instead of costing another full timeout. A
        # timeout inside a call (a forward that loops) skips nothing: other calls may finish.
        self.timed_out = []

    def run(self, cell_ids, calls):
        if any(earlier <= set(cell_ids) for earlier in self.timed_out):
            return RunResult("timeout", "skipped: a cell it needs already ran out of time (an infinite loop?)")
        try:
            program = [("student_id", 'STUDENT_ID = ""')] + self.submission.program(cell_ids)
        except KeyError as e:
            return RunResult("missing", f"the cell {e.args[0]!r} is missing from the notebook (deleted, or its "
                                    "grade_id metadata was changed), so it cannot be graded")
        reply = self.runner.run({"cells": program, "calls": calls})
        if reply.status == "timeout" and reply.phase == "cells":
            self.timed_out.append(set(cell_ids))
        return reply


class ForgetUnknownCells(NbGraderPreprocessor):
    """Sanitize step before OverwriteCells: a cell whose grade_id the gradebook does not know
    (a student edited the metadata) would make nbgrader fail the whole notebook. Such a cell
    becomes a plain cell instead; the checks that need the original id then say it is missing."""

    def known_ids(self, meta):
        """The grade_ids of the source notebook's cells, or None when it is not in the gradebook."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(meta["db_url"]) as gb:
            try:
                source = gb.find_notebook(meta["notebook"], meta["assignment"])
            except MissingEntry:
                return None
            return {c.name for c in [*source.grade_cells, *source.solution_cells, *source.source_cells]}

    def preprocess(self, nb, resources):
        meta = resources["nbgrader"]
        known_ids = self.known_ids(meta)
        if known_ids is None:
            return nb, resources
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id is not None and grade_id not in known_ids:
                self.log.warning("backprop-kit: %s/%s: cell grade_id %r is not in the assignment; graded as a "
                                 "plain cell", meta["student"], meta["notebook"], grade_id)
                del cell.metadata["nbgrader"]
        return nb, resources
