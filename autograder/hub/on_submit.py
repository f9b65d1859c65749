"""Grading on submit: the hub's grading service, and the attempt rules the kit's submit obeys.

For an assignment with `feedback: on-submit` in course.yaml, `backprop-kit hub` adds a
JupyterHub-managed service, `backprop-kit grading-service`, running as the course account in
the course directory. It watches the exchange's inbound (inotify through watchdog, and a scan
every few seconds whatever happens, so a missed event or a restart loses nothing) and grades
each new submission with nbgrader's own steps, in-process: collect (the kit's SafeCollect),
autograde (the kit's sandboxed grader, from the course's nbgrader_config.py), generate_feedback
and release_feedback, for that student only. A later batch `nbgrader autograde` or
`backprop-kit autograde` runs the same steps on the same files: the same grades.

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
import json
import os
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


def graded_hook(course_dir, assignment, student, score, max_score):
    """Called once after each grading the service does (see after_grading.py)."""
    from .after_grading import after_grading

    after_grading(course_dir, assignment, student, score, max_score)


class GradingService:
    """Grades what arrives in the exchange's inbound, one submission at a time, oldest first."""

    def __init__(self, course_dir, config_dir, log=print):
        self.course_dir = Path(course_dir).resolve()
        self.status_dir, self.rules = read_rules(config_dir)
        self.state_dir = self.course_dir / STATE_DIR
        self.log = log
        self.wake = threading.Event()
        self.failed: set = set()  # what failed in this process: not retried until the next start
        self._api = None

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

    def handle(self, s: Submission):
        """Grade one submission (or refuse it, over the limit) and record it; never raises."""
        rules = self.rules[s.assignment]
        with AttemptBook.open(self.state_dir) as book:
            e = book.entry(s.assignment, s.student)
            used = len(e["graded"])
            if rules.attempts is not None and used >= rules.attempts + e.get("extra", 0):
                refused = self.state_dir / "refused"
                refused.mkdir(exist_ok=True)
                shutil.move(str(s.folder), refused / s.folder.name)
                e.setdefault("refused", []).append(s.folder.name)
                self.log(
                    f"refused {s.folder.name}: {s.student} has used {used} of "
                    f"{rules.attempts + e.get('extra', 0)} attempts (moved to {refused})"
                )
                self._write_status(book, s.student, {})
                return
            self._write_status(book, s.student, {s.assignment: {"state": "grading", "position": 0}})
        started = time.monotonic()
        score, max_score, problem = self.grade(s)
        with AttemptBook.open(self.state_dir) as book:
            e = book.entry(s.assignment, s.student)
            # Each submission is an attempt; a failed grading too (its files stay for a batch run).
            e["graded"].append(s.folder.name)
            e["last_submitted"] = s.timestamp
            state = {"state": "graded" if problem is None else "failed"}
            self._write_status(book, s.student, {s.assignment: state})
        took = time.monotonic() - started
        if problem is None:
            self.log(f"graded {s.folder.name}: {score:g} / {max_score:g} in {took:.1f} s; feedback released")
            try:
                graded_hook(self.course_dir, s.assignment, s.student, score, max_score)
            except Exception as e:  # another lane's hook must never stop grading
                self.log(f"after_grading failed for {s.student} ({type(e).__name__}: {e}); grade kept")
        else:
            self.log(f"could not grade {s.folder.name}: {problem}; it stays in inbound for a batch run")

    def grade(self, s: Submission):
        """collect, autograde, generate_feedback, release_feedback for this student: (score,
        max score, None) or (None, None, what failed)."""
        from nbgrader.utils import capture_log, temp_attrs

        api = self.api

        def collect():
            # nbgrader's collect (the kit's SafeCollect) of this student's newest submission only.
            app = api.exchange.Collect(coursedir=api.coursedir, authenticator=api.authenticator, parent=api)
            app.update = True
            return capture_log(app)

        steps = [
            ("collect", collect),
            ("autograde", lambda: api.autograde(s.assignment, s.student, force=True, create=True)),
            ("generate_feedback", lambda: api.generate_feedback(s.assignment, s.student, force=True)),
            ("release_feedback", lambda: api.release_feedback(s.assignment, s.student)),
        ]
        for name, step in steps:
            with temp_attrs(api.coursedir, assignment_id=s.assignment, student_id=s.student):
                result = step()
            if not result.get("success"):
                said = (result.get("error") or result.get("log") or "").strip().splitlines()
                return None, None, f"nbgrader {name} failed: {said[-1] if said else 'no message'}"
        with api.gradebook as gb:
            submission = gb.find_submission(s.assignment, s.student)
            return submission.score, submission.max_score, None

    def run_forever(self):
        """Grade what waits, then sleep until inotify or the fallback scan finds more."""
        observer = self._watch()
        self.log(
            f"grading on submit: {', '.join(sorted(self.rules))} in {self.inbound} "
            f"({'inotify' if observer else 'a scan every ' + str(SCAN_SECONDS) + ' s'})"
        )
        while True:
            queue = []
            try:
                queue = [s for s in self.pending() if s.folder.name not in self.failed]
                if queue:
                    self.tell_queue(queue)
                    self.handle(queue[0])
                    continue
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

    def _watch(self):
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        wake = self.wake

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event):
                wake.set()

        try:
            observer = Observer()
            self.inbound.mkdir(parents=True, exist_ok=True)
            observer.schedule(Wake(), str(self.inbound), recursive=False)
            observer.daemon = True
            observer.start()
        except OSError as e:  # inotify limits reached, say: the scan still finds everything
            self.log(f"inotify unavailable ({e}); scanning every {SCAN_SECONDS} s")
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
