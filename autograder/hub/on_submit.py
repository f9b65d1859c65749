"""Grading on submit: the hub's grading service, and the attempt rules the kit's submit obeys.

For an assignment with `feedback: on-submit` in course.yaml, `backprop-kit hub` adds a
JupyterHub-managed service, `backprop-kit grading-service`, running as the course account in
the course directory. It warms up at its start (nbgrader, the kit's grader, each assignment),
watches the exchange's inbound (inotify through watchdog, and a scan every few seconds whatever
happens, so a missed event or a restart loses nothing) and grades what waits as one batch:
nbgrader's collect (the kit's SafeCollect) of each waiting student's newest submission, the kit's
batch grader (`backprop-kit autograde`'s engine, which writes what `nbgrader autograde` writes),
then nbgrader's generate_feedback and release_feedback for those students only. A later batch
`nbgrader autograde` or `backprop-kit autograde` of the same files gives the same grades.

Where things are kept:
- the course account's own files, `<course>/backprop-kit/on-submit/attempts.json`: which
  submissions were graded (by their exchange folder name) and each student's extra attempts.
  Students cannot read or change it; it is what the service enforces.
- `<exchange>/<course>/on-submit/<student>.json` (the course account's, 0644 in a 0711 folder
  that cannot be listed): what the student's own server reads, to refuse an attempt over the
  limit or inside the cooldown before anything is copied, and to show "being graded" with a
  queue position. Only counts and times, never a grade.

Over the limit all the same (a student who copied a folder into inbound by hand): the service
moves the submission aside, to `<course>/backprop-kit/on-submit/refused/`, and says so in its log.
"""

import datetime
import fcntl
import glob
import json
import os
import resource
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..words import _

RULES_FILE = "on-submit.json"  # in the hub's nbgrader config folder: every student's server reads it
STATUS_DIR = "on-submit"  # in the exchange's course folder
STATE_DIR = Path("backprop-kit") / "on-submit"  # in the course directory: the course account's alone
SERVICE_NAME = "backprop-kit-grading"
SCAN_SECONDS = 5.0  # the fallback scan's period (inotify usually wakes the service at once)
BATCH_MAX = 25  # submissions graded together: a larger batch makes its first student wait longer
PROFILE_ENV = (
    "BPKIT_GRADING_PROFILE"  # a folder: each batch's cProfile goes there (benchmarks/on_submit.py --profile)
)


@dataclass(frozen=True)
class Rules:
    """One assignment's on-submit settings, as course.yaml gives them."""

    attempts: int | None = None
    cooldown_minutes: float = 0
    visibility: str = "visible"

    @classmethod
    def of_course(cls, course) -> dict:
        return {
            a.name: cls(a.on_submit.attempts, a.on_submit.cooldown_minutes, a.on_submit.visibility)
            for a in course.assignments
            if a.feedback == "on-submit"
        }


def write_rules(config_dir: Path, rules: dict, exchange: str, course_id: str, language: str = "en"):
    """The rules and the status folder, for the students' servers (`PrivateSubmit`) and the service."""
    data = {
        "status_dir": str(Path(exchange) / course_id / STATUS_DIR),
        "language": language,  # what the students' servers say about attempts is in the course's language
        "assignments": {name: r.__dict__ for name, r in rules.items()},
    }
    (Path(config_dir) / RULES_FILE).write_text(json.dumps(data, indent=2) + "\n")


def rules_language(config_dir) -> str:
    try:
        return json.loads((Path(config_dir) / RULES_FILE).read_text()).get("language", "en")
    except (OSError, ValueError):
        return "en"


def read_rules(config_dir) -> tuple[str, dict]:
    """(status folder, {assignment: Rules}) from the hub's config folder; no rules: ("", {})."""
    try:
        data = json.loads((Path(config_dir) / RULES_FILE).read_text())
    except (OSError, ValueError):
        return "", {}
    return data["status_dir"], {name: Rules(**r) for name, r in data["assignments"].items()}


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def parse_timestamp(text) -> datetime.datetime:
    """nbgrader's submission timestamp (timestamp.txt, or a folder name's third part)."""
    from nbgrader.utils import parse_utc

    return parse_utc(text).replace(tzinfo=datetime.timezone.utc)  # nbgrader's: naive, in UTC


