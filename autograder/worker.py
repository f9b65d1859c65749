"""The sandboxed worker (a zygote): imports numpy once, then forks a fresh child per request.

STANDALONE: standard library + numpy only. autograder.runner copies this file beside the
sandbox and starts it as `python -I -S -B worker.py --site DIR ... [--sweep]`:
-I ignores PYTHON* variables and the user site; -S skips `site`, so no .pth file runs (an
editable install's import finder would otherwise be installed) and sys.path is exactly the
standard library plus the --site directories the grader names (numpy's).

Protocol, one JSON object per line. The grader writes requests on our stdin:
  {"id": ..., "cells": [source | [name, source], ...], "calls": [...], "env": {...},
   "limits": {"wall_seconds", "memory_bytes", "output_bytes", "cpu_seconds"}}
and reads on our stdout first {"ready": true, ...}, then one reply per request:
  {"id", "status": "ok"|"error"|"timeout"|"crashed"|"memory", "detail", "results", "output",
   "seconds", "error"?: {"type", "message", "cell", "where", "traceback"}}

Calls, performed in order after the cells, each guarded; results[i] answers calls[i]:
  {"op": "gate", "class": C, "steps": [[method, [arg, ...]], ...]}
      one C() instance, its methods in order -> [encoded return, ...]; an exception gives
      {"error": "Type: message"} for that step and ends this call's steps.
  {"op": "gate", "class": C, "repeat_forward": [[arg, ...], ...], "method"?: "forward"}
      a fresh C() per argument list, one forward each -> [encoded, ...], errors per entry:
      the numeric gradient of the student's own forward in one round trip.
  {"op": "variables", "names": [...]}           -> {name: encoded | {"missing": true}}
  {"op": "call", "function": f, "args": [...]}  -> encoded f(*args)

Encoded values (both directions):
  {"float": x}   a Python int or float, or a numpy integer/floating scalar; exact types only:
                 bool and np.bool_ are NOT numbers, and neither are subclasses;
  {"array": nested lists, "shape": [...], "dtype": "float64"}  exactly np.ndarray with a
                 real numeric dtype (int, uint, float), sent as float64 (dtype: the original);
  {"seq": [...]} an exact tuple or list;  {"unsupported": "type name"} anything else.
  NaN and infinities travel as they are (the grader decides). Arguments from the grader are
  decoded into fresh objects for every call: mutating them changes nothing there.

Student code runs in the child and may monkeypatch everything there, this encoder too: the
grader trusts nothing but the numbers it decodes itself.
"""
import builtins
import ctypes
import json
import linecache
import os
import resource
import select
import signal
import sys
import time
import traceback

MAX_RESULT_BYTES = 32 * 1024**2  # one child's JSON result
MAX_ARRAY_ENTRIES = 250_000
MAX_SEQ_ITEMS = 256
MAX_DEPTH = 8
READ_CHUNK = 64 * 1024

NUMBER_TYPES = frozenset((int, float))  # numpy's scalar types are added in main()
SWEEP = False  # kill(-1) after each request: only inside bwrap's own pid namespace (main)


# ---------------------------------------------------------------- encoding (student side)

def _type_name(value):
    try:
        t = type(value)
        name = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
        return str(name)[:100]
    except Exception:
        return "object"


def _number_types(np):
    names = ("float16", "float32", "float64", "longdouble", "int8", "int16", "int32", "int64",
             "uint8", "uint16", "uint32", "uint64", "intc", "uintc", "longlong", "ulonglong")
    return frozenset([int, float] + [getattr(np, n) for n in names if hasattr(np, n)])


def encode(value, depth=0):
    np = sys.modules["numpy"]
    t = type(value)
    if t in NUMBER_TYPES:
        try:
            return {"float": float(value)}
        except (OverflowError, ValueError, TypeError):
            return {"unsupported": f"{_type_name(value)} too large for a float"}
    if t is np.ndarray:
        if value.dtype.kind not in "iuf":
            return {"unsupported": f"numpy array of dtype {value.dtype}"}
        if value.size > MAX_ARRAY_ENTRIES:
            return {"unsupported": f"numpy array with {value.size} entries (too many)"}
        return {"array": value.astype(np.float64).tolist(), "shape": list(value.shape), "dtype": str(value.dtype)}
    if t is tuple or t is list:
        if depth >= MAX_DEPTH:
            return {"unsupported": "tuples or lists nested too deeply"}
        if len(value) > MAX_SEQ_ITEMS:
            return {"unsupported": f"{t.__name__} of {len(value)} items (too many)"}
        return {"seq": [encode(v, depth + 1) for v in value]}
    return {"unsupported": _type_name(value)}


