"""course.yaml: schema, loading, error messages, the seed rewrite, the docs' key table."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from autograder import config
from autograder.config import (
    ConfigError,
    Course,
    UnknownName,
    dump_course,
    keys_markdown,
    load_course,
    with_seed,
    write_seed,
)

ROOT = Path(__file__).resolve().parent.parent
REPO_COURSE = ROOT / "course.yaml"

VALID = """\
# the course
course_id: cs231n-backprop
seed: 20261123   # the course seed
randomization: per-student
assignments:
  - name: backprop
    notebooks: [backprop]
    points:
      add_gate: 4
tolerances:
  gradient_rel_error: 1.0e-6
grading:
  timeout_seconds: 30
"""


def write(tmp_path, text, name="course.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_course(path)
    message = str(info.value)
    assert "Traceback" not in message and message.strip()
    return message


def problem_lines(path):
    return error_of(path).splitlines()


def with_lines(text, replace):
    """VALID with line `replace` keys (1-based) substituted."""
    lines = VALID.splitlines()
    for number, new in replace.items():
        lines[number - 1] = new
    return "\n".join(lines) + "\n"


# ---- the repository's course.yaml ---------------------------------------------------
def test_repository_course_yaml_loads_with_the_documented_values():
    course = load_course(REPO_COURSE)
    assert course.course_id == "cs231n-backprop"
    assert course.seed == 20261123
    assert course.randomization == "per-student"
    assert course.assignment_names == ["backprop", "network"]
    assert course.assignment("backprop").notebooks == ["backprop"]
    assert course.assignment("backprop").points == {}
    assert course.tolerances == config.Tolerances()
    assert course.grading == config.Grading()
    assert (course.tolerances.hand_answer_abs, course.tolerances.hand_answer_rel) == (0.005, 0.005)
    assert (course.tolerances.gradient_rel_error, course.tolerances.value_rel) == (1e-6, 1e-6)
    assert (
        course.grading.timeout_seconds,
        course.grading.memory_mb,
        course.grading.output_kb,
        course.grading.require_sandbox,
    ) == (10, 2048, 64, False)
    assert course.source == REPO_COURSE and course.root == ROOT


def test_repository_course_yaml_explains_every_key_in_a_comment_line():
    lines = REPO_COURSE.read_text().splitlines()
    keys = [i for i, line in enumerate(lines) if re.match(r"^\s*(- )?[a-z_]+:", line)]
    assert len(keys) >= 14
    for i in keys:
        assert lines[i - 1].strip().startswith("#"), f"no comment line above {lines[i]!r}"


def test_valid_file_loads_and_knows_its_lines(tmp_path):
    course = load_course(write(tmp_path, VALID))
    assert course.assignment("backprop").points == {"add_gate": 4.0}
    assert course.tolerances.gradient_rel_error == 1e-6
    assert course.line_of("seed") == 3
    assert course.line_of("assignments[0]") == 6
    assert course.line_of("assignments[0].points.add_gate") == 9
    assert course.line_of("grading.timeout_seconds") == 13


def test_empty_sections_mean_defaults_and_1e_notation_is_a_number(tmp_path):
    course = load_course(
        write(
            tmp_path,
            """\
        course_id: c
        seed: 0
        assignments:
          - name: a
            notebooks: [n]
            points:
        tolerances:
          gradient_rel_error: 1e-7
          value_rel: 2E-6
        grading:
        """,
        )
    )
    assert course.assignment("a").points == {}
    assert course.tolerances.gradient_rel_error == 1e-7 and course.tolerances.value_rel == 2e-6
    assert course.grading == config.Grading()


# ---- one test per kind of error -------------------------------------------------------
def test_missing_file(tmp_path):
    path = tmp_path / "nope" / "course.yaml"
    assert error_of(path) == f"{path}: file not found (looked for {path})"


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, VALID)

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert error_of(path) == f"{path}: cannot read the file: permission denied"


def test_directory_instead_of_file(tmp_path):
    assert error_of(tmp_path) == f"{tmp_path}: is a directory, not a file"


def test_not_utf8(tmp_path):
    path = tmp_path / "course.yaml"
    path.write_bytes(b"course_id: c\nseed: 1\n# caf\xe9\n")
    assert error_of(path) == (
        f"{path}:3: not UTF-8 text (byte b'\\xe9' at offset 26); save the file as UTF-8"
    )


def test_invalid_yaml_says_line_column_and_what_yaml_said(tmp_path):
    path = write(tmp_path, "course_id: c\nseed: 1\n  oops: 2\n")
    assert error_of(path) == (f"{path}:3:7: not valid YAML: mapping values are not allowed here")
    path = write(tmp_path, "course_id: c\nassignments: [a, b\nseed: 1\n")
    message = error_of(path)
    assert message.startswith(f"{path}:3:5: not valid YAML: ")
    assert (
        "expected ',' or ']'" in message and "while parsing a flow sequence at line 2, column 14" in message
    )


def test_characters_yaml_does_not_allow(tmp_path):
    path = write(tmp_path, "course_id: c\nseed: 1\x00\n")
    assert error_of(path) == f"{path}:2:8: not valid YAML: character '\\x00' is not allowed in YAML files"


def test_tab_indentation_gets_a_hint(tmp_path):
    path = write(tmp_path, "grading:\n\tmemory_mb: 512\n")
    message = error_of(path)
    assert message.startswith(f"{path}:2:1: not valid YAML: found character '\\t'")
    assert "indent with spaces" in message


def test_top_level_not_a_mapping(tmp_path):
    path = write(tmp_path, "# a list\n- course_id: c\n- seed: 1\n")
    assert error_of(path) == (
        f"{path}:2: the top level must be a mapping of keys "
        "(course_id: ..., seed: ..., ...), found a list of 2 items"
    )
    path = write(tmp_path, "just some text\n")
    assert error_of(path).endswith("found 'just some text' (a string)")


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n", "---\n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    assert (
        error_of(path) == f"{path}: the file is empty; it must set at least course_id, seed and assignments"
    )


def test_unknown_key_suggests_the_closest(tmp_path):
    path = write(tmp_path, with_lines(VALID, {11: "  gradient_rel_eror: 1.0e-6"}))
    assert error_of(path) == (
        f"{path}:11: tolerances.gradient_rel_eror: unknown key "
        "'gradient_rel_eror'; did you mean 'gradient_rel_error'?"
    )
    path = write(tmp_path, with_lines(VALID, {4: "Randomisation: per-student"}))
    assert (
        error_of(path)
        == f"{path}:4: Randomisation: unknown key 'Randomisation'; did you mean 'randomization'?"
    )


def test_unknown_key_in_the_wrong_section_says_where_it_belongs(tmp_path):
    path = write(tmp_path, VALID + "memory_mb: 512\n")
    assert error_of(path) == (
        f"{path}:14: memory_mb: unknown key 'memory_mb' here; it belongs under "
        "'grading' (as grading.memory_mb)"
    )


def test_unknown_key_without_a_close_match_lists_the_valid_ones(tmp_path):
    path = write(tmp_path, with_lines(VALID, {13: "  colour: blue"}))
    assert error_of(path) == (
        f"{path}:13: grading.colour: unknown key 'colour'; the keys allowed here are "
        "timeout_seconds, memory_mb, output_kb, require_sandbox, require_cgroup, scratch_mb, max_file_mb, "
        "method_points, packages"
    )


def test_missing_required_key(tmp_path):
    path = write(tmp_path, with_lines(VALID, {3: "# no seed"}))
    assert error_of(path) == (
        f"{path}:2: seed: missing required key 'seed' (expected a whole number from 0 to 4294967295)"
    )
    path = write(tmp_path, with_lines(VALID, {7: "    notebook: [backprop]"}))
    assert problem_lines(path) == [
        f"{path}:6: assignments[0].notebooks: missing required key 'notebooks' (expected a non-empty list of names)",
        f"{path}:7: assignments[0].notebook: unknown key 'notebook'; did you mean 'notebooks'?",
    ]


def test_wrong_type_says_expected_and_found(tmp_path):
    path = write(tmp_path, with_lines(VALID, {3: "seed: abc"}))
    assert error_of(path) == (
        f"{path}:3: seed: expected a whole number from 0 to 4294967295, found 'abc' (a string)"
    )
    path = write(tmp_path, with_lines(VALID, {3: "seed: 12.5"}))
    assert error_of(path).endswith(
        "seed: expected a whole number from 0 to 4294967295, found 12.5 (a decimal number)"
    )
    path = write(tmp_path, with_lines(VALID, {3: "seed:"}))
    assert error_of(path).endswith(", found nothing (the value is empty)")
    path = write(tmp_path, "course_id: c\nseed: 1\nassignments: backprop\n")
    assert error_of(path) == (
        f"{path}:3: assignments: expected a non-empty list of mappings, one per "
        "assignment, found 'backprop' (a string)"
    )
    path = write(tmp_path, with_lines(VALID, {13: "  require_sandbox: maybe"}))
    assert (
        error_of(path)
        == f"{path}:13: grading.require_sandbox: expected true or false, found 'maybe' (a string)"
    )


def test_wrong_type_hints_at_yaml_pitfalls(tmp_path):
    path = write(tmp_path, with_lines(VALID, {2: "course_id: no"}))
    assert error_of(path) == (
        f"{path}:2: course_id: expected a name of 1-64 letters, digits, '-' or '_', found false (a boolean); "
        "YAML reads unquoted yes/no/on/off/true/false as true or false, so put the value in quotes"
    )
    path = write(tmp_path, with_lines(VALID, {2: "course_id: 2026"}))
    assert error_of(path).endswith("found 2026 (a whole number); put the value in quotes to make it text")
    path = write(tmp_path, with_lines(VALID, {13: '  timeout_seconds: "30"'}))
    assert error_of(path).endswith("found '30' (a string); remove the quotes to make it a number")
    path = write(tmp_path, with_lines(VALID, {3: "seed: 20261123.0"}))
    assert error_of(path).endswith(
        "found 20261123 (a decimal number); write it without the decimal point, 20261123"
    )
    path = write(tmp_path, with_lines(VALID, {7: "    notebooks: [backprop.py]"}))
    assert error_of(path) == (
        f"{path}:7: assignments[0].notebooks[0]: expected a name of 1-64 letters, digits, "
        "'-' or '_', found 'backprop.py' (a string); write just the name, 'backprop'"
    )


def test_value_out_of_range(tmp_path):
    path = write(tmp_path, with_lines(VALID, {13: "  memory_mb: 128"}))
    assert error_of(path) == (
        f"{path}:13: grading.memory_mb: expected a whole number from 256 to 65536, found 128 (a whole number)"
    )
    path = write(tmp_path, with_lines(VALID, {3: "seed: -1"}))
    assert error_of(path).endswith(
        "seed: expected a whole number from 0 to 4294967295, found -1 (a whole number)"
    )
    path = write(tmp_path, with_lines(VALID, {9: "      add_gate: 0"}))
    assert error_of(path) == (
        f"{path}:9: assignments[0].points.add_gate: expected a number greater than 0 "
        "and at most 1000, found 0 (a whole number)"
    )
    path = write(tmp_path, with_lines(VALID, {11: "  gradient_rel_error: .inf"}))
    assert error_of(path).endswith(
        "tolerances.gradient_rel_error: expected a number greater than 0 and at most "
        "0.01, found inf (a decimal number)"
    )


def test_empty_notebook_list(tmp_path):
    text = VALID.replace("    notebooks: [backprop]", "    notebooks: []")
    path = write(tmp_path, "\n" * 5 + text)  # the notebooks line becomes line 12
    assert (
        error_of(path)
        == f"{path}:12: assignments[0].notebooks: expected a non-empty list of names, found an empty list"
    )


def test_bad_enum_value_lists_the_allowed_ones(tmp_path):
    path = write(tmp_path, with_lines(VALID, {4: "randomization: per-class"}))
    assert error_of(path) == (
        f"{path}:4: randomization: expected one of 'per-course', 'per-student', found 'per-class' (a string)"
    )


def test_duplicate_assignment_names(tmp_path):
    path = write(
        tmp_path, VALID.replace("tolerances:", "  - name: backprop\n    notebooks: [other]\ntolerances:")
    )
    assert error_of(path) == (
        f"{path}:10: assignments[1].name: duplicate assignment name 'backprop' "
        "(first at assignments[0].name, line 6); assignment names must be unique"
    )


def test_duplicate_notebook_names(tmp_path):
    path = write(tmp_path, with_lines(VALID, {7: "    notebooks: [backprop, intro, backprop]"}))
    assert error_of(path) == (
        f"{path}:7: assignments[0].notebooks[2]: duplicate notebook 'backprop' "
        "(first at assignments[0].notebooks[0], line 7); notebooks must be unique"
    )


def test_duplicates_are_reported_even_beside_other_errors_in_the_same_items(tmp_path):
    path = write(
        tmp_path,
        VALID.replace(
            "tolerances:", "  - name: backprop\n    notebooks: [x.py, y, y]\n  - notebooks: [z]\ntolerances:"
        ),
    )
    assert problem_lines(path) == [
        f"{path}:10: assignments[1].name: duplicate assignment name 'backprop' "
        "(first at assignments[0].name, line 6); assignment names must be unique",
        f"{path}:11: assignments[1].notebooks[0]: expected a name of 1-64 letters, digits, '-' or '_', "
        "found 'x.py' (a string); write just the name, 'x'",
        f"{path}:11: assignments[1].notebooks[2]: duplicate notebook 'y' "
        "(first at assignments[1].notebooks[1], line 11); notebooks must be unique",
        f"{path}:12: assignments[2].name: missing required key 'name' "
        "(expected a name of 1-64 letters, digits, '-' or '_')",
    ]


def test_duplicate_yaml_keys_are_detected(tmp_path):
    path = write(tmp_path, VALID + "seed: 7\n")
    assert error_of(path) == (
        f"{path}:14: seed: duplicate key 'seed' (first at line 3); "
        "YAML would silently keep only the last one, so remove one of them"
    )
    path = write(tmp_path, VALID.replace("      add_gate: 4", "      add_gate: 4\n      add_gate: 5"))
    assert error_of(path).startswith(
        f"{path}:10: assignments[0].points.add_gate: duplicate key 'add_gate' (first at line 9)"
    )


def test_other_validation_errors_are_located_too(tmp_path):
    path = write(tmp_path, with_lines(VALID, {2: "course_id: cs231n backprop"}))
    assert error_of(path) == (
        f"{path}:2: course_id: expected a name of 1-64 letters, digits, '-' or '_', "
        "found 'cs231n backprop' (a string)"
    )
    path = write(tmp_path, with_lines(VALID, {9: "      2nd_gate: 4"}))
    assert error_of(path) == (
        f"{path}:9: assignments[0].points.2nd_gate: invalid key '2nd_gate': expected an "
        "exercise id (1-64 letters, digits or '_', not starting with a digit)"
    )
    path = write(
        tmp_path, VALID.replace("tolerances:\n", "tolerances:\n  hand_answer_abs: 0\n  hand_answer_rel: 0\n")
    )
    assert error_of(path) == (
        f"{path}:10: tolerances: hand_answer_abs and hand_answer_rel are both 0, so a hand "
        "answer would have to match to the last bit; set at least one above 0"
    )
    path = write(tmp_path, with_lines(VALID, {3: "seed: !!python/name:os.system 1"}))
    assert error_of(path) == (
        f"{path}:3:7: seed: expected a value without a YAML tag, found the tag "
        "'!!python/name:os.system', which course.yaml does not read here; remove the tag"
    )
    path = write(tmp_path, "a: &x [1, *x]\n")
    assert error_of(path) == f"{path}:1: a[1]: a YAML alias refers to the value that contains it"


UNTAGGED = "expected a value without a YAML tag, found the tag {}, which course.yaml does not read here; remove the tag"
DATE = "a date (like 2024-01-31) or a date and time (like 2024-01-31 12:00:00)"
BAD_TAGS = [  # (line of VALID, what it becomes, the key path, the message)
    (
        3,
        "seed: !!timestamp nope",
        "seed",
        f"expected {DATE} after the YAML tag '!!timestamp', found 'nope'; fix the value or remove the tag",
    ),
    (
        3,
        "seed: !!timestamp 2024-13-45",
        "seed",
        f"expected {DATE} after the YAML tag '!!timestamp', found '2024-13-45'; fix the value or remove the tag",
    ),
    (
        3,
        "seed: !!int abc",
        "seed",
        "expected a whole number after the YAML tag '!!int', found 'abc'; fix the value or remove the tag",
    ),
    (
        11,
        "  gradient_rel_error: !!float x",
        "tolerances.gradient_rel_error",
        "expected a number after the YAML tag '!!float', found 'x'; fix the value or remove the tag",
    ),
    (
        13,
        "  timeout_seconds: !!bool maybe",
        "grading.timeout_seconds",
        "expected true or false after the YAML tag '!!bool', found 'maybe'; fix the value or remove the tag",
    ),
    (
        6,
        "  - name: !!binary 가",
        "assignments[0].name",
        "expected base64-encoded data after the YAML tag '!!binary', found '가'; fix the value or remove the tag",
    ),
    (3, "seed: !!python/object:os.system {}", "seed", UNTAGGED.format("'!!python/object:os.system'")),
    (3, "seed: !!set", "seed", UNTAGGED.format("'!!set'")),
    (3, "seed: !foo bar", "seed", UNTAGGED.format("'!foo'")),
    (7, "    notebooks: !!omap [1]", "assignments[0].notebooks", UNTAGGED.format("'!!omap'")),
    (7, "    notebooks: !foo [backprop]", "assignments[0].notebooks", UNTAGGED.format("'!foo'")),
    (9, "      add_gate: !!set {4}", "assignments[0].points.add_gate", UNTAGGED.format("'!!set'")),
    (7, "    notebooks: !!str [backprop]", "assignments[0].notebooks", UNTAGGED.format("'!!str'")),
    # No tag, but written like a date or a number, which YAML 1.1 then cannot make one of.
    (
        3,
        "seed: 2024-13-45",
        "seed",
        f"YAML reads '2024-13-45' as {DATE}, but it is not a valid one; fix it, "
        "or put it in quotes to make it text",
    ),
    (
        13,
        "  timeout_seconds: 0x_",
        "grading.timeout_seconds",
        "YAML reads '0x_' as a whole number, but it is not a valid one; fix it, or put it in quotes to make it text",
    ),
]


@pytest.mark.parametrize("number, line, key, message", BAD_TAGS, ids=[case[1].strip() for case in BAD_TAGS])
def test_a_value_its_yaml_tag_cannot_make_is_one_located_problem(tmp_path, number, line, key, message):
    """A value with a tag PyYAML has no constructor for, or one its constructor fails on (it raises
    ValueError, KeyError or AttributeError, not a YAMLError), is told at its line and column (the
    tag's) with its key path; the schema's complaint about the unread value is not added to it."""
    path = write(tmp_path, with_lines(VALID, {number: line}))
    column = line.index(": ") + 3
    assert error_of(path) == f"{path}:{number}:{column}: {key}: {message}"


def test_tags_that_fit_their_value_still_read_and_odd_keys_are_told(tmp_path):
    text = with_lines(
        VALID,
        {3: "seed: !!int 0x10", 11: "  gradient_rel_error: !!float 1e-5", 13: "  timeout_seconds: !!int 30"},
    )
    course = load_course(write(tmp_path, text))
    assert (course.seed, course.tolerances.gradient_rel_error, course.grading.timeout_seconds) == (
        16,
        1e-5,
        30,
    )
    path = write(tmp_path, with_lines(VALID, {2: "course_id: !!binary ###"}))  # base64 of nothing: b""
    assert error_of(path) == (
        f"{path}:2: course_id: expected a name of 1-64 letters, digits, '-' or '_', found binary data"
    )
    path = write(tmp_path, with_lines(VALID, {9: "      !foo add_gate: 4"}))
    assert error_of(path) == f"{path}:9: assignments[0].points: every key must be a plain name, like 'seed:'"
    path = write(tmp_path, with_lines(VALID, {3: "seed: &s !!int abc", 4: "randomization: *s"}))
    assert problem_lines(path) == [  # an alias to it is told where the value is, under its own key
        f"{path}:3:7: randomization: expected a whole number after the YAML tag '!!int', found 'abc'; "
        "fix the value or remove the tag",
        f"{path}:3:7: seed: expected a whole number after the YAML tag '!!int', found 'abc'; "
        "fix the value or remove the tag",
    ]


@pytest.mark.slow  # some 4 s of CPU: check-config as a process (the fast lane keeps what costs less than 4 s)
def test_check_config_tells_every_bad_tag_by_file_line_and_key(tmp_path):
    """check-config on a course.yaml with several values its tags cannot make: exit status 1, one
    line each (file:line:column: key: message), no traceback; the repository's course.yaml passes."""
    path = write(
        tmp_path,
        with_lines(
            VALID,
            {
                3: "seed: !!timestamp nope",
                7: "    notebooks: !foo [backprop]",
                11: "  gradient_rel_error: !!float x",
                13: "  timeout_seconds: 0x_",
            },
        ),
    )
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr
    for number, key in (
        (3, "seed"),
        (7, "assignments[0].notebooks"),
        (11, "tolerances.gradient_rel_error"),
        (13, "grading.timeout_seconds"),
    ):
        assert re.search(
            rf"^(Error: )?{re.escape(str(path))}:{number}:\d+: {re.escape(key)}: (expected|YAML reads) ",
            done.stderr,
            re.M,
        ), done.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "check-config", "--config", str(REPO_COURSE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ok.returncode == 0 and ": OK: course cs231n-backprop" in ok.stdout, ok.stderr


def test_several_errors_are_all_reported_one_a_line_in_file_order(tmp_path):
    path = write(
        tmp_path,
        """\
        course_id: cs231n-backprop
        seed: abc
        randomization: per-class
        assignments:
          - name: backprop
            notebooks: []
        tolerances:
          hand_anser_abs: 0.1
        grading:
          memory_mb: 128
        """,
    )
    assert problem_lines(path) == [
        f"{path}:2: seed: expected a whole number from 0 to 4294967295, found 'abc' (a string)",
        f"{path}:3: randomization: expected one of 'per-course', 'per-student', found 'per-class' (a string)",
        f"{path}:6: assignments[0].notebooks: expected a non-empty list of names, found an empty list",
        f"{path}:8: tolerances.hand_anser_abs: unknown key 'hand_anser_abs'; did you mean 'hand_answer_abs'?",
        f"{path}:10: grading.memory_mb: expected a whole number from 256 to 65536, found 128 (a whole number)",
    ]
    with pytest.raises(ConfigError) as info:
        load_course(path)
    assert [p.line for p in info.value.problems] == [2, 3, 6, 8, 10]
    assert info.value.problems[2].key == "assignments[0].notebooks"


def test_the_message_names_the_file_as_given(tmp_path, monkeypatch):
    write(tmp_path, with_lines(VALID, {3: "seed: abc"}))
    monkeypatch.chdir(tmp_path)
    assert error_of("course.yaml").startswith("course.yaml:3: seed: ")


# ---- accessors ----------------------------------------------------------------------
def test_unknown_assignment_suggests_the_closest(tmp_path):
    course = load_course(write(tmp_path, VALID))
    with pytest.raises(UnknownName) as info:
        course.assignment("backprob")
    assert isinstance(info.value, KeyError)
    assert (
        str(info.value)
        == f"{tmp_path / 'course.yaml'}: no assignment 'backprob' in this course; did you mean 'backprop'?"
    )


def test_points_for_checks_the_overrides_against_the_assignments_exercises(tmp_path):
    path = write(tmp_path, VALID)
    course = load_course(path)
    assert course.points_for("backprop", ["mul_gate", "add_gate"]) == {"add_gate": 4.0}
    with pytest.raises(ConfigError) as info:
        course.points_for("backprop", ["add_gates", "mul_gate"])
    assert str(info.value) == (
        f"{path}:9: assignments[0].points.add_gate: no exercise 'add_gate' in assignment "
        "'backprop' (notebooks: backprop); did you mean 'add_gates'?"
    )
    with pytest.raises(ConfigError, match=r"\(exercises: simple_by_hand, l2_by_hand\)$"):
        course.points_for(
            "backprop", ["simple_by_hand", "l2_by_hand", "simple_by_hand"]
        )  # none close: all listed


# ---- the seed -----------------------------------------------------------------------
def test_write_seed_changes_only_the_seed(tmp_path):
    path = write(tmp_path, VALID)
    course = write_seed(path, 42)
    assert course.seed == 42 and course == load_course(path)
    assert (
        course.model_dump() == with_seed(load_course(write(tmp_path, VALID, "other.yaml")), 42).model_dump()
    )
    old, new = VALID.splitlines(), path.read_text().splitlines()
    assert [(a, b) for a, b in zip(old, new) if a != b] == [
        ("seed: 20261123   # the course seed", "seed: 42   # the course seed")
    ]
    assert len(old) == len(new)


def test_write_seed_on_the_repository_file_preserves_comments(tmp_path):
    path = tmp_path / "course.yaml"
    original = REPO_COURSE.read_bytes()
    path.write_bytes(original)
    write_seed(path, 1)
    changed = [
        (a, b) for a, b in zip(original.decode().splitlines(), path.read_text().splitlines()) if a != b
    ]
    assert changed == [("seed: 20261123", "seed: 1")]
    write_seed(path, 20261123)
    assert path.read_bytes() == original


def test_write_seed_keeps_crlf_anchors_and_flow_style(tmp_path):
    path = tmp_path / "course.yaml"
    text = "course_id: c\r\nseed: &s 0x10  # hex\r\nassignments: [{name: a, notebooks: [n]}]\r\n"
    path.write_bytes(text.encode())
    assert load_course(path).seed == 16
    write_seed(path, 99)
    assert path.read_bytes() == text.replace("0x10", "99").encode()
    path.write_text("{course_id: c, seed: 5, assignments: [{name: a, notebooks: [n]}]}\n")
    write_seed(path, 123)
    assert path.read_text() == "{course_id: c, seed: 123, assignments: [{name: a, notebooks: [n]}]}\n"


def test_write_seed_refuses_bad_seeds_and_invalid_files_without_touching_them(tmp_path):
    path = write(tmp_path, VALID)
    with pytest.raises(ConfigError) as info:
        write_seed(path, 2**32)
    assert (
        str(info.value)
        == "seed: expected a whole number from 0 to 4294967295, found 4294967296 (a whole number)"
    )
    assert path.read_text() == VALID
    bad = write(tmp_path, with_lines(VALID, {13: "  memory_mb: 1"}), "bad.yaml")
    with pytest.raises(ConfigError, match=r"bad.yaml:13: grading.memory_mb: "):
        write_seed(bad, 1)
    assert bad.read_text() == with_lines(VALID, {13: "  memory_mb: 1"})


def test_with_seed_validates_and_keeps_the_rest(tmp_path):
    course = load_course(write(tmp_path, VALID))
    other = with_seed(course, 5)
    assert other.seed == 5 and course.seed == 20261123
    assert other.model_dump(exclude={"seed"}) == course.model_dump(exclude={"seed"})
    assert other.line_of("seed") == 3
    with pytest.raises(ConfigError, match="found 'x' \\(a string\\)"):
        with_seed(course, "x")


# ---- round trips --------------------------------------------------------------------
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(seed=st.integers(0, config.MAX_SEED))
def test_write_seed_round_trips(tmp_path_factory, seed):
    path = tmp_path_factory.mktemp("seed") / "course.yaml"
    path.write_text(VALID)
    assert write_seed(path, seed).seed == seed == load_course(path).seed
    assert write_seed(path, 20261123) == load_course(write(path.parent, VALID, "again.yaml"))
    assert path.read_text() == VALID


names = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
exercise_ids = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True)
assignments = st.builds(
    lambda name, notebooks, points: {"name": name, "notebooks": notebooks, "points": points},
    names,
    st.lists(names, min_size=1, max_size=3, unique=True),
    st.dictionaries(exercise_ids, st.floats(0.25, 1000, allow_nan=False), max_size=3),
)
courses = st.fixed_dictionaries(
    {
        "course_id": names,
        "seed": st.integers(0, config.MAX_SEED),
        "randomization": st.sampled_from(["per-course", "per-student"]),
        "assignments": st.lists(assignments, min_size=1, max_size=3, unique_by=lambda a: a["name"]),
        "tolerances": st.fixed_dictionaries(
            {"hand_answer_abs": st.floats(1e-9, 1), "gradient_rel_error": st.floats(1e-12, 1e-2)}
        ),
        "grading": st.fixed_dictionaries(
            {"memory_mb": st.integers(256, 65536), "require_sandbox": st.booleans()}
        ),
    }
)


@SETTINGS
@given(data=courses)
# A name that PyYAML's dumper leaves bare and the loader reads as a number (YAML 1.2's 1e5):
# this test once failed at random on such a course, written with yaml.safe_dump.
@example(
    data={
        "course_id": "1e5",
        "seed": 0,
        "randomization": "per-course",
        "assignments": [{"name": "0E0", "notebooks": ["2e-3"], "points": {}}],
        "tolerances": {"hand_answer_abs": 1e-9, "gradient_rel_error": 0.0078125},
        "grading": {"memory_mb": 256, "require_sandbox": False},
    }
)
def test_dump_then_load_round_trips(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("dump") / "course.yaml"
    expected = Course.model_validate(data)
    path.write_text(dump_course(expected))
    loaded = load_course(path)
    assert loaded == expected
    path.write_text(dump_course(loaded, flow=True))
    assert load_course(path) == expected


def test_a_name_that_reads_as_a_number_is_refused_with_the_way_out(tmp_path):
    # What PyYAML's own dumper writes for course_id "1e5": the kit reads YAML 1.2's numbers.
    path = write(tmp_path, VALID.replace("course_id: cs231n-backprop", "course_id: 1e5"))
    with pytest.raises(ConfigError, match=r"course_id: .*found 100000 .*put the value in quotes"):
        load_course(path)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_load_course_raises_nothing_but_config_error(tmp_path_factory, data):
    """Mangled versions of a valid file: a Course or a ConfigError naming the file, never a traceback."""
    text = VALID
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 6))
        insert = data.draw(
            st.sampled_from(["", ":", "-", " ", "\n", "[", "{", "'", "&a", "*a", "!!", "\t", "x", "0"])
        )
        text = text[:at] + insert + text[at + cut :]
    path = tmp_path_factory.mktemp("fuzz") / "course.yaml"
    path.write_text(text)
    try:
        load_course(path)
    except ConfigError as error:
        assert all(line.startswith(f"{path}") for line in str(error).splitlines())


