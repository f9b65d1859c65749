"""Grades back to the LMS: `post_scores(course, assignment, scores)` is what every grading path
calls once its grades are in the gradebook (`backprop-kit autograde`, the on-submit service).

It queues each score on disk first (outbox.py), then sends what it queued: the line item of
the assignment (made once, its URL kept in `lti/lineitems.json`) and each student's score,
retried with doubling waits. It never raises and never changes a grade: what the platform did
not take stays queued with the reason, one log line each, for `backprop-kit lti status` and
`lti push`. A course without LTI (no `lti/tool.json`) makes it return at once."""

from __future__ import annotations

import json
import logging
import os
import pwd
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from .outbox import LTI_DIR, Entry, Outbox, now_utc

log = logging.getLogger("backprop_kit.lti")

TOOL_FILE = "tool.json"  # the tool's half of the config, written by `backprop-kit hub --lti`
KEY_FILE = "tool-key.pem"  # the tool's private key (0600, the course account's)
LAUNCHES_FILE = "launches.json"  # what the hub learnt from launches: LMS user ids, the course's line items
LINEITEMS_FILE = "lineitems.json"  # assignment -> its line item's URL, made once
MAX_WAIT = timedelta(hours=1)


@dataclass(frozen=True)
class Score:
    given: float
    maximum: float


@dataclass
class Pushed:
    sent: list[Entry] = field(default_factory=list)
    kept: list[tuple[Entry, str]] = field(default_factory=list)  # (entry, why it is still queued)


def lti_dir(course_dir) -> Path:
    return Path(course_dir) / LTI_DIR


def configured(course_dir) -> bool:
    return (lti_dir(course_dir) / TOOL_FILE).is_file()


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}


def _write_json(path: Path, data: dict) -> None:
    from .outbox import _write_whole

    _write_whole(path, json.dumps(data, indent=1, sort_keys=True))


def write_launches(path: Path, known: dict, course_account: str | None) -> None:
    """launches.json, whole (a launch and `lti roster` write it as root): 0600, the course account's."""
    tmp = path.with_name(".launches.tmp")
    path.parent.mkdir(exist_ok=True)
    tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
    os.chmod(tmp, 0o600)
    if os.geteuid() == 0 and course_account:
        account = pwd.getpwnam(course_account)
        os.chown(tmp, account.pw_uid, account.pw_gid)
    os.replace(tmp, path)


class _Sender:
    """One push: the tool's settings and token, the user ids and line items it knows."""

    def __init__(self, course_dir):
        from .ags import AgsClient, ToolKey

        folder = lti_dir(course_dir)
        self.folder = folder
        self.tool = json.loads((folder / TOOL_FILE).read_text())
        self.launches = _read_json(folder / LAUNCHES_FILE)
        self.client = AgsClient(
            key=ToolKey.read(folder / KEY_FILE),
            client_id=self.tool["client_id"],
            token_url=self.tool["token_url"],
            token_audience=self.tool["token_audience"],
            timeout=float(self.tool.get("timeout_seconds", 10)),
        )

    def user_id(self, student: str) -> str | None:
        if self.tool.get("hub_user") == "user_id":
            return student
        return self.launches.get("users", {}).get(student)

    def lineitem(self, assignment: str, maximum: float) -> str:
        from .ags import AgsError

        known = _read_json(self.folder / LINEITEMS_FILE)
        if assignment in known:
            return known[assignment]
        lineitems = self.tool.get("lineitems_url") or self.launches.get("lineitems_url")
        if not lineitems:
            raise AgsError(
                "the course's line items URL is not known yet: nobody has launched the tool from the LMS "
                "with grades enabled, and the LTI config has no platform.lineitems_url",
                transient=False,
            )
        url = self.client.find_or_create_lineitem(lineitems, assignment, assignment, maximum)
        _write_json(
            self.folder / LINEITEMS_FILE, {**_read_json(self.folder / LINEITEMS_FILE), assignment: url}
        )
        return url

    def send(self, entry: Entry) -> None:
        from .ags import AgsError

        user = self.user_id(entry.student)
        if not user:
            raise AgsError(
                f"{entry.student} has not launched the tool from the LMS yet, so their LMS user id is unknown",
                transient=False,
            )
        url = self.lineitem(entry.assignment, entry.maximum)
        self.client.post_score(url, user, entry.given, entry.maximum, entry.graded_time)


