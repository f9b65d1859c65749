"""course.yaml: the one file an instructor edits — its schema, loading and validation.

The pydantic models below are the single source of truth for the file: they validate it,
their Field descriptions document it (`keys_markdown()` renders the table in README.md), and
the error messages describe what a key expects from the same JSON schema.

`load_course(path)` never lets a traceback reach the instructor: every problem with the
file is reported as a `ConfigError` whose `str()` lists one problem a line, each naming the
file, the line, the key path and what is wrong:

    course.yaml:12: assignments[0].notebooks: expected a non-empty list of names, found an empty list

To know where a key is, the YAML is composed into a node tree (each node keeps its start
mark) and turned into plain data by hand, which also catches duplicate keys (PyYAML would
silently keep the last one).
"""
import dataclasses
import datetime
import difflib
import functools
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated, Iterable, Literal, Mapping

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError,
                      field_validator, model_validator)

__all__ = [
    "Assignment", "ConfigError", "Course", "Gradescope", "Grading", "Problem", "Tolerances",
    "UnknownName", "keys_markdown", "load_course", "write_seed",
    "KEYS_START", "KEYS_END", "MAX_SEED",
]

NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
EXERCISE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_NAME_LENGTH = 64
MAX_SEED = 2**32 - 1  # every numpy seeding API (legacy RandomState included) accepts it

KEYS_START = "<!-- course-yaml-keys:start -->"
KEYS_END = "<!-- course-yaml-keys:end -->"

Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=MAX_NAME_LENGTH)]
ExerciseId = Annotated[str, Field(pattern=EXERCISE_ID_PATTERN, min_length=1, max_length=MAX_NAME_LENGTH)]
Points = Annotated[float, Field(
    gt=0, le=1000,
    description="Points for the exercise with this id (the grade_id of its answer cell), "
                "replacing the notebook's default. At most 1000 per exercise.",
    json_schema_extra={"x-default": "the notebook's"},
)]


class DuplicateNames(ValueError):
    """Raised by a validator for repeated names; the error converter turns each repeat
    into its own problem, located at the repeated item."""

    def __init__(self, what, repeats, item_key=None):
        # repeats: [(index, name, index of the first occurrence)]
        self.what, self.repeats, self.item_key = what, list(repeats), item_key
        super().__init__("; ".join(f"{what} {name!r} is repeated (item {i}, first at item {first})"
                                   for i, name, first in self.repeats))


def _repeats(names):
    first, out = {}, []
    for i, name in enumerate(names):
        if name in first:
            out.append((i, name, first[name]))
        else:
            first[name] = i
    return out


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Assignment(_Model):
    """One nbgrader assignment."""

    name: Name = Field(description="The nbgrader assignment id; also the name of its folder "
                                   "under source/ and release/. Unique within the course.")
    notebooks: list[Name] = Field(
        min_length=1,
        description="The assignment's notebooks: the names of their jupytext sources "
                    "assignments/<name>.py, without the .py. At least one; no repeats.")
    points: dict[ExerciseId, Points] = Field(
        default={},
        description="Points per exercise id, for the exercises whose points should differ from "
                    "the notebook's defaults. Leave it out (or empty) to keep the defaults.")

    @field_validator("points", mode="before")
    @classmethod
    def _empty_points(cls, value):
        return {} if value is None else value

    @field_validator("notebooks")
    @classmethod
    def _unique_notebooks(cls, value):
        if repeats := _repeats(value):
            raise DuplicateNames("notebook", repeats)
        return value


class Tolerances(_Model):
    """How close an answer must be to the reference to pass."""

    hand_answer_abs: float = Field(
        0.005, ge=0, le=1,
        description="Absolute part of the tolerance for hand-computed answers: an answer passes "
                    "when |answer - correct| <= hand_answer_abs + hand_answer_rel * |correct|. "
                    "0 to 1; it and hand_answer_rel cannot both be 0.")
    hand_answer_rel: float = Field(
        0.005, ge=0, le=0.5,
        description="Relative part of the tolerance for hand-computed answers (see "
                    "hand_answer_abs). 0 to 0.5.")
    gradient_rel_error: float = Field(
        1e-6, gt=0, le=1e-2,
        description="A gradient passes when its relative error against the reference is below "
                    "this. Above 0 and at most 1e-2: beyond that, wrong gradients pass.")
    value_rel: float = Field(
        1e-6, gt=0, le=1e-2,
        description="Relative tolerance for forward outputs (values the student's code computes). "
                    "Above 0 and at most 1e-2.")

    @model_validator(mode="after")
    def _some_tolerance(self):
        if self.hand_answer_abs == 0 and self.hand_answer_rel == 0:
            raise ValueError("hand_answer_abs and hand_answer_rel are both 0, so a hand answer "
                             "would have to match to the last bit; set at least one above 0")
        return self


