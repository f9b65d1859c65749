"""nbgrader preprocessors that `backprop-kit init` wires into `nbgrader autograde`.

The stock pipeline is kept, with two steps changed (see nbgrader_config.py):

  Execute        -> StudentKernelExecute: the notebook's cells, but not the graded cells (their
                    scores must not depend on the student's process) nor the self-checks, run
                    by the submission's sandboxed worker as a kernel would run them
                    (grading/execute.py); a cell that kills its process costs only that cell.
  (new)          -> TrustedChecks: every graded cell's check runs out of process against
                    the same sandboxed worker; its feedback and score become the cell's only
                    outputs (stdout text and the score shown), and the score itself goes to
                    SaveAutoGradesOnce as a number (grading/steps.py).

Both steps share one sandbox per notebook (`SubmissionSandbox`, kept in nbconvert's resources):
the first step that needs it starts it and TrustedChecks stops it, so `nbgrader autograde`
starts no Jupyter kernel and one sandbox per submission, as `backprop-kit autograde` does.
"""

import functools
import os
import weakref
from pathlib import Path

import nbformat
import numpy as np
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..bpkit.problems import PER_STUDENT
from ..exercises import BY_ID as HAND_EXERCISES
from ..sandbox.limits import Limits
from ..sandbox.runner import StudentRunner
from ..words import _
from . import nodes
from .cells import Submission, graded_apart, graded_call, is_graded
from .context import make_context
from .execute import run_notebook_cells
from .feedback import title_of
from .identity import mismatch_note, recorded_made_for, spare_other_ids_answers
from .registry import known, plan_check
from .report import cell_entry, cell_status, write_report
from .sandboxed import RUN_STEPS, sandboxed_subject
from .sanitize import SanitizeCells, notes_of
from .steps import scores_of

SANDBOX = "backprop_kit"  # the key of nbconvert's resources where the notebook's sandbox travels


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


class SubmissionSandbox:
    """The sandboxed worker of one notebook under `nbgrader autograde`, shared by its cells
    and its checks. `course` and `runner` are what both steps read (`backprop-kit
    autograde`'s GradingContext offers the same two, for a runner it owns itself).
    Stopped by `close()`, or by a finalizer if a step in between fails."""

    owned = True  # TrustedChecks stops it when done

    def __init__(self, course, root, student, assignment):
        self.course = course
        runner = StudentRunner(
            Limits.from_course(course.grading),
            require_sandbox=course.grading.require_sandbox,
            require_cgroup=course.grading.require_cgroup,
            helper_dirs={"bpkit": Path(root) / "source" / assignment / "bpkit"},
            env={"BPKIT_STUDENT_ID": str(student)},
        )  # the student's own numbers
        self.runner = runner.__enter__()
        self._stop = weakref.finalize(self, runner.__exit__, None, None, None)

    def close(self):
        self._stop()

    def __deepcopy__(self, memo):  # nbconvert deep-copies resources; the worker is one live process
        return self


def sandbox_of(resources, course_root):
    """The notebook's sandbox: the one in `resources`, or a new one put there."""
    if resources.get(SANDBOX) is None:
        meta = resources["nbgrader"]
        root = Path(course_root or os.getcwd())
        resources[SANDBOX] = SubmissionSandbox(_course(root), root, meta["student"], meta["assignment"])
    return resources[SANDBOX]


class StudentKernelExecute(NbGraderPreprocessor):
    """nbgrader's Execute, minus graded cells and self-checks (which are for students): the
    cells run by the notebook's sandboxed worker, as a kernel would run them (the name is
    kept: courses' nbgrader_config.py list it)."""

    course_root = Unicode("", help="The course directory (where course.yaml is).").tag(config=True)

    def preprocess(self, nb, resources):
        if notes_of(nb)["unreadable"]:
            return nb, resources  # nothing of the student's to run (see grading/reading.py)
        sandbox = sandbox_of(resources, self.course_root)
        run_notebook_cells(nb, sandbox.runner, sandbox.course.grading)
        return nb, resources


class TrustedChecks(NbGraderPreprocessor):
    """Score every graded cell outside the student's process."""

    course_root = Unicode("", help="The course directory (where course.yaml is).").tag(config=True)

    def preprocess(self, nb, resources):
        root = Path(self.course_root or os.getcwd())
        meta = resources["nbgrader"]
        student, assignment, notebook = meta["student"], meta["assignment"], meta["notebook"]
        unreadable = notes_of(nb)["unreadable"]
        sandbox = resources.get(SANDBOX) if unreadable else sandbox_of(resources, root)
        try:
            report, facts = score_notebook(
                nb, _course(root), student, assignment, sandbox.runner if sandbox is not None else None
            )
        finally:
            if sandbox is not None and sandbox.owned:
                sandbox.close()
                resources[SANDBOX] = None
        scores_of(resources).update(scores_in(report))  # for SaveAutoGradesOnce, as numbers
        write_report(root, assignment, student, notebook, report, **facts)
        return nb, resources


def scores_in(report):
    """{grade_id: points earned} of a notebook's report entries."""
    return {entry["grade_id"]: entry["score"] for entry in report}


