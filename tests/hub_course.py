"""A real course on a real JupyterHub, for the tests: system accounts made with useradd (and
removed after, whatever happens), a course made by `backprop-kit init` as the course account,
`backprop-kit hub` as root, and `jupyterhub` started as root on 127.0.0.1 with PAM logins and
the default spawner running each user's server as their own account. Needs root; under
CI=true the tests that use it refuse to skip."""

import json
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
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


@dataclass
class HubCourse:
    """A course on the hub machine, as hub_course() made it: accounts, the course, the hub's config."""

    base: Path  # everything below is in it; removed after
    course: Path  # made by `backprop-kit init` as the course account
    out: Path  # `backprop-kit hub`'s config: jupyterhub_config.py, nbgrader's, the services'
    exchange: Path
    grader: str  # the course account
    instructor: str
    password: str  # every account's (PAM logins)
    roster: Path | None
    written: subprocess.CompletedProcess  # what `backprop-kit hub` said

    @property
    def env(self) -> dict[str, str]:
        """The environment the course account's and the students' nbgrader commands run with on
        the hub: nbgrader's config from the hub's, the hub environment's programs first."""
        return {"JUPYTER_CONFIG_PATH": str(self.out / "nbgrader"), "PATH": f"{BIN}:/usr/bin:/bin"}

    def nbgrader(self, user: str, *argv: str, cwd: Path | None = None, check: bool = True):
        """`nbgrader argv...` as `user` with this course's hub config (nbgrader_as)."""
        return nbgrader_as(self.out, user, *argv, cwd=cwd, check=check)

    def rewrite_hub_config(self, instructor: str | None = None, extra: Sequence[str] = ()):
        """`backprop-kit hub` again (after a change to course.yaml), asserted written."""
        written = hub_command(
            self.course,
            self.out,
            self.exchange,
            self.grader,
            instructor or self.instructor,
            self.roster,
            extra=extra,
        )
        assert written.returncode == 0, written.stdout + written.stderr
        return written

    def running(self, log_name: str = "hub.log") -> AbstractContextManager["Hub"]:
        """JupyterHub serving this course (running_hub), its log in base/log_name."""
        return running_hub(
            self.base,
            self.course,
            self.out,
            self.base / log_name,
            self.grader,
            self.instructor,
            self.password,
            self.exchange,
        )


@contextmanager
def hub_course(
    names: Sequence[str],
    grader: str,
    instructor: str,
    roster: str | None = None,
    before_hub: Callable[[Path, Path], Sequence[str]] | None = None,
    password: str | None = None,
) -> Iterator[HubCourse]:
    """The accounts `names` (the course account `grader` and `instructor` among them), a course
    made by `backprop-kit init` as `grader`, and `backprop-kit hub`'s config for it with
    `instructor` as staff (asserted written). `roster`: roster.csv's text. `before_hub(base,
    course)` changes the course (its course.yaml) or writes files into base before the hub's
    config is written, and returns more arguments for `backprop-kit hub` (`--lti FILE`).
    Skips (fails under CI=true) off a hub machine. The accounts, their processes and every file
    are removed after, also when the test fails."""
    require_hub_machine()
    password = password or random_password()
    base = new_base()
    try:
        with accounts(names, password):
            course = make_course(base, grader)
            extra = before_hub(base, course) if before_hub is not None else ()
            roster_path = None
            if roster is not None:
                roster_path = base / "roster.csv"
                roster_path.write_text(roster)
            out, exchange = base / "hub", base / "exchange"
            written = hub_command(course, out, exchange, grader, instructor, roster=roster_path, extra=extra)
            assert written.returncode == 0, written.stdout + written.stderr
            yield HubCourse(base, course, out, exchange, grader, instructor, password, roster_path, written)
    finally:
        shutil.rmtree(base, ignore_errors=True)


# nbgrader asks a running hub which courses a user is in (its JupyterHubAuthPlugin); the commands
# a test runs as each account without a hub (or beside one) take nbgrader's own NoAuthPlugin.
NO_HUB = "--Authenticator.plugin_class=nbgrader.auth.NoAuthPlugin"


