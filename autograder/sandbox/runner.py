"""The grader's side of running student code, out of the grader's process.

    with StudentRunner(limits, helper_files={"bpkit/__init__.py": b"..."}) as runner:
        result = runner.run({"cells": [[name, source], ...], "calls": [call, ...]})
        value = decode(result.results[0][0], expect_shape=(3,))

One sandboxed worker (autograder/sandbox/worker.py, a zygote that imports numpy once) per runner,
forked as root by the grading thread's sandbox host (host.py, hosted.py: numpy imported once
per process, each worker in namespaces, a uid and a scratch directory of its own) or, where
that cannot be, started under a bwrap of its own; every request is a fresh fork of it, so nothing one request does (monkeypatching,
crashing, hogging memory, killing its parent) reaches the next. If the worker dies or stops
answering, that request is reported as crashed and a new worker serves the next one.
Everything read from the worker is size-capped and checked: student code can forge any
reply, so nothing malformed raises into the caller, and `decode` accepts only plain
numbers and float64 arrays of the expected shape.

The notebook kernel runs under the same sandbox: autograder/sandbox/kernel.py.
"""

import functools
import importlib.util
import json
import logging
import math
import os
import py_compile
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import bwrap, cgroups, hosted, seccomp
from . import limits as limits_module
from .limits import Limits
from .protocol import InvalidAnswer, bounded_text, decode, detail

log = logging.getLogger("backprop-kit")

HERE = Path(__file__).resolve().parent
# The worker, the wire format it speaks, and the rule of an answer's form it applies before encoding.
WORKER_FILES = (
    HERE / "worker.py",
    HERE / "protocol.py",
    HERE / "limits.py",
    HERE.parent / "bpkit" / "forms.py",
)
STATUSES = ("ok", "error", "timeout", "crashed", "memory")
MARGIN_SECONDS = 10.0  # grader-side allowance on top of the worker's own wall-clock limit
START_SECONDS = 60.0  # a cold start (numpy from a cold disk cache) on a loaded machine
EXTRA_WORKER_MEMORY = 512 * 1024**2  # the zygote's own numpy, above its children's limit
STOP_SECONDS = 1.0  # for an idle hosted worker to end by itself once its requests end
MAX_REPLY_BYTES = 48 * 1024**2  # worker.MAX_RESULT_BYTES plus room for output and framing

CPU_BUDGET_ROOM = 2.0  # CPU seconds a request's cgroup may use beyond its CPU limit (the zygote's own)
BUDGET_POLL_SECONDS = 0.25

__all__ = ["InvalidAnswer", "RunResult", "StudentRunner", "decode"]


class CpuBudgetSpent(Exception):
    """The submission's processes together used up the request's CPU budget (its cgroup's)."""

    def __init__(self, seconds):
        super().__init__(f"{seconds:.1f} s of CPU")
        self.seconds = seconds


@dataclass
class RunResult:
    """What became of one request. `results` holds the encoded call results, to be read
    with `decode`; nothing else in here is trusted for grading. No words for students: the
    grader words a status and its detail (grading/problems.py)."""

    status: str
    detail: str = ""
    results: list = field(default_factory=list)
    output: str = ""
    error: dict | None = None
    seconds: float = 0.0
    phase: str = ""  # of a timeout: "cells" (they loop by themselves) or "calls"
    cpu_seconds: float = 0.0  # the CPU time the student's process used (the zygote's count)
    words: dict | None = None  # the detail as protocol.detail() made it: its key and fields
    busy: bool = False  # a wall-clock timeout that the machine's load, not the code, ran into

    @property
    def ok(self):
        return self.status == "ok"


