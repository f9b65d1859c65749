"""Which files of a submission folder travel: only the student's own regular files.

A submission folder is hostile as files too: a symbolic link (an LMS zip can carry one)
copied by a link-following copy becomes a full copy of its target — the gradebook,
another student's work — in autograded/ and then in the feedback handed back. So a
submission is copied here without following anything: regular files within a size cap
travel; links, hard links to files outside the submission, devices, pipes and sockets
are refused, each with a reason in words a TA and a student can read.

Every path that grades or ships a submission (nbgrader autograde in a kit course,
`backprop-kit autograde`, the Gradescope bundle) copies it with `copy_submission`.
"""

import fnmatch
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .words import _

DEFAULT_MAX_FILE_BYTES = 20_000_000  # 20 MB, far above any notebook of this assignment (~200 KB)


@dataclass(frozen=True)
class Refused:
    path: str  # relative to the submission folder, with forward slashes
    reason: str

    def __str__(self):
        return f"{self.path}: {self.reason}"


@dataclass
class Intake:
    copied: list = field(default_factory=list)  # relative paths of the files that travelled
    refused: list = field(default_factory=list)  # Refused entries


def _kind(mode):
    if stat.S_ISLNK(mode):
        return _("a symbolic link")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device file")
    if stat.S_ISFIFO(mode):
        return _("a named pipe")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    return _("not a regular file")


def survey(folder, max_file_bytes=DEFAULT_MAX_FILE_BYTES):
    """(files that may travel, Refused entries) of `folder`, following no link.

    A hard link is refused unless every name of that file lies inside the submission:
    a file with more links than the submission accounts for is shared with something
    outside it (a link made to a grader's file). A submission folder that is itself a
    link is refused whole (path ".")."""
    folder = Path(folder)
    regular: list = []
    refused: list = []
    names_seen: dict = {}
    try:
        top = os.lstat(folder)
    except OSError as e:
        return [], [
            Refused(".", _("the submission folder cannot be read ({error})").format(error=e.strerror))
        ]
    if not stat.S_ISDIR(top.st_mode):
        return [], [
            Refused(".", _("the submission folder is {kind}; not followed").format(kind=_kind(top.st_mode)))
        ]
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        for name in sorted(dirnames):  # os.walk lists links to folders among the folders
            info = os.lstat(base / name)
            if not stat.S_ISDIR(info.st_mode):
                refused.append(
                    Refused(
                        _shown(_relative(base / name, folder)),
                        _("{kind}; not followed").format(kind=_kind(info.st_mode)),
                    )
                )
                dirnames.remove(name)
        for name in sorted(filenames):
            path = base / name
            info = os.lstat(path)
            rel = _relative(path, folder)
            if not stat.S_ISREG(info.st_mode):
                refused.append(
                    Refused(_shown(rel), _("{kind}; not followed").format(kind=_kind(info.st_mode)))
                )
            elif info.st_size > max_file_bytes:
                refused.append(
                    Refused(
                        _shown(rel),
                        _("{size} MB, above the course's cap of {cap} MB per file").format(
                            size=f"{info.st_size / 1e6:.1f}", cap=f"{max_file_bytes / 1e6:.1f}"
                        ),
                    )
                )
            else:
                regular.append((rel, info))
                names_seen.setdefault((info.st_dev, info.st_ino), []).append(rel)
    travel = []
    for rel, info in regular:
        if info.st_nlink > len(names_seen[(info.st_dev, info.st_ino)]):
            refused.append(Refused(_shown(rel), "a hard link to a file outside the submission; not copied"))
        else:
            travel.append(rel)
    return travel, sorted(refused, key=lambda r: r.path)


def copy_submission(source, destination, max_file_bytes=DEFAULT_MAX_FILE_BYTES, skip=()):
    """Copy the regular files of `source` into `destination` (created), following no link.
    Returns an Intake saying what travelled and what was refused, and why.

    `skip`: name patterns (fnmatch, as nbgrader's CourseDirectory.ignore) of files and
    folders that are checked like the rest but not copied, e.g. "*.ipynb" when the caller
    writes the notebooks itself; a refused file is reported even when it matches."""
    source, destination = Path(source), Path(destination)
    travel, refused = survey(source, max_file_bytes)
    destination.mkdir(parents=True, exist_ok=True)
    copied = [rel for rel in travel if not skipped(rel, skip)]
    for rel in copied:
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_regular(source / rel, target)
    return Intake(copied=copied, refused=refused)


def _copy_regular(source, target):
    """Copy one file's bytes, refusing at open time anything that is no longer a regular
    file (a link swapped in after the survey)."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{source} changed into a non-regular file while being copied")
        with os.fdopen(fd, "rb", closefd=False) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    finally:
        os.close(fd)


def skipped(rel, patterns):
    return any(fnmatch.fnmatch(part, pattern) for part in rel.split("/") for pattern in patterns)


def record_path(course_root, assignment, student):
    """Where the intake of one submission is recorded, beside the per-student reports."""
    return Path(course_root) / "backprop-kit" / "intake" / assignment / f"{student}.json"


def write_record(course_root, assignment, student, intake, choice=None):
    """Record what travelled, what was refused and (with a NotebookChoice) which file was graded
    as which notebook, or why none could be."""
    path = record_path(course_root, assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "copied": intake.copied,
        "refused_files": refused_entries(intake.refused),
        **(choice.as_record() if choice is not None else {}),
    }
    path.write_text(json.dumps(record, indent=1))
    return path


def read_refused(course_root, assignment, student):
    """[{"path", "reason"}] recorded for this submission by the last intake ([] when none)."""
    try:
        return json.loads(record_path(course_root, assignment, student).read_text())["refused_files"]
    except (OSError, ValueError, KeyError):
        return []


def refused_entries(refused):
    """Refused entries as the report's `refused_files`: [{"path", "reason"}]."""
    return [{"path": r.path, "reason": r.reason} for r in refused]


def _relative(path, folder):
    return Path(path).relative_to(folder).as_posix()


def _shown(rel):
    """A relative path as text that can be written anywhere: bytes that are not UTF-8 in a
    file's name become backslash escapes."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_record(course_root, assignment, student):
    """The submission's intake record ({} when none)."""
    try:
        record = json.loads(record_path(course_root, assignment, student).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
