"""The grader's side of running student code: one sandboxed worker per submission.

    with StudentRunner(limits, helper_dirs={"bpkit": path}, env={...}) as runner:
        reply = runner.run([(name, source), ...], [call, ...])

Each run forks a fresh child in the worker, so nothing one exercise does (monkeypatching,
crashing, hogging memory) reaches the next. If the worker itself dies or stops answering
(student code can kill its parent), that run is reported as crashed and a new worker is
started for the next one. Replies are read with a size cap and parsed defensively; the
numbers inside are decoded later by autograder.protocol.decode.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import sandbox

HERE = Path(__file__).resolve().parent
MAX_REPLY_BYTES = 80 * 1024**2
EXTRA_WORKER_MEMORY = 512 * 1024**2  # the worker's own numpy, above the children's limit


@dataclass
class Reply:
    status: str
    detail: str = ""
    results: list = None
    output: str = ""

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


class StudentRunner:
    def __init__(self, limits=sandbox.Limits(), *, require_sandbox=False, helper_dirs=None, env=None):
        self.limits, self.helper_dirs, self.env = limits, dict(helper_dirs or {}), dict(env or {})
        self.sandboxed = sandbox.require(require_sandbox)
        self.process = None

    def __enter__(self):
        self.parent, self.scratch = sandbox.private_scratch()
        for name in ("worker.py", "protocol.py"):
            shutil.copyfile(HERE / name, self.scratch / name)
        for name, path in self.helper_dirs.items():
            shutil.copytree(path, self.scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
        for path in self.scratch.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        return self

    def __exit__(self, *exc):
        self._stop()
        shutil.rmtree(self.parent, ignore_errors=True)

    def _start(self):
        argv = [sys.executable, "-I", str(self.scratch / "worker.py")]
        if self.sandboxed:
            argv = sandbox.wrap(argv, self.scratch, env=self.env)
            env = None
        else:
            env = {**sandbox_free_environment(), **self.env}
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self.scratch,
            env=env, preexec_fn=sandbox.limit_resources(self.limits, EXTRA_WORKER_MEMORY))

    def _stop(self):
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # bwrap and everything in its namespace
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()
        self.process = None

    def run(self, cells, calls):
        if self.process is None or self.process.poll() is not None:
            self._stop()
            self._start()
        request = {"cells": [list(c) for c in cells], "calls": calls, "limits": {
            "wall_seconds": self.limits.wall_seconds, "memory_bytes": self.limits.memory_bytes,
            "output_bytes": self.limits.output_bytes}}
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            line = self._read_line(self.limits.wall_seconds + 15)
            reply = json.loads(line)
            if not isinstance(reply, dict) or not isinstance(reply.get("status"), str):
                raise ValueError("malformed reply")
        except (OSError, ValueError, TimeoutError) as e:
            self._stop()  # the worker is dead, hung or lying about its protocol: start afresh next time
            return Reply("crashed", f"the process running your code stopped answering ({type(e).__name__})")
        results = reply.get("results")
        return Reply(reply["status"], str(reply.get("detail", ""))[:2000],
                     results if isinstance(results, list) else [], str(reply.get("output", ""))[:self.limits.output_bytes + 100])

    def _read_line(self, timeout):
        fd, chunks, size = self.process.stdout.fileno(), [], 0
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise OSError("worker closed its pipe")
            chunks.append(chunk)
            size += len(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks).decode()
            if size > MAX_REPLY_BYTES:
                raise ValueError("reply too large")


def sandbox_free_environment():
    """Without bwrap, still do not hand student code the grader's environment."""
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")
    return {k: v for k, v in os.environ.items() if k in keep} | {
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