@functools.lru_cache(maxsize=64)
def compiled(source: bytes) -> bytes:
    """The helper's bytecode as a checked-hash .pyc, compiled once per grading process: each
    worker would otherwise compile the helpers anew (python -B writes no cache), some 10 ms a
    submission. Python loads it only while it matches the source beside it, so a helper that
    student code rewrote is compiled from what it now says."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bpkit-compile-") as folder:
        path = Path(folder) / "helper.py"
        path.write_bytes(source)
        py_compile.compile(
            str(path),
            cfile=str(path) + "c",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
        return Path(str(path) + "c").read_bytes()


class StudentRunner:
    """A context manager owning one sandboxed worker and its private scratch directory.

    helper_files: {relative path: bytes} written into the scratch directory (the student
    code's working directory, first on its sys.path); helper_dirs: {name: directory} copied
    there. hide: paths the sandbox must not show (the grader's packages always are).
    env: extra environment variables for student code.
    """

    def __init__(
        self,
        limits=Limits(),  # noqa: B008
        scratch_parent=None,
        require_sandbox=False,
        helper_files=None,
        hide=(),
        *,
        helper_dirs=None,
        env=None,
        require_cgroup=False,
    ):
        self.limits, self.scratch_parent = limits, scratch_parent
        self.helper_files, self.helper_dirs = dict(helper_files or {}), dict(helper_dirs or {})
        self.hide, self.env = list(hide), dict(env or {})
        self.sandboxed = bwrap.require(require_sandbox)
        self.uid = bwrap.new_sandbox_uid() if self.sandboxed else None
        self.margin_seconds = MARGIN_SECONDS
        self.process = None  # the worker, while it runs
        self.private: Path | None = None  # ours alone (the worker's code, its log); made on entry
        self.scratch: Path | None = None  # the student's working directory; made on entry
        self.scratch_dir: Path | None = None  # where the scratch is mounted, or the scratch itself
        self.tmpfs: bwrap.ScratchTmpfs | None = None  # the scratch, where there is one (ScratchTmpfs)
        self.require_cgroup = require_cgroup
        self.cgroup: cgroups.Cgroup | None = None  # the submission's (cgroups.py), made on entry
        self._buffer, self._next_id = bytearray(), 0
        self._start_failure: dict = {}  # protocol.detail() of why the worker did not start
        self._unfiltered = False  # the worker runs without the seccomp filter (its keys are purged)

    # What __enter__ makes, for the methods that run inside the `with` block only.
    @property
    def _scratch(self) -> Path:
        if self.scratch is None:
            raise RuntimeError("the sandbox's scratch directory is used outside its `with` block")
        return self.scratch

    @property
    def _private(self) -> Path:
        if self.private is None:
            raise RuntimeError("the sandbox's private directory is used outside its `with` block")
        return self.private

    @property
    def _worker(self):
        """The running worker (a Popen, or a HostedWorker: either has its two pipes)."""
        if self.process is None:
            raise RuntimeError(
                "no worker is running: it is asked outside the `with` block, or after it stopped"
            )
        return self.process

    # -------------------------------------------------------- lifetime

    def __enter__(self):
        self.private, self.scratch_dir = bwrap.make_scratch(self.scratch_parent, "bpkit-run-", self.uid)
        try:
            # A tmpfs mounted nowhere here: each sandbox mounts it in its own namespace, and it is
            # gone with the last of them and this process, even if a kill -9 ends this one.
            self.tmpfs = bwrap.scratch_tmpfs(self.limits.scratch_bytes) if self.sandboxed else None
            if self.tmpfs is not None:
                bwrap.give_scratch(self.tmpfs.view, self.uid)
            self.scratch = self.tmpfs.view if self.tmpfs is not None else self.scratch_dir
            self.cgroup = cgroups.for_submission(
                self.limits, extra_memory=EXTRA_WORKER_MEMORY, required=self.require_cgroup
            )
            self._populate()
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self._stop()
        if self.cgroup is not None:
            self.cgroup.remove()  # every process in it killed first, then each hierarchy's directory
            self.cgroup = None
        if self.tmpfs is not None:
            self.tmpfs.close()  # everything in it gone at once, whatever its shape
            self.tmpfs = None
        if self.private is not None:
            bwrap.remove_tree(self.private)  # student-shaped: never shutil.rmtree (see remove_tree)
            self.private = None

    def _populate(self):
        """The helpers in the scratch directory, from the grader's own copies. Again before a
        restart (no process of the sandbox is left then): student code may have renamed,
        replaced or added to them, and a restarted worker preloads them before any request.
        Only the helpers' own folders are walked: the rest of the scratch directory is the
        student's, of any shape."""
        tops = sorted({Path(relative).parts[0] for relative in self.helper_files} | set(self.helper_dirs))
        for top in tops:
            if not bwrap.remove_tree(self._scratch / top):
                raise OSError(f"the helper {top!r} in the scratch directory could not be replaced")
        for name, path in self.helper_dirs.items():
            shutil.copytree(path, self._scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
        for relative, data in self.helper_files.items():
            # Not resolve(): the tmpfs's view is a /proc link that resolves to "/".
            parts = PurePosixPath(relative).parts
            if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
                raise ValueError(f"helper file {relative!r} would land outside the scratch directory")
            target = self._scratch.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        helpers = [self._scratch / top for top in tops]
        for source in sorted(path for top in helpers if top.is_dir() for path in top.glob("**/*.py")):
            cached = Path(importlib.util.cache_from_source(str(source)))
            cached.parent.mkdir(exist_ok=True)
            cached.write_bytes(compiled(source.read_bytes()))
        for top in helpers:
            for path in [top, *(top.rglob("*") if top.is_dir() else ())]:
                path.chmod(0o755 if path.is_dir() else 0o644)  # readable by the sandbox's user

    def _command(self, seccomp_fd=None):
        """worker.py and protocol.py in a directory of their own, bound read-only (student code
        cannot rewrite the worker that a restart would run), and the command that starts it."""
        code = self._private / "worker"
        if not code.is_dir():
            code.mkdir(mode=0o755)
            for source in WORKER_FILES:
                shutil.copyfile(source, code / source.name)
                (code / source.name).chmod(0o644)
        worker = code / "worker.py"
        argv = [sys.executable, "-I", "-S", "-B", str(worker)]
        for site in bwrap.site_dirs():
            argv += ["--site", site]
        for module in self._helper_modules():
            argv += ["--preload", module]
        if self.sandboxed:
            argv.append("--sweep")  # it has a pid namespace of its own to sweep
        return bwrap.sandboxed_command(
            argv,
            self.scratch_dir,  # where the tmpfs is mounted in its namespace (_popen), if there is one
            required=self.sandboxed,
            uid=self.uid,
            ro_binds=[worker.parent],
            hide=self.hide,
            env=self.env,
            seccomp_fd=seccomp_fd,
        )

    def _helper_modules(self):
        """The modules of the helper packages (bpkit, bpkit.problems, ...), for the worker to
        preload: named from the grader's own copies (helper_files, helper_dirs), never from the
        scratch directory, where student code may have planted a package before a restart."""
        files = {PurePosixPath(relative) for relative in self.helper_files}
        for name, directory in self.helper_dirs.items():
            files |= {
                PurePosixPath(name, p.relative_to(directory).as_posix()) for p in Path(directory).glob("*.py")
            }
        modules = []
        for package in sorted(f.parent for f in files if len(f.parts) == 2 and f.name == "__init__.py"):
            modules += [str(package)] + [
                f"{package}.{f.stem}"
                for f in sorted(files)
                if f.parent == package and f.suffix == ".py" and f.stem != "__init__"
            ]
        return modules

    def _start(self):
        """Start the worker and wait for its ready line. On failure, remember why (run()
        then reports it) instead of raising."""
        started = time.monotonic()
        self._unfiltered = self.sandboxed and seccomp.program() is None
        log_path = self._private / "worker.log"  # bwrap's and Python's start-up errors; not student-writable
        with open(log_path, "wb") as log_file:
            self.process = self._hosted(log_file) or self._own_bwrap(log_file)
        self._buffer.clear()
        try:
            ready = json.loads(self._read_line(started + START_SECONDS))
            if type(ready) is not dict or ready.get("ready") is not True:
                raise ValueError("no ready line")
        except (OSError, ValueError, TimeoutError, RecursionError) as e:
            self._stop()
            self._start_failure = detail("did not start", type=type(e).__name__, log=bwrap.log_tail(log_path))
            log.error("backprop-kit: %s", self._start_failure["detail"])
            return
        self._start_failure = {}

    def _hosted(self, log_file):
        """The worker forked by this thread's sandbox host (hosted.py), or None where there is
        none: only a worker with a uid of its own is (see host.py)."""
        if not (self.sandboxed and self.uid is not None):
            return None
        host = hosted.sandbox_host(self.hide, self._helper_imports(), self.scratch_parent)
        if host is None:
            return None
        limits = {  # the zygote's: limits.apply(Limits.from_wire(...), **the rest) in the host's fork
            "limits": self.limits.to_wire(),
            "extra_memory": EXTRA_WORKER_MEMORY,
            "processes": bwrap.process_cap(self.limits, self.uid),
        }
        try:
            return host.spawn(
                self.scratch,
                self.uid,
                bwrap.sandbox_environment(host.home, self.env),
                limits,
                self._helper_modules(),
                log_file.fileno(),
                cgroup_procs=self.cgroup.procs_files() if self.cgroup is not None else (),
            )
        except (OSError, ValueError) as e:
            log.warning(
                "backprop-kit: the sandbox host could not start a worker (%s); starting its own sandbox", e
            )
            host.stop()
            return None

    def _helper_imports(self):
        """What the course's helper files import, for the host to load once: read from the
        grader's own copies (helper_files, helper_dirs), never from the scratch directory,
        which student code may have rewritten before a restart."""
        sources = [data for relative, data in sorted(self.helper_files.items()) if relative.endswith(".py")]
        for directory in self.helper_dirs.values():
            sources += [path.read_bytes() for path in sorted(Path(directory).rglob("*.py"))]
        own = {Path(relative).parts[0] for relative in self.helper_files} | set(self.helper_dirs)
        return hosted.imports_of(tuple(sources), own_packages=tuple(sorted(own)))

    def _own_bwrap(self, log_file):
        """A worker in a bwrap sandbox of its own."""
        filter_fd = seccomp.open_program() if self.sandboxed else None  # bwrap loads it (--seccomp)
        try:
            argv, env = self._command(filter_fd)
            return self._popen(argv, env, filter_fd, log_file)
        finally:
            if filter_fd is not None:
                os.close(filter_fd)

    def _popen(self, argv, env, filter_fd, log_file):
        """The worker's bwrap, under the zygote's limits, handed the filter's descriptor."""
        limits = {"extra_memory": EXTRA_WORKER_MEMORY, "processes": bwrap.process_cap(self.limits, self.uid)}
        prefix = bwrap.limits_prefix(self.limits, **limits)
        steps = [] if prefix is not None else [bwrap.preexec(self.limits, **limits)]
        if self.tmpfs is not None:  # the scratch tmpfs, in a mount namespace of bwrap's alone
            steps.insert(0, functools.partial(self.tmpfs.attach_copy, self.scratch_dir))
        spawn: dict = {"start_new_session": True}
        if steps:  # a preexec_fn: the grader forks instead of vfork (some 10-25 ms of its CPU)
            spawn["preexec_fn"] = steps[0] if len(steps) == 1 else lambda: [step() for step in steps]
        return subprocess.Popen(
            [*self._join_cgroup(), *(prefix or []), *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            cwd=self.scratch_dir,
            env=env,
            pass_fds=() if filter_fd is None else (filter_fd,),
            **spawn,
        )

    def _join_cgroup(self):
        """A command prefix that moves the command into the submission's cgroup before it runs
        (a shell: the worker is still spawned with vfork, see bwrap.limits_prefix), or none."""
        if self.cgroup is None:
            return []
        join = (
            'for f; do [ "$f" = -- ] && { shift; break; }; echo $$ > "$f" || exit 70; shift; done; exec "$@"'
        )
        return ["/bin/sh", "-c", join, "sh", *map(str, self.cgroup.procs_files()), "--"]

    def _stop(self):
        """End the whole sandbox: bwrap leads its own process group, and everything inside
        dies with it (--die-with-parent, its own pid namespace); a hosted worker is its pid
        namespace's init, and everything inside ends with it. Then check that nothing of its
        uid is left."""
        process, self.process = self.process, None
        if process is None:
            return
        if isinstance(process, hosted.HostedWorker):
            # An idle worker ends when its requests end, and its pid namespace with it; one that
            # does not is killed: the host kills the fork that waits for it, and it dies with it.
            process.close_requests()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
        else:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.error("backprop-kit: the sandbox (pid %s) did not die", process.pid)
        if self.cgroup is not None:
            self.cgroup.kill()  # everything the submission started, whatever uid or namespace
        if self.uid is not None:
            bwrap.kill_uid(self.uid)  # and wait until the namespace's processes are really gone
            if self._unfiltered:  # key calls got through: what its uid left in the kernel goes too
                bwrap.purge_keys(self.uid)
        if isinstance(process, hosted.HostedWorker):
            process.release()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    # -------------------------------------------------------- requests

    def run(self, request):
        """Send one request {"cells", "calls", "env"?, "limits"?, "notebook"?} and wait for its result
        (never raises for anything the worker or student code does)."""
        self._next_id += 1
        request_id = self._next_id
        cells = [list(c) if isinstance(c, tuple) else c for c in request.get("cells", [])]
        message = {
            "id": request_id,
            "cells": cells,
            "calls": list(request.get("calls", [])),
            "env": {**self.env, **request.get("env", {})},
            "limits": self._limits_for(request.get("limits")),
        }
        if request.get("notebook"):  # run the cells as a kernel would (worker.run_notebook)
            message["notebook"] = True
        wall = message["limits"]["wall_seconds"]
        if self.process is None or self.process.poll() is not None:
            self._stop()
            try:
                self._populate()  # what the restarted worker preloads: the grader's copies again
            except OSError as e:
                return RunResult("crashed", **detail("not restarted", reason=str(e)[:200]))
            self._start()
            if self.process is None:
                return RunResult("crashed", **self._start_failure)
        # The worker's own backstop may stretch that far on a busy machine (worker.py's Backstop).
        # The worker's own backstop may stretch up to MAX_STRETCH times on a busy machine
        # (worker.py's Backstop); while it watches a request it says so with an empty line every
        # second, and each one moves the deadline on. A worker that says nothing (wedged, stopped)
        # costs the request's wall time and the margin, as before.
        began = time.monotonic()
        hard = began + wall * limits_module.MAX_STRETCH + self.margin_seconds
        deadline = began + wall + self.margin_seconds
        budget = self._cpu_budget(message["limits"])
        try:
            self._write((json.dumps(message) + "\n").encode(), deadline)
            line = self._read_line(deadline, budget)
            while not line.strip():  # a heartbeat
                deadline = min(hard, max(deadline, time.monotonic() + wall + self.margin_seconds))
                line = self._read_line(deadline, budget)
            reply = json.loads(line)
            if type(reply) is not dict or reply.get("id") != request_id:
                raise ValueError("a reply that does not answer this request")
        except CpuBudgetSpent as spent:  # the whole submission's processes, together: all killed
            self._stop()
            return RunResult("timeout", **detail("cpu budget", seconds=round(spent.seconds, 1)))
        except TimeoutError:  # the worker hangs (stopped by its child, say): kill it, start afresh next time
            self._stop()
            return RunResult("crashed", **detail("no reply", seconds=round(time.monotonic() - began, 1)))
        except (OSError, ValueError, RecursionError) as e:
            self._stop()  # dead, or not following the protocol: a fresh worker next time
            return RunResult("crashed", **detail("garbage", type=type(e).__name__, message=str(e)[:200]))
        return self._result(reply)

    def _limits_for(self, override):
        return self.limits.overridden(override).to_wire()

    def _result(self, reply):
        """A RunResult from a reply, keeping only well-typed, size-capped fields."""
        status = reply.get("status")
        if status not in STATUSES:
            return RunResult("crashed", **detail("unusable reply"))
        results = reply.get("results")
        error = reply.get("error")
        seconds, cpu = reply.get("seconds"), reply.get("cpu_seconds")
        return RunResult(
            status=status,
            detail=bounded_text(reply.get("detail"), 2000),
            results=results if type(results) is list else [],
            output=bounded_text(reply.get("output"), self.limits.output_bytes + 200),
            error={
                k: bounded_text(error.get(k), 3000) for k in ("type", "message", "cell", "where", "traceback")
            }
            if type(error) is dict
            else None,
            seconds=float(seconds) if type(seconds) in (int, float) and math.isfinite(seconds) else 0.0,
            cpu_seconds=float(cpu) if type(cpu) in (int, float) and math.isfinite(cpu) else 0.0,
            phase=reply.get("phase") if reply.get("phase") in ("cells", "calls") else "",
            words=reply.get("words") if type(reply.get("words")) is dict else None,
            busy=reply.get("busy") is True,
        )

    def _write(self, data, deadline):
        """All of `data` to the worker by `deadline`, else TimeoutError: a worker that stopped
        reading (stopped, or wedged by what runs in it) would otherwise hold the grader for
        good once a request fills the pipe's buffer (64 KiB)."""
        fd = self._worker.stdin.fileno()
        os.set_blocking(fd, False)
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if select.select([], [fd], [], left)[1]:
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:  # another writer filled the buffer meanwhile: wait again
                    pass

    def _cpu_budget(self, wire_limits):
        """(CPU seconds the submission's cgroup had used, what this request may add), or None
        without a cgroup. The request's own CPU limit and some room for the zygote's work: a
        single process stops at its RLIMIT_CPU first, so only many processes together reach it."""
        if self.cgroup is None:
            return None
        limit = limits_module.Limits.from_wire(wire_limits).cpu_limit
        return self.cgroup.cpu_seconds(), limit + CPU_BUDGET_ROOM

    def _read_line(self, deadline, budget=None):
        """One line from the worker, waiting until `deadline` and reading at most
        MAX_REPLY_BYTES: never unbounded data into memory. `budget`: (the cgroup's CPU seconds
        at the start, how many more it may use), looked at every BUDGET_POLL_SECONDS;
        CpuBudgetSpent past it."""
        fd = self._worker.stdout.fileno()
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise ValueError("reply too large")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if budget is not None and self.cgroup is not None:
                used = self.cgroup.cpu_seconds() - budget[0]
                if used > budget[1]:
                    raise CpuBudgetSpent(used)
                left = min(left, BUDGET_POLL_SECONDS)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise OSError("the worker closed its pipe")
                self._buffer += chunk