# ---- documentation ------------------------------------------------------------------
def test_keys_markdown_documents_every_key():
    table = keys_markdown()
    rows = table.splitlines()
    assert rows[0] == "| Key | Type / allowed values | Default | Description |"
    documented = {re.match(r"\| `([^`]+)`", row).group(1) for row in rows[2:]}

    def keys(model, prefix=""):
        for name, field in model.model_fields.items():
            yield prefix + name
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                yield from keys(annotation, f"{prefix}{name}.")
            elif getattr(annotation, "__origin__", None) is list:
                (item,) = annotation.__args__
                if isinstance(item, type) and issubclass(item, BaseModel):
                    yield from keys(item, f"{prefix}{name}[].")

    assert (
        set(keys(Course)) | {"assignments[].points.<exercise id>", "exercises[].values.<name>"} == documented
    )
    for row in rows[2:]:
        assert row.count(" | ") == 3 and row.rstrip().endswith("|")
        assert row.split(" | ")[3].strip(" |"), f"no description: {row}"
    assert "| `grading.memory_mb` | a whole number from 256 to 65536 | `2048` |" in table
    assert "| `randomization` | one of `per-course`, `per-student` | `per-student` |" in table


def test_under_ci_property_tests_draw_the_same_examples_and_keep_no_database():
    # conftest.py imports hypothesis_profiles first, before any test module builds its @settings.
    assert "import hypothesis_profiles" in (Path(__file__).parent / "conftest.py").read_text()
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import hypothesis_profiles; from hypothesis import settings; "
            "print(settings.default.derandomize, settings.default.database)",
        ],
        cwd=Path(__file__).parent,
        env={**os.environ, "CI": "true"},
        capture_output=True,
        text=True,
    )
    assert shown.stdout.split() == ["True", "None"], shown.stderr


def test_a_number_with_one_bound_is_described_by_it():
    """A field with only a lower or only an upper bound (found by mypy: the other bound, None, was
    unpacked and raised a TypeError)."""
    from autograder.config.describe import _range

    assert _range({"minimum": 0}) == "at least 0"
    assert _range({"exclusiveMaximum": 1}) == "less than 1"
    assert _range({"minimum": 0, "maximum": 10}) == "from 0 to 10"