# ---------------------------------------------------------------- what a student's server reads


def read_status(status_dir, student) -> dict:
    try:
        return json.loads((Path(status_dir) / f"{student}.json").read_text())
    except (OSError, ValueError):
        return {}


def refusal(rules: Rules, status: dict, at: datetime.datetime) -> str | None:
    """Why a student's next attempt is refused now (what and when the next is possible), or None."""
    used, extra = status.get("graded", 0), status.get("extra", 0)
    if rules.attempts is not None and used >= rules.attempts + extra:
        return _(
            "you have used all {allowed} attempts of this assignment; the last one is the one that counts. "
            "The course staff can grant another (`backprop-kit grant-attempt`)"
        ).format(allowed=rules.attempts + extra)
    last = status.get("last_submitted")
    if rules.cooldown_minutes and last:
        next_at = parse_timestamp(last) + datetime.timedelta(minutes=rules.cooldown_minutes)
        if at < next_at:
            wait = max(1, round((next_at - at).total_seconds() / 60))
            return _(
                "your next attempt is possible at {time} UTC, in about {minutes} min ({cooldown} min after "
                "each submission)"
            ).format(time=next_at.strftime("%H:%M"), minutes=wait, cooldown=f"{rules.cooldown_minutes:g}")
    return None


def progress(rules: Rules, status: dict, submission: dict, at: datetime.datetime) -> str:
    """What the Assignments tab says after a student's newest submission (nbgrader's list entry)."""
    if submission.get("has_exchange_feedback") or submission.get("has_local_feedback"):
        said = ""
    elif status.get("state") == "queued":
        said = _("being graded: number {position} in the queue").format(position=status.get("position", "?"))
    elif status.get("state") == "grading":
        said = _("being graded now")
    elif status.get("state") == "failed":
        said = _("could not be graded on submit: the course staff will grade it")
    elif status.get("state") == "unreleased":
        said = _("graded, but its feedback could not be released yet: the course staff will release it")
    else:
        said = _("waiting to be graded")
    why = refusal(rules, status, at)
    return "; ".join(p for p in (said, _("no more attempts now: {why}").format(why=why) if why else "") if p)


# ---------------------------------------------------------------- the course account's records


@dataclass
class AttemptBook:
    """attempts.json in the course's state folder: {assignment: {student: {"graded": [folder
    names], "extra": n}}}, written atomically under a lock (the service and grant-attempt)."""

    path: Path
    data: dict = field(default_factory=dict)

    @classmethod
    @contextmanager
    def open(cls, state_dir: Path) -> Iterator["AttemptBook"]:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / "attempts.json"
        with open(state_dir / "attempts.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(path.read_text()) if path.exists() else {}
            except ValueError as e:
                raise SystemExit(f"backprop-kit: {path} is not valid JSON ({e}); fix or remove it") from None
            book = cls(path, data)
            yield book
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(book.data, indent=1, sort_keys=True) + "\n")
            os.replace(tmp, path)

    def entry(self, assignment, student) -> dict:
        return self.data.setdefault(assignment, {}).setdefault(student, {"graded": [], "extra": 0})

    def seen(self, assignment, student) -> set:
        e = self.data.get(assignment, {}).get(student, {})
        return set(e.get("graded", [])) | set(e.get("refused", []))


def write_status(status_dir, student, assignments: dict):
    """The student's status file, readable by their server (0644 in a folder nobody can list)."""
    folder = Path(status_dir)
    folder.mkdir(mode=0o711, exist_ok=True)
    os.chmod(folder, 0o711)
    tmp = folder / f".{student}.tmp"
    tmp.write_text(json.dumps(assignments, indent=1, sort_keys=True) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, folder / f"{student}.json")


# ---------------------------------------------------------------- the service


