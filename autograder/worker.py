"""The sandboxed worker: imports numpy once, then forks a fresh child for every request.

Standalone (standard library + numpy + protocol.py beside it): it is copied into the
sandbox's scratch directory and started there by autograder.runner. Requests and
replies are JSON lines on the grader's pipes, which student code never holds: each
child closes them, sends its stdout/stderr to a file, applies the limits, runs the
cells it was sent in one fresh namespace, performs the calls, writes one result file
and exits. The worker enforces the wall-clock limit and reports what happened.
"""
import ctypes
import json
import os
import resource
import signal
import sys
import time
import traceback

import numpy  # noqa: F401  (imported once here, so every fork starts with it loaded)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

MAX_RESULT_BYTES = 64 * 1024**2


def make_undumpable():
    """Children run as the same user: stop them from ptracing or reading this process."""
    try:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def child(request, result_path, output_path, channels):
    for fd in channels:
        os.close(fd)
    os.setpgid(0, 0)
    out = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full output file makes writes fail, not the child
    limits = request["limits"]
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"], limits["memory_bytes"]))
    cpu = int(limits["wall_seconds"]) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

    def finish(reply):
        with open(result_path, "w") as f:
            json.dump(reply, f)
        os._exit(0)

    namespace = {"__name__": "__main__"}
    for name, source in request["cells"]:
        try:
            exec(compile(source, f"<cell {name}>", "exec"), namespace)
        except MemoryError:
            finish({"status": "memory", "detail": f"cell {name}"})
        except BaseException as e:  # SystemExit and KeyboardInterrupt too: it is the student's cell
            lines = traceback.format_exception_only(type(e), e)
            finish({"status": "error", "detail": f"cell {name} raised {''.join(lines).strip()[-600:]}"})
    results = [protocol.perform_call(namespace, call) for call in request["calls"]]
    if any("MemoryError" in json.dumps(r)[:100000] for r in results):
        finish({"status": "memory", "detail": "a call"})
    finish({"status": "ok", "results": results})


def serve(request, channels, counter):
    result_path, output_path = f"result-{counter}.json", f"output-{counter}.txt"
    pid = os.fork()
    if pid == 0:
        try:
            child(request, result_path, output_path, channels)
        finally:
            os._exit(70)
    deadline = time.monotonic() + request["limits"]["wall_seconds"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            _kill_group(pid)
            os.waitpid(pid, 0)
            return {"status": "timeout", "output": _read(output_path, request["limits"]["output_bytes"])}
        time.sleep(0.001)
    _kill_group(pid)  # whatever the child left running in its group
    output = _read(output_path, request["limits"]["output_bytes"])
    try:
        if os.path.getsize(result_path) > MAX_RESULT_BYTES:
            return {"status": "error", "detail": "the result was too large", "output": output}
        with open(result_path) as f:
            reply = json.load(f)
    except (OSError, ValueError):
        how = (f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exited with code {os.WEXITSTATUS(status)}")
        return {"status": "crashed", "detail": f"the process running your code {how}", "output": output}
    finally:
        for path in (result_path, output_path):
            try:
                os.unlink(path)
            except OSError:
                pass
    if not isinstance(reply, dict):
        return {"status": "crashed", "detail": "no usable result", "output": output}
    reply["output"] = output
    return reply


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read(path, cap):
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError:
        return ""
    text = data[:cap].decode("utf-8", "replace")
    return text + ("\n[... output cut at the course's limit]" if len(data) > cap else "")


def main():
    make_undumpable()
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    reader, writer = os.fdopen(requests, "r"), os.fdopen(replies, "w")
    for counter, line in enumerate(reader):
        try:
            reply = serve(json.loads(line), (requests, replies), counter)
        except Exception as e:  # a malformed request is the grader's bug: say so, keep serving
            reply = {"status": "crashed", "detail": f"worker: {type(e).__name__}: {e}"}
        writer.write(json.dumps(reply) + "\n")
        writer.flush()


if __name__ == "__main__":
    main()
