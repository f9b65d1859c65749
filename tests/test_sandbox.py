"""The bubblewrap policy itself: real bwrap, real processes, the command line from sandbox.wrap."""

import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autograder.sandbox import bwrap as sandbox
from autograder.sandbox.limits import Limits

REPO = Path(__file__).resolve().parent.parent
needs_bwrap = pytest.mark.skipif(
    not sandbox.sandbox_available(),
    reason="bubblewrap (bwrap) is not installed or cannot build a sandbox here",
)
LIMITS = Limits(wall_seconds=10, memory_bytes=1024**3, processes=40)


def run_inside(code, scratch, uid, timeout=20, **wrap_kwargs):
    """Run Python code in the sandbox (site enabled, like a kernel); the CompletedProcess."""
    argv = sandbox.wrap([sys.executable, "-c", textwrap.dedent(code)], scratch, uid=uid, **wrap_kwargs)
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=sandbox.bwrap_environment(),
        preexec_fn=sandbox.preexec(LIMITS, processes=sandbox.process_cap(LIMITS, uid)),
    )


@pytest.fixture(params=["uid", "userns"])
def box(request, tmp_path):
    """(scratch, uid) for both ways of being unprivileged; uid mode needs root."""
    uid = sandbox.new_sandbox_uid() if request.param == "uid" else None
    if request.param == "uid" and uid is None:
        pytest.skip("uid mode needs root and setpriv")
    private, scratch = sandbox.make_scratch(tmp_path, uid=uid)
    return scratch, uid


host_processes_of = sandbox.processes_of_uid


# ---------------------------------------------------------------- without bwrap


def test_limits_defaults():
    assert Limits() == Limits(30.0, 2 * 1024**3, 64 * 1024, None)


def test_a_required_sandbox_that_is_missing_refuses_with_a_plain_message(monkeypatch, caplog):
    monkeypatch.setattr(sandbox, "sandbox_available", lambda: False)
    monkeypatch.setattr(sandbox, "_warned", False)
    with pytest.raises(sandbox.SandboxUnavailable) as info:
        sandbox.require(True)
    assert "install the Debian package bubblewrap" in str(info.value)
    assert "grading.require_sandbox: false" in str(info.value)
    with caplog.at_level(logging.WARNING, logger="backprop-kit"):
        assert sandbox.require(False) is False
        assert sandbox.require(False) is False
    assert len([r for r in caplog.records if "WITHOUT a sandbox" in r.getMessage()]) == 1  # warned once


def test_grader_private_paths_are_the_real_package_directories():
    import autograder
    import solutions

    assert set(sandbox.grader_private_paths()) == {
        Path(autograder.__file__).resolve().parent,
        Path(solutions.__file__).resolve().parent,
    }


def test_the_command_line_keeps_the_policy():
    argv = sandbox.wrap(["python"], "/tmp", uid=None, check=False)
    for flag in (
        "--unshare-net",
        "--unshare-pid",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL" and argv[argv.index("--uid") + 1] == "65534"
    privileged = sandbox.wrap(["python"], "/tmp", uid=1_600_000_000, check=False)
    assert "--unshare-user" not in privileged and "--reuid=1600000000" in privileged
    assert "--no-new-privs" in privileged and "--unshare-net" in privileged
    assert "--unshare-net" not in sandbox.wrap(["python"], "/tmp", share_net=True, check=False)


# ---------------------------------------------------------------- the real sandbox


@needs_bwrap
def test_runs_unprivileged_with_no_capabilities(box):
    scratch, uid = box
    done = run_inside(
        """
        import os
        status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())
        print(os.getuid(), os.getgid(), os.getgroups(), status['CapEff'].strip(), status['CapBnd'].strip())
    """,
        scratch,
        uid,
    )
    assert done.returncode == 0, done.stderr
    user, group, groups, effective, bounding = done.stdout.split(maxsplit=4)
    expected = str(uid if uid is not None else sandbox.NOBODY)
    assert (user, group, groups) == (expected, expected, "[]")
    assert int(effective, 16) == 0
    if uid is not None:
        assert int(bounding, 16) == 0


@needs_bwrap
def test_the_network_of_the_host_is_unreachable(box):
    scratch, uid = box
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    try:
        done = run_inside(
            f"""
            import socket
            try:
                socket.create_connection(('127.0.0.1', {listener.getsockname()[1]}), timeout=2)
                print('connected')
            except OSError as e:
                print('refused', e)
        """,
            scratch,
            uid,
        )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever arrived
    finally:
        listener.close()
    assert done.stdout.startswith("refused"), done.stdout + done.stderr


@needs_bwrap
def test_only_the_scratch_directory_is_writable(box, tmp_path):
    scratch, uid = box
    outside = tmp_path / "outside"
    outside.mkdir()
    outside.chmod(0o777)
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o777)
    targets = [
        outside / "x",
        readonly / "x",
        REPO / "pwned",
        Path("/usr/pwned"),
        Path("/pwned"),
        Path("/etc/pwned"),
        Path(sys.prefix) / "pwned",
        Path("/dev/pwned"),
    ]
    done = run_inside(
        f"""
        import os
        for path in {[str(t) for t in targets]!r}:
            try:
                open(path, 'w').write('x')
                print('WROTE', path)
            except OSError as e:
                print('denied', path, e.strerror)
        open(os.path.join(os.environ['HOME'], 'mine'), 'w').write('ok')
        open('/tmp/t', 'w').write('ok')  # a private tmpfs
    """,
        scratch,
        uid,
        ro_binds=[readonly],
    )
    assert done.returncode == 0, done.stderr
    # A checkout under /tmp is no bind of its own: a write there lands on the sandbox's private
    # /tmp (a tmpfs that dies with it), never on the host, which the next assertion checks.
    private = {str(REPO / "pwned")} if str(REPO).startswith("/tmp/") else set()
    wrote = [
        line
        for line in done.stdout.splitlines()
        if line.startswith("WROTE") and line.split()[1] not in private
    ]
    assert not wrote, done.stdout
    assert not any(t.exists() for t in targets)
    assert (scratch / "mine").read_text() == "ok"
    if uid is not None:
        assert (scratch / "mine").stat().st_uid == uid


