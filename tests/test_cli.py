"""The command line as an instructor uses it: answers, clear errors, no tracebacks."""
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True, text=True)


def test_help_and_version():
    done = cli("--help")
    assert done.returncode == 0 and all(c in done.stdout for c in ("init", "generate", "demo", "check-config"))
    assert re.search(r"backprop-kit, version \d+\.\d+", cli("--version").stdout)


def test_generate_records_the_seed_and_changes_the_values(tmp_path):
    yaml_path = tmp_path / "course.yaml"
    yaml_path.write_text((REPO / "course.yaml").read_text())
    before = cli("show-values", "--config", str(yaml_path), "--student", "alice").stdout
    done = cli("generate", "--seed", "777", "--config", str(yaml_path))
    assert done.returncode == 0 and "seed is now 777" in done.stdout
    assert re.search(r"(?m)^seed: 777$", yaml_path.read_text())
    assert "# The course seed" in yaml_path.read_text()  # comments kept
    after = cli("show-values", "--config", str(yaml_path), "--student", "alice").stdout
    assert before != after and "alice" in after


def test_a_bad_course_yaml_gets_one_clear_message_not_a_traceback(tmp_path):
    yaml_path = tmp_path / "course.yaml"
    yaml_path.write_text((REPO / "course.yaml").read_text().replace("randomization: per-student", "randomization: per-class"))
    for command in (["check-config"], ["init", str(tmp_path / "c")], ["demo", str(tmp_path / "d")]):
        done = cli(*command, "--config", str(yaml_path))
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert "course.yaml:" in done.stderr and "randomization" in done.stderr and "per-class" in done.stderr
    assert not (tmp_path / "c").exists()
