"""What an instructor reads while setting a course up speaks the course's language (issue 20,
items 2 and 3): course.yaml's errors (still naming the file, the line and the key, which stay
English), `backprop-kit init`'s progress lines and refusals, and `backprop-kit hub`'s
(its layout problems in Korean: tests/test_hub_setup.py)."""

import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from autograder.bpkit import i18n
from autograder.config import ConfigError, load_course
from autograder.course import REPO_ROOT, init

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def course_yaml(tmp_path, language, *replacements):
    text = re.sub(r"(?m)^language:.*$", f"language: {language}", (REPO_ROOT / "course.yaml").read_text())
    for pattern, replacement in replacements:
        text, n = re.subn(pattern, replacement, text, flags=re.M)
        assert n == 1, pattern
    path = tmp_path / "course.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def line_of(path, pattern):
    """The 1-based number of the only line of `path` matching `pattern`."""
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(pattern, line)]
    assert len(lines) == 1, (pattern, lines)
    return lines[0]


def cli(*args, cwd):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANG", "LC_ALL", "LANGUAGE", "BACKPROP_KIT_LANGUAGE")
    }
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
    )


# ---------------------------------------------------------------- init


def test_init_says_its_progress_in_the_course_language(tmp_path):
    lines = []
    built = SimpleNamespace(returncode=0, stderr="")
    for language in ("en", "ko"):
        course = load_course(course_yaml(tmp_path / language, language))
        with i18n.speaking(language):
            init(
                tmp_path / language / "course",
                course,
                tmp_path / language / "course.yaml",
                run=lambda *args, **kwargs: built,
                log=lines.append,
            )
    english, english_network, korean, korean_network = lines  # the kit's two assignments, each language
    assert english == "nbgrader generate_assignment backprop: making the release notebooks"
    assert english_network == "nbgrader generate_assignment network: making the release notebooks"
    assert korean == "nbgrader generate_assignment backprop: 배포할 노트북을 만드는 중"
    assert korean_network == "nbgrader generate_assignment network: 배포할 노트북을 만드는 중"


