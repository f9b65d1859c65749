"""A real course on a real JupyterHub, for the tests: system accounts made with useradd (and
removed after, whatever happens), a course made by `backprop-kit init` as the course account,
`backprop-kit hub` as root, and `jupyterhub` started as root on 127.0.0.1 with PAM logins and
the default spawner running each user's server as their own account. Needs root; under
CI=true the tests that use it refuse to skip."""

import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.course import REPO_ROOT
from autograder.sandbox.bwrap import processes_of_uid, sandbox_available

# The kit's environment the hub serves from, built by `make` from Debian's python3 (see the
# Makefile): every account must be able to run it, which the test runner's Python need not allow.
BIN = REPO_ROOT / ".venv-hub" / "bin"
ACCOUNT_PREFIX = "bpkhub"  # every account the tests make starts so, so a leftover is recognised


def require_hub_machine():
    """Root, bubblewrap, configurable-http-proxy and useradd, or skip (fail under CI=true)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (the hub starts each user's server as their own account)")
    if not shutil.which("configurable-http-proxy"):
        missing.append("configurable-http-proxy (npm; `make test` installs it as root)")
    if not shutil.which("useradd"):
        missing.append("useradd")
    if not sandbox_available():
        missing.append("bubblewrap")
    if not (BIN / "jupyterhub").exists():
        missing.append(f"{BIN.parent} (`make test` builds it as root from Debian's python3)")
    closed = [d for d in (BIN, *BIN.parents) if d.exists() and not d.stat().st_mode & stat.S_IXOTH]
    if closed:  # a checkout under a private folder (mktemp -d makes one 0700): runuser then says only "Permission denied"
        missing.append(
            f"a checkout every account can enter ({closed[-1]} is closed to other users, mode "
            f"{stat.S_IMODE(closed[-1].stat().st_mode):o}: clone the kit elsewhere or `chmod o+x` it)"
        )
    if missing:
        message = "JupyterHub tests need " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"CI=true: the JupyterHub tests refuse to skip: {message}")
        pytest.skip(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, user=None, check=True, **kwargs):
    """argv as root, or as `user` (runuser: a login's uid, gid and groups, no password)."""
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, argv))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done


def remove_account(name):
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for _ in range(50):  # the account's processes first (only those of this uid), or userdel refuses
        pids = processes_of_uid(uid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
    subprocess.run(["userdel", "--remove", "--force", name], capture_output=True)


@contextmanager
def accounts(names, password):
    """System accounts with private homes (0700, as docs/hosting.md's set-up makes them) and a
    password; removed afterwards, also when the test fails."""
    try:
        for name in names:
            remove_account(name)  # a leftover of a killed run
            run(["useradd", "--create-home", "--shell", "/bin/bash", name])
            os.chmod(Path("~" + name).expanduser(), 0o700)
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        yield
    finally:
        for name in names:
            remove_account(name)


@dataclass
class Hub:
    url: str
    base: Path
    course: Path
    out: Path
    exchange: Path
    grader: str
    instructor: str
    password: str
    log_path: Path
    process: subprocess.Popen = field(repr=False, default=None)

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:]


def make_course(base, grader):
    """A course made by `backprop-kit init` as the course account, private to it (0700)."""
    course = base / "course"
    course.mkdir()
    shutil.chown(course, grader, grader)
    os.chmod(course, 0o700)
    run(
        [BIN / "backprop-kit", "init", str(course), "--config", str(REPO_ROOT / "course.yaml")],
        user=grader,
        cwd="/",
    )
    return course


def hub_command(course, out, exchange, grader, instructor, roster=None, ports=None, user=None, extra=()):
    ports = ports or {}
    argv = [
        BIN / "backprop-kit",
        "hub",
        "--out",
        str(out),
        "--course-account",
        grader,
        "--instructor",
        instructor,
        "--exchange",
        str(exchange),
        *(["--roster", str(roster)] if roster else []),
        *extra,
    ]
    for option in ("service-port", "hub-port", "proxy-api-port"):
        argv += [f"--{option}", str(ports.get(option) or free_port())]
    return run(argv, user=user, check=False, cwd=course)


@contextmanager
def running_hub(base, course, out, log_path, grader, instructor, password, exchange):
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115
    env = {**os.environ, "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin"}
    process = subprocess.Popen(
        [
            BIN / "jupyterhub",
            "-f",
            str(out / "jupyterhub_config.py"),
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=out,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    hub = Hub(
        f"http://127.0.0.1:{port}",
        base,
        course,
        out,
        exchange,
        grader,
        instructor,
        password,
        log_path,
        process,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{hub.url}/hub/api/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("jupyterhub did not start:\n" + hub.log())
                time.sleep(0.5)
        yield hub
    finally:
        process.send_signal(signal.SIGTERM)  # the hub stops the users' servers and the proxy
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def new_base():
    """A folder every account can enter (mkdtemp makes 0700 folders, which is the mistake
    `backprop-kit hub` refuses)."""
    base = Path(tempfile.mkdtemp(prefix="bpkit-hub-"))
    os.chmod(base, 0o755)
    return base


def random_password():
    return "pw-" + secrets.token_hex(8)