def decode_argument(encoded, depth=0):
    """An argument from the grader, as a fresh object (a new copy for every call)."""
    np = sys.modules["numpy"]
    if depth > MAX_DEPTH or type(encoded) is not dict:
        raise ValueError("malformed argument")
    if "float" in encoded:
        return float(encoded["float"])
    if "array" in encoded:
        return np.array(encoded["array"], dtype=np.float64).reshape(encoded["shape"])
    if "seq" in encoded:
        return tuple(decode_argument(e, depth + 1) for e in encoded["seq"])
    raise ValueError("malformed argument")


# ---------------------------------------------------------------- in the child

class Child:
    """What one forked child does: the cells in one fresh namespace, then the calls."""

    def __init__(self):
        self.ns = {"__name__": "__main__", "__builtins__": builtins}
        self.memory_error = False

    def run_cells(self, cells):
        """None when every cell ran, else a description of the error that stopped them."""
        for index, cell in enumerate(cells):
            name, source = (str(index), cell) if isinstance(cell, str) else (str(cell[0]), cell[1])
            filename = f"<cell {name}>"
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # traceback lines
            try:
                exec(compile(source, filename, "exec"), self.ns)
            except BaseException as e:  # SystemExit too: it is the student's cell
                return describe_error(e, name)
        return None

    def perform(self, call):
        try:
            op = call.get("op")
            if op == "gate":
                return self.gate(call)
            if op == "variables":
                return {str(n): self.guarded(lambda n=n: self.ns[n]) if n in self.ns else {"missing": True}
                        for n in call["names"]}
            if op == "call":
                fn = self.ns.get(call["function"])
                if not callable(fn):
                    return {"error": f"NameError: {call['function']} is not defined (did its cell run?)"}
                return self.guarded(lambda: fn(*[decode_argument(a) for a in call["args"]]))
            return {"error": f"unknown op {op!r}"}
        except BaseException as e:
            return self.error(e)

    def gate(self, call):
        cls = self.ns.get(call["class"])
        if cls is None:
            return [{"error": f"NameError: {call['class']} is not defined (did its cell run?)"}]
        if "repeat_forward" in call:  # a fresh instance per input, each guarded on its own
            method = str(call.get("method", "forward"))
            return [self.guarded(lambda args=args: getattr(cls(), method)(*[decode_argument(a) for a in args]))
                    for args in call["repeat_forward"]]
        try:
            instance = cls()
        except BaseException as e:
            return [self.error(e)]
        results = []
        for method, args in call["steps"]:
            step = self.guarded(lambda: getattr(instance, str(method))(*[decode_argument(a) for a in args]))
            results.append(step)
            if "error" in step:
                break
        return results

    def guarded(self, thunk):
        """Encoded thunk(), or {"error": ...}: student code may raise anything."""
        try:
            return encode(thunk())
        except BaseException as e:
            return self.error(e)

    def error(self, e):
        if isinstance(e, MemoryError):
            self.memory_error = True
        info = describe_error(e)
        where = f" ({info['where']})" if info["where"] else ""
        return {"error": f"{info['type']}: {info['message']}"[:600] + where}


def describe_error(e, cell=None):
    """Type, message, the innermost student line, and a traceback of the student's own
    frames only (cells are compiled as "<cell NAME>"; the worker's frames are left out)."""
    try:
        message = str(e)[:1000]
    except BaseException:
        message = "<the exception's message could not be printed>"
    try:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith("<cell")]
        where = f"{frames[-1].filename[1:-1]}, line {frames[-1].lineno}" if frames else ""
        lines = "".join(traceback.format_list(frames[-8:]))
        text = ("Traceback (most recent call last):\n" + lines if lines else "") + f"{type(e).__name__}: {message}"
    except BaseException:
        where, text = "", f"{type(e).__name__}: {message}"
    return {"type": type(e).__name__[:100], "message": message, "cell": cell, "where": where,
            "traceback": text[-3000:]}