def test_init_refusing_a_course_with_student_work_says_so_in_korean(tmp_path):
    course = tmp_path / "course"
    (course / "submitted" / "ann").mkdir(parents=True)
    course_yaml(tmp_path, "ko")
    done = cli("init", str(course), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{course}에는 이미 학생의 작업이 있습니다 (submitted/)" in done.stderr, done.stderr


# ---------------------------------------------------------------- the hub


def test_hub_outside_a_korean_course_directory_says_so_in_korean(tmp_path):
    course_yaml(tmp_path, "ko")  # a course.yaml, but no nbgrader_config.py: init never ran here
    done = cli("hub", "--out", str(tmp_path / "hub"), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{tmp_path}은(는) `backprop-kit init`으로 만든 강의가 아닙니다" in done.stderr, done.stderr


# ---------------------------------------------------------------- the CLI's own lines


@pytest.mark.slow  # some 5 s of CPU: the CLI as processes (the fast lane keeps what costs less than 4 s)
def test_starter_and_show_values_refusals_speak_the_course_language(tmp_path):
    """`starter` over an existing Korean course.yaml refuses in Korean and leaves the file
    byte for byte; `show-values --variants` of a non-hand exercise names it and the choices."""
    path = course_yaml(tmp_path, "ko")
    before = path.read_bytes()
    done = cli("starter", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "course.yaml이(가) 이미 있어 그대로 두었습니다" in done.stderr, done.stderr
    assert path.read_bytes() == before
    done = cli("show-values", "--variants", "nope", cwd=tmp_path)
    assert done.returncode == 1 and "--variants nope: 손으로 푸는 문제가 아닙니다" in done.stderr, done.stderr
    english = course_yaml(tmp_path / "en", "en")
    done = cli("starter", cwd=english.parent)
    assert (
        done.returncode == 1
        and "exists; it was left as it is" in done.stderr
        and not HANGUL.search(done.stderr)
    )


@pytest.mark.slow  # some 3.6 s of CPU: the CLI started as processes (the fast lane keeps tests under 2 s: docs/testing.md)
def test_a_broken_korean_course_yaml_is_told_in_korean_naming_file_and_line(tmp_path):
    """A course.yaml that says `language: ko` but is not valid YAML (a tab indent on line 4):
    check-config names the file and the line, in Korean; PyYAML's own words stay as they are.
    The same file saying `language: en` gets the English message."""
    for language, expected in (("ko", "올바른 YAML이 아닙니다: "), ("en", "not valid YAML: ")):
        folder = tmp_path / language
        folder.mkdir()
        (folder / "course.yaml").write_text(f"language: {language}\ncourse_id: cs231n\nseed:\n\t1\n")
        done = cli("check-config", "--config", "course.yaml", cwd=folder)
        assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
        output = done.stdout + done.stderr
        assert re.search(r"course\.yaml:4:\d+: " + re.escape(expected), output), output
        assert ("들여쓰기는 공백으로 하세요" in output) == (language == "ko"), output
        assert bool(HANGUL.search(output)) == (language == "ko"), output


# ---------------------------------------------------------------- course.yaml's schema problems

SCHEMA_PROBLEMS = (
    (r"^seed: 20261123$", "sede: 20261123"),  # unknown key, close to seed; and seed missing
    (r"^  timeout_seconds: 10$", "  timeout_seconds: '10'"),  # a string where a number goes
    (r"^    notebooks: \[backprop\]$", "    notebooks: [backprop, backprop]"),  # a repeated name
    (r"^  memory_mb: 2048$", "  memory_mb: 2048\n  memory_mb: 4096"),
)  # a repeated key
# English that must not be left in a Korean line (the schema's words and the messages around them).
ENGLISH_WORDS = re.compile(
    r"did you mean|unknown key|missing required|expected|found|a whole number|a number|"
    r"greater than|at most|a string|remove the quotes|duplicate|must be unique|line \d|"
    r"YAML would"
)


@pytest.mark.slow  # some 3.4 s of CPU: the CLI started as processes (the fast lane keeps tests under 2 s: docs/testing.md)
def test_course_yaml_schema_problems_are_told_in_the_course_language(tmp_path):
    """check-config on a course.yaml declaring `language: ko` with an unknown key (close to `seed`),
    the missing `seed`, a quoted number, a repeated notebook and a repeated key: one Korean line
    each, naming the file, the line and the key path as they are, with no English phrase left in
    it; the same file declaring `language: en` gets the English lines."""
    said = {}
    for language in ("ko", "en"):
        path = course_yaml(tmp_path / language, language, *SCHEMA_PROBLEMS)
        done = cli("check-config", "--config", "course.yaml", cwd=path.parent)
        assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr
        # file:line: key path: message (the first line after click's "Error: ", Korean "오류: ")
        found = [re.search(r"(course\.yaml:\d+): (\S+): (.*)$", line) for line in done.stderr.splitlines()]
        said[language] = {m[2]: (m[1], m[3]) for m in found if m}
        assert set(said[language]) == {
            "seed",
            "sede",
            "assignments[0].notebooks[1]",
            "grading.timeout_seconds",
            "grading.memory_mb",
        }, done.stderr
    korean, english = (
        {key: message for key, (_, message) in said[language].items()} for language in ("ko", "en")
    )
    for key, (where, message) in said["ko"].items():
        assert where == said["en"][key][0], (key, where, said["en"][key])  # the same file and line
        assert HANGUL.search(message) and not ENGLISH_WORDS.search(message), (key, message)
        assert not HANGUL.search(english[key]), english[key]
    assert "'sede'" in korean["sede"] and "'seed'을(를) 뜻했나요?" in korean["sede"], korean["sede"]
    assert "did you mean 'seed'?" in english["sede"]
    assert "필수 키 'seed'" in korean["seed"] and "0 이상 4294967295 이하인 정수" in korean["seed"], korean[
        "seed"
    ]
    assert "missing required key 'seed' (expected a whole number from 0 to 4294967295)" in english["seed"]
    assert (
        "0 초과 3600 이하인 숫자이어야 하는데 '10' (문자열)입니다. 숫자로 만들려면 따옴표를 빼세요"
        in korean["grading.timeout_seconds"]
    ), korean["grading.timeout_seconds"]
    assert (
        "found '10' (a string); remove the quotes to make it a number" in english["grading.timeout_seconds"]
    )
    # The lines the messages must name, read from the file as the test wrote it (course.yaml's
    # comments move them whenever the kit's own course.yaml is edited).
    notebooks_line, memory_line = (
        line_of(path, pattern) for pattern in (r"notebooks: \[backprop, ", r"memory_mb: 2048")
    )
    assert (
        f"노트북 'backprop'이(가) 중복됩니다 (처음은 assignments[0].notebooks[0], {notebooks_line}번째 줄)"
        in korean["assignments[0].notebooks[1]"]
    ), korean["assignments[0].notebooks[1]"]
    assert f"키 'memory_mb'이(가) 중복됩니다 (처음은 {memory_line}번째 줄)" in korean["grading.memory_mb"]
    assert f"duplicate key 'memory_mb' (first at line {memory_line})" in english["grading.memory_mb"]


def test_a_value_its_yaml_tag_cannot_make_is_told_in_korean(tmp_path):
    """check-config on a `language: ko` course.yaml whose seed is `!!timestamp nope` (a tag
    PyYAML's constructor fails on) and whose notebooks carry a tag it has no constructor for:
    Korean lines naming the file, the line and column, and the key path; no traceback."""
    path = course_yaml(
        tmp_path,
        "ko",
        (r"^seed: 20261123$", "seed: !!timestamp nope"),
        (r"^    notebooks: \[backprop\]$", "    notebooks: !foo [backprop]"),
    )
    lines = path.read_text().splitlines()
    seed, notebooks = (
        lines.index("seed: !!timestamp nope") + 1,
        lines.index("    notebooks: !foo [backprop]") + 1,
    )
    done = cli("check-config", "--config", "course.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr
    said = {m[1]: m[2] for m in re.finditer(r"(course\.yaml:\d+:\d+: \S+): (.*)$", done.stderr, re.M)}
    assert set(said) == {
        f"course.yaml:{seed}:7: seed",
        f"course.yaml:{notebooks}:16: assignments[0].notebooks",
    }, done.stderr
    assert said[f"course.yaml:{seed}:7: seed"] == (
        "YAML 태그 '!!timestamp'의 값은 날짜(예: 2024-01-31)나 날짜와 시각(예: 2024-01-31 12:00:00)이어야 하는데 "
        "'nope'입니다. 값을 고치거나 태그를 지우세요"
    )
    assert said[f"course.yaml:{notebooks}:16: assignments[0].notebooks"].startswith(
        "YAML 태그가 없는 값이어야 하는데 태그 '!foo'이(가) 붙어 있습니다"
    )
    assert not any(ENGLISH_WORDS.search(message) for message in said.values()), said


def test_the_docs_keys_table_stays_english_while_the_kit_speaks_korean():
    """The schema's words are English in the docs' table (config/docs.py) whatever language is in
    force, Korean only in an error message."""
    from autograder.config import keys_markdown

    english = keys_markdown()
    with i18n.speaking("ko"):
        assert keys_markdown() == english
        try:
            load_course(REPO_ROOT / "course.yaml").assignment("backprp")
        except ConfigError as error:
            said = str(error)
    assert not HANGUL.search(english) and "a whole number from 0 to 4294967295" in english
    assert "이 강의에는 과제 'backprp'이(가) 없습니다. 'backprop'을(를) 뜻했나요?" in said, said


# ---------------------------------------------------------------- the hub's roster and student ids


def test_a_bad_roster_line_and_student_id_are_told_in_korean(tmp_path):
    """A roster whose third line holds an id with a space: the file and its line, then why, all in
    Korean; the hub's refusal of such an account says why in Korean too (no English inside)."""
    import pytest

    from autograder.hub import names, roster

    csv = tmp_path / "roster.csv"
    csv.write_text("id,first_name\nann,Ann\nbob smith,Bob\n")
    for language in ("ko", "en"):
        with i18n.speaking(language), pytest.raises(roster.RosterError) as refused:
            roster.read_csv(csv)
        said = str(refused.value)
        if language == "ko":
            assert said == (
                f"{csv}: 3번째 줄: 'bob smith'은(는) 올바른 nbgrader 학생 ID가 아닙니다: 공백이(가) 들어 있습니다. "
                "글자, 숫자와 _ . @ - 만으로 된 학생의 로그인 이름을 쓰세요."
            ), said
        else:
            assert said == (
                f"{csv}: line 3: 'bob smith' is not a valid nbgrader student id: it contains a space. "
                "Use the student's login name with letters, digits and _ . @ - only."
            ), said
    (tmp_path / "header.csv").write_text("name,email\nann,a@x\n")
    with i18n.speaking("ko"), pytest.raises(roster.RosterError) as refused:
        roster.read_csv(tmp_path / "header.csv")
    assert "1번째 줄: 명단에는 'id' 열이 있어야 합니다" in str(
        refused.value
    ) and "실제 열: name, email" in str(refused.value)
    with i18n.speaking("ko"):
        assert (
            names.problem("a+b")
            == "'+' (nbgrader의 exchange는 제출물 이름을 '+'로 나눕니다)이(가) 들어 있습니다"
        )
        assert names.problem("x" * 70) == "70자입니다 (최대 64자)"
        assert names.problem(".ann") == "'.'(으)로 시작합니다 (글자, 숫자, '_' 중 하나로 시작해야 합니다)"


def test_add_student_without_a_hub_says_so_in_the_course_language(tmp_path):
    course_yaml(tmp_path, "ko")
    (tmp_path / "nohub").mkdir()
    done = cli("add-student", "ann", "--hub", "nohub", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "nohub에는 `backprop-kit hub --out nohub`로 쓴 hub가 없습니다: " in done.stderr, done.stderr
    english = course_yaml(tmp_path / "en", "en")
    (english.parent / "nohub").mkdir()
    done = cli("add-student", "ann", "--hub", "nohub", cwd=english.parent)
    assert "nohub holds no hub written by `backprop-kit hub --out nohub`: " in done.stderr, done.stderr


def test_a_seed_that_cannot_be_rewritten_alone_is_refused_in_korean(tmp_path, monkeypatch):
    """write_seed checks the rewritten file changed the seed only; when it did not (here the write
    also changes the timeout), the file is put back and the refusal is in the course's language."""
    import pytest

    from autograder.config import loading

    path = course_yaml(tmp_path, "ko")
    before = path.read_text()
    write = loading._write_atomically
    monkeypatch.setattr(
        loading,
        "_write_atomically",
        lambda target, text: write(
            target, text if text == before else text.replace("timeout_seconds: 10", "timeout_seconds: 11")
        ),
    )
    with i18n.speaking("ko"), pytest.raises(ConfigError) as refused:
        loading.write_seed(path, 7)
    assert "다른 곳을 바꾸지 않고는 seed를 다시 쓸 수 없었습니다" in str(refused.value), str(refused.value)
    assert path.read_text() == before