class Grading(_Model):
    """Limits on running student code."""

    timeout_seconds: float = Field(
        10, gt=0, le=3600,
        description="Wall-clock limit per exercise, in seconds: what an infinite loop costs. Every check "
                    "of this assignment takes well under a second. Above 0 and at most 3600 (an hour).")
    memory_mb: int = Field(
        2048, ge=256, le=65536,
        description="Memory limit per exercise and for the notebook's kernel, in megabytes. "
                    "256 (numpy and a kernel need that much) to 65536.")
    output_kb: int = Field(
        64, ge=1, le=10240,
        description="Output captured per exercise and per cell, in kilobytes; the rest is cut. "
                    "1 to 10240 (10 MB).")
    require_sandbox: bool = Field(
        False,
        description="true: refuse to grade when bubblewrap (bwrap) is missing. false: grade "
                    "without it when it is missing.")
    max_file_mb: float = Field(
        20, gt=0, le=1024,
        description="Largest file a submission folder may hold, in megabytes: a larger file (the "
                    "notebook included) is not copied or read, and the student's feedback says so. "
                    "A notebook of this assignment is about 0.2 MB. Above 0 and at most 1024.")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)


class Gradescope(_Model):
    """The Gradescope autograder bundle (`backprop-kit gradescope`)."""

    student_id_field: str = Field(
        "sid", pattern=r"^[A-Za-z0-9_]+$", min_length=1, max_length=MAX_NAME_LENGTH,
        description="The key of the submitter's entry (users[0]) in Gradescope's submission_metadata.json "
                    "that holds the student id the notebook's numbers were drawn for: sid (the roster's "
                    "student id), or e.g. email.")
    visibility: Literal["visible", "hidden", "after_due_date", "after_published"] = Field(
        "visible",
        description="When students see each graded cell's result and feedback on Gradescope.")