def child_main(request, result_fd, output_fd):
    """The forked child's whole life; ends in os._exit."""
    os.setpgid(0, 0)  # its own process group: the zygote kills it and its helpers at once
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the zygote (matters when unsandboxed)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    for stream in (sys.stdout, sys.stderr):  # a line at a time: output before a crash still shows
        stream.reconfigure(line_buffering=True)
    limits = request["limits"]
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(float(limits.get("cpu_seconds") or float(limits["wall_seconds"]) + 1) + 0.999)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    for key, value in dict(request.get("env") or {}).items():
        os.environ[str(key)] = str(value)
    sys.path.insert(0, os.getcwd())  # the scratch directory: helper packages (bpkit/) live there
    sys.argv = [""]

    child = Child()
    error = child.run_cells(request["cells"])
    if error is not None:
        status = "memory" if error["type"] == "MemoryError" else "error"
        detail = f"cell {error['cell']} raised {error['type']}: {error['message']}"[:2000]
        reply = {"status": status, "detail": detail, "error": error, "results": []}
    else:
        results = [child.perform(call) for call in request["calls"]]
        reply = {"status": "memory" if child.memory_error else "ok",
                 "detail": "a call ran out of memory" if child.memory_error else "", "results": results}
    finish(reply, result_fd)


def finish(reply, result_fd):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    try:
        data = json.dumps(reply).encode()
    except BaseException as e:
        data = json.dumps({"status": "crashed", "detail": f"the result could not be sent: {type(e).__name__}"}).encode()
    view = memoryview(data)
    while view:
        written = os.write(result_fd, view[:1 << 20])
        if written <= 0:
            break
        view = view[written:]
    os._exit(0)


# ---------------------------------------------------------------- the zygote

def serve(request, private_fds):
    """Fork a child for the request, enforce its wall-clock limit, collect its result and
    (capped) output, and kill everything it started. Returns the reply."""
    limits = request["limits"]
    wall, out_cap = float(limits["wall_seconds"]), int(limits["output_bytes"])
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            for fd in (*private_fds, result_r, output_r):
                os.close(fd)
            child_main(request, result_w, output_w)
        finally:
            os._exit(70)
    os.close(result_w)
    os.close(output_w)
    try:
        waited, result, output = watch(pid, result_r, output_r, started + wall, out_cap)
    finally:
        sweep(pid)
        reap(pid)
        os.close(result_r)
        os.close(output_r)
    reply = judge(waited, result, wall)
    reply["output"] = render_output(output, out_cap)
    reply["seconds"] = round(time.monotonic() - started, 4)
    return reply