@needs_bwrap
def test_hidden_paths_and_the_graders_packages_are_not_there(box, tmp_path):
    scratch, uid = box
    tree = tmp_path / "tree"
    (tree / "secretpkg").mkdir(parents=True)
    (tree / "secretpkg" / "__init__.py").write_text("ANSWER = 42\n")
    (tree / "notes").mkdir()
    (tree / "notes" / "key.txt").write_text("secret")
    (tree / "file.txt").write_text("secret")
    (tree / "public.txt").write_text("public")
    for path in tree.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    tree.chmod(0o755)
    done = run_inside(
        f"""
        import os, sys
        sys.path[:0] = [{str(tree)!r}, {str(REPO)!r}]  # where the packages would be
        for name in ('secretpkg', 'solutions', 'autograder'):
            try:
                __import__(name)
                print('IMPORTED', name)
            except ImportError as e:
                print('no', name)
        for path in ('notes/key.txt', 'file.txt'):
            try:
                print('READ' if open(os.path.join({str(tree)!r}, path)).read() else 'empty', path)
            except OSError as e:
                print('no', path)
        print(open({str(tree / "public.txt")!r}).read())
        print(sorted(os.listdir({str(REPO)!r})))
    """,
        scratch,
        uid,
        ro_binds=[tree],
        hide=[tree / "secretpkg", tree / "notes", tree / "file.txt"],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("no ") == 5, done.stdout  # 3 imports, 2 files
    assert "public" in done.stdout
    venv = Path(sys.prefix).resolve()
    if venv.parent == REPO:  # the course directory shows nothing but the virtual environment in it
        assert done.stdout.strip().splitlines()[-1] == str([venv.name])


@needs_bwrap
def test_secrets_of_the_host_are_not_there(box):
    scratch, uid = box
    done = run_inside(
        """
        import os
        for path in ('/etc/shadow', '/root/.bash_history', '/etc/ssh', '/home', '/var', '/sys'):
            print(path, os.path.exists(path))
    """,
        scratch,
        uid,
    )
    assert "True" not in done.stdout, done.stdout


@needs_bwrap
def test_the_environment_is_built_from_scratch(box, monkeypatch):
    scratch, uid = box
    monkeypatch.setenv("GRADER_SECRET", "hunter2")
    done = run_inside(
        """
        import json, os
        print(json.dumps(dict(os.environ)))
    """,
        scratch,
        uid,
        env={"BPKIT_STUDENT_ID": "s1"},
    )
    env = json.loads(done.stdout)
    assert "GRADER_SECRET" not in env and env["BPKIT_STUDENT_ID"] == "s1"
    for key in ("HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR"):
        assert env[key].startswith(str(scratch)), key
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"


@needs_bwrap
def test_the_limits_are_applied(box):
    scratch, uid = box
    done = run_inside(
        """
        import json, resource as r
        print(json.dumps([r.getrlimit(k)[0] for k in (r.RLIMIT_AS, r.RLIMIT_FSIZE, r.RLIMIT_CORE, r.RLIMIT_NPROC)]))
        try:
            bytearray(2 * 1024**3)
            print('ALLOCATED')
        except MemoryError:
            print('MemoryError')
    """,
        scratch,
        uid,
    )
    address, file_size, core, processes = json.loads(done.stdout.splitlines()[0])
    assert (address, file_size, core) == (LIMITS.memory_bytes, LIMITS.file_bytes, 0)
    assert done.stdout.split()[-1] == "MemoryError"
    if uid is not None:
        assert processes == LIMITS.processes


def test_the_process_cap_in_each_mode(monkeypatch):
    """RLIMIT_NPROC counts tasks per host uid: a uid of its own gets the limit itself; the
    grader's own non-root uid gets the limit on top of the tasks it already runs; root
    without a uid of its own cannot be capped (the kernel exempts it)."""
    assert sandbox.tasks_of_uid(os.getuid()) >= threading.active_count()  # this process alone has that many
    assert sandbox.process_cap(LIMITS, 1_600_000_000) == LIMITS.processes
    monkeypatch.setattr(sandbox, "tasks_of_uid", lambda uid: 300)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert sandbox.process_cap(LIMITS, None) == 300 + LIMITS.processes
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert sandbox.process_cap(LIMITS, None) is None
    assert sandbox.process_cap(Limits(processes=0), 1_600_000_000) is None


@needs_bwrap
def test_a_fork_bomb_stops_at_the_process_limit(tmp_path):
    uid = sandbox.new_sandbox_uid()
    if uid is None:
        pytest.skip("RLIMIT_NPROC caps a sandbox only in uid mode (root)")
    _, scratch = sandbox.make_scratch(tmp_path, uid=uid)
    done = run_inside(
        """
        import os, signal
        n = 0
        try:
            while n < 1000:
                if os.fork() == 0:
                    signal.pause()  # holds its slot until the sandbox ends, however slow the forks are
                    os._exit(0)
                n += 1
        except OSError as e:
            print(n, e.strerror)
    """,
        scratch,
        uid,
    )
    forked = int(done.stdout.split()[0])
    assert forked < LIMITS.processes, done.stdout


@needs_bwrap
@pytest.mark.parametrize("how", ["ends", "is killed"])
def test_no_process_started_inside_outlives_the_sandbox(tmp_path, how):
    """A double-forked, setsid() sleeper that would write later: the host's process table
    has nothing of the sandbox's uid once the sandboxed command ends or is killed.

    Every step waits on an event, never on the clock: the command says 'started' once its
    sleeper is up and then waits for a line on its stdin, so both are counted while they
    surely run; it ends when told to (or is killed); the sleeper holds the command's stdout,
    so that pipe's end of file means the sleeper is gone too."""
    uid = sandbox.new_sandbox_uid()
    if uid is None:
        pytest.skip("the check reads the host's process table by uid (uid mode, root)")
    _, scratch = sandbox.make_scratch(tmp_path, uid=uid)
    code = textwrap.dedent(f"""
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                open({str(scratch / "sleeper-up")!r}, 'w').close()
                time.sleep(120)
                open({str(scratch / "late")!r}, 'w').write('acted later')
            os._exit(0)
        while not os.path.exists({str(scratch / "sleeper-up")!r}):
            time.sleep(0.01)
        print('started', flush=True)
        sys.stdin.readline()
    """)
    argv = sandbox.wrap([sys.executable, "-c", code], scratch, uid=uid)
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=sandbox.bwrap_environment(),
        preexec_fn=sandbox.preexec(LIMITS, processes=sandbox.process_cap(LIMITS, uid)),
    )
    assert process.stdout.readline().strip() == "started"
    assert len(host_processes_of(uid)) >= 2  # the command and the detached sleeper
    if how == "is killed":
        os.killpg(process.pid, 9)
    else:
        process.stdin.write("end\n")
        process.stdin.flush()
    process.wait(timeout=60)
    assert process.stdout.read() == ""  # end of file: every holder of the pipe, the sleeper too, is gone
    process.stdout.close()
    process.stdin.close()
    # An exited process stays in the table until its parent reaps it, which the sandbox's
    # init does at once; the deadline only bounds a failure.
    deadline = time.monotonic() + 60
    while host_processes_of(uid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert host_processes_of(uid) == []
    assert not (scratch / "late").exists()