class Course(_Model):
    """The whole course.yaml."""

    course_id: Name = Field(description="Identifies the course (the nbgrader course id).")
    seed: int = Field(
        ge=0, le=MAX_SEED,
        description="The course seed: every problem value derives from it. 0 to 2^32 - 1, so "
                    "any numpy seeding accepts it. `backprop-kit generate --seed N` rewrites it.")
    randomization: Literal["per-course", "per-student"] = Field(
        "per-student",
        description="per-student: each student's numbers derive from the seed and their id; "
                    "per-course: every student gets the same numbers.")
    assignments: list[Assignment] = Field(
        min_length=1,
        description="The course's nbgrader assignments. At least one; names unique.")
    tolerances: Tolerances = Field(Tolerances(), description="How close answers must be to pass.")
    grading: Grading = Field(Grading(), description="Limits on running student code.")
    gradescope: Gradescope = Field(Gradescope(), description="The Gradescope autograder bundle.")

    _source: Path | None = PrivateAttr(None)
    _lines: dict = PrivateAttr(default_factory=dict)  # location tuple -> line (1-based)
    _spans: dict = PrivateAttr(default_factory=dict)  # location tuple -> (start, end) of a scalar

    @field_validator("tolerances", "grading", "gradescope", mode="before")
    @classmethod
    def _empty_section(cls, value):
        return {} if value is None else value

    @field_validator("assignments")
    @classmethod
    def _unique_assignments(cls, value):
        if repeats := _repeats([a.name for a in value]):
            raise DuplicateNames("assignment name", repeats, item_key="name")
        return value

    def __eq__(self, other):
        """Equal when the settings are: where each was loaded from does not count."""
        if not isinstance(other, Course):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # lists and mappings inside

    # ---- accessors -------------------------------------------------------------------
    @property
    def source(self) -> Path | None:
        """The file this course was loaded from (None when built in memory)."""
        return self._source

    @property
    def root(self) -> Path:
        """The course directory: the folder of course.yaml (the current one if in memory)."""
        return self._source.parent if self._source is not None else Path(".")

    @property
    def assignment_names(self) -> list[str]:
        return [a.name for a in self.assignments]

    def assignment(self, name: str) -> Assignment:
        """The assignment called `name`; UnknownName (a ConfigError and a KeyError) if none."""
        for a in self.assignments:
            if a.name == name:
                return a
        raise UnknownName([Problem(self._shown, None, "", f"no assignment {name!r} in this course"
                                   f"{_suggest(name, self.assignment_names, 'assignments')}")])

    def notebook_source(self, notebook: str) -> Path:
        """The jupytext source of a notebook: <course dir>/assignments/<notebook>.py."""
        return self.root / "assignments" / f"{notebook}.py"

    def line_of(self, key_path: str) -> int | None:
        """The line of a key in the file it was loaded from, e.g. line_of('grading.memory_mb')."""
        return self._lines.get(_parse_path(key_path))

    def points_for(self, assignment: str, defaults: Mapping[str, float]) -> dict[str, float]:
        """The points of every exercise of an assignment: the notebook's `defaults` with
        course.yaml's overrides. An override for an exercise the notebook does not have is a
        ConfigError naming its line (and the closest exercise id)."""
        index = self.assignment_names.index(self.assignment(assignment).name)
        points = self.assignments[index].points
        problems = []
        for exercise in points:
            if exercise not in defaults:
                loc = ("assignments", index, "points", exercise)
                problems.append(Problem(self._shown, self._lines.get(loc), _format_loc(loc),
                                        f"no exercise {exercise!r} in assignment {assignment!r}"
                                        f"{_suggest(exercise, defaults, 'exercises')}"))
        if problems:
            raise ConfigError(problems, self._source)
        return {**defaults, **points}

    def with_seed(self, seed: int) -> "Course":
        """A copy with another seed (validated: ConfigError if out of range)."""
        data = self.model_dump()
        data["seed"] = seed
        try:
            course = Course.model_validate(data)
        except ValidationError as error:
            raise ConfigError(_problems_from(error, data, None, {}), None) from None
        course._source, course._lines, course._spans = self._source, self._lines, self._spans
        return course

    @property
    def _shown(self):
        return str(self._source) if self._source is not None else None


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


# ---- loading -------------------------------------------------------------------------
_FLOAT = re.compile(r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads 1e-6 and 1.0e6 as numbers (as YAML 1.2 does; PyYAML's
    YAML 1.1 rules would read them as text)."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))

_MAX_NODES = 20000  # guards against alias bombs ("billion laughs")
_MAX_DEPTH = 40
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_course(path) -> Course:
    """Read and validate course.yaml. Raises ConfigError (and nothing else) for any problem
    with the file, listing all of them."""
    return _load(path)[0]


def _load(path):
    shown = os.fspath(path)
    text = _read_text(Path(path), shown)
    data, lines, spans, problems = _parse(text, shown)
    course = None
    try:
        course = Course.model_validate(data)
    except ValidationError as error:
        problems += _problems_from(error, data, shown, lines)
    problems += _raw_duplicates(data, shown, lines)
    if problems:
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda p: (p.line or 0, p.key))
        raise ConfigError(unique, Path(path))
    course._source, course._lines, course._spans = Path(path), lines, spans
    return course, text


def _read_text(path: Path, shown: str) -> str:
    def fail(message):
        return ConfigError([Problem(shown, None, "", message)], path)

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(f"file not found (looked for {path.absolute()})") from None
    except IsADirectoryError:
        raise fail("is a directory, not a file") from None
    except PermissionError:
        raise fail("cannot read the file: permission denied") from None
    except OSError as error:
        raise fail(f"cannot read the file: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError([Problem(shown, line, "", f"not UTF-8 text (byte {raw[error.start:error.start + 1]!r} "
                                                    f"at offset {error.start}); save the file as UTF-8")],
                          path) from None


