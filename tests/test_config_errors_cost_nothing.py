"""Configuration errors never cost graded work (issue 17, item 2): a bad course.yaml stops
every command that writes grades, feedback or a release before anything is deleted or
written, with the kit's one line per problem and no traceback; formgrader's own call gets
the message in its log; and all of course.yaml's problems are reported in one pass."""

import hashlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from kit_course import kit_course
from lanes import lane

from autograder import demo
from autograder.config import ConfigError, load_course
from autograder.course import REPO_ROOT, load_and_build, nbgrader_environment

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

BROKEN = "timeout_seconds: -1"  # what replaces grading.timeout_seconds' line
EXPECTED_LINE = re.compile(r"course\.yaml:\d+: grading\.timeout_seconds: expected a number greater than 0")


def broken_copy(tmp_path, *replacements):
    text = (REPO_ROOT / "course.yaml").read_text()
    for pattern, replacement in replacements:
        text, n = re.subn(pattern, replacement, text, flags=re.M)
        assert n == 1, pattern
    path = tmp_path / "course.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow  # some 2.5 s of CPU: the CLI started as a process (the fast lane keeps tests under 2 s: docs/testing.md)
def test_every_problem_of_course_yaml_is_reported_in_one_pass(tmp_path):
    path = broken_copy(
        tmp_path,
        (r"timeout_seconds: 10$", "timeout_seconds: -1\n  timeot: 3"),
        (r"points: \{\}$", "points: {add_gat: 4}\n  - name: second\n    notebooks: [backprp]"),
    )
    with pytest.raises(ConfigError) as raised:
        load_and_build(path)
    keys = [p.key for p in raised.value.problems]
    assert keys == [
        "assignments[0].points.add_gat",
        "assignments[1].notebooks[0]",
        "grading.timeout_seconds",
        "grading.timeot",
    ], keys
    lines = [p.line for p in raised.value.problems]
    assert lines == sorted(lines) and None not in lines
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    for key in keys:
        assert f": {key}: " in done.stderr, done.stderr
    assert "did you mean 'add_gate'?" in done.stderr and "backprp" in done.stderr


def test_a_valid_course_yaml_still_builds(tmp_path):
    course, built = load_and_build(REPO_ROOT / "course.yaml")
    assert course == load_course(REPO_ROOT / "course.yaml") and [a.name for a, _ in built] == [
        "backprop",
        "network",
    ]


def tree_digest(folder):
    """Names and bytes of everything under folder: equal digests, nothing changed."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
@lane("e2e")
def graded(tmp_path_factory):
    """A course with ada graded and her feedback made, then its course.yaml broken."""
    # Its own grading (one student), not the shared class's: the tests break this course's
    # course.yaml and compare digests of its whole tree.
    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    course_dir = kit_course(tmp_path_factory, tmp_path_factory.mktemp("broken") / "course")
    source = nbformat.read(course_dir / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(course_dir / "release" / "backprop" / "backprop.ipynb", as_version=4)
    folder = course_dir / "submitted" / "ada" / "backprop"
    folder.mkdir(parents=True)
    nbformat.write(
        simulated_class.fill(release, simulated_class.reference_answers(source)), folder / "backprop.ipynb"
    )
    for command in ("autograde", "generate_feedback"):
        done = demo.nbgrader(course_dir, command, "backprop")
        assert done.returncode == 0, done.stderr[-2000:]
    text = (course_dir / "course.yaml").read_text()
    (course_dir / "course.yaml").write_text(re.sub(r"(?m)timeout_seconds: 10$", BROKEN, text))
    return course_dir


@pytest.mark.parametrize(
    "command",
    [
        ("autograde", "backprop", "--student", "ada", "--force"),  # --force would delete autograded/ada first
        ("autograde", "backprop", "--force"),
        ("generate_feedback", "backprop", "--force"),
        ("generate_assignment", "backprop", "--force"),
    ],
)
def test_a_bad_course_yaml_stops_nbgrader_before_it_deletes_or_writes_anything(graded, command):
    before = {name: tree_digest(graded / name) for name in ("autograded", "feedback", "release", "source")}
    gradebook = (graded / "gradebook.db").read_bytes()
    done = demo.nbgrader(graded, *command)
    log = done.stdout + done.stderr
    assert done.returncode == 1, log
    assert EXPECTED_LINE.search(log), log
    assert "Traceback" not in log
    assert {name: tree_digest(graded / name) for name in before} == before
    assert (graded / "autograded" / "ada" / "backprop" / "backprop.ipynb").is_file()
    assert (graded / "gradebook.db").read_bytes() == gradebook


def test_formgraders_call_gets_the_message_and_its_process_goes_on(graded):
    """formgrader runs autograde in its own process through NbGraderAPI (capture_log): the
    call fails with the kit's line in the log it shows, and the server process goes on."""
    script = textwrap.dedent("""
        import json, sys
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader
        config = PyFileConfigLoader("nbgrader_config.py", path=".").load_config()
        api = NbGraderAPI(CourseDirectory(config=config), config=config)
        result = api.autograde("backprop", "ada", force=True)
        print(json.dumps({"success": result["success"], "log": result.get("log", "")}))
        print("still running")
    """)
    before = tree_digest(graded / "autograded")
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=graded, capture_output=True, text=True, env=nbgrader_environment()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    result = json.loads(done.stdout.splitlines()[0])
    assert result["success"] is False and EXPECTED_LINE.search(result["log"]), result
    assert done.stdout.splitlines()[1] == "still running"
    assert tree_digest(graded / "autograded") == before


def test_the_kits_own_commands_stop_with_the_same_line(graded):
    for args in (
        ("autograde", "backprop", "--force"),
        ("report", "backprop"),
        ("gradescope", "backprop", "--out", "x.zip"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "autograder.cli", *args],
            cwd=graded,
            capture_output=True,
            text=True,
            env=nbgrader_environment(),
        )
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert EXPECTED_LINE.search(done.stderr) and "Traceback" not in done.stderr, (args, done.stderr)
    assert not (graded / "x.zip").exists()