def push(
    course_dir, *, only: Iterable[tuple[str, str]] | None = None, tries: int | None = None, force: bool = True
) -> Pushed:
    """Send the queued scores (`only` these (assignment, student) pairs, if given); each is
    tried up to `tries` times with doubling waits while the failure may pass. Never raises."""
    outbox, done = Outbox(course_dir), Pushed()
    wanted = set(only) if only is not None else None
    with outbox.pushing():
        entries = [e for e in outbox.entries() if wanted is None or (e.assignment, e.student) in wanted]
        if not force:
            entries = [e for e in entries if not e.next_try or e.next_try <= now_utc().isoformat()]
        if not entries:
            return done
        try:
            sender = _Sender(course_dir)
        except (OSError, ValueError, KeyError, ImportError) as e:
            why = f"the tool's LTI settings in {lti_dir(course_dir)} cannot be used: {type(e).__name__}: {e}"
            for entry in entries:
                _keep(outbox, entry, why, done)
            return done
        settings = sender.tool
        tries = tries or int(settings.get("tries", 3))
        backoff = float(settings.get("backoff_seconds", 1.0))
        platform_down = None
        for entry in entries:
            if platform_down:
                # One score's tries are the wait: the others are not held up by it again.
                _keep(outbox, entry, platform_down, done)
                continue
            platform_down = _send_one(outbox, sender, entry, tries, backoff, done)
    return done


def _send_one(
    outbox: Outbox, sender: _Sender, entry: Entry, tries: int, backoff: float, done: Pushed
) -> str | None:
    """Send one score; the reason when the platform stayed unavailable through every try."""
    from .ags import AgsError

    for attempt in range(tries):
        try:
            sender.send(entry)
        except AgsError as e:
            if e.transient and attempt + 1 < tries:
                time.sleep(backoff * 2**attempt)
                continue
            _keep(outbox, entry, str(e), done)
            return str(e) if e.transient else None
        except Exception as e:  # passback never takes grading down with it
            _keep(outbox, entry, f"{type(e).__name__}: {e}", done)
            return None
        outbox.remove(entry)
        done.sent.append(entry)
        log.info(
            "LTI: %s's score for %s (%g/%g) posted",
            entry.student,
            entry.assignment,
            entry.given,
            entry.maximum,
        )
        return None
    return None


def _keep(outbox: Outbox, entry: Entry, why: str, done: Pushed) -> None:
    tries = entry.tries + 1
    wait = min(timedelta(minutes=2**tries), MAX_WAIT)
    kept = outbox.update(entry, tries=tries, last_error=why, next_try=(now_utc() + wait).isoformat())
    done.kept.append((kept, why))
    log.warning(
        "LTI: %s's score for %s not posted (%s); it stays queued (try %d): `backprop-kit lti push` sends it again",
        entry.student,
        entry.assignment,
        why,
        tries,
    )


def post_scores(course_dir, assignment: str, scores: Mapping[str, Score], *, background: bool = False):
    """Queue `scores` (student id -> Score) of `assignment` for the LMS and send them, with the
    queued scores whose wait (doubling from 2 minutes, at most an hour) is over.

    Returns what was sent and kept (a Pushed), or, with `background`, the thread sending them
    (the on-submit service goes on grading meanwhile), or None when the course has no LTI."""
    if not configured(course_dir) or not scores:
        return None
    outbox, graded_at = Outbox(course_dir), now_utc().isoformat()
    for student, score in sorted(scores.items()):
        outbox.put(Entry(assignment, student, float(score.given), float(score.maximum), graded_at))
    # These scores, and the queue's older ones whose wait is over: each grading is also the
    # queue's next retry, so a platform back up gets what it missed without `lti push`.
    if background:
        thread = threading.Thread(target=push, args=(course_dir,), kwargs={"force": False}, daemon=True)
        thread.start()
        return thread
    return push(course_dir, force=False)


def gradebook_scores(db_url: str, assignment: str, students: Iterable[str] | None = None) -> dict[str, Score]:
    """Each graded student's total for `assignment` as the gradebook holds it (autograded and
    manual points): the number canvas.csv carries (reports/collect.py)."""
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(db_url) as gb:
        wanted = (
            list(students)
            if students is not None
            else [s.student.id for s in gb.find_assignment(assignment).submissions]
        )
        for student in wanted:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            scores[student] = Score(float(submission.score), float(submission.max_score))
    return scores
