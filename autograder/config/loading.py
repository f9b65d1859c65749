"""Reading course.yaml: YAML composed into a node tree so every key keeps its line (and
duplicate keys are caught), validated by the schema, every pydantic error turned into a
Problem that names the file, the line and the key; and `write_seed`, which rewrites the
seed and nothing else."""

import difflib
import os
import re
import tempfile
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..words import N_, _
from .describe import (
    FLOAT,
    all_keys,
    hint_for,
    key_schema_at,
    quoted,
    schema_at,
    schema_in_words,
    value_in_words,
)
from .errors import ConfigError, Problem, format_doc_path, format_loc
from .schema import Course, DuplicateNames, repeated_names


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads 1e-6 and 1.0e6 as numbers (as YAML 1.2 does; PyYAML's
    YAML 1.1 rules would read them as text), and remembers which nodes carry a tag written in
    the file (`tagged`), as opposed to one YAML gave them from their looks."""

    def __init__(self, stream):
        super().__init__(stream)
        self.tagged = set()

    def compose_node(self, parent, index):
        event = self.peek_event()
        node = super().compose_node(parent, index)
        if getattr(event, "tag", None) not in (None, "!"):  # an alias has no tag of its own; "!" means none
            self.tagged.add(node)
        return node


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT, list("-+0123456789."))


class _Dumper(yaml.SafeDumper):
    """SafeDumper that knows the loader's number forms: PyYAML's own leaves text such as
    `1e5` bare (not a number in YAML 1.1), which _Loader then reads as 100000.0."""


_Dumper.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT, list("-+0123456789."))


def dump_course(course: Course, *, flow: bool = False) -> str:
    """course.yaml's text for `course`, which load_course reads back as the same Course."""
    return yaml.dump(
        course.model_dump(), Dumper=_Dumper, sort_keys=False, default_flow_style=flow, allow_unicode=True
    )


_MAX_NODES = 20000  # guards against alias bombs ("billion laughs")
_MAX_DEPTH = 40
_YAML_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _YAML_TAG + "merge"
_COLLECTION_TAGS = {_YAML_TAG + "map", _YAML_TAG + "seq"}
# The tags a single value may carry, and what each needs (what a value that does not fit is told).
_SCALAR_KINDS = {
    _YAML_TAG + "str": N_("text"),
    _YAML_TAG + "null": N_("nothing (the value is empty)"),
    _YAML_TAG + "bool": N_("true or false"),
    _YAML_TAG + "int": N_("a whole number"),
    _YAML_TAG + "float": N_("a number"),
    _YAML_TAG + "timestamp": N_("a date (like 2024-01-31) or a date and time (like 2024-01-31 12:00:00)"),
    _YAML_TAG + "binary": N_("base64-encoded data"),
}


def load_course(path) -> Course:
    """Read and validate course.yaml. Raises ConfigError (and nothing else) for any problem
    with the file, listing all of them."""
    return _load(path)[0]


def _load(path) -> tuple[Course, str]:
    shown = os.fspath(path)
    text = _read_text(Path(path), shown)
    data, lines, spans, problems, unread = _parse(text, shown)
    course: Course | None = None
    try:
        course = Course.model_validate(data)
    except ValidationError as error:
        problems += _problems_from(error, data, shown, lines, unread)
    else:
        problems += _authored_problems(course, text, shown, lines)
    problems += _raw_duplicates(data, shown, lines)
    if problems or course is None:  # None: pydantic refused it, and its reasons are in problems
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda p: (p.line or 0, p.key))
        raise ConfigError(unique, Path(path))
    course._source, course._lines, course._spans = Path(path), lines, spans
    return course, text