def nbgrader_argv(out: Path, user: str, *argv: str) -> list:
    """`nbgrader argv...` as `user`, with the nbgrader config `backprop-kit hub` wrote into `out`
    and the user's own HOME, as their server on the hub runs it (NO_HUB)."""
    env = {"JUPYTER_CONFIG_PATH": str(out / "nbgrader"), "PATH": f"{BIN}:/usr/bin:/bin"}
    env["HOME"] = str(Path("~" + user).expanduser())
    return [
        "runuser",
        "-u",
        user,
        "--",
        "env",
        *(f"{k}={v}" for k, v in env.items()),
        BIN / "nbgrader",
        *argv,
        NO_HUB,
    ]


def nbgrader_as(out: Path, user: str, *argv: str, cwd: Path | None = None, check: bool = True):
    """nbgrader_argv run in `cwd` (the user's home by default); asserted to succeed if `check`."""
    return run(nbgrader_argv(out, user, *argv), cwd=cwd or Path("~" + user).expanduser(), check=check)


def on_submit_status(exchange: Path, course_id: str, assignment: str, student: str) -> dict:
    """What the grading service says of `student`'s last submission (the exchange's on-submit
    status file their Assignments tab reads); {} before there is one, or while it is rewritten."""
    path = exchange / course_id / "on-submit" / f"{student}.json"
    try:
        return json.loads(path.read_text()).get(assignment, {})
    except (OSError, ValueError):
        return {}


def feedback_on_submit(rules: str | None = None) -> Callable[[Path, Path], Sequence[str]]:
    """A before_hub for hub_course: the course's assignment graded on submit, `rules` being
    course.yaml's `on_submit:` mapping ("{attempts: 1}"; None: the defaults)."""

    def change(base: Path, course: Path) -> Sequence[str]:
        yaml = course / "course.yaml"
        text = yaml.read_text()
        assert "    points: {}\n" in text, "course.yaml's assignment changed: where does feedback: go?"
        lines = "    feedback: on-submit\n" + (f"    on_submit: {rules}\n" if rules else "")
        yaml.write_text(text.replace("    points: {}\n", "    points: {}\n" + lines, 1))
        return ()

    return change


def lab_for_tests(course: HubCourse) -> None:
    """Test-only: JupyterLab's app object in each user's page (local_config.py beside the hub's
    config, which `backprop-kit hub` never overwrites), so a browser test can wait on it."""
    (course.out / "local_config.py").write_text('c.Spawner.args = ["--LabApp.expose_app_in_browser=True"]\n')


def start_grading_service(course: HubCourse, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`backprop-kit grading-service --hub` for `course`, as its course account, as JupyterHub
    starts it, in a session of its own (stop_grading_service ends it and every grading it
    started), with `env` beside the course's environment; its output goes to base/grading.log."""
    log = open(course.base / "grading.log", "a")  # noqa: SIM115 (the service's own; closed below)
    assignments = [f"{k}={v}" for k, v in {**course.env, **(env or {})}.items()]
    try:
        return subprocess.Popen(
            [
                "runuser",
                "-u",
                course.grader,
                "--",
                "env",
                *assignments,
                BIN / "backprop-kit",
                "grading-service",
                "--hub",
                str(course.out),
            ],
            cwd=course.course,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()  # the service holds its own copy of the descriptor


def stop_grading_service(process: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM to the service's session; its exit code once it has stopped. If it has not within
    `timeout` seconds: SIGKILL to the session, and TimeoutExpired."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def stop_stale_proxy(out: Path) -> int | None:
    """End the configurable-http-proxy a hub started in `out` if it outlived the hub; its pid, or
    None if there was none. JupyterHub starts the proxy in a session of its own and removes its
    pid file when it stops it: a pid file left means a hub that was killed (or failed to stop
    it), and its proxy would hold its ports for ever."""
    pid_file = out / "jupyterhub-proxy.pid"
    try:
        pid = int(pid_file.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    if b"configurable-http-proxy" not in command:  # the pid was reused by something else
        return None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and not _zombie(pid):
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return pid


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


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
            process.wait()
        stop_stale_proxy(out)
        log.close()


def new_base():
    """A folder every account can enter (mkdtemp makes 0700 folders, which is the mistake
    `backprop-kit hub` refuses)."""
    base = Path(tempfile.mkdtemp(prefix="bpkit-hub-"))
    os.chmod(base, 0o755)
    return base


def random_password():
    return "pw-" + secrets.token_hex(8)
