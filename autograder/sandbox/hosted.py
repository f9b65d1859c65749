"""The grader's side of the sandbox host (host.py): one per grading thread, started on first
use, forking each submission's sandboxed worker from a process that has imported numpy once.

    host = sandbox_host(hide)            # None where it cannot be used: start bwrap per worker
    worker = host.spawn(scratch, uid, env, limits, preloads, log_fd)

Used only where the worker gets a uid of its own (the grader runs as root, the normal case
when grading): that is what makes a fork of one host as separate from the next student's as
a bwrap of its own (see host.py). BPKIT_SANDBOX_HOST=0 in the grader's environment turns it
off: every worker then starts its own bwrap, as before.
"""

import array
import atexit
import functools
import itertools
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import bwrap, seccomp

log = logging.getLogger("backprop-kit")

HERE = Path(__file__).resolve().parent
HOST_FILES = (
    HERE / "host.py",
    HERE / "worker.py",
    HERE / "protocol.py",
    HERE / "limits.py",
    HERE.parent / "bpkit" / "forms.py",
)
START_SECONDS = 60.0  # as runner.START_SECONDS: numpy from a cold disk cache on a loaded machine
KEPT_HOSTS = 2  # per thread: another course (other helpers) or another batch folder gets its own host
ANSWER_SECONDS = 20.0  # a spawn is a fork and a few mounts; a host that takes longer is stuck


def enabled():
    return os.environ.get("BPKIT_SANDBOX_HOST", "1").strip() not in ("0", "no", "false", "off")


OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC, AT_FDCWD, SYS_OPEN_TREE = (
    1,
    os.O_CLOEXEC,
    -100,
    428,
)  # x86-64 and arm64 alike
_libc = None


def detached_mount(path):
    """A descriptor of a bind mount of `path` that belongs to no namespace yet (open_tree,
    Linux 5.2): the worker attaches it in its own mount namespace, where a path of ours would
    name nothing (a plain descriptor of a directory cannot be bound across namespaces)."""
    global _libc
    import ctypes

    _libc = _libc or ctypes.CDLL(None, use_errno=True)
    fd = _libc.syscall(SYS_OPEN_TREE, AT_FDCWD, os.fsencode(str(path)), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
    if fd < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"open_tree {path}: {os.strerror(errno)}")
    return fd


ENVIRONMENT_DIGITS = 8  # as host.ENVIRONMENT_DIGITS
MAX_ENVIRONMENT_BYTES = 60_000  # below a pipe's buffer (64 KiB): written before the worker reads


def write_environment(fd, env):
    """The worker's environment on its request pipe, before it exists to read it: length, JSON."""
    data = json.dumps({str(k): str(v) for k, v in env.items()}).encode()
    if len(data) > MAX_ENVIRONMENT_BYTES:
        raise ValueError(f"the sandbox's environment is {len(data)} bytes, above {MAX_ENVIRONMENT_BYTES}")
    framed = b"%0*d" % (ENVIRONMENT_DIGITS, len(data)) + data
    if os.write(fd, framed) != len(framed):  # an empty pipe takes it whole
        raise OSError("the environment was not written whole")


class HostedWorker:
    """A worker the host started, as StudentRunner uses a Popen: its two pipes, poll(), kill()
    and wait(). It is not our child (the host's fork is its parent); it is alive while the
    write end of `alive`, which only it and that parent hold, is open: the parent closes it
    when the worker is reaped, once nothing of its pid namespace is left."""

    pid = None

    def __init__(self, host, spawn_id, stdin, stdout, alive):
        self.host, self.spawn_id, self.stdin, self.stdout, self._alive = host, spawn_id, stdin, stdout, alive
        self.returncode = None

    def poll(self):
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        self.host.kill(self.spawn_id)

    def close_requests(self):
        try:
            self.stdin.close()
        except OSError:
            pass

    def wait(self, timeout=None):
        if self.returncode is None and select.select([self._alive], [], [], timeout)[0]:
            self.returncode = -signal.SIGKILL
        if self.returncode is None:
            raise subprocess.TimeoutExpired("sandboxed worker", timeout)
        return self.returncode

    def release(self):
        """Close the liveness pipe, once the worker is gone (its two pipes are closed as a Popen's are)."""
        try:
            os.close(self._alive)
        except OSError:
            pass


