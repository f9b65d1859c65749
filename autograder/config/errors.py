"""Problems with course.yaml, one per line (`file:line: key.path: message`), and the key
paths they name."""

import dataclasses
import difflib
import re
from collections.abc import Iterable

from ..words import _


# ---- errors --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem with course.yaml: `file:line: key.path: message`."""

    file: str | None
    line: int | None
    key: str
    message: str
    column: int | None = None

    def __str__(self):
        where = ":".join(str(x) for x in (self.file, self.line, self.column) if x is not None)
        return ": ".join(part for part in (where, self.key, self.message) if part)


class ConfigError(Exception):
    """course.yaml cannot be used. `str()` is the complete message for a person, one problem
    a line; `problems` holds them for programs."""

    def __init__(self, problems: Iterable[Problem], path=None):
        self.problems = tuple(problems)
        self.path = path
        super().__init__(str(self))

    def __str__(self):
        return "\n".join(str(p) for p in self.problems)

    def __reduce__(self):
        return self.__class__, (self.problems, self.path)


class UnknownName(ConfigError, KeyError):
    """A name looked up in the course (e.g. an assignment) is not there."""


# ---- locations -----------------------------------------------------------------------
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def format_loc(loc):
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


def format_doc_path(loc):
    return format_loc(loc).replace("[0]", "[]")


def parse_path(path):
    loc = []
    for key, quoted, index in re.findall(r"\.?([A-Za-z0-9_-]+)|\[('(?:[^'\\]|\\.)*')\]|\[(\d+)\]", path):
        loc.append(int(index) if index else key if key else quoted[1:-1])
    return tuple(loc)


def suggest(name, candidates, listed):
    """What to add to "no such name": the closest candidate ('; did you mean ...?'), else every
    one of them, told by `listed` (an N_-marked " (assignments: {names})"); in the language in force."""
    candidates = list(candidates)
    close = difflib.get_close_matches(str(name), candidates, n=1, cutoff=0.6)
    if close:
        return _("; did you mean {name}?").format(name=repr(close[0]))
    return _(listed).format(names=", ".join(candidates) or _("none"))
