"""`backprop-kit autograde`: the coordinator. Finds the submissions, hands each to a grader
(a pool of warm local processes, or a Dask cluster), records each result as it comes back,
shows progress, and prints a summary.

Submissions travel to graders as bytes and results come back as data (pipeline.py): the
graders share nothing with the course directory, so a Dask worker on another machine
needs only the kit and bubblewrap. The coordinator alone writes (record.py), one student at
a time, as each completes.
"""

import multiprocessing
import os
import resource
import shutil
import signal
import statistics
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..intake import refused_entries
from ..sandbox.bwrap import remove_tree
from ..words import N_, _, speak
from .graders import BatchError, Graders, PendingResult
from .pipeline import Pipeline, SubmissionJob, grade_submission, pipeline_for
from .record import Recorder
from .snapshot import AssignmentSnapshot, read_snapshot


@dataclass
class Summary:
    graded: dict = field(default_factory=dict)  # {student: points earned}
    failed: dict = field(default_factory=dict)  # {student: why}
    not_graded: dict = field(default_factory=dict)  # {student: why}: nothing could be told to be the notebook
    skipped: list = field(default_factory=list)  # already graded (rerun with --force to regrade)
    seconds: float = 0.0
    possible: float = 0.0
    interrupted: bool = False
    peak_mb: float = 0.0

    @property
    def ok(self):
        return not self.failed and not self.not_graded and not self.interrupted


# ---------------------------------------------------------------- the course


def load_course_setup(course_dir, assignment):
    """(config, coursedir, course, snapshot) of the course at course_dir, or BatchError."""
    from nbgrader.api import MissingEntry
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from ..config import ConfigError, load_course

    course_dir = Path(course_dir).resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise BatchError(
            f"{course_dir} has no nbgrader_config.py: run backprop-kit autograde inside a course "
            "made by `backprop-kit init` (as you would run nbgrader autograde)."
        )
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    if "root" not in config.get("CourseDirectory", {}):
        config.CourseDirectory.root = str(course_dir)
    coursedir = CourseDirectory(config=config)
    root = Path(coursedir.root)
    try:
        course = load_course(root / "course.yaml")
    except ConfigError as e:
        raise BatchError(str(e)) from None
    speak(course)
    try:
        snapshot = read_snapshot(
            coursedir.db_url,
            coursedir.course_id,
            assignment,
            course,
            config,
            coursedir.format_path(coursedir.source_directory, ".", assignment),
        )
    except MissingEntry:
        raise BatchError(
            f"no assignment {assignment!r} in the gradebook ({coursedir.db_url}): run "
            f"`backprop-kit init` (or `nbgrader generate_assignment {assignment}`) first."
        ) from None
    if not snapshot.notebooks:
        raise BatchError(
            f"the assignment {assignment!r} has no notebooks in the gradebook: did "
            "`nbgrader generate_assignment` run?"
        )
    Pipeline(snapshot)  # the course's pipeline can be run in batch (PipelineError says why not)
    return config, coursedir, course, snapshot


def find_students(recorder, students):
    """The students with a submission of the assignment, or those asked for (a name
    without a submission is reported, not guessed)."""
    base = Path(
        recorder.coursedir.format_path(recorder.coursedir.submitted_directory, "*", recorder.assignment)
    )
    found = sorted(p.parent.name for p in base.parent.parent.glob(f"*/{recorder.assignment}") if p.is_dir())
    exclude = set(filter(None, (recorder.coursedir.student_id_exclude or "").split(",")))
    found = [s for s in found if s not in exclude]
    if not students:
        return found, []
    return [s for s in students if s in found], [s for s in students if s not in found]


# ---------------------------------------------------------------- where grading runs


