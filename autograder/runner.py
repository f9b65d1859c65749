"""The grader's side of running student code, out of the grader's process.

    with StudentRunner(limits, helper_files={"bpkit/__init__.py": b"..."}) as runner:
        result = runner.run({"cells": [[name, source], ...], "calls": [call, ...]})
        value = decode(result.results[0][0], expect_shape=(3,))

One sandboxed worker (autograder/worker.py, a zygote that imports numpy once) per runner;
every request is a fresh fork of it, so nothing one request does (monkeypatching,
crashing, hogging memory, killing its parent) reaches the next. If the worker dies or stops
answering, that request is reported as crashed and a new worker serves the next one.
Everything read from the worker is size-capped and checked: student code can forge any
reply, so nothing malformed raises into the caller, and `decode` accepts only plain
numbers and float64 arrays of the expected shape.

Also here: SandboxedKernelManager, the notebook kernel under the same sandbox.
"""
import dataclasses
import json
import logging
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, Bool, Dict, Int, List, Unicode

from . import sandbox
from .protocol import InvalidAnswer  # one exception class for every decoder in the kit
from .sandbox import Limits

log = logging.getLogger("backprop-kit")

WORKER = Path(__file__).resolve().parent / "worker.py"
STATUSES = ("ok", "error", "timeout", "crashed", "memory")
MARGIN_SECONDS = 10.0  # grader-side allowance on top of the worker's own wall-clock limit
START_SECONDS = 60.0  # a cold start (numpy from a cold disk cache) on a loaded machine
EXTRA_WORKER_MEMORY = 512 * 1024**2  # the zygote's own numpy, above its children's limit
MAX_REPLY_BYTES = 48 * 1024**2  # worker.MAX_RESULT_BYTES plus room for output and framing
MAX_ENTRIES = 1_000_000  # numbers in one decoded array
MAX_DIMS = 8

__all__ = ["StudentRunner", "RunResult", "Reply", "decode", "InvalidAnswer", "SandboxedKernelManager",
           "sandboxed_kernel_manager_factory", "sandbox_free_environment"]


@dataclass
class RunResult:
    """What became of one request. `results` holds the encoded call results, to be read
    with `decode`; nothing else in here is trusted for grading."""
    status: str
    detail: str = ""
    results: list = field(default_factory=list)
    output: str = ""
    error: dict | None = None
    seconds: float = 0.0

    @property
    def ok(self):
        return self.status == "ok"

    @property
    def problem(self):
        """What went wrong, in words for a student."""
        return {
            "ok": "",
            "error": f"your code raised an error: {self.detail}",
            "timeout": "your code did not finish in time (an infinite loop, or far too slow)",
            "memory": "your code ran out of the memory the course allows",
            "crashed": f"your code crashed: {self.detail}",
        }.get(self.status, f"your code could not be run ({self.detail})")


Reply = RunResult  # the older name


