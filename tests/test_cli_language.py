"""The command line's --help and click's own words speak the course's language (issue 20, item 1):
decided before click parses, from --config's course.yaml, else ./course.yaml, else the
environment; a course.yaml too broken to load still gets help. Run as a real process."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.cli_language import (
    config_argument,
    declared_language,
    environment_language,
    language_before_parsing,
)

REPO = Path(__file__).resolve().parent.parent
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def cli(*args, cwd, **environment):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANG", "LC_ALL", "LANGUAGE", "BACKPROP_KIT_LANGUAGE")
    }
    env.update({"LANG": "C.UTF-8", "PYTHONPATH": str(REPO), **environment})
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def course_in(folder: Path, language: str | None) -> Path:
    text = (REPO / "course.yaml").read_text()
    text = re.sub(r"(?m)^language:.*\n", "", text) + (f"language: {language}\n" if language else "")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.yaml").write_text(text)
    return folder / "course.yaml"


def assert_korean_help(done, *phrases):
    assert done.returncode == 0, done.stderr
    assert HANGUL.search(done.stdout) and "사용법:" in done.stdout and "Usage:" not in done.stdout, (
        done.stdout
    )
    for phrase in phrases:
        assert phrase in done.stdout, done.stdout


def assert_english_help(done, *phrases):
    assert done.returncode == 0, done.stderr
    assert not HANGUL.search(done.stdout) and "Usage:" in done.stdout, done.stdout
    for phrase in phrases:
        assert phrase in done.stdout, done.stdout


def test_help_is_korean_in_a_korean_course_and_english_otherwise(tmp_path):
    course_in(tmp_path / "ko", "ko")
    course_in(tmp_path / "en", "en")
    (tmp_path / "none").mkdir()
    assert_korean_help(
        cli("--help", cwd=tmp_path / "ko"),
        "옵션:",
        "이 도움말을 보여 주고 끝냅니다.",
        "ASSIGNMENT의 모든 제출물을 병렬로 채점합니다.",
    )
    assert_korean_help(
        cli("autograde", "--help", cwd=tmp_path / "ko"),
        "이미 채점된 학생도 다시 채점합니다.",
        "[기본값: 코어 수]",
    )
    for english in (tmp_path / "en", tmp_path / "none"):
        assert_english_help(cli("--help", cwd=english), "Options:", "Grade every submission of ASSIGNMENT")
        assert_english_help(
            cli("autograde", "--help", cwd=english), "Regrade students who are already graded."
        )


def test_config_names_the_course_from_another_directory(tmp_path):
    korean = course_in(tmp_path / "ko", "ko")
    course_in(tmp_path / "en", "en")
    assert_korean_help(
        cli("check-config", "--help", "--config", str(korean), cwd=tmp_path / "en"), "course.yaml을 검사하고"
    )
    assert_korean_help(
        cli("show-values", f"--config={korean}", "--help", cwd=tmp_path / "en"), "기본값은 첫 과제입니다."
    )


def test_a_broken_course_yaml_still_gets_help_and_then_its_clear_error(tmp_path):
    course_yaml = course_in(tmp_path, "ko")
    course_yaml.write_text(course_yaml.read_text() + "seed: [unclosed\n")
    assert_korean_help(cli("check-config", "--help", cwd=tmp_path), "course.yaml을 검사하고")
    done = cli("check-config", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "course.yaml:" in done.stderr
    (tmp_path / "course.yaml").write_bytes(b"language: ko\n\xff\xfe")  # not UTF-8: English, never a traceback
    assert_english_help(cli("--help", cwd=tmp_path), "Options:")


def test_clicks_own_errors_are_korean(tmp_path):
    course_in(tmp_path, "ko")
    done = cli("autograde", "--forcee", cwd=tmp_path)
    assert done.returncode == 2 and "오류: '--forcee' 옵션은 없습니다." in done.stderr, done.stderr
    assert "'--force'을(를) 뜻했나요?" in done.stderr and "사용법:" in done.stderr
    done = cli("autograde", cwd=tmp_path)
    assert done.returncode == 2 and "인자가 없습니다" in done.stderr and "ASSIGNMENT" in done.stderr, (
        done.stderr
    )


def test_without_a_course_yaml_the_environment_decides(tmp_path):
    assert_korean_help(cli("--help", cwd=tmp_path, BACKPROP_KIT_LANGUAGE="ko"), "명령:")
    assert_korean_help(cli("--help", cwd=tmp_path, LANG="ko_KR.UTF-8"), "명령:")
    course_in(tmp_path, "en")
    assert_english_help(cli("--help", cwd=tmp_path, LANG="ko_KR.UTF-8"), "Commands:")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["check-config", "--config", "a.yaml"], "a.yaml"),
        (["--config=b.yaml"], "b.yaml"),
        (["check-config"], None),
        (["--", "--config", "c.yaml"], None),
        (["--config"], None),
    ],
)
def test_the_config_argument_is_found_as_click_reads_it(args, expected):
    assert config_argument(args) == expected


def test_the_language_key_is_read_without_yaml(tmp_path):
    path = tmp_path / "course.yaml"
    for text, expected in (
        ("language: ko\n", "ko"),
        ('language: "ko"  # 한국어\n', "ko"),
        ("language: xx\n", None),
        ("grading:\n  language: ko\n", None),
        ("", None),
    ):
        path.write_text(text)
        assert declared_language(path) == expected, text
    assert declared_language(tmp_path / "absent.yaml") is None
    assert environment_language({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}) is None  # LC_ALL wins, as in POSIX
    assert environment_language({"LANG": "ko_KR.UTF-8"}) == "ko"
    assert language_before_parsing([], cwd=tmp_path, environ={}) == "en"