def _authored_problems(course: Course, text: str, shown, lines) -> list[Problem]:
    """course.yaml's own exercises read (autograder/authored.py), each problem at its line: a
    graph's problem at the line of the graph's text where it is, the others at their key's.
    The exercises read are kept on the course (Course.authored)."""
    from solutions import graphs as described
    from solutions.table import BY_GRADE_ID

    from ..authored import install, read_entry
    from ..exercises import BY_ID as HAND
    from ..exercises import FUNCTIONS

    notebooks = [n for a in course.assignments for n in a.notebooks]
    # The kit's own grade_ids (hand exercises, functions, gate cells), not a course's exercises
    # registered by an earlier load of course.yaml in this process (the same course read twice).
    kit_ids = {i for i in HAND if i not in described.AUTHORED} | {f.id for f in FUNCTIONS} | set(BY_GRADE_ID)
    text_lines = text.splitlines()
    problems: list[Problem] = []
    read = []
    seen: dict[str, int] = {}  # exercise id -> the index of the entry that first gave it
    for index, entry in enumerate(course.exercises):
        at = ("exercises", index)
        # An exercise's id and its function's are both grade_ids of one notebook: each once.
        for key, name in (("id", entry.id), ("function", entry.function)):
            if name is not None and name in seen:
                problems.append(
                    Problem(
                        shown,
                        lines.get(at + (key,)),
                        format_loc(at + (key,)),
                        _("the id {id} is used twice in exercises (also at exercises[{other}])").format(
                            id=name, other=seen[name]
                        ),
                    )
                )
        if entry.id in seen or (entry.function is not None and entry.function in seen):
            continue
        seen[entry.id] = index
        if entry.function is not None:
            seen[entry.function] = index
        authored, found = read_entry(entry, kit_ids, notebooks)
        for problem in found:
            loc = at + (problem.key, *problem.at)
            line = lines.get(loc)
            if problem.line is not None and line is not None:
                # a block (graph: |) starts on the next line; text on the key's line is line 1
                block = re.search(r":\s*[|>][-+0-9]*\s*(#.*)?$", text_lines[line - 1]) is not None
                line += problem.line if block else problem.line - 1
            problems.append(Problem(shown, line, format_loc(loc), problem.message))
        if authored is not None:
            read.append(authored)
    for index, assignment in enumerate(course.assignments):
        problems += _gate_problems(assignment, ("assignments", index, "gates"), shown, lines)
    course._authored = tuple(read)
    if not problems:
        install(read)
    return problems


def _gate_problems(assignment, at, shown, lines) -> list[Problem]:
    from solutions.table import GRADED

    known = {g.grade_id.removesuffix("_gate"): g for g in GRADED if not g.graded.kit}  # type: ignore[union-attr]
    return [
        Problem(
            shown,
            lines.get(at + (i,)) or lines.get(at),
            format_loc(at + (i,)),
            _("no gate {name} to add (gates: {known})").format(name=repr(name), known=", ".join(known)),
        )
        for i, name in enumerate(assignment.gates)
        if name not in known
    ]


