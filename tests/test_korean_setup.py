"""What an instructor reads while setting a course up speaks the course's language (issue 20,
items 2 and 3): course.yaml's errors (still naming the file, the line and the key, which stay
English), `backprop-kit init`'s progress lines and refusals, and `backprop-kit hub`'s
(its layout problems in Korean: tests/test_hub_setup.py)."""
import os
import re
import subprocess
import sys
from types import SimpleNamespace

from autograder.bpkit import i18n
from autograder.config import ConfigError, load_course
from autograder.course import REPO_ROOT, init, load_and_build

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


def cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LANGUAGE", "BACKPROP_KIT_LANGUAGE")}
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(REPO_ROOT)})


# ---------------------------------------------------------------- init

def test_init_says_its_progress_in_the_course_language(tmp_path):
    lines = []
    built = SimpleNamespace(returncode=0, stderr="")
    for language in ("en", "ko"):
        course = load_course(course_yaml(tmp_path / language, language))
        with i18n.speaking(language):
            init(tmp_path / language / "course", course, tmp_path / language / "course.yaml",
                 run=lambda *args, **kwargs: built, log=lines.append)
    english, korean = lines
    assert english == "nbgrader generate_assignment backprop: making the release notebooks"
    assert korean == "nbgrader generate_assignment backprop: 배포할 노트북을 만드는 중"


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
    assert done.returncode == 1 and "exists; it was left as it is" in done.stderr and not HANGUL.search(done.stderr)


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
