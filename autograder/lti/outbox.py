"""The queue of scores not yet taken by the LMS: one JSON file per student and assignment in
`<course>/lti/outbox/`, in the course directory, so it belongs to the course account like the
gradebook and no student can touch it. A newer grading of the same student replaces the file
(the attempt that counts is the last), a score the platform took removes it; everything else
stays, with how often it was tried and why it was not taken, until `backprop-kit lti push`.

Files are written whole (a temporary file renamed over the old one), so a grading process
killed mid-write leaves the previous entry, never half of one."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

LTI_DIR = "lti"  # inside the course directory


@dataclass(frozen=True)
class Entry:
    assignment: str
    student: str  # the nbgrader student id, which is the hub user
    given: float
    maximum: float
    graded_at: str  # ISO 8601, UTC: the grading's time, sent as the score's timestamp
    tries: int = 0
    last_error: str = ""
    next_try: str = ""  # ISO 8601; empty: as soon as anything pushes

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.assignment}\0{self.student}".encode()).hexdigest()[:24]

    @property
    def graded_time(self) -> datetime:
        return datetime.fromisoformat(self.graded_at)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _write_whole(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Outbox:
    def __init__(self, course_dir):
        self.folder = Path(course_dir) / LTI_DIR / "outbox"

    def _path(self, entry: Entry) -> Path:
        return self.folder / f"{entry.key}.json"

    def put(self, entry: Entry) -> Entry:
        """Queue `entry`, unless the queue holds a later grading of the same student and assignment."""
        self.folder.mkdir(parents=True, exist_ok=True)
        old = self._read(self._path(entry))
        if old is not None and old.graded_time > entry.graded_time:
            return old
        _write_whole(self._path(entry), json.dumps(asdict(entry), indent=1))
        return entry

    def update(self, entry: Entry, **changes) -> Entry:
        """Record a try, unless a newer grading replaced the entry meanwhile."""
        current = self._read(self._path(entry))
        if current is None or current.graded_at != entry.graded_at:
            return current or entry
        changed = replace(entry, **changes)
        _write_whole(self._path(entry), json.dumps(asdict(changed), indent=1))
        return changed

    def remove(self, entry: Entry) -> None:
        """Taken by the platform: gone, unless a newer grading came in meanwhile."""
        current = self._read(self._path(entry))
        if current is not None and current.graded_at == entry.graded_at:
            self._path(entry).unlink(missing_ok=True)

    def _read(self, path: Path) -> Entry | None:
        try:
            return Entry(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None

    def entries(self) -> list[Entry]:
        if not self.folder.is_dir():
            return []
        found = [self._read(p) for p in self.folder.glob("*.json")]
        return sorted((e for e in found if e), key=lambda e: (e.assignment, e.student))

    def get(self, assignment: str, student: str) -> Entry | None:
        probe = Entry(assignment, student, 0.0, 0.0, "")
        return self._read(self._path(probe))

    @contextmanager
    def pushing(self) -> Iterator[None]:
        """One pusher at a time (the on-submit service, a batch run, `lti push`): a second
        waits, so no score is posted twice at once."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