class Capture:
    """Bytes read from a pipe: at most `cap` kept, the rest drained and counted (a child
    blocked on a full pipe would only look like a timeout)."""

    def __init__(self, fd, cap):
        self.fd, self.cap, self.data, self.total, self.eof = fd, cap, bytearray(), 0, False

    def read(self):
        try:
            chunk = os.read(self.fd, READ_CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self.eof = True
            return
        self.total += len(chunk)
        if len(self.data) < self.cap:
            self.data += chunk[:self.cap - len(self.data)]


def watch(pid, result_r, output_r, deadline, out_cap):
    """Wait for the child or the deadline, reading its two pipes meanwhile. Returns
    (wait status | "timeout" | "too large", result capture, output capture)."""
    result, output = Capture(result_r, MAX_RESULT_BYTES + 1), Capture(output_r, out_cap + 1)
    for fd in (result_r, output_r):
        os.set_blocking(fd, False)
    pidfd = _pidfd(pid)  # readable when the child exits (None: poll instead)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", result, output
            fds = [c.fd for c in (result, output) if not c.eof] + ([pidfd] if pidfd is not None else [])
            ready, _, _ = select.select(fds, [], [], left if pidfd is not None else min(left, 0.01))
            for capture in (result, output):
                if capture.fd in ready:
                    capture.read()
            if result.total > MAX_RESULT_BYTES:
                return "too large", result, output
            done, status = os.waitpid(pid, os.WNOHANG) if pidfd is None or pidfd in ready else (0, 0)
            if done:
                sweep(pid)  # the child's leftovers too: then every writer of the pipes is gone
                for capture in (result, output):
                    while not capture.eof and capture.total <= MAX_RESULT_BYTES + out_cap:
                        before = capture.total
                        capture.read()
                        if capture.total == before and not capture.eof:
                            break  # nothing more without waiting (unsandboxed survivors)
                return status, result, output
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # Python < 3.9 or Linux < 5.3
        return None


def reap(pid):
    """Collect the child if `watch` did not (no zombies in a long-lived zygote)."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def judge(waited, result, wall):
    """The reply from how the child ended and what it sent."""
    if waited == "timeout":
        return {"status": "timeout", "detail": f"did not finish within {wall:g} seconds"}
    if waited == "too large":
        return {"status": "error", "detail": "the result was too large to send back"}
    if os.WIFSIGNALED(waited):
        sig = os.WTERMSIG(waited)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        if sig == signal.SIGXCPU:
            return {"status": "timeout", "detail": f"used up its CPU-time limit ({name})"}
        if sig == signal.SIGKILL:
            return {"status": "crashed", "detail": f"killed by signal {name} (perhaps out of memory)"}
        return {"status": "crashed", "detail": f"killed by signal {name}"}
    code = os.WEXITSTATUS(waited)
    try:
        reply = json.loads(bytes(result.data)) if code == 0 else None
    except (ValueError, RecursionError):
        reply = None
    if type(reply) is not dict:
        why = f"exited with code {code}" if code else "exited without sending a usable result"
        return {"status": "crashed", "detail": f"the process running the code {why}"}
    return reply


def render_output(output, cap):
    text = bytes(output.data[:cap]).decode("utf-8", "replace")
    if output.total > cap:
        text += f"\n[... {output.total - cap} more bytes of output cut: the limit is {cap} bytes]"
    return text


def sweep(pgid):
    """Kill what a request left behind: its process group and, inside the sandbox, every
    other process we may signal (detached, setsid() ones too). kill(-1) spares the caller
    and pid 1 (bwrap); it is only used when pid 1 really is bwrap (our own pid namespace)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    if SWEEP:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass


def _prctl(option, value):
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, int(value), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def make_undumpable():
    """Children run as our user: PR_SET_DUMPABLE 0 stops them from ptracing us or reading
    our memory and file descriptors through /proc."""
    _prctl(4, 0)  # PR_SET_DUMPABLE


def take_channel():
    """Move the grader's pipes to private descriptors; fds 0-2 become /dev/null, so nothing
    a child inherits by accident reaches the grader."""
    requests, replies = os.dup(0), os.dup(1)  # non-inheritable; children close them anyway
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return requests, replies


def write_line(fd, obj):
    view = memoryview((json.dumps(obj) + "\n").encode())
    while view:
        view = view[os.write(fd, view):]


def parse_args(argv):
    sites, sweep_wanted = [], False
    args = iter(argv)
    for arg in args:
        if arg == "--site":
            sites.append(next(args))
        elif arg == "--sweep":
            sweep_wanted = True
    return sites, sweep_wanted


def in_own_pid_namespace():
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip() == "bwrap"
    except OSError:
        return False


def main():
    global NUMBER_TYPES, SWEEP
    sites, sweep_wanted = parse_args(sys.argv[1:])
    sys.path.extend(sites)
    import numpy  # once, here: every fork starts with it loaded

    NUMBER_TYPES = _number_types(numpy)
    SWEEP = sweep_wanted and in_own_pid_namespace()
    requests, replies = take_channel()
    make_undumpable()
    write_line(replies, {"ready": True, "pid": os.getpid(), "uid": os.getuid(), "numpy": numpy.__version__,
                         "sweep": SWEEP})
    for line in os.fdopen(requests, "rb"):
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            reply = serve(request, (requests, replies))
        except Exception as e:  # a malformed request is the grader's bug: say so, keep serving
            reply = {"status": "crashed", "detail": f"worker: {type(e).__name__}: {e}"[:500]}
        reply["id"] = request_id
        write_line(replies, reply)


if __name__ == "__main__":
    main()