def cores():
    """The cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


# A local grading process's assignment and scratch folder, set by its initializer.
_snapshot: AssignmentSnapshot | None = None
_scratch_parent: str | None = None


def _assignment() -> AssignmentSnapshot:
    if _snapshot is None:
        raise RuntimeError("a local grading process grades before its initializer (_start_local_grader) ran")
    return _snapshot


def _start_local_grader(snapshot, scratch_parent, parent):
    """Initializer of a local grading process: Ctrl-C is the coordinator's to handle (it
    stops handing out work; a submission being graded finishes or dies with its sandbox).
    It dies with its parent (the coordinator, or the fork server that forked it, which ends
    with the coordinator): a coordinator killed outright (kill -9, out of memory) leaves no
    grading process behind, and with it goes each sandbox it started (bwrap --die-with-parent)."""
    global _snapshot, _scratch_parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    _snapshot, _scratch_parent = snapshot, scratch_parent


PR_SET_PDEATHSIG = 1


def die_with_parent(parent=None):
    """SIGKILL when the parent dies (PR_SET_PDEATHSIG); gone at once if it died already.
    `parent`: its pid when known (a forked pool's: the coordinator), else the one seen now."""
    import ctypes

    seen = os.getppid()
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != (parent or seen):  # the parent died before the signal was asked for
        os._exit(1)


def _warm_up():
    pipeline_for(_assignment())


def _grade_locally(job):
    return grade_submission(_assignment(), job, scratch_parent=_scratch_parent)


class LocalGraders:  # a Graders (graders.py)
    """`jobs` warm processes on this machine, each grading one submission at a time. Their
    sandboxes' scratch directories are made in one folder of the batch's, removed at the end:
    a grading process killed outright (out of memory) leaves nothing behind in /tmp.

    The coordinator never relies on the pool alone to notice a grading process that died:
    the futures it hands out are its own, and `wait` checks the processes it started itself.
    A pool that lost a process and did not say so within `LOSS_GRACE` seconds (its manager
    thread can deadlock in some Pythons when a process is SIGKILLed mid-write) is given up,
    its processes killed, and everything in flight fails as lost, so it is graded again."""

    LOSS_GRACE = 10.0  # seconds a dead process is left to the pool's own handling
    START_TIMEOUT = 300.0  # a pool whose processes cannot even build the pipeline is not coming up

    def __init__(self, snapshot: AssignmentSnapshot, jobs: int):
        self.snapshot, self.jobs = snapshot, jobs
        self.window = 2 * jobs
        self.scratch_parent = tempfile.mkdtemp(prefix="backprop-kit-batch-")
        self._ours: dict[Future, Future] = {}  # the pool's future -> the one handed out
        # The first pool is forked: nothing else runs in this process yet (no progress
        # thread), and each grader starts with nbgrader, nbconvert and numpy imported.
        self._start(multiprocessing.get_context("fork"))

    def _start(self, context):
        self.processes = []
        forked = context.get_start_method() == "fork"  # else the fork server is their parent
        self.pool = ProcessPoolExecutor(
            self.jobs,
            mp_context=context,
            initializer=_start_local_grader,
            initargs=(self.snapshot, self.scratch_parent, os.getpid() if forked else None),
        )
        self._dead_since: float | None = None  # since when a process of this pool is seen dead
        warming = [self.pool.submit(_warm_up) for _ in range(self.jobs)]
        done, not_done = wait(warming, timeout=self.START_TIMEOUT)
        if not_done:
            self._kill_pool()
            raise BatchError(f"the local grading processes did not start within {self.START_TIMEOUT:.0f} s")
        for future in done:
            future.result()
        self.processes = list(self.pool._processes.values())  # the pool's own list; read once, here

    def submit(self, job: SubmissionJob) -> Future:
        ours: Future = Future()
        try:
            theirs = self.pool.submit(_grade_locally, job)
        except BrokenProcessPool as e:  # a process died since the last result: fail like its in-flight work
            ours.set_exception(e)
            return ours
        self._ours[theirs] = ours
        theirs.add_done_callback(self._pass_on)
        return ours

    def _pass_on(self, theirs: Future) -> None:
        """The pool's result, handed on unless the pool was already given up."""
        ours = self._ours.pop(theirs, None)
        if ours is None:  # given up already (_give_up_pool)
            return
        error = theirs.exception() if not theirs.cancelled() else BrokenProcessPool("cancelled")
        if error is not None:
            ours.set_exception(error)
        else:
            ours.set_result(theirs.result())

    def wait(self, pending: Iterable[PendingResult]) -> Iterable[Future]:
        handed_back = list(pending)
        futures = [p for p in handed_back if isinstance(p, Future)]
        if len(futures) != len(handed_back):  # the coordinator hands back only what submit returned
            stranger = next(p for p in handed_back if not isinstance(p, Future))
            raise TypeError(f"LocalGraders.wait: expected the futures submit returned, found {stranger!r}")
        while futures:  # (nothing in flight: every student handed out was not gradable)
            done, _pending = wait(futures, timeout=1.0, return_when=FIRST_COMPLETED)
            if done:
                return done
            if not any(process.exitcode is not None for process in self.processes):
                self._dead_since = None
            elif self._dead_since is None:
                self._dead_since = time.monotonic()
            elif time.monotonic() - self._dead_since > self.LOSS_GRACE:
                self._give_up_pool()
        return []

    def _give_up_pool(self):
        """A grading process died and the pool did not notice: everything in flight is lost."""
        dead = [p.pid for p in self.processes if p.exitcode is not None]
        self._kill_pool()
        for theirs, ours in list(self._ours.items()):
            if self._ours.pop(theirs, None) is not None:  # else _pass_on has it
                ours.set_exception(
                    BrokenProcessPool(f"grading process {dead} died; the pool did not recover")
                )

    def _kill_pool(self):
        """Stop the pool without waiting on its own threads, which may be stuck."""
        processes = self.processes or list((self.pool._processes or {}).values())
        for process in processes:
            if process.exitcode is None:
                process.kill()
        for process in processes:
            process.join(timeout=5)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def lost(self, error: BaseException) -> bool:
        """Did a grading process die (killed, out of memory)? It takes its pool along."""
        return isinstance(error, BrokenProcessPool)

    def recover(self) -> bool:
        """A new pool; False: what was in flight died with the old one. It is not forked from
        this process, which now runs the progress thread and the old pool's threads (a fork
        could inherit one of their locks, held, and hang): a fork server started afresh forks
        the new graders, with the kit imported once, there."""
        self._give_up_pool()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._start(context)
        return False

    def describe(self) -> str:
        return f"{self.jobs} local process{'es' * (self.jobs != 1)}"

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        remove_tree(self.scratch_parent)  # what any submission's cleanup left: student-shaped


# ---------------------------------------------------------------- the batch


def autograde(course_dir, assignment, students=(), jobs=None, force=False, scheduler=None, console=None):
    """Grade the submissions of `assignment`; returns a Summary. BatchError when grading
    cannot start."""
    console = console or Console()
    started = time.monotonic()
    config, coursedir, course, snapshot = load_course_setup(course_dir, assignment)
    cells = {name: {c.name for c in nb.source_cells} for name, nb in snapshot.notebooks.items()}
    recorder = Recorder(
        coursedir,
        config,
        assignment,
        coursedir.root,
        cells=cells,
        max_file_bytes=snapshot.course.grading.max_file_bytes,
    )
    summary = Summary(
        possible=sum(
            c.max_score for nb in snapshot.notebooks.values() for c in [*nb.grade_cells, *nb.task_cells]
        )
    )
    try:
        todo, unknown = find_students(recorder, list(students))
        for student in unknown:
            summary.failed[student] = f"no submission in {recorder.submitted(student)}"
            console.print(f"[red]✗ {student}[/]: {summary.failed[student]}")
        summary.skipped = [s for s in todo if not recorder.needs_grading(s, force)]
        skipped = set(summary.skipped)
        todo = [s for s in todo if s not in skipped]
        if summary.skipped:
            console.print(
                _("{n} student(s) already graded, skipped (--force regrades them).").format(
                    n=len(summary.skipped)
                )
            )
        if todo:
            _grade(todo, scheduler, jobs, snapshot, recorder, summary, console, assignment)
    finally:
        recorder.close()
    summary.seconds = time.monotonic() - started
    summary.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    console.print(summary_table(summary, assignment))
    for student, why in sorted(summary.not_graded.items()):
        console.print(_("not graded: {student}: {why}").format(student=student, why=why))
    console.print(_("coordinator peak memory: {mb} MB").format(mb=f"{summary.peak_mb:.0f}"))
    return summary


def _grade(todo, scheduler, jobs, snapshot, recorder, summary, console, assignment):
    graders: Graders | None = None
    try:
        if scheduler:
            from .cluster import DaskGraders  # Dask is imported only for a cluster

            graders = DaskGraders(snapshot, scheduler)
        else:
            graders = LocalGraders(snapshot, jobs or cores())
        console.print(
            _("Grading {n} submission(s) of {assignment} on {graders}.").format(
                n=len(todo), assignment=assignment, graders=graders.describe()
            )
        )
        _run(todo, graders, recorder, summary, console)
    except KeyboardInterrupt:
        summary.interrupted = True
        console.print(
            "[yellow]"
            + _(
                "Interrupted: every student listed above is recorded; run the same command "
                "again to grade the rest."
            )
        )
    finally:
        if graders is not None:
            graders.close()


def _run(todo, graders, recorder, summary, console):
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[now]}"),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        batch = _Batch(todo, graders, recorder, summary, progress)
        try:
            batch.run()
        finally:
            batch.discard_staging()


