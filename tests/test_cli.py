"""The command line as an instructor uses it: answers, clear errors, no tracebacks."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def cli(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True, text=True
    )


def test_help_and_version():
    done = cli("--help")
    assert done.returncode == 0 and all(
        c in done.stdout for c in ("init", "generate", "demo", "check-config")
    )
    assert re.search(r"backprop-kit, version \d+\.\d+", cli("--version").stdout)


@pytest.mark.slow  # some 5 s of CPU: the CLI as processes (the fast lane keeps what costs less than 4 s)
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


@pytest.mark.slow  # some 5 s of CPU: the CLI as processes (the fast lane keeps what costs less than 4 s)
def test_a_bad_course_yaml_gets_one_clear_message_not_a_traceback(tmp_path):
    yaml_path = tmp_path / "course.yaml"
    yaml_path.write_text(
        (REPO / "course.yaml").read_text().replace("randomization: per-student", "randomization: per-class")
    )
    for command in (["check-config"], ["init", str(tmp_path / "c")], ["demo", str(tmp_path / "d")]):
        done = cli(*command, "--config", str(yaml_path))
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert "course.yaml:" in done.stderr and "randomization" in done.stderr and "per-class" in done.stderr
    assert not (tmp_path / "c").exists()


@pytest.mark.slow  # some 4 s of CPU: the CLI as processes (the fast lane keeps what costs less than 4 s)
def test_check_config_finds_what_init_would_refuse(tmp_path):
    """A points override naming no exercise of the assignment's notebooks is found by
    check-config, as init would find it, with the line to fix."""
    yaml_path = tmp_path / "course.yaml"
    yaml_path.write_text(
        (REPO / "course.yaml").read_text().replace("    points: {}", "    points: {mul_gates: 3}")
    )
    line = 1 + yaml_path.read_text().splitlines().index("    points: {mul_gates: 3}")
    done = cli("check-config", "--config", str(yaml_path))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"{yaml_path}:{line}: assignments[0].points.mul_gates: no exercise 'mul_gates'" in done.stderr
    assert "did you mean 'mul_gate'?" in done.stderr
    assert cli("check-config", "--config", str(REPO / "course.yaml")).returncode == 0


def test_demo_without_the_repository_checkout_says_why_and_builds_nothing(tmp_path, monkeypatch):
    """The simulated class is demo data kept in the checkout (demo/), not in the installed
    package: an installed kit's `backprop-kit demo` refuses with a clear message."""
    from click.testing import CliRunner

    from autograder import cli as cli_module
    from autograder import demo

    monkeypatch.setattr(demo, "SIMULATED_CLASS", tmp_path / "site-packages" / "demo" / "simulated_class.py")
    demo.load_simulated_class.cache_clear()
    try:
        done = CliRunner().invoke(
            cli_module.main, ["demo", str(tmp_path / "d"), "--config", str(REPO / "course.yaml")]
        )
    finally:
        demo.load_simulated_class.cache_clear()
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert "repository checkout" in done.output and "make demo" in done.output
    assert not (tmp_path / "d").exists()


def test_the_simulated_class_is_not_in_the_installed_package():
    import autograder
    from autograder import demo

    assert not (Path(autograder.__file__).parent / "simulated_class.py").exists()
    assert demo.SIMULATED_CLASS == REPO / "demo" / "simulated_class.py"
    assert demo.load_simulated_class().students  # the checkout's copy loads