def score_notebook(nb, course, student, assignment, runner):
    """Score every graded cell of a sanitized notebook, the student's code run by `runner`
    (a started StudentRunner; None for a notebook marked unreadable, which scores 0).
    Each graded cell's outputs become its feedback (stdout) and its score (a plain number).
    Returns (the report's cell entries, the report's facts). Used by TrustedChecks under
    `nbgrader autograde` and by `backprop-kit autograde` (autograder/batch/), so both give
    the same grades."""
    facts = notes_of(nb)
    facts = {
        "refused_files": facts["refused_files"],
        "unreadable": facts["unreadable"],
        "notes": facts["notes"],
    }
    if facts["unreadable"]:
        report = [_unread(cell, facts["unreadable"]) for cell in nb.cells if is_graded(cell)]
        return report, {**facts, "answers": {}, "made_for": None, "id_mismatch": False}
    report, answers, identity = _check_all(nb, course, student, assignment, runner)
    return report, {**facts, "answers": answers, **identity}


def _unread(cell, reason):
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    points = float(cell.metadata["nbgrader"].get("points") or 0)
    feedback = f"{grade_id}: not graded, the notebook could not be read ({reason}); 0 points."
    cell.outputs = [
        nodes.output("stream", name="stdout", text=feedback + "\n"),
        nodes.output("execute_result", data={"text/plain": "0.0"}),
    ]
    return cell_entry(
        grade_id, points, 0.0, "not answered", (), feedback
    )  # nothing of the student's was read


def _check_all(nb, course, student, assignment, runner):
    submission = Submission(nb)
    report, answers = [], {}
    # Whose numbers the notebook was made with (recorded before sanitize cleared outputs):
    # only words and report facts depend on it, never a score.
    made_for = recorded_made_for(nb) if course.randomization == PER_STUDENT else None
    mismatch = made_for is not None and made_for != str(student)
    graded = [cell for cell in nb.cells if is_graded(cell)]
    calls = [graded_call(cell.source) for cell in graded]
    importable = _importable(tuple(course.grading.packages))
    # Every check plans first: what it will ask, its inputs drawn from its own context.
    plans = [
        plan_check(call.exercise, call.check, _context(course, assignment, call, student))
        if call is not None and known(call.exercise, call.check)
        else None
        for call in calls
    ]
    # One per notebook, through the grading steps (RUN_STEPS): it runs the planned asks that share
    # cells once, remembers cells that loop, and runs a busy machine's timeouts once more.
    planned = [ask for plan in plans if plan is not None for ask in plan.asks]
    subject = sandboxed_subject(runner, submission, planned, RUN_STEPS)
    for cell, call, plan in zip(graded, calls, plans):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        points = float(cell.metadata["nbgrader"].get("points") or 0)
        if call is None or plan is None:
            feedback, earned, names = (
                _(
                    "{grade_id}: backprop-kit cannot tell which check this cell runs; 0 points. "
                    "(Instructors: was the cell edited in the source?)"
                ).format(grade_id=grade_id),
                0.0,
                [],
            )
            status = "error"
        else:
            result = plan.judged(subject)
            if result.error:  # what the student can do about it, where the cells' text tells
                result.error = " ".join([result.error, *graded_apart(submission, plan, importable)])
            uses_numbers = mismatch and call.check == "answers" and call.exercise in HAND_EXERCISES
            if uses_numbers:
                other = plan_check(
                    call.exercise, call.check, _context(course, assignment, call, made_for)
                ).judged(subject)
                result = spare_other_ids_answers(result, other, made_for)
            earned = round(points * result.fraction, 3)
            feedback, names = result.feedback(title_of(cell.source, grade_id), points), result.misconceptions
            if uses_numbers:  # under the score line, above the checks
                score_line, _newline, rest = feedback.partition("\n")
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
        nb.cells.insert(
            0,
            nbformat.v4.new_markdown_cell(
                f"**{mismatch_note(made_for, student)}**", metadata={"bpkit": {"kind": "notice"}}
            ),
        )
    return report, answers, {"made_for": made_for, "id_mismatch": mismatch}


@functools.lru_cache(maxsize=8)
def _importable(packages):
    """The top-level modules a notebook may import where it is graded (course.json's list)."""
    from ..course import importable_modules

    return frozenset(importable_modules(packages))


def _context(course, assignment, call, student_id):
    return make_context(
        call.exercise,
        call.check,
        seed=course.seed,
        course_id=course.course_id,
        assignment=assignment,
        randomization=course.randomization,
        student_id=student_id,
        tolerances=course.tolerances,
        graphs=course.graphs,
        method_points=course.grading.method_points,
        draw_rule=_draw_rule(course.root, assignment),
    )


def _draw_rule(root, assignment):
    """The rule the assignment's release was made with (course.released_draw_rule), read once per
    course folder and assignment."""
    return _released_rules(str(Path(root).resolve()), assignment)


@functools.lru_cache(maxsize=16)
def _released_rules(root, assignment):
    from ..course import released_draw_rule

    return released_draw_rule(root, assignment)


# Courses made before SanitizeCells list this name in their nbgrader_config.py.
ForgetUnknownCells = SanitizeCells
