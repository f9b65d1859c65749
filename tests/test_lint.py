"""The fast lane lints: ruff's checks and its formatter (pyproject.toml's [tool.ruff]) pass on the
whole tree, and mypy on every module of autograder/ and solutions/ (pyproject.toml's [tool.mypy],
none skipped), so a finding fails
here, in the minute-to-minute loop, not in a reviewer's eyes."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess:
    program = BIN / tool
    if not program.exists():
        pytest.fail(f"{program} is missing: the test extra is not installed (run `make`, which installs it)")
    return subprocess.run([str(program), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_check_finds_nothing():
    done = run("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, f"ruff check:\n{done.stdout}{done.stderr}"


def test_ruff_format_would_change_nothing():
    done = run("ruff", "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, f"ruff format --check (run `ruff format .`):\n{done.stdout}{done.stderr}"


# mypy belongs in the fast lane (issue 31): some 16 CPU s on a fresh checkout, 2-3 s once
# .mypy_cache is warm.
@pytest.mark.cpu_budget(40)
def test_mypy_finds_nothing_in_the_kit():
    """Every module of the kit and the reference solution. mypy keeps its cache in .mypy_cache:
    some 16 s of CPU on a fresh checkout (the standard library's stubs, numpy's, pydantic and the
    kit's modules), a second or two after that."""
    done = run("mypy")
    assert done.returncode == 0, f"mypy (pyproject.toml's [tool.mypy]):\n{done.stdout}{done.stderr}"
    assert "no issues found in" in done.stdout
