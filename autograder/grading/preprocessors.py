"""nbgrader preprocessors that `backprop-kit init` wires into `nbgrader autograde`.

The stock pipeline is kept, with two steps changed (see nbgrader_config.py):

  Execute        -> StudentKernelExecute: graded cells are never run in the student's
                    kernel (their scores must not depend on it); a dead kernel is
                    restarted and the remaining cells still run.
  (new)          -> TrustedChecks: every graded cell's check runs out of process against
                    a sandboxed worker; its feedback and score become the cell's only
                    outputs (stdout text and a plain number), which SaveAutoGrades reads.
"""
import contextlib
import functools
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Unicode

from ..bpkit.problems import PER_STUDENT
from ..exercises import BY_ID as HAND_EXERCISES
from ..sandbox.bwrap import Limits, make_scratch
from ..sandbox.kernel import sandboxed_kernel_manager_factory
from ..sandbox.runner import StudentRunner
from ..sandbox.subject import SandboxSubject
from . import nodes
from .cells import Submission, graded_call, is_graded, is_unanswered
from .context import make_context
from .feedback import title_of
from .identity import mismatch_note, recorded_made_for, spare_other_ids_answers
from .registry import known, run_check
from .report import cell_entry, cell_status, write_report
from .sanitize import SanitizeCells, notes_of


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
        if nb.metadata.get("backprop_kit", {}).get("unreadable"):
            return nb, resources  # nothing of the student's to run (see grading/reading.py)
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
        runner = None if notes_of(nb)["unreadable"] else StudentRunner(
            Limits.from_course(course.grading), require_sandbox=course.grading.require_sandbox,
            helper_dirs=helpers, env={"BPKIT_STUDENT_ID": str(student)})
        with runner or contextlib.nullcontext():
            report, facts = score_notebook(nb, course, student, assignment, runner)
        write_report(root, assignment, student, notebook, report, **facts)
        return nb, resources


def score_notebook(nb, course, student, assignment, runner):
    """Score every graded cell of a sanitized notebook, the student's code run by `runner`
    (a started StudentRunner; None for a notebook marked unreadable, which scores 0).
    Each graded cell's outputs become its feedback (stdout) and its score (a plain number).
    Returns (the report's cell entries, the report's facts). Used by TrustedChecks under
    `nbgrader autograde` and by `backprop-kit autograde` (autograder/batch/), so both give
    the same grades."""
    facts = notes_of(nb)
    facts = {"refused_files": facts["refused_files"], "unreadable": facts["unreadable"], "notes": facts["notes"]}
    if facts["unreadable"]:
        report = [_unread(cell, facts["unreadable"]) for cell in nb.cells if is_graded(cell)]
        return report, {**facts, "answers": {}, "made_for": None, "id_mismatch": False}
    report, answers, identity = _check_all(nb, course, student, assignment, runner)
    return report, {**facts, "answers": answers, **identity}


def _unread(cell, reason):
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    points = float(cell.metadata["nbgrader"].get("points") or 0)
    feedback = f"{grade_id}: not graded, the notebook could not be read ({reason}); 0 points."
    cell.outputs = [nodes.output("stream", name="stdout", text=feedback + "\n"),
                    nodes.output("execute_result", data={"text/plain": "0.0"})]
    return cell_entry(grade_id, points, 0.0, "not answered", (), feedback)  # nothing of the student's was read


def _check_all(nb, course, student, assignment, runner):
    submission = Submission(nb)
    report, answers = [], {}
    # Whose numbers the notebook was made with (recorded before sanitize cleared outputs):
    # only words and report facts depend on it, never a score.
    made_for = recorded_made_for(nb) if course.randomization == PER_STUDENT else None
    mismatch = made_for is not None and made_for != str(student)
    subject = SandboxSubject(runner, submission)  # one per notebook: it remembers cells that loop
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
            result = run_check(call.exercise, call.check, subject, _context(course, assignment, call, student))
            uses_numbers = mismatch and call.check == "answers" and call.exercise in HAND_EXERCISES
            if uses_numbers:
                other = run_check(call.exercise, call.check, subject, _context(course, assignment, call, made_for))
                result = spare_other_ids_answers(result, other, made_for)
            earned = round(points * result.fraction, 3)
            feedback, names = result.feedback(title_of(cell.source, grade_id), points), result.misconceptions
            if uses_numbers:  # under the score line, above the checks
                score_line, _, rest = feedback.partition("\n")
                feedback = "\n".join([score_line, mismatch_note(made_for, student), rest])
            status = cell_status(result, answered=not submission.left_as_released(call.exercise))
            if result.answers:  # the class report compares them with other students' numbers
                answers[call.exercise] = {k: np.asarray(v).tolist() for k, v in result.answers.items()}
        cell.outputs = [
            nodes.output("stream", name="stdout", text=feedback + "\n"),
            nodes.output("execute_result", data={"text/plain": repr(earned)}),
        ]
        report.append(cell_entry(grade_id, points, earned, status, names, feedback))
    if mismatch:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            f"**{mismatch_note(made_for, student)}**", metadata={"bpkit": {"kind": "notice"}}))
    return report, answers, {"made_for": made_for, "id_mismatch": mismatch}


def _context(course, assignment, call, student_id):
    return make_context(call.exercise, call.check, seed=course.seed, course_id=course.course_id,
                        assignment=assignment, randomization=course.randomization,
                        student_id=student_id, tolerances=course.tolerances)


# Courses made before SanitizeCells list this name in their nbgrader_config.py.
ForgetUnknownCells = SanitizeCells