class SandboxHost:
    """host.py running under bwrap, and the socket to it."""

    def __init__(self, hide=(), preimports=(), parent=None):
        # 0700: ours alone; in the batch's folder when there is one (removed with it, even if we are killed)
        self.private = Path(tempfile.mkdtemp(prefix="bpkit-host-", dir=parent)).resolve()
        self.home = self.private / "home"  # where each worker's scratch directory is bound
        self.home.mkdir(mode=0o711)
        self.home.chmod(0o711)
        code = self.private / "code"
        code.mkdir()
        code.chmod(0o755)
        for source in HOST_FILES:
            shutil.copyfile(source, code / source.name)
            (code / source.name).chmod(0o644)
        argv = [sys.executable, "-I", "-S", "-B", str(code / "host.py"), "--home", str(self.home)]
        for site in bwrap.site_dirs():
            argv += ["--site", site]
        for module in preimports:
            argv += ["--preimport", module]
        worker_filter = seccomp.program("worker")  # each worker loads it once its sandbox is built
        if worker_filter is not None:
            (code / "worker.bpf").write_bytes(worker_filter)
            (code / "worker.bpf").chmod(0o644)
            argv += ["--seccomp", str(code / "worker.bpf")]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control, self._ids, self._lock = ours, itertools.count(1), threading.Lock()
        self.log_path = self.private / "host.log"
        host_filter = seccomp.open_program("host") if worker_filter is not None else None
        try:
            with open(self.log_path, "wb") as log_file:
                self.process = subprocess.Popen(
                    bwrap.wrap(
                        argv, self.home, ro_binds=[code], hide=hide, host=True, seccomp_fd=host_filter
                    ),
                    stdin=theirs.fileno(),  # the host reads requests from its stdin: our socket's other end
                    stdout=subprocess.DEVNULL,
                    stderr=log_file,
                    env=bwrap.bwrap_environment(),
                    start_new_session=True,
                    pass_fds=() if host_filter is None else (host_filter,),
                )
        finally:
            if host_filter is not None:
                os.close(host_filter)
        theirs.close()
        try:
            self._answer(START_SECONDS, "ready")
        except BaseException:
            self.stop()
            raise

    def _answer(self, seconds, key):
        self.control.settimeout(seconds)
        data = self.control.recv(1 << 16)
        try:
            answer = json.loads(data) if data else None
        except ValueError:
            answer = data[:200]
        if type(answer) is not dict or key not in answer:
            raise OSError(f"the sandbox host said {answer!r}: {bwrap.log_tail(self.log_path)}")
        return answer

    def spawn(self, scratch, uid, env, limits, preloads, log_fd, cgroup_procs=()):
        """A HostedWorker for one submission, or OSError (the caller then starts its own bwrap).
        cgroup_procs: the cgroup.procs files of the submission's cgroup, which the worker joins."""
        joins = [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in cgroup_procs]
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        alive_r, alive_w = os.pipe()
        scratch_fd = detached_mount(scratch)
        theirs = [scratch_fd, requests_r, replies_w, log_fd, alive_w, *joins]
        spawn_id = next(self._ids)
        order = {
            "spawn": spawn_id,
            "uid": int(uid),
            "limits": limits,
            "preloads": list(preloads),
            "cgroups": len(joins),
        }
        try:
            # The environment (the student's id among it) goes to the worker alone, first on its
            # request pipe, never through the host, whose memory every later worker is a copy of.
            write_environment(requests_w, env)
            with self._lock:
                self.control.sendmsg(
                    [json.dumps(order).encode()],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", theirs))],
                )
                answer = self._answer(ANSWER_SECONDS, "spawned")
            if answer["spawned"] != spawn_id:
                raise OSError(f"the sandbox host answered spawn {answer['spawned']!r}, not {spawn_id}")
        except BaseException:
            for fd in (requests_w, replies_r, alive_r):
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                if fd != log_fd:
                    os.close(fd)
        return HostedWorker(
            self, spawn_id, os.fdopen(requests_w, "wb"), os.fdopen(replies_r, "rb", buffering=0), alive_r
        )

    def kill(self, spawn_id):
        try:
            with self._lock:
                self.control.sendmsg([json.dumps({"kill": spawn_id}).encode()])
        except OSError:  # the host is gone, and every worker with it (they die with their parent)
            pass

    def alive(self):
        """Running, and its folder still there (a batch removes its folder when it ends)."""
        return self.process.poll() is None and self.home.is_dir()

    def stop(self):
        """Kill the host and every worker with it (they die with their parent); idempotent."""
        if self.process.poll() is None:  # not a group whose number may have been handed out again
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.error("backprop-kit: the sandbox host (pid %s) did not die", self.process.pid)
        self.control.close()
        shutil.rmtree(self.private, ignore_errors=True)


_hosts = (
    threading.local()
)  # this thread's hosts, by what they hide, load and live in: the bwrap parent dies with its thread
_failed: set = set()  # keys whose host could not start in this process: not tried again


@functools.lru_cache(maxsize=8)  # the same course's helpers for every submission
def imports_of(sources: tuple, own_packages: tuple = ()):
    """The absolute imports of Python sources (the course's helper files, the instructor's, never
    a student's), their top-level modules, less the helper packages themselves."""
    import ast

    found: set = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return tuple(
        sorted(
            name
            for name in found
            if name.split(".")[0] not in set(own_packages) and name.split(".")[0] != "__future__"
        )
    )


def sandbox_host(hide=(), preimports=(), parent=None):
    """This thread's running SandboxHost for `hide` and `preimports`, its folder made in
    `parent` (the runner's scratch parent), started if need be; None when there is none to be
    had (not root, turned off, or it failed to start: the caller starts its own bwrap)."""
    key = (
        tuple(sorted(str(Path(p).resolve()) for p in hide)),
        tuple(preimports),
        str(parent),
        seccomp.ENFORCED,  # a test that switches the filter off gets a host without one
    )
    if not enabled() or os.geteuid() != 0 or key in _failed or not bwrap.sandbox_available():
        return None
    hosts = getattr(_hosts, "by_key", None)
    if hosts is None:
        hosts = _hosts.by_key = {}
    host = hosts.pop(key, None)
    if host is not None and host.alive():
        hosts[key] = host  # the most recently used last
        return host
    if host is not None:
        host.stop()
    while len(hosts) >= KEPT_HOSTS:  # a process grading many courses or batches in turn keeps the latest
        hosts.pop(next(iter(hosts))).stop()
    started = time.monotonic()
    try:
        host = hosts[key] = SandboxHost(hide, preimports, parent)
    except (OSError, ValueError) as e:
        _failed.add(key)
        log.warning(
            "backprop-kit: the sandbox host did not start (%s); each submission starts its own sandbox", e
        )
        return None
    atexit.register(host.stop)
    log.debug("sandbox host started in %.2f s", time.monotonic() - started)
    return host
