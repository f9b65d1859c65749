"""A costly fixture built once per test run, also under pytest-xdist (`make test` runs two
workers, each a pytest session of its own: a session fixture alone would be built twice)."""

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

_BUILT_HERE: dict[tuple[Path, str], Path] = {}


def shared_once_per_run(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> Path:
    """build(folder) once per test run; returns that folder, shared by every test of every
    worker: read it, or copy what you change (tests/kit_course.py copies a course from it)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        key = (tmp_path_factory.getbasetemp(), name)
        if key not in _BUILT_HERE:
            folder = tmp_path_factory.mktemp(name)
            build(folder)
            _BUILT_HERE[key] = folder
        return _BUILT_HERE[key]
    return _built_under_lock(tmp_path_factory, name, build)[0]


def _built_under_lock(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> tuple[Path, Path]:
    """Under pytest-xdist: (the run's shared folder, its built.json), built by the first worker
    to get here while the lock makes the other wait."""
    shared = tmp_path_factory.getbasetemp().parent / name  # one per run: pytest-of-<user>/pytest-<n>/
    done = shared / "built.json"
    with open(shared.with_name(f"{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when the worker dies
        if not done.exists():
            shutil.rmtree(shared, ignore_errors=True)  # what a build that failed half-way left
            shared.mkdir()
            done.write_text(json.dumps(build(shared)))
    return shared, done


def built_once_per_run(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> tuple[Path, dict]:
    """build(folder) once per test run; returns (a folder of this process's own holding what
    build wrote, what build returned: JSON-ready data).

    Alone, pytest builds straight into a fresh folder. Under pytest-xdist the first worker
    to get here builds into the run's shared temporary folder while the lock makes the other
    wait; each then copies the result, because tests change their courses (rerun, --force,
    export) and the other worker must not see that."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name)
        return folder, build(folder)
    shared, done = _built_under_lock(tmp_path_factory, name, build)
    folder = tmp_path_factory.mktemp(name)
    for part in shared.iterdir():
        if part.is_dir():
            shutil.copytree(part, folder / part.name, symlinks=True)
    return folder, json.loads(done.read_text())