def _parse(text, shown):
    """-> (plain data, {location: line}, {location: (start, end)}, [Problem])."""
    loader = None
    try:
        try:
            loader = _Loader(text)  # checks the characters
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            raise ConfigError([_yaml_problem(error, shown)], Path(shown)) from None
        except yaml.reader.ReaderError as error:
            line = text.count("\n", 0, error.position) + 1
            column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
            character = chr(error.character) if isinstance(error.character, int) else error.character
            raise ConfigError([Problem(shown, line, "", f"not valid YAML: character {character!r} "
                                                        f"is not allowed in YAML files", column)],
                              Path(shown)) from None
        except yaml.YAMLError as error:  # anything else the YAML library reports
            raise ConfigError([Problem(shown, None, "", f"not valid YAML: {error}")], Path(shown)) from None
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
            raise ConfigError([Problem(shown, None, "", "the file is empty; it must set at least "
                                                        "course_id, seed and assignments")], Path(shown))
        walker = _Walker(loader, shown)
        data = walker.walk(root, ())
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError([Problem(shown, root.start_mark.line + 1, "",
                                       f"the top level must be a mapping of keys (course_id: ..., "
                                       f"seed: ..., ...), found {_found(data)}")], Path(shown))
        return data, walker.lines, walker.spans, walker.problems
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_problem(error, shown):
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "unreadable"
    if error.context and error.problem:
        context_mark = error.context_mark
        at = (f" at line {context_mark.line + 1}, column {context_mark.column + 1}"
              if context_mark is not None and context_mark is not mark else "")
        message += f" ({error.context}{at})"
    if "'\\t'" in message:
        message += "; indent with spaces, YAML does not allow tabs there"
    return Problem(shown, mark.line + 1 if mark else None, "", f"not valid YAML: {message}",
                   mark.column + 1 if mark else None)


class _Walker:
    """Turns a composed node tree into plain data, recording where every key is."""

    def __init__(self, loader, shown):
        self.loader, self.shown = loader, shown
        self.lines, self.spans, self.problems = {}, {}, []
        self.count = 0
        self.open = set()  # collections being walked: an alias to one of them is a cycle

    def problem(self, loc, line, message):
        self.problems.append(Problem(self.shown, line, _format_loc(loc), message))

    def walk(self, node, loc):
        self.count += 1
        if self.count > _MAX_NODES or len(loc) > _MAX_DEPTH or id(node) in self.open:
            message = ("a YAML alias refers to the value that contains it" if id(node) in self.open
                       else "the file is too large or too deeply nested (YAML aliases?)")
            raise ConfigError([Problem(self.shown, node.start_mark.line + 1, _format_loc(loc[:4]), message)],
                              Path(self.shown))
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.open.add(id(node))
            try:
                return self.walk_collection(node, loc)
            finally:
                self.open.discard(id(node))
        self.spans[loc] = (node.start_mark.index, node.end_mark.index)
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            what = getattr(error, "problem", None) or str(error)
            self.problem(loc, node.start_mark.line + 1, f"cannot read this value: {what}")
            return None

    def walk_collection(self, node, loc):
        if isinstance(node, yaml.MappingNode):
            result, first = {}, {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == _MERGE_TAG:
                    self.problem(loc, line, "YAML merge keys ('<<') are not supported in "
                                                      "course.yaml; write the keys out")
                    continue
                if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "":
                    self.problem(loc, line, "every key must be a plain name, like 'seed:'")
                    continue
                key = key_node.value
                if key in first:
                    self.problem(loc + (key,), line, f"duplicate key {key!r} (first at line {first[key]}); "
                                                     "YAML would silently keep only the last one, "
                                                     "so remove one of them")
                first.setdefault(key, line)
                self.lines[loc + (key,)] = line
                result[key] = self.walk(value_node, loc + (key,))
            return result
        return [self.walk(item, loc + (i,)) for i, item in enumerate(node.value)]


# ---- pydantic errors -> problems -----------------------------------------------------
def _problems_from(error: ValidationError, data, shown, lines) -> list[Problem]:
    problems = []
    for err in error.errors():
        problems += _convert(err, data, shown, lines)
    return problems


def _line(lines, loc):
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc)


def _convert(err, data, shown, lines):
    loc, kind, value = tuple(err["loc"]), err["type"], err.get("input")
    cause = (err.get("ctx") or {}).get("error")

    def problem(at, message):
        return Problem(shown, _line(lines, at), _format_loc(at), message)

    if isinstance(cause, DuplicateNames):
        return _duplicate_problems(cause, loc, shown, lines)
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        expected = _describe(_key_schema(loc[:-1]))
        return [problem(loc, f"invalid key {loc[-1]!r}: expected {expected}")]
    if kind == "missing":
        return [problem(loc, f"missing required key {loc[-1]!r} (expected {_describe(_schema_at(loc))})")]
    if kind == "extra_forbidden":
        return [problem(loc, _unknown_key(loc))]
    if kind in ("value_error", "assertion_error") and cause is not None:
        return [problem(loc, str(cause))]
    schema = _schema_at(loc)
    if schema is None:
        return [problem(loc, f"{err['msg']} (found {_found(value)})")]
    return [problem(loc, f"expected {_describe(schema)}, found {_found(value)}{_hint(schema, value)}")]