def load_lenient(path) -> Course | None:
    """The course as far as it validates, for the checks that look past its schema problems
    (notebook sources, points overrides), so that all of course.yaml's problems are reported
    in one pass: each assignment that validates on its own is kept at its index (the others
    become nameless placeholders, so lines stay right); the rest of the course is not
    validated. None when the file cannot be read as YAML or has no list of assignments."""
    from .schema import Assignment

    shown = os.fspath(path)
    try:
        data, lines, _spans, _problems, _unread = _parse(_read_text(Path(path), shown), shown)
    except ConfigError:
        return None
    items = data.get("assignments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    assignments = []
    for item in items:
        try:
            assignments.append(Assignment.model_validate(item))
        except ValidationError:
            assignments.append(Assignment.model_construct(name="", notebooks=[], points={}))
    course = Course.model_construct(course_id="", seed=0, assignments=assignments)
    course._source, course._lines = Path(path), lines
    return course


def _read_text(path: Path, shown: str) -> str:
    def fail(message):
        return ConfigError([Problem(shown, None, "", message)], path)

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(_("file not found (looked for {path})").format(path=path.absolute())) from None
    except IsADirectoryError:
        raise fail(_("is a directory, not a file")) from None
    except PermissionError:
        raise fail(_("cannot read the file: permission denied")) from None
    except OSError as error:
        raise fail(_("cannot read the file: {why}").format(why=error.strerror or error)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        why = _("not UTF-8 text (byte {byte} at offset {offset}); save the file as UTF-8").format(
            byte=repr(raw[error.start : error.start + 1]), offset=error.start
        )
        raise ConfigError([Problem(shown, line, "", why)], path) from None


def _parse(text, shown):
    """-> (plain data, {location: line}, {location: (start, end)}, [Problem], {location of a value
    that could not be read, and so is None in the data})."""
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
            why = _("not valid YAML: character {character} is not allowed in YAML files").format(
                character=repr(character)
            )
            raise ConfigError([Problem(shown, line, "", why, column)], Path(shown)) from None
        except yaml.YAMLError as error:  # anything else the YAML library reports
            why = _("not valid YAML: {why}").format(why=error)
            raise ConfigError([Problem(shown, None, "", why)], Path(shown)) from None
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
            why = _("the file is empty; it must set at least course_id, seed and assignments")
            raise ConfigError([Problem(shown, None, "", why)], Path(shown))
        walker = _Walker(loader, shown)
        data = walker.walk(root, ())
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError(
                [
                    Problem(
                        shown,
                        root.start_mark.line + 1,
                        "",
                        _(
                            "the top level must be a mapping of keys (course_id: ..., seed: ..., "
                            "...), found {found}"
                        ).format(found=value_in_words(data)),
                    )
                ],
                Path(shown),
            )
        return data, walker.lines, walker.spans, walker.problems, walker.unread
    finally:
        if loader is not None:
            loader.dispose()


def _tag_text(node):
    """A node's tag as the file writes it: '!!int' (a YAML tag), '!foo'."""
    tag = node.tag
    return repr("!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag)


def _yaml_problem(error, shown):
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "unreadable"
    if error.context and error.problem:
        context_mark = error.context_mark
        at = (
            f" at line {context_mark.line + 1}, column {context_mark.column + 1}"
            if context_mark is not None and context_mark is not mark
            else ""
        )
        message += f" ({error.context}{at})"
    if "'\\t'" in message:
        message += _("; indent with spaces, YAML does not allow tabs there")
    return Problem(
        shown,
        mark.line + 1 if mark else None,
        "",
        _("not valid YAML: {why}").format(why=message),
        mark.column + 1 if mark else None,
    )


class _Walker:
    """Turns a composed node tree into plain data, recording where every key is."""

    def __init__(self, loader, shown):
        self.loader, self.shown = loader, shown
        self.lines, self.spans, self.problems = {}, {}, []
        self.count = 0
        self.open = set()  # collections being walked: an alias to one of them is a cycle
        self.unread = set()  # the locations of values that could not be read

    def problem(self, loc, line, message):
        self.problems.append(Problem(self.shown, line, format_loc(loc), message))

    def walk(self, node, loc):
        self.count += 1
        if self.count > _MAX_NODES or len(loc) > _MAX_DEPTH or id(node) in self.open:
            message = (
                _("a YAML alias refers to the value that contains it")
                if id(node) in self.open
                else _("the file is too large or too deeply nested (YAML aliases?)")
            )
            raise ConfigError(
                [Problem(self.shown, node.start_mark.line + 1, format_loc(loc[:4]), message)],
                Path(self.shown),
            )
        self.lines.setdefault(loc, node.start_mark.line + 1)
        collection = isinstance(node, (yaml.MappingNode, yaml.SequenceNode))
        tagged = node in self.loader.tagged
        if tagged and node.tag not in (_COLLECTION_TAGS if collection else _SCALAR_KINDS):
            return self.unreadable(
                loc,
                node,
                _(
                    "expected a value without a YAML tag, found the tag {tag}, which "
                    "course.yaml does not read here; remove the tag"
                ).format(tag=_tag_text(node)),
            )
        if collection:
            self.open.add(id(node))
            try:
                return self.walk_collection(node, loc)
            finally:
                self.open.discard(id(node))
        self.spans[loc] = (node.start_mark.index, node.end_mark.index)
        if node.tag not in _SCALAR_KINDS:  # a plain '=' or '<<', which YAML 1.1 gives a tag of its own
            return node.value
        try:
            return self.loader.construct_object(node, deep=True)
        except (
            Exception
        ):  # PyYAML's constructors raise ValueError, KeyError, AttributeError... for what does not fit
            kind, found = _(_SCALAR_KINDS[node.tag]), quoted(node.value)
            if tagged:
                message = _(
                    "expected {kind} after the YAML tag {tag}, found {found}; fix the value or remove the tag"
                ).format(kind=kind, tag=_tag_text(node), found=found)
            else:
                message = _(
                    "YAML reads {found} as {kind}, but it is not a valid one; fix it, or put it in quotes "
                    "to make it text"
                ).format(found=found, kind=kind)
            return self.unreadable(loc, node, message)

    def unreadable(self, loc, node, message):
        """Report a value that cannot be read (at its line and column) and read it as nothing: the
        schema's own complaint about that nothing is left out (`unread`)."""
        self.problems.append(
            Problem(
                self.shown, node.start_mark.line + 1, format_loc(loc), message, node.start_mark.column + 1
            )
        )
        self.unread.add(loc)
        return None

    def walk_collection(self, node, loc):
        if isinstance(node, yaml.MappingNode):
            result: dict = {}
            first: dict = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == _MERGE_TAG:
                    self.problem(
                        loc,
                        line,
                        _("YAML merge keys ('<<') are not supported in course.yaml; write the keys out"),
                    )
                    continue
                if (
                    not isinstance(key_node, yaml.ScalarNode)
                    or key_node.value == ""
                    or (key_node in self.loader.tagged and key_node.tag not in _SCALAR_KINDS)
                ):
                    self.problem(loc, line, _("every key must be a plain name, like 'seed:'"))
                    continue
                key = key_node.value
                if key in first:
                    self.problem(
                        loc + (key,),
                        line,
                        _(
                            "duplicate key {key} (first at line {line}); YAML would "
                            "silently keep only the last one, so remove one of them"
                        ).format(key=repr(key), line=first[key]),
                    )
                first.setdefault(key, line)
                self.lines[loc + (key,)] = line
                result[key] = self.walk(value_node, loc + (key,))
            return result
        return [self.walk(item, loc + (i,)) for i, item in enumerate(node.value)]


# ---- pydantic errors -> problems -----------------------------------------------------
def _problems_from(error: ValidationError, data, shown, lines, unread=()) -> list[Problem]:
    """The problems pydantic found, but for those with a value that could not be read (in or
    under a location in `unread`, already reported as such): an unknown key is still told."""
    problems = []
    for err in error.errors():
        loc = tuple(err["loc"])
        if err["type"] != "extra_forbidden" and any(loc[: len(at)] == at for at in unread):
            continue
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
        return Problem(shown, _line(lines, at), format_loc(at), message)

    if isinstance(cause, DuplicateNames):
        return _duplicate_problems(cause, loc, shown, lines)
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        expected = schema_in_words(key_schema_at(loc[:-1]), words=_)
        return [
            problem(
                loc, _("invalid key {key}: expected {expected}").format(key=repr(loc[-1]), expected=expected)
            )
        ]
    if kind == "missing":
        return [
            problem(
                loc,
                _("missing required key {key} (expected {expected})").format(
                    key=repr(loc[-1]), expected=schema_in_words(schema_at(loc), words=_)
                ),
            )
        ]
    if kind == "extra_forbidden":
        return [problem(loc, _unknown_key(loc))]
    if kind in ("value_error", "assertion_error") and cause is not None:
        return [problem(loc, str(cause))]
    schema = schema_at(loc)
    if schema is None:
        # Translators: pydantic's own words (English), then what the file has.
        return [
            problem(
                loc, _("{message} (found {found})").format(message=err["msg"], found=value_in_words(value))
            )
        ]
    return [
        problem(
            loc,
            _("expected {expected}, found {found}{hint}").format(
                expected=schema_in_words(schema, words=_),
                found=value_in_words(value),
                hint=hint_for(schema, value),
            ),
        )
    ]


# What a repeated name is told, by what it names (DuplicateNames.what).
_DUPLICATE = {
    "assignment name": N_(
        "duplicate assignment name {name} (first at {where}); assignment names must be unique"
    ),
    "notebook": N_("duplicate notebook {name} (first at {where}); notebooks must be unique"),
}


def _duplicate_problems(duplicates: DuplicateNames, loc, shown, lines):
    out = []
    suffix = (duplicates.item_key,) if duplicates.item_key else ()
    for index, name, first in duplicates.repeats:
        at, first_at = loc + (index,) + suffix, loc + (first,) + suffix
        first_line = _line(lines, first_at)
        where = (
            _("{key}, line {line}").format(key=format_loc(first_at), line=first_line)
            if first_line
            else format_loc(first_at)
        )
        out.append(
            Problem(
                shown,
                _line(lines, at),
                format_loc(at),
                _(_DUPLICATE[duplicates.what]).format(name=repr(name), where=where),
            )
        )
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
        DuplicateNames(
            "assignment name",
            [
                (named[i][0], name, named[first][0])
                for i, name, first in repeated_names([n for _, n in named])
            ],
            item_key="name",
        ),
        ("assignments",),
        shown,
        lines,
    )
    for index, item in enumerate(items):
        notebooks = item.get("notebooks")
        if isinstance(notebooks, list):
            strings = [(i, n) for i, n in enumerate(notebooks) if isinstance(n, str)]
            problems += _duplicate_problems(
                DuplicateNames(
                    "notebook",
                    [
                        (strings[i][0], n, strings[first][0])
                        for i, n, first in repeated_names([n for _, n in strings])
                    ],
                ),
                ("assignments", index, "notebooks"),
                shown,
                lines,
            )
    return problems


def _unknown_key(loc):
    key, parent = loc[-1], schema_at(loc[:-1]) or {}
    valid = list(parent.get("properties", {}))
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    if close:
        return _("unknown key {key}; did you mean {close}?").format(key=repr(key), close=repr(close[0]))
    here = tuple(0 if isinstance(part, int) else part for part in loc[:-1])
    elsewhere = [path for path, name in all_keys() if name == key and path[:-1] != here]
    if elsewhere:
        return _("unknown key {key} here; it belongs under {section} (as {path})").format(
            key=repr(key),
            section=repr(format_doc_path(elsewhere[0][:-1])),
            path=format_doc_path(elsewhere[0]),
        )
    return _("unknown key {key}; the keys allowed here are {keys}").format(
        key=repr(key), keys=", ".join(valid)
    )


# ---- the seed ------------------------------------------------------------------------
def with_seed(course: Course, seed: int) -> Course:
    """A copy of `course` with another seed (validated: ConfigError if out of range). Here, not
    a method of Course: the error's words come from describe.py, which reads schema.py."""
    data = course.model_dump()
    data["seed"] = seed
    try:
        copy = Course.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_problems_from(error, data, None, {}), None) from None
    copy._source, copy._lines, copy._spans = course._source, course._lines, course._spans
    return copy


def write_seed(path, seed: int) -> Course:
    """Set the course seed in course.yaml, changing nothing but the seed's value: comments,
    order, quoting and layout stay as they are. The file must be valid (ConfigError
    otherwise, as for a seed out of range); the result is verified by loading it again.
    Returns the course as loaded from the rewritten file."""
    course, text = _load(path)
    wanted = with_seed(course, seed)
    start, end = course._spans[("seed",)]
    # The value node may carry an anchor or tag before the number: replace the last token only.
    match = re.search(r"\S+\s*$", text[start:end])
    assert match is not None, "a loaded course's seed spans its value: never blank"
    new_text = text[:start] + text[start:end][: match.start()] + str(int(seed)) + text[end:]
    if new_text == text:
        return course
    target = Path(os.path.realpath(path))
    _write_atomically(target, new_text)
    try:
        written, _text = _load(path)
        changed = [a for a, b in zip(text.splitlines(), new_text.splitlines()) if a != b]
        if (
            written.model_dump() != wanted.model_dump()
            or len(changed) != 1
            or len(text.splitlines()) != len(new_text.splitlines())
        ):
            raise ConfigError(
                [
                    Problem(
                        str(path),
                        course._lines.get(("seed",)),
                        "seed",
                        _("could not rewrite the seed without changing anything else; edit the file by hand"),
                    )
                ],
                Path(path),
            )
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