class StudentRunner:
    """A context manager owning one sandboxed worker and its private scratch directory.

    helper_files: {relative path: bytes} written into the scratch directory (the student
    code's working directory, first on its sys.path); helper_dirs: {name: directory} copied
    there. hide: paths the sandbox must not show (the grader's packages always are).
    env: extra environment variables for student code.
    """

    def __init__(self, limits=Limits(), scratch_parent=None, require_sandbox=False, helper_files=None, hide=(),
                 *, helper_dirs=None, env=None):
        self.limits, self.scratch_parent = limits, scratch_parent
        self.helper_files, self.helper_dirs = dict(helper_files or {}), dict(helper_dirs or {})
        self.hide, self.env = list(hide), dict(env or {})
        self.sandboxed = sandbox.require(require_sandbox)
        self.uid = sandbox.new_sandbox_uid() if self.sandboxed else None
        self.margin_seconds = MARGIN_SECONDS
        self.process = self.private = self.scratch = None
        self.start_seconds = None  # of the last worker start, for measurements
        self._buffer, self._next_id, self._start_failure = bytearray(), 0, ""

    # -------------------------------------------------------- lifetime

    def __enter__(self):
        self.private, self.scratch = sandbox.make_scratch(self.scratch_parent, "bpkit-run-", self.uid)
        try:
            self._populate()
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self._stop()
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)
            self.private = None

    def _populate(self):
        """worker.py in a directory of its own, bound read-only (student code cannot
        rewrite the worker that a restart would run); helpers in the scratch directory."""
        code = self.private / "worker"
        code.mkdir(mode=0o755)
        shutil.copyfile(WORKER, code / "worker.py")
        (code / "worker.py").chmod(0o644)
        for name, path in self.helper_dirs.items():
            shutil.copytree(path, self.scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
        for relative, data in self.helper_files.items():
            target = (self.scratch / relative).resolve()
            if not str(target).startswith(str(self.scratch) + os.sep):
                raise ValueError(f"helper file {relative!r} would land outside the scratch directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for path in self.scratch.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)  # readable by the sandbox's user

    def _command(self):
        worker = self.private / "worker" / "worker.py"
        argv = [sys.executable, "-I", "-S", "-B", str(worker)]
        for site in sandbox.site_dirs():
            argv += ["--site", site]
        if self.sandboxed:
            argv.append("--sweep")  # it has a pid namespace of its own to sweep
        return sandbox.sandboxed_command(argv, self.scratch, required=self.sandboxed, uid=self.uid,
                                         ro_binds=[worker.parent], hide=self.hide, env=self.env)

    def _start(self):
        """Start the worker and wait for its ready line. On failure, remember why (run()
        then reports it) instead of raising."""
        argv, env = self._command()
        started = time.monotonic()
        log_path = self.private / "worker.log"  # bwrap's and Python's start-up errors; not student-writable
        with open(log_path, "wb") as log_file:
            zygote_limits = dataclasses.replace(self.limits, cpu_seconds=None)  # its children have their own
            self.process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, cwd=self.scratch, env=env,
                preexec_fn=sandbox.preexec(zygote_limits, extra_memory=EXTRA_WORKER_MEMORY,
                                           processes=self.uid is not None))
        self._buffer.clear()
        try:
            ready = json.loads(self._read_line(started + START_SECONDS))
            if type(ready) is not dict or ready.get("ready") is not True:
                raise ValueError("no ready line")
        except (OSError, ValueError, TimeoutError, RecursionError) as e:
            self._stop()
            self._start_failure = f"the sandboxed worker did not start ({type(e).__name__}): {_tail(log_path)}"
            log.error("backprop-kit: %s", self._start_failure)
            return
        self._start_failure = ""
        self.start_seconds = time.monotonic() - started

    def _stop(self):
        """Kill the whole sandbox: bwrap leads its own process group, and everything inside
        dies with it (--die-with-parent, its own pid namespace)."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.error("backprop-kit: the sandbox (pid %s) did not die", process.pid)
        if self.uid is not None:
            sandbox.kill_uid(self.uid)  # and wait until the namespace's processes are really gone
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    # -------------------------------------------------------- requests

    def run(self, request, calls=None):
        """Send one request and wait for its result (never raises for anything the worker
        or student code does). `request` is a dict {"cells", "calls", "env"?, "limits"?};
        the older form run(cells, calls) is accepted too."""
        if calls is not None or not isinstance(request, dict):
            request = {"cells": request, "calls": calls or []}
        self._next_id += 1
        request_id = self._next_id
        cells = [list(c) if isinstance(c, tuple) else c for c in request.get("cells", [])]
        message = {"id": request_id, "cells": cells, "calls": list(request.get("calls", [])),
                   "env": {**self.env, **request.get("env", {})}, "limits": self._limits_for(request.get("limits"))}
        wall = message["limits"]["wall_seconds"]
        if self.process is None or self.process.poll() is not None:
            self._stop()
            self._start()
            if self.process is None:
                return RunResult("crashed", self._start_failure)
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
            reply = json.loads(self._read_line(time.monotonic() + wall + self.margin_seconds))
            if type(reply) is not dict or reply.get("id") != request_id:
                raise ValueError("a reply that does not answer this request")
        except TimeoutError:  # the worker hangs (stopped by its child, say): kill it, start afresh next time
            self._stop()
            return RunResult("crashed", "the worker running your code stopped answering "
                                        f"(no reply within {wall + self.margin_seconds:g} s)")
        except (OSError, ValueError, RecursionError) as e:
            self._stop()  # dead, or not following the protocol: a fresh worker next time
            return RunResult("crashed", "the worker running your code died or sent garbage while running it "
                                        f"({type(e).__name__}: {str(e)[:200]})")
        return self._result(reply)

    def _limits_for(self, override):
        limits = {"wall_seconds": float(self.limits.wall_seconds), "memory_bytes": int(self.limits.memory_bytes),
                  "output_bytes": int(self.limits.output_bytes), "cpu_seconds": self.limits.cpu_seconds}
        for key, value in (override or {}).items():
            if key in limits and isinstance(value, (int, float)) and value > 0:
                limits[key] = value
        return limits

    def _result(self, reply):
        """A RunResult from a reply, keeping only well-typed, size-capped fields."""
        status = reply.get("status")
        if status not in STATUSES:
            return RunResult("crashed", "the process running your code sent an unusable reply")
        results = reply.get("results")
        error = reply.get("error")
        seconds = reply.get("seconds")
        return RunResult(
            status=status, detail=_text(reply.get("detail"), 2000),
            results=results if type(results) is list else [],
            output=_text(reply.get("output"), self.limits.output_bytes + 200),
            error={k: _text(error.get(k), 3000) for k in ("type", "message", "cell", "where", "traceback")}
            if type(error) is dict else None,
            seconds=float(seconds) if type(seconds) in (int, float) and math.isfinite(seconds) else 0.0)

    def _read_line(self, deadline):
        """One line from the worker, waiting until `deadline` and reading at most
        MAX_REPLY_BYTES: never unbounded data into memory."""
        fd = self.process.stdout.fileno()
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 1]
                return line
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise ValueError("reply too large")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise OSError("the worker closed its pipe")
                self._buffer += chunk


def _text(value, cap):
    return value[:cap] if type(value) is str else ""


def _tail(path, size=2000):
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - size))
            return f.read().decode("utf-8", "replace").strip() or "no message"
    except OSError:
        return "no message"


def sandbox_free_environment():
    """Older helper: the environment for student code when there is no sandbox."""
    return {k: v for k, v in sandbox.sandbox_environment("/tmp").items() if k not in ("HOME", "TMPDIR")}


# ---------------------------------------------------------------- decoding (grader side)

def decode(encoded, expect_shape=None):
    """A plain Python float or a float64 ndarray from one encoded result, or InvalidAnswer
    with a message for the student. Written for hostile input: exact types only, every
    size and depth bounded, no recursion on untrusted nesting. With expect_shape, a float
    and a 0-d array both fit ()."""
    if type(encoded) is not dict or not all(type(k) is str for k in encoded):
        raise InvalidAnswer("no usable result came back")
    keys = set(encoded)
    if keys == {"missing"}:
        raise InvalidAnswer("it is not defined")
    if keys == {"error"}:
        raise InvalidAnswer(f"your code raised {_text(encoded['error'], 500) or 'an error'}")
    if keys == {"unsupported"}:
        kind = _text(encoded["unsupported"], 100) or "value of an unknown type"
        if kind == "ellipsis":
            raise InvalidAnswer("your result is still ...: replace it with your answer")
        raise InvalidAnswer(f"your result is a {kind}, not a number or a plain numpy array of floats")
    if keys == {"seq"}:
        raise InvalidAnswer("your result is a tuple or list where a number or an array was expected")
    if keys == {"float"}:
        if expect_shape is not None and tuple(expect_shape) != ():
            raise InvalidAnswer(f"your result is a single number, expected shape {tuple(expect_shape)}")
        return _finite(_number(encoded["float"]))
    if keys in ({"array", "shape"}, {"array", "shape", "dtype"}):
        return _decode_array(encoded["array"], encoded["shape"], expect_shape)
    raise InvalidAnswer("no usable result came back")


def _number(x):
    if type(x) is float:
        return x
    if type(x) is int:  # bool is not: type(True) is bool
        try:
            return float(x)
        except OverflowError:
            raise InvalidAnswer("your result is too large") from None
    raise InvalidAnswer(f"expected a number, found {'a bool' if type(x) is bool else 'something else'}")


def _finite(x):
    if math.isnan(x):
        raise InvalidAnswer("your result contains NaN")
    if math.isinf(x):
        raise InvalidAnswer("your result contains infinity")
    return x


def _decode_array(data, shape, expect_shape):
    if (type(shape) is not list or len(shape) > MAX_DIMS
            or not all(type(s) is int and 0 <= s <= MAX_ENTRIES for s in shape)
            or math.prod(shape) > MAX_ENTRIES):
        raise InvalidAnswer("your array's shape is not usable")
    if expect_shape is not None and tuple(shape) != tuple(expect_shape):
        raise InvalidAnswer(f"your result has shape {tuple(shape)}, expected shape {tuple(expect_shape)}")
    flat = []
    level = [data]  # breadth-first, one nesting level per dimension: no recursion
    for size in shape:
        nxt = []
        for item in level:
            if type(item) is not list or len(item) != size:
                raise InvalidAnswer("your array's entries do not match its shape")
            nxt.extend(item)
        level = nxt
    flat = [_number(x) for x in level]
    values = np.array(flat, dtype=np.float64).reshape(shape)
    if np.isnan(values).any():
        raise InvalidAnswer("your result contains NaN")
    if np.isinf(values).any():
        raise InvalidAnswer("your result contains infinity")
    return values


# ---------------------------------------------------------------- the notebook kernel

class SandboxedKernelManager(AsyncKernelManager):
    """An ipykernel under the sandbox's policy, for nbclient / nbgrader's Execute.

    What makes ipykernel work in there (docs: NBGRADER.md): IPC sockets in a directory the
    sandbox can write (it has its own network namespace, so TCP ports of the grader are
    unreachable); /bin/sh as the kernel's parent (ipykernel exits when its parent is pid 1);
    HOME, IPYTHONDIR, TMPDIR in the scratch directory. Interrupts are sent as messages: a
    SIGINT to the process group would reach bwrap and end the sandbox instead.
    """

    limits = Any(Limits(), help="a sandbox.Limits: memory, output, processes (no CPU cap unless set)")
    scratch = Unicode("", help="the kernel's working directory, the sandbox's only writable one")
    hide = List(Unicode(), help="paths the kernel must not see (the grader's packages always are)")
    require_sandbox = Bool(False, help="refuse to start without bubblewrap")
    sandbox_env = Dict(help="extra environment variables for the kernel")
    sandbox_uid = Int(-1, help="the host uid of the sandbox; -1: a fresh one (as root)")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self._sandboxed = sandbox.require(self.require_sandbox)
        if self.sandbox_uid < 0:
            self.sandbox_uid = (sandbox.new_sandbox_uid() or -1) if self._sandboxed else -1

    def _uid(self):
        return self.sandbox_uid if self.sandbox_uid >= 0 else None

    def _prepare_scratch(self):
        """The scratch directory and all in it become the sandbox user's (the caller may
        have copied helpers there with any owner and mode)."""
        if not self.scratch:  # never the grader's working directory: it would be handed to the sandbox
            raise ValueError("SandboxedKernelManager needs a scratch directory (scratch=...)")
        scratch = Path(self.scratch).resolve()
        if self._uid() is not None:
            for top, dirs, files in os.walk(scratch):  # never following symlinks a kernel may have left
                for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
                    os.lchown(name, self._uid(), self._uid())
        sandbox.give_scratch(scratch, self._uid())
        ipc = scratch / ".ipc"
        ipc.mkdir(exist_ok=True)
        sandbox.give_scratch(ipc, self._uid())
        if self._uid() is None:
            ipc.chmod(0o777)  # user-namespace mode: the sandbox's nobody is this user, or root
        self.ip = str(ipc / "kernel")
        self.connection_file = str(ipc / "kernel.json")
        return scratch

    async def _async_pre_start_kernel(self, **kw):
        self._prepare_scratch()  # before the connection file is written
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        scratch = Path(self.scratch).resolve()
        uid = self._uid()
        if uid is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, uid, uid)  # written 0600 by us; the kernel must read it
        self.kernel_spec.interrupt_mode = "message"
        # `; exit $?` keeps the shell alive as the kernel's parent.
        cmd = ["/bin/sh", "-c", '"$@"; exit $?', "sh", *kernel_cmd]
        cmd, kw["env"] = sandbox.sandboxed_command(cmd, scratch, required=self._sandboxed, uid=uid,
                                                   hide=self.hide, env=self.sandbox_env)
        kw["cwd"] = str(scratch)
        kw["preexec_fn"] = sandbox.preexec(self.limits, processes=uid is not None)
        # Not the grader's own stdout/stderr: student code can write to fds 1 and 2 directly.
        # stderr goes to an unlinked file (capped by RLIMIT_FSIZE), for bwrap's own errors.
        self._stderr_log = tempfile.TemporaryFile(prefix="bpkit-kernel-")
        kw["stdout"], kw["stderr"] = subprocess.DEVNULL, self._stderr_log
        return await super()._async_launch_kernel(cmd, **kw)

    def sandbox_log(self, size=2000):
        """The end of what the sandboxed kernel wrote to stderr (bwrap's errors, crashes)."""
        log_file = getattr(self, "_stderr_log", None)
        if log_file is None:
            return ""
        try:
            log_file.seek(0, os.SEEK_END)
            log_file.seek(max(0, log_file.tell() - size))
            return log_file.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""


def sandboxed_kernel_manager_factory(limits, scratch, hide=(), require_sandbox=False, env=None):
    """A SandboxedKernelManager subclass with these settings built in, for places that take a
    class and instantiate it themselves: nbclient's NotebookClient and nbgrader's Execute
    (`kernel_manager_class=...`; they call it with kernel_name= and config= only). Kernels of
    one factory share one sandbox uid, so files a dead kernel wrote stay usable by the next."""
    settings = {"limits": limits, "scratch": str(scratch), "hide": [str(h) for h in hide],
                "require_sandbox": bool(require_sandbox), "sandbox_env": dict(env or {})}
    if sandbox.require(require_sandbox):
        settings["sandbox_uid"] = sandbox.new_sandbox_uid() or -1

    class BoundSandboxedKernelManager(SandboxedKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**{**settings, **kwargs})

    return BoundSandboxedKernelManager