def _duplicate_problems(duplicates: DuplicateNames, loc, shown, lines):
    out = []
    suffix = (duplicates.item_key,) if duplicates.item_key else ()
    for index, name, first in duplicates.repeats:
        at, first_at = loc + (index,) + suffix, loc + (first,) + suffix
        first_line = _line(lines, first_at)
        where = _format_loc(first_at) + (f", line {first_line}" if first_line else "")
        out.append(Problem(shown, _line(lines, at), _format_loc(at),
                           f"duplicate {duplicates.what} {name!r} (first at {where}); "
                           f"{duplicates.what}s must be unique"))
    return out


def _raw_duplicates(data, shown, lines):
    """Repeated assignment and notebook names, found in the raw data so that they are
    reported even when other problems stop the models' own checks from running."""
    assignments = data.get("assignments") if isinstance(data, dict) else None
    if not isinstance(assignments, list):
        return []
    items = [a if isinstance(a, dict) else {} for a in assignments]
    named = [(i, a["name"]) for i, a in enumerate(items) if isinstance(a.get("name"), str)]
    problems = _duplicate_problems(
        DuplicateNames("assignment name", [(named[i][0], name, named[first][0])
                                           for i, name, first in _repeats([n for _, n in named])],
                       item_key="name"), ("assignments",), shown, lines)
    for index, item in enumerate(items):
        notebooks = item.get("notebooks")
        if isinstance(notebooks, list):
            strings = [(i, n) for i, n in enumerate(notebooks) if isinstance(n, str)]
            problems += _duplicate_problems(
                DuplicateNames("notebook", [(strings[i][0], n, strings[first][0])
                                            for i, n, first in _repeats([n for _, n in strings])]),
                ("assignments", index, "notebooks"), shown, lines)
    return problems


def _unknown_key(loc):
    key, parent = loc[-1], _schema_at(loc[:-1]) or {}
    valid = list(parent.get("properties", {}))
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    here = tuple(0 if isinstance(part, int) else part for part in loc[:-1])
    elsewhere = [path for path, name in _all_keys() if name == key and path[:-1] != here]
    if elsewhere:
        return (f"unknown key {key!r} here; it belongs under {_format_doc_path(elsewhere[0][:-1])!r} "
                f"(as {_format_doc_path(elsewhere[0])})")
    return f"unknown key {key!r}; the keys allowed here are {', '.join(valid)}"


