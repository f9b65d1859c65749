"""Gradebooks for tests that read and write one directly: made once per module, copied per test.
Making a new gradebook runs nbgrader's migrations with this environment's `alembic` (seconds),
so a module builds its gradebook once and each test gets a copy of its bytes."""

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def made_once(tmp_path_factory, build: Callable[[str], object]) -> bytes:
    """The bytes of a new gradebook after build(its sqlite URL) has filled it."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with pytest.MonkeyPatch.context() as patch:  # nbgrader calls `alembic` by name
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        build(f"sqlite:///{path}")
    return path.read_bytes()


def copy_of(data: bytes, path: Path) -> str:
    """A gradebook at `path` holding `data`; its sqlite URL."""
    path.write_bytes(data)
    return f"sqlite:///{path}"