@dataclass(frozen=True)
class Submission:
    folder: Path  # <inbound>/<student>+<assignment>+<timestamp>+<random>
    student: str
    assignment: str
    timestamp: str

    @classmethod
    def parse(cls, path: Path):
        parts = path.name.split("+")
        if len(parts) < 3 or path.name.startswith("."):
            return None
        return cls(path, parts[0], parts[1], parts[2])


def cpu_seconds() -> float:
    """User and system CPU of this process and its children that ended (the grading processes
    and their sandboxes): what a batch costs, which wall time on a shared machine does not say."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def _profiled(size: int):
    """The batch under cProfile when PROFILE_ENV names a folder (where the service's own CPU goes:
    the grading processes' is theirs), else nothing."""
    folder = os.environ.get(PROFILE_ENV)
    if not folder:
        yield
        return
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(str(Path(folder) / f"batch-of-{size}-{time.time_ns()}.prof"))


@dataclass(frozen=True)
class Graded:
    score: float
    max_score: float
    unreleased: str | None = None  # why its feedback could not be released (the grade is kept)


def _failure(step, result) -> str:
    said = (result.get("error") or result.get("log") or "").strip().splitlines()
    return f"nbgrader {step} failed: {said[-1] if said else 'no message'}"


def graded_hook(course_dir, assignment, student, score, max_score):
    """Called once after each grading the service does (see after_grading.py)."""
    from .after_grading import after_grading

    after_grading(course_dir, assignment, student, score, max_score)


class GradingService:
    """Grades what arrives in the exchange's inbound: what waits, as a batch, oldest first."""

    def __init__(self, course_dir, config_dir, log=print):
        self.course_dir = Path(course_dir).resolve()
        self.status_dir, self.rules = read_rules(config_dir)
        self.state_dir = self.course_dir / STATE_DIR
        self.log = log
        self.wake = threading.Event()
        self.arrived = threading.Event()  # set with `wake`: the announcer's (announce_arrivals)
        self.grading: set = set()  # the folder names of the batch being graded
        self.status_lock = threading.Lock()  # the batch's records against the announcer's statuses
        self.failed: set = set()  # what failed in this process: not retried until the next start
        self.inotify_failed = False  # watchdog could not watch inbound: the scan alone finds submissions
        self.release_failed: set = set()  # assignments whose full feedback could not be released yet
        self._api = None
        self._quiet = None

    # nbgrader's own apps, configured as `nbgrader` in the course directory is: the hub's global
    # config (the exchange) and the course's nbgrader_config.py (the kit's grader).
    @property
    def api(self):
        if self._api is None:
            from nbgrader.apps import NbGraderAPI
            from nbgrader.apps.baseapp import NbGrader
            from nbgrader.coursedir import CourseDirectory

            app = NbGrader()
            app.load_cwd_config = True
            app.load_config_file()
            config = app.config
            config.CourseDirectory.root = str(self.course_dir)
            # The course account asks the hub nothing: it grades whatever is in its course's inbound
            # (a service has no JUPYTERHUB_USER for nbgrader's JupyterHubAuthPlugin to ask about).
            config.Authenticator.plugin_class = "nbgrader.auth.NoAuthPlugin"
            self._api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        return self._api

    @property
    def quiet(self):
        """The batch engine's console: its progress bars and tables go nowhere (the log has a line per student)."""
        if self._quiet is None:
            from rich.console import Console

            self._quiet = Console(quiet=True)
        return self._quiet

    @property
    def inbound(self) -> Path:
        return Path(self.api.exchange_root) / self.api.course_id / "inbound"

    def pending(self) -> list:
        """Submissions of on-submit assignments not yet graded or refused, oldest first."""
        try:
            names = os.listdir(self.inbound)
        except FileNotFoundError:
            return []
        found = [s for s in map(Submission.parse, (self.inbound / n for n in names)) if s]
        found = [s for s in found if s.assignment in self.rules]
        with AttemptBook.open(self.state_dir) as book:
            found = [s for s in found if s.folder.name not in book.seen(s.assignment, s.student)]
        return sorted(found, key=lambda s: (s.timestamp, s.folder.name))

    def tell_queue(self, queue):
        """Each waiting student's status file: "being graded", their position in the queue."""
        with AttemptBook.open(self.state_dir) as book:
            for position, s in enumerate(queue, start=1):
                self._write_status(book, s.student, {s.assignment: {"state": "queued", "position": position}})

    def announce_arrivals(self):
        """While a batch is graded, each submission arriving is told its place in the queue at once
        (the main loop tells the queue only between batches); runs in a thread of its own."""
        while True:
            self.arrived.wait()
            self.arrived.clear()
            try:
                with self.status_lock:
                    if not self.grading:
                        continue  # between batches the main loop tells the queue itself
                    waiting = [s for s in self.pending() if s.folder.name not in self.grading | self.failed]
                    self.tell_queue(waiting)
            except Exception as e:  # an unwritable status folder, say: the main loop says so too
                self.log(f"could not tell the queue its positions: {type(e).__name__}: {e}")

    def _write_status(self, book, student, changes):
        assignments = {}
        for assignment in self.rules:
            e = book.data.get(assignment, {}).get(student)
            if e is None and assignment not in changes:
                continue
            e = e or {"graded": [], "extra": 0}
            graded = e.get("graded", [])
            assignments[assignment] = {
                "graded": len(graded),
                "extra": e.get("extra", 0),
                "attempts": self.rules[assignment].attempts,
                "cooldown_minutes": self.rules[assignment].cooldown_minutes,
                "last_submitted": e.get("last_submitted"),
                "state": "graded" if graded else "none",
                **changes.get(assignment, {}),
            }
        write_status(self.status_dir, student, assignments)

    def grade_waiting(self, queue: list) -> None:
        """Grade what waits, as one batch per assignment (the oldest submission's first):
        refusals over the limit, then nbgrader's collect of each student's newest submission,
        the kit's batch engine (`backprop-kit autograde`: the same gradebook rows and autograded/
        folder as `nbgrader autograde`, the notebooks graded side by side on this machine's
        cores), then nbgrader's generate_feedback and release_feedback for these students only.
        One process start for the whole service, not four nbgrader steps per submission: a
        burst's waiting students are graded together. Records each submission once; never raises
        for one student's submission (a failure is that student's line in the log)."""
        assignment = queue[0].assignment
        batch = [s for s in queue if s.assignment == assignment][:BATCH_MAX]
        batch = self._refuse_over_limit(assignment, batch)
        if not batch:
            return
        students = sorted({s.student for s in batch})
        with self.status_lock, AttemptBook.open(self.state_dir) as book:
            self.grading = {s.folder.name for s in batch}
            for student in students:
                self._write_status(book, student, {assignment: {"state": "grading", "position": 0}})
        # Until the batch is recorded: a service killed outright meanwhile (out of memory, kill -9)
        # records nothing of it, so its next start grades these again and says so (`said_after_crash`).
        marker = self.state_dir / "grading.json"
        marker.write_text(
            json.dumps({"submissions": [s.folder.name for s in batch], "started": now().isoformat()}) + "\n"
        )
        started, cpu = time.monotonic(), cpu_seconds()
        with _profiled(len(students)):
            try:
                outcome = self.grade(assignment, students)
            except Exception as error:  # the gradebook locked, a disk full, ...: a line each, recorded once
                outcome = {student: f"{type(error).__name__}: {error}" for student in students}
        took, cpu = time.monotonic() - started, cpu_seconds() - cpu
        with self.status_lock, AttemptBook.open(self.state_dir) as book:
            self.grading = set()
            for s in batch:
                e = book.entry(s.assignment, s.student)
                # Each submission is an attempt; a failed grading too (its files stay for a batch run).
                if s.folder.name not in e["graded"]:
                    e["graded"].append(s.folder.name)
                e["last_submitted"] = max(filter(None, (e.get("last_submitted"), s.timestamp)))
            for student in students:
                result = outcome[student]
                state = (
                    "failed" if isinstance(result, str) else "unreleased" if result.unreleased else "graded"
                )
                self._write_status(book, student, {assignment: {"state": state}})
        marker.unlink(missing_ok=True)
        for student in students:
            names = ", ".join(s.folder.name for s in batch if s.student == student)
            result = outcome[student]
            if isinstance(result, str):
                self.log(f"could not grade {names}: {result}; it stays in inbound for a batch run")
                continue
            if result.unreleased:
                self.log(
                    f"graded {names}: {result.score:g} / {result.max_score:g}, kept in the gradebook; its "
                    f"feedback could not be released: {result.unreleased} (once fixed: nbgrader release_feedback {assignment})"
                )
            else:
                self.log(
                    f"graded {names}: {result.score:g} / {result.max_score:g} in {took:.1f} s "
                    f"(a batch of {len(students)}, {cpu:.1f} s of CPU); feedback released"
                )
            try:
                graded_hook(self.course_dir, assignment, student, result.score, result.max_score)
            except Exception as e:  # another lane's hook must never stop grading
                self.log(f"after_grading failed for {student} ({type(e).__name__}: {e}); grade kept")

    def said_after_crash(self):
        """One line when the last run stopped in the middle of a batch: what it was grading
        (recorded nowhere, so graded again now)."""
        marker = self.state_dir / "grading.json"
        try:
            left = json.loads(marker.read_text())
        except (OSError, ValueError):
            return
        self.log(
            f"the last run stopped while grading {', '.join(left.get('submissions', []))} (since "
            f"{left.get('started', '?')}); nothing of it was recorded: graded again now"
        )
        marker.unlink(missing_ok=True)

    def _refuse_over_limit(self, assignment, batch: list) -> list:
        """The batch without the submissions over the student's limit, those moved aside."""
        rules = self.rules[assignment]
        kept: list[Submission] = []
        with AttemptBook.open(self.state_dir) as book:
            for s in batch:
                e = book.entry(s.assignment, s.student)
                used = len(e["graded"]) + sum(k.student == s.student for k in kept)
                allowed = None if rules.attempts is None else rules.attempts + e.get("extra", 0)
                if allowed is None or used < allowed:
                    kept.append(s)
                    continue
                refused = self.state_dir / "refused"
                refused.mkdir(exist_ok=True)
                shutil.move(str(s.folder), refused / s.folder.name)
                e.setdefault("refused", []).append(s.folder.name)
                self.log(
                    f"refused {s.folder.name}: {s.student} has used {used} of {allowed} attempts (moved to {refused})"
                )
                self._write_status(book, s.student, {})
        return kept

    def grade(self, assignment, students) -> dict[str, "Graded | str"]:
        """{student: Graded} for each graded, or {student: what failed}."""
        from nbgrader.utils import capture_log, temp_attrs

        from ..batch.graders import BatchError
        from ..batch.run import autograde, cores

        api = self.api
        outcome: dict[str, Graded | str] = {}
        for student in students:
            # nbgrader's collect (the kit's SafeCollect) of this student's newest submission.
            with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
                app = api.exchange.Collect(
                    coursedir=api.coursedir, authenticator=api.authenticator, parent=api
                )
                app.update = True
                result = capture_log(app)
            if not result.get("success"):
                outcome[student] = _failure("collect", result)
        todo = [s for s in students if s not in outcome]
        if not todo:
            return outcome
        try:
            summary = autograde(
                self.course_dir,
                assignment,
                todo,
                jobs=min(len(todo), cores()),
                force=True,
                console=self.quiet,
            )
        except BatchError as e:
            return {**outcome, **{s: f"backprop-kit autograde failed: {e}" for s in todo}}
        for student, why in {**summary.failed, **summary.not_graded}.items():
            outcome[student] = f"backprop-kit autograde: {why}"
        todo = [s for s in todo if s not in outcome]
        unreleased = None
        if todo:
            step, problem = self.feedback(assignment, todo, outcome_only=self.outcome_only_now(assignment))
            if step == "generate_feedback" and problem:
                return {**outcome, **{s: problem for s in todo}}
            unreleased = problem  # graded, in the gradebook: only the exchange refused the page
        with api.gradebook as gb:
            for student in todo:
                submission = gb.find_submission(assignment, student)
                outcome[student] = Graded(submission.score, submission.max_score, unreleased)
        return outcome

    def feedback(self, assignment, students, outcome_only=False) -> tuple[str, str] | tuple[None, None]:
        """nbgrader's generate_feedback and release_feedback, once for these students (every
        student's folder matches "*", the others are nbgrader's student_id_exclude): (None, None),
        or (the step, what failed). `outcome_only`: each exercise's pass or fail only
        (FeedbackForStudents)."""
        from nbgrader.converters import GenerateFeedback
        from nbgrader.utils import capture_log, temp_attrs
        from traitlets.config import Config

        api = self.api
        pattern = api.coursedir.format_path(api.coursedir.autograded_directory, "*", assignment)
        everyone = {Path(p).parent.name for p in glob.glob(pattern)}
        exclude = ",".join(sorted(everyone - set(students)))

        def generate():
            # As NbGraderAPI.generate_feedback does, with the kit's one switch added.
            c = Config()
            c.HTMLExporter.template_name = "feedback"
            c.FeedbackForStudents.outcome_only = outcome_only
            app = GenerateFeedback(coursedir=api.coursedir, parent=api)
            app.update_config(c)
            app.force = True
            return capture_log(app)

        for name, step in (
            ("generate_feedback", generate),
            ("release_feedback", lambda: api.release_feedback(assignment, "*")),
        ):
            with temp_attrs(
                api.coursedir, assignment_id=assignment, student_id="*", student_id_exclude=exclude
            ):
                result = step()
            if not result.get("success"):
                return name, _failure(name, result)
        return None, None

    def due_date(self, assignment) -> datetime.datetime | None:
        """nbgrader's due date of the assignment (the gradebook's, which its late penalty reads)."""
        from nbgrader.api import MissingEntry

        with self.api.gradebook as gb:
            try:
                due = gb.find_assignment(assignment).duedate
            except MissingEntry:
                return None
        return due.replace(tzinfo=datetime.timezone.utc) if due else None

    def outcome_only_now(self, assignment) -> bool:
        """`visibility: after_due_date` before the due date: pass or fail only. Without a due
        date the full feedback waits for the staff's `nbgrader release_feedback`."""
        if self.rules[assignment].visibility != "after_due_date":
            return False
        due = self.due_date(assignment)
        return due is None or now() < due

    def release_after_due_date(self):
        """The full feedback of each `after_due_date` assignment, once, at its due date (or at the
        first scan after it): regenerated and released to every student graded on submit."""
        released_file = self.state_dir / "released.json"
        try:
            released = json.loads(released_file.read_text())
        except (OSError, ValueError):
            released = {}
        for assignment, rules in sorted(self.rules.items()):
            if rules.visibility != "after_due_date" or assignment in released:
                continue
            due = self.due_date(assignment)
            if due is None or now() < due:
                continue
            with AttemptBook.open(self.state_dir) as book:
                students = sorted(s for s, e in book.data.get(assignment, {}).items() if e.get("graded"))
            _step, problem = self.feedback(assignment, students) if students else (None, None)
            if problem:
                if assignment not in self.release_failed:  # said once, tried again at every scan
                    self.log(
                        f"could not release the full feedback of {assignment} after its due date: {problem}"
                    )
                self.release_failed.add(assignment)
                continue
            released[assignment] = now().isoformat(timespec="seconds")
            tmp = released_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(released, indent=1, sort_keys=True) + "\n")
            os.replace(tmp, released_file)
            self.log(
                f"{assignment}: due {due:%Y-%m-%d %H:%M} UTC passed; the full feedback released to "
                f"{len(students)} student(s)"
            )

    def run_forever(self):
        """Warm up, then grade what waits, then sleep until inotify or the fallback scan finds more."""
        observer = self._watch()
        self.said_after_crash()
        self.warm_up()
        threading.Thread(target=self.announce_arrivals, name="announce-arrivals", daemon=True).start()
        self.log(
            f"ready: grading on submit: {', '.join(sorted(self.rules))} in {self.inbound} "
            f"({'inotify' if observer else 'a scan every ' + str(SCAN_SECONDS) + ' s'})"
        )
        while True:
            if observer is None and not self.inotify_failed and self.inbound.is_dir():
                observer = self._watch()  # the assignment was released since the service started
            queue = []
            try:
                queue = [s for s in self.pending() if s.folder.name not in self.failed]
                if queue:
                    self.tell_queue(queue)
                    self.grade_waiting(queue)
                    continue
                self.release_after_due_date()
            except Exception as e:
                # The exchange or the course's files unwritable, the gradebook locked, ...: one line,
                # and the submission is left where it is, for the next start or the staff's batch run.
                name = queue[0].folder.name if queue else "the exchange's inbound"
                self.log(
                    f"could not grade {name}: {type(e).__name__}: {e}; left for a batch run or the next start"
                )
                if queue:
                    self.failed.add(queue[0].folder.name)
                time.sleep(1)
            self.wake.wait(SCAN_SECONDS)
            self.wake.clear()

    def warm_up(self):
        """What every batch needs, loaded before the first submission: nbgrader's apps, the
        kit's grader and feedback exporter, each on-submit assignment's snapshot checked."""
        from ..batch.run import load_course_setup
        from ..grading import feedback  # noqa: F401  (the feedback exporter's templates and words)

        self.api  # noqa: B018
        for assignment in sorted(self.rules):
            try:
                load_course_setup(self.course_dir, assignment)
            except Exception as e:  # not released yet, say: said once here, and again per submission
                self.log(f"{assignment}: {type(e).__name__}: {e}")

    def _watch(self):
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        wake, arrived = self.wake, self.arrived

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event):
                wake.set()
                arrived.set()

        if not self.inbound.is_dir():
            # Never made here: nbgrader's release_assignment makes inbound with the mode that lets
            # students submit (a folder made by this account's umask would refuse them all). The
            # scan finds submissions meanwhile, and the loop watches inbound once it exists.
            return None
        try:
            observer = Observer()
            observer.schedule(Wake(), str(self.inbound), recursive=False)
            observer.daemon = True
            observer.start()
        except OSError as e:  # inotify limits reached, say: the scan still finds everything
            self.log(f"inotify unavailable ({e}); scanning every {SCAN_SECONDS} s")
            self.inotify_failed = True
            return None
        return observer