def _suggest(name, candidates, what):
    candidates = list(candidates)
    close = difflib.get_close_matches(str(name), candidates, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" ({what}: {', '.join(candidates) or 'none'})"


# ---- the schema, for messages and documentation ---------------------------------------
@functools.lru_cache(maxsize=None)
def _root_schema():
    return Course.model_json_schema()


def _resolve(schema):
    while schema is not None and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {**_root_schema()["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _child(schema, part):
    schema = _resolve(schema)
    if schema is None:
        return None
    if isinstance(part, int):
        return _resolve(schema.get("items"))
    if part in schema.get("properties", {}):
        return _resolve(schema["properties"][part])
    parts = _mapping_parts(schema)
    return parts[1] if parts else None


def _mapping_parts(schema):
    """(key schema, value schema) of a free-form mapping (a dict field), else None."""
    schema = _resolve(schema) or {}
    if schema.get("type") != "object" or "properties" in schema:
        return None
    keys = {"type": "string", **(_resolve(schema.get("propertyNames")) or {})}
    if schema.get("patternProperties"):
        (pattern, value), = schema["patternProperties"].items()
        return {**keys, "pattern": pattern}, _resolve(value)
    value = schema.get("additionalProperties")
    return keys, _resolve(value) if isinstance(value, dict) else {}


def _schema_at(loc):
    schema = _resolve(_root_schema())
    for part in loc:
        schema = _child(schema, part)
    return schema


def _key_schema(loc):
    """The schema of the keys of the mapping at loc."""
    parts = _mapping_parts(_schema_at(loc))
    return parts[0] if parts else {"type": "string"}


def _all_keys(schema=None, path=()):
    """(path, key) of every named key of the schema, sections first."""
    schema = _resolve(schema or _root_schema())
    out = []
    for name, sub in schema.get("properties", {}).items():
        out.append((path + (name,), name))
        sub = _resolve(sub)
        if sub.get("type") == "array" and "properties" in (_resolve(sub.get("items")) or {}):
            out += _all_keys(sub["items"], path + (name, 0))
        elif "properties" in sub:
            out += _all_keys(sub, path + (name,))
    return out


_PATTERNS = {  # pattern -> (singular, plural); `q` quotes a literal
    NAME_PATTERN: (lambda q, n: f"a name of 1-{n} letters, digits, {q('-')} or {q('_')}",
                   lambda q, n: "names"),
    EXERCISE_ID_PATTERN: (lambda q, n: f"an exercise id (1-{n} letters, digits or {q('_')}, "
                                       f"not starting with a digit)",
                          lambda q, n: "exercise ids"),
}


def _quote(text):
    return repr(text)


def _code(text):
    return f"`{text}`"


def _number(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m.group(1).replace("+", "") + m.group(2), repr(value))
    return str(value)


def _range(schema):
    low = (("at least", schema["minimum"]) if "minimum" in schema else
           ("greater than", schema["exclusiveMinimum"]) if "exclusiveMinimum" in schema else None)
    high = (("at most", schema["maximum"]) if "maximum" in schema else
            ("less than", schema["exclusiveMaximum"]) if "exclusiveMaximum" in schema else None)
    if low and high and low[0] == "at least" and high[0] == "at most":
        return f" from {_number(low[1])} to {_number(high[1])}"
    parts = [f"{word} {_number(bound)}" for word, bound in (low, high) if word]
    return (" " + " and ".join(parts)) if parts else ""


def _describe(schema, q=_quote, plural=False):
    """What a value of this schema must be, in words: 'a whole number from 0 to 10'."""
    schema = _resolve(schema) or {}
    kind = schema.get("type")
    if "enum" in schema:
        return "one of " + ", ".join(q(v) for v in schema["enum"])
    if kind == "string":
        pattern = schema.get("pattern")
        if pattern in _PATTERNS:
            return _PATTERNS[pattern][plural](q, schema.get("maxLength"))
        return ("texts" if plural else "text") + (f" matching {q(pattern)}" if pattern else "")
    if kind == "integer":
        return ("whole numbers" if plural else "a whole number") + _range(schema)
    if kind == "number":
        return ("numbers" if plural else "a number") + _range(schema)
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        items = _resolve(schema.get("items")) or {}
        each = ("mappings, one per " + items["title"].lower()) if "properties" in items \
            else _describe(items, q, plural=True)
        return f"a {'non-empty ' if schema.get('minItems') else ''}list of {each}"
    if kind == "object" and "properties" in schema:
        if plural:
            return "mappings"
        return "a mapping with the keys " + ", ".join(schema["properties"])
    if kind == "object":
        keys, values = _mapping_parts(schema)
        return f"a mapping of {_describe(keys, q, plural=True)} to {_describe(values, q, plural=True)}"
    return "a value"


def _found(value):
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (a whole number)"
    if isinstance(value, float):
        return f"{_number(value) if math.isfinite(value) else value} (a decimal number)"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"{shown!r} (a string)" if value else "'' (an empty string)"
    if isinstance(value, list):
        return "an empty list" if not value else f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return "an empty mapping" if not value else "a mapping with the keys " + ", ".join(map(str, value))
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"{value.isoformat()} (a date)"
    if isinstance(value, bytes):
        return "binary data"
    return f"{value!r} (a {type(value).__name__})"


def _hint(schema, value):
    kind = (_resolve(schema) or {}).get("type")
    if isinstance(value, bool) and kind == "string" or isinstance(value, bool) and "enum" in schema:
        return "; YAML reads unquoted yes/no/on/off/true/false as true or false, so put the value in quotes"
    if isinstance(value, (int, float, datetime.date)) and not isinstance(value, bool) and kind == "string":
        return "; put the value in quotes to make it text"
    if isinstance(value, str) and kind in ("integer", "number") and _FLOAT.match(value.strip()) \
            or isinstance(value, str) and kind in ("integer", "number") and value.strip().lstrip("+-").isdigit():
        return "; remove the quotes to make it a number"
    if isinstance(value, str) and kind == "boolean" and value.strip().lower() in ("true", "false", "yes", "no",
                                                                                 "on", "off"):
        return "; remove the quotes"
    if isinstance(value, str) and kind == "string" and schema.get("pattern") == NAME_PATTERN:
        stem = re.sub(r"\.(py|ipynb)$", "", value.rsplit("/", 1)[-1])
        if stem != value and re.match(NAME_PATTERN, stem):
            return f"; write just the name, {stem!r}"
    if isinstance(value, float) and kind == "integer" and value.is_integer():
        return f"; write it without the decimal point, {int(value)}"
    return ""


# ---- locations -----------------------------------------------------------------------
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _format_loc(loc):
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


def _format_doc_path(loc):
    return _format_loc(loc).replace("[0]", "[]")


def _parse_path(path):
    loc = []
    for key, quoted, index in re.findall(r"\.?([A-Za-z0-9_-]+)|\[('(?:[^'\\]|\\.)*')\]|\[(\d+)\]", path):
        loc.append(int(index) if index else key if key else quoted[1:-1])
    return tuple(loc)


# ---- the seed ------------------------------------------------------------------------
def write_seed(path, seed: int) -> Course:
    """Set the course seed in course.yaml, changing nothing but the seed's value: comments,
    order, quoting and layout stay as they are. The file must be valid (ConfigError
    otherwise, as for a seed out of range); the result is verified by loading it again.
    Returns the course as loaded from the rewritten file."""
    course, text = _load(path)
    wanted = course.with_seed(seed)
    start, end = course._spans[("seed",)]
    # The value node may carry an anchor or tag before the number: replace the last token only.
    match = re.search(r"\S+\s*$", text[start:end])
    new_text = text[:start] + text[start:end][:match.start()] + str(int(seed)) + text[end:]
    if new_text == text:
        return course
    target = Path(os.path.realpath(path))
    _write_atomically(target, new_text)
    try:
        written, _ = _load(path)
        changed = [a for a, b in zip(text.splitlines(), new_text.splitlines()) if a != b]
        if written.model_dump() != wanted.model_dump() or len(changed) != 1 or len(text.splitlines()) != len(new_text.splitlines()):
            raise ConfigError([Problem(str(path), course._lines.get(("seed",)), "seed",
                                       "could not rewrite the seed without changing anything else; "
                                       "edit the file by hand")], Path(path))
    except ConfigError:
        _write_atomically(target, text)
        raise
    return written


def _write_atomically(target: Path, text: str):
    mode = target.stat().st_mode & 0o7777
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


# ---- documentation -------------------------------------------------------------------
def keys_markdown() -> str:
    """The Markdown table of every course.yaml key (key path, type or allowed values,
    default, description), generated from the models; README.md carries it between
    KEYS_START and KEYS_END."""
    rows = []

    def cell(text):
        return str(text).replace("|", "\\|").replace("\n", " ")

    def default_of(schema, required):
        if required:
            return "required"
        if "x-default" in schema:
            return schema["x-default"]
        if "default" not in schema:
            return ""
        value = schema["default"]
        if isinstance(value, dict):
            return "`{}` (none)" if not value else "see below"
        if isinstance(value, bool):
            return f"`{str(value).lower()}`"
        if isinstance(value, (int, float)):
            return f"`{_number(value)}`"
        return f"`{value}`"

    def add(schema, path):
        schema = _resolve(schema)
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            sub = _resolve(sub)
            description = sub.get("description", "")
            here = path + (name,)
            rows.append((_code(_format_doc_path(here)),
                         _describe(sub, _code) if "properties" not in sub else "a mapping (keys below)",
                         default_of(sub, name in required), description))
            items = _resolve(sub.get("items")) if sub.get("type") == "array" else None
            if items and "properties" in items:
                add(items, here + (0,))
            elif "properties" in sub:
                add(sub, here)
            elif _mapping_parts(sub):
                key_schema, value = _mapping_parts(sub)
                key = _describe(key_schema, _code)
                rows.append((_code(_format_doc_path(here) + ".<exercise id>"),
                             f"key: {key}; value: {_describe(value, _code)}",
                             default_of(value, False), value.get("description", "")))

    add(_root_schema(), ())
    lines = ["| Key | Type / allowed values | Default | Description |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m autograder.config: print the README table
    print(keys_markdown(), end="")