class _Batch:
    """Hands out submissions (a window of them at a time: the coordinator's memory stays
    flat however large the class) and records each result as it comes back."""

    def __init__(
        self, todo: list[str], graders: Graders, recorder: Recorder, summary: Summary, progress: Progress
    ):
        self.queue = list(reversed(todo))
        self.graders, self.recorder, self.summary, self.progress = graders, recorder, summary, progress
        self.in_flight: dict[PendingResult, tuple] = {}  # -> (student, staging folder, intake)
        self.attempts: dict = {}
        self.bar = progress.add_task("autograde", total=len(todo), now="")

    def run(self):
        while self.queue or self.in_flight:
            self.hand_out()
            self.progress.update(
                self.bar,
                now="grading " + ", ".join(student for student, *_ in list(self.in_flight.values())[:4]),
            )
            for future in self.graders.wait(self.in_flight):
                if not self.collect(future):
                    break  # the local pool was restarted: what was in flight is queued again

    def hand_out(self):
        while self.queue and len(self.in_flight) < self.graders.window:
            student = self.queue.pop()
            staging, intake, notebooks, choice = self.recorder.stage(student)
            if choice.not_graded:
                shutil.rmtree(staging, ignore_errors=True)
                self.recorder.not_graded(student, intake, choice)
                self.not_graded(student, choice.not_graded)
                continue
            for note in choice.notes():
                self.progress.console.print(f"[yellow]! {student}[/]: {note}")
            try:
                self.recorder.begin(student, set(choice.files))
                job = SubmissionJob(
                    student,
                    notebooks,
                    refused_entries(intake.refused),
                    notes={nb: choice.notes(nb) for nb in notebooks},
                    unreadable=self.recorder.unreadable(student, intake, choice),
                )
                self.in_flight[self.graders.submit(job)] = (student, staging, intake, choice)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise

    def collect(self, future):
        """Record one finished submission; False when the local pool broke and was restarted."""
        student, staging, intake, choice = self.in_flight.pop(future)
        try:
            return self._collect(future, student, staging, intake, choice)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # moved into place by now, or not needed

    def _collect(self, future, student, staging, intake, choice):
        try:
            result, error = future.result(), ""
        except Exception as e:
            if not self.graders.lost(e):  # the grader itself failed on this submission
                result, error = None, f"grading failed: {type(e).__name__}: {str(e)[:300]}"
            elif self.attempts.get(student, 0) >= 2:
                result, error = (
                    None,
                    f"its grader was lost three times (last: {type(e).__name__}: {str(e)[:200]})",
                )
            else:  # where it ran died: grade it again
                self.attempts[student] = self.attempts.get(student, 0) + 1
                self.queue.append(student)
                if self.graders.recover():
                    return True
                self.requeue_in_flight()
                return False
        self.done(student, result, self.recorder.record(student, result, staging, intake, error, choice))
        return True

    def requeue_in_flight(self):
        for student, staging, *_rest in self.in_flight.values():
            shutil.rmtree(staging, ignore_errors=True)
            self.queue.append(student)
        self.in_flight.clear()

    def discard_staging(self):
        for _student, staging, *_rest in self.in_flight.values():
            shutil.rmtree(staging, ignore_errors=True)

    def not_graded(self, student, why):
        """Listed, never recorded as a 0: a TA fixes the folder and runs autograde again."""
        self.summary.not_graded[student] = why
        self.progress.console.print(
            f"[red]✗ {student}[/]: "
            + _("{why}: not graded, nothing recorded (fix the folder and run autograde again)").format(
                why=why
            )
        )
        self.progress.advance(self.bar)

    def done(self, student, result, error):
        console, summary = self.progress.console, self.summary
        if error:
            summary.failed[student] = error
            console.print(
                f"[red]✗ {student}[/]: " + _("{error} (only this student is affected)").format(error=error)
            )
        else:
            points = sum(
                sum(v for v in r.grades.values() if v is not None) for r in result.notebooks.values()
            )
            possible = sum(c["points"] for r in result.notebooks.values() for c in r.report)
            summary.graded[student] = points
            unreadable = [
                _("{notebook}.ipynb cannot be graded: {why}").format(notebook=name, why=r.facts["unreadable"])
                for name, r in sorted(result.notebooks.items())
                if r.facts.get("unreadable")
            ]
            if unreadable:  # graded 0 with the reason, as `nbgrader autograde` does in a kit course
                console.print(
                    f"[yellow]✗ {student}[/] "
                    + _("{points}/{possible} points: {why}").format(
                        points=f"{points:g}", possible=f"{possible:g}", why="; ".join(unreadable)
                    )
                )
            else:
                console.print(
                    f"[green]✓ {student}[/] "
                    + _("{points}/{possible} points  (graded in {seconds} s on host {host})").format(
                        points=f"{points:g}",
                        possible=f"{possible:g}",
                        seconds=f"{result.seconds:.2f}",
                        host=result.where,
                    )
                )
        self.progress.advance(self.bar)


def summary_table(summary, assignment):
    table = Table(title=f"backprop-kit autograde {assignment}")
    for column in (
        N_("graded"),
        N_("failed"),
        N_("not graded"),
        N_("skipped (already graded)"),
        N_("mean points"),
        N_("time"),
        N_("per submission"),
    ):
        table.add_column(_(column), justify="right")
    n = len(summary.graded) + len(summary.failed) + len(summary.not_graded)
    mean = f"{statistics.mean(summary.graded.values()):.2f} / {summary.possible:g}" if summary.graded else "-"
    table.add_row(
        str(len(summary.graded)),
        str(len(summary.failed)),
        str(len(summary.not_graded)),
        str(len(summary.skipped)),
        mean,
        f"{summary.seconds:.1f} s",
        f"{summary.seconds / n:.2f} s" if n else "-",
    )
    return table