def serve(course_dir, config_dir):
    def log(line):
        print(
            f"[backprop-kit grading] {datetime.datetime.now():%H:%M:%S} {line}", file=sys.stderr, flush=True
        )

    def stop(signum, frame):
        # JupyterHub stops its services with SIGINT, then SIGTERM: exit at once, with one line and no
        # traceback. A grading cut short is not recorded, so the next start grades it again.
        log(f"stopped ({signal.Signals(signum).name})")
        os._exit(0)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    service = GradingService(course_dir, config_dir, log)
    if not service.rules:
        log("no assignment has feedback: on-submit in course.yaml; nothing to do")
    service.run_forever()


def grant_attempt(course_dir, config_dir, student, assignment, course_account=None) -> int:
    """One more attempt for `student` on `assignment`; the attempts they now have in all."""
    status_dir, rules = read_rules(config_dir)
    if assignment not in rules:
        raise ValueError(
            _("{assignment} has no feedback: on-submit in course.yaml (on-submit: {names})").format(
                assignment=assignment, names=", ".join(sorted(rules)) or _("none")
            )
        )
    service = GradingService(course_dir, config_dir, log=lambda line: None)
    with AttemptBook.open(Path(course_dir) / STATE_DIR) as book:
        e = book.entry(assignment, student)
        e["extra"] = e.get("extra", 0) + 1
        service._write_status(book, student, {})
        allowed = (rules[assignment].attempts or 0) + e["extra"]
    if os.geteuid() == 0 and course_account:
        # Run as root: what was written stays the course account's, which the service writes as.
        state = Path(course_dir) / STATE_DIR
        for path in [state, *state.iterdir(), Path(status_dir), Path(status_dir) / f"{student}.json"]:
            shutil.chown(path, course_account, course_account)
    return allowed
