"""The sandboxed worker (a zygote): imports numpy once, then forks a fresh child per request.

STANDALONE: standard library, numpy, IPython's input transformation and protocol.py, which
autograder.sandbox.runner copies beside
this file into a read-only directory of the sandbox, then starts
`python -I -S -B worker.py --site DIR ... [--sweep]`: -I ignores PYTHON* variables and the
user site; -S skips `site`, so no .pth file runs (an editable install's import finder would
otherwise be installed) and sys.path is exactly the standard library plus the --site
directories the grader names (numpy's). --preload names helper modules of the scratch
directory to import once, before any student code runs.

One JSON object per line. The grader writes requests on our stdin:
  {"id": ..., "cells": [source | [name, source], ...], "calls": [...], "env": {...},
   "limits": limits.py's Limits.to_wire()}
and reads on our stdout first {"ready": true, ...}, then one reply per request:
  {"id", "status": "ok"|"error"|"timeout"|"crashed"|"memory", "detail", "results", "output",
   "seconds", "cpu_seconds" (the child's CPU time), "error"?: {"type", "message", "cell", "where", "traceback"},
   "phase"?: "cells"|"calls" (of a wall-clock timeout: what was running)}
A request with "notebook": true runs its cells as a kernel would instead (one namespace, an
error or a timeout of "limits.cell_seconds" ends only its cell, the last line's value shown)
and replies with "results": [the nbformat outputs of each cell that finished, ...]; a process
that dies in a cell keeps the outputs of the cells before it.
Every cell goes through IPython's own input transformation first, as in the kernel Jupyter
starts (common indentation removed, magics, `!shell`, `?` help made into calls); cells whose
Python then needs IPython's helpers (get_ipython(), display(), a single-line automagic) run in
an in-process IPython shell over the same namespace (`Shell`). IPython is imported once, by
the zygote (or the sandbox host it is forked from), never per child.
The calls and the encoding of values are protocol.py's. The child runs the cells, then
performs the calls in order; student code may monkeypatch everything there, the encoder
too: the grader trusts nothing but the numbers it decodes itself.
"""

import builtins
import contextlib
import ctypes
import importlib
import importlib.machinery
import importlib.util
import json
import linecache
import os
import re
import select
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

MAX_RESULT_BYTES = 32 * 1024**2  # one child's JSON result
# Written before the result once the cells have run. Student code can write it too: it only
# tells which phase a timeout hit, which decides nothing but what the grader skips for that
# same student (cells that loop by themselves need not be run again).
CELLS_DONE = b"#cells-done\n"
READ_CHUNK = 64 * 1024

# autograder/sandbox/protocol.py and limits.py, copied beside this file and imported by
# load_protocol() (the sandbox has no autograder package); the type checker reads them where they are.
if TYPE_CHECKING:
    from . import limits as limits_module
    from . import protocol
else:
    protocol = limits_module = None
SWEEP = False  # kill(-1) after each request: only inside bwrap's own pid namespace (main)


# ---------------------------------------------------------------- in the child


def named(cells):
    """[(name, source)] of a request's cells (a cell is a source, or [name, source])."""
    return [(str(i), c) if isinstance(c, str) else (str(c[0]), str(c[1])) for i, c in enumerate(cells)]


# IPython's static input transformation (IPython.core.inputtransformer2), what a kernel applies
# to every cell before Python sees it: None where IPython cannot be imported (cells then run
# as written). Loaded by load_ipython() in the zygote, or in the sandbox host it is forked from.
TRANSFORMER = None
# Line magics and aliases a single-line cell may name without its % (automagic), which only a
# shell's prefilter turns into a call.
AUTOMAGICS: frozenset[str] = frozenset()

# What the transformed Python needs a shell for: its helpers named (magics, shell escapes and
# help have become get_ipython() calls), or a single line that the shell's prefilter may still
# rewrite (an automagic, or IPython's `,` `;` `/` call escapes). Decided in the child, under
# the student's limits (the zygote never reads student code), from the text alone: a false
# alarm costs the shell's start (a tenth of a second), never a different result, since the
# shell runs plain Python unchanged.
NEEDS_SHELL = re.compile(r"\bget_ipython\b|\bdisplay\b")
SINGLE_LINE_ESCAPE = re.compile(r"^\s*(?:[,;/]|(?P<word>[A-Za-z_]\w*))")


def _line_magics(magics_class: Any) -> dict:
    """The line magics an IPython Magics class defines (IPython's types are not read: Any)."""
    return magics_class.magics.get("line", {})


def load_ipython():
    """Import IPython once, before any fork: its input transformation runs on every cell, and
    each child that needs a shell then only builds it. A failure leaves cells untransformed
    (a cell that needed IPython then fails on its own, with its own error)."""
    global TRANSFORMER, AUTOMAGICS
    try:
        import IPython.core.interactiveshell  # noqa: F401  (the shell's classes, for the children that need one)
        from IPython.core import magics
        from IPython.core.alias import default_aliases
        from IPython.core.inputtransformer2 import TransformerManager
        from IPython.core.magic import Magics
    except Exception:
        return
    TRANSFORMER = TransformerManager()
    AUTOMAGICS = frozenset(
        [
            name
            for cls in vars(magics).values()
            if isinstance(cls, type) and issubclass(cls, Magics)
            for name in _line_magics(cls)
        ]
        + [name for name, _ in default_aliases()]
    )


def python_of(source):
    """The Python a kernel runs for a cell (raises what IPython's transformation raises, the
    cell's own error in a kernel too)."""
    return source if TRANSFORMER is None else TRANSFORMER.transform_cell(source)


def needs_shell(source):
    """Whether a cell may need an IPython shell to run as a kernel runs it."""
    try:
        python = python_of(source)
    except Exception:  # the cell fails in its turn, shell or not
        return False
    if NEEDS_SHELL.search(python):
        return True
    if len(python.splitlines()) != 1:
        return False
    escape = SINGLE_LINE_ESCAPE.match(python)
    return escape is not None and (escape["word"] is None or escape["word"] in AUTOMAGICS)


def uses_ipython(cells):
    return TRANSFORMER is not None and any(needs_shell(source) for _, source in named(cells))


class Shell:
    """An in-process IPython shell over a child's namespace, as the kernel has one: a cell
    goes through IPython's transformations (magics, shell escapes) before it is run, and
    display() and get_ipython() work. Output goes where the cell's output goes: display()
    to `display` (a callable taking a MIME bundle), the values of cells to `bundle`."""

    def __init__(self, ns, display):
        from IPython.core import page
        from IPython.core.displaypub import DisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        class Publisher(DisplayPublisher):
            def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
                display(data)

            def clear_output(self, wait=False):
                pass

        self.output: CellOutput | None = None  # the running cell's (run_notebook_cell sets it)
        config = Config()
        config.HistoryManager.enabled = False  # no SQLite file and no saving thread
        config.InteractiveShell.colors = "nocolor"  # tracebacks are read as plain text
        self.ipython = InteractiveShell.instance(user_ns=ns, config=config, display_pub_class=Publisher)
        # `x?` and %pinfo page their text: a kernel sends it to the notebook's pager, never to
        # the cell's output, and a plain shell would print it or start `less`.
        self.ipython.set_hook("show_in_pager", page.as_hook(lambda *args, **kwargs: None), 99)

    def transform(self, source):
        return self.ipython.transform_cell(source)

    def running(self):
        """A context for running cells: get_ipython() among the builtins, as in the kernel."""
        return self.ipython.builtin_trap

    @staticmethod
    def is_usage_error(error):
        from IPython.core.error import UsageError

        return isinstance(error, UsageError)

    def bundle(self, value, cap):
        data, _ = self.ipython.display_formatter.format(value)
        return {mime: shown[:cap] for mime, shown in data.items() if type(shown) is str}


def make_shell(ns, display):
    """A Shell, or None when IPython cannot start here: the cells then run as plain Python,
    and one that needed IPython fails on its own, with its own error."""
    try:
        return Shell(ns, display)
    except Exception:
        return None


def print_display(data):
    """display() where a check's output is plain text: its text/plain, as IPython's terminal prints it."""
    if "text/plain" in data:
        print(data["text/plain"])


class Child:
    """What one forked child does: the cells in one fresh namespace, then the calls."""

    def __init__(self):
        self.ns = {"__name__": "__main__", "__builtins__": builtins}

    def run_cells(self, cells):
        """None when every cell ran, else a description of the error that stopped them."""
        cells = named(cells)
        shell = make_shell(self.ns, print_display) if uses_ipython(cells) else None
        for name, source in cells:
            filename = f"<cell {name}>"
            linecache.cache[filename] = (
                len(source),
                None,
                source.splitlines(True),
                filename,
            )  # traceback lines
            try:
                if shell is None:
                    exec(compile(python_of(source), filename, "exec"), self.ns)
                    continue
                with shell.running():
                    exec(compile(shell.transform(source), filename, "exec"), self.ns)
            except BaseException as e:  # SystemExit too: it is the student's cell
                return protocol.describe_error(e, name)
        return None


class CappedOutput:
    """A request's stdout and stderr (threads' too): written through at once (output before a crash
    still shows) until `cap` bytes, then only counted. Output limits cut what is shown, never the
    grade: a forward that prints 200,000 lines would otherwise spend its CPU limit on a system call
    per line that the zygote only drains and drops."""

    def __init__(self, cap):
        self.left, self.cut = cap + 1, 0  # one byte over: the zygote sees the cap was passed
        self.out = self.err = None  # its two streams (child_main), what quiet_print skips
        self.skipped = False

    def full(self):
        """The cap is reached: from now on a print() to these streams is skipped before it formats
        anything (`quiet_print`): a forward printing 200,000 lines per call would otherwise spend
        its CPU limit formatting lines nobody sees (the gradient check calls it dozens of times)."""
        if builtins.print is not quiet_print:
            builtins.print = quiet_print

    def stream(self, fd):
        owner = self

        class Stream:
            encoding, errors = "utf-8", "replace"

            def write(self, text):
                text = str(text)
                if owner.left <= 0:
                    owner.cut += len(text)
                    owner.full()
                    return len(text)
                data = text.encode("utf-8", "replace")
                view = memoryview(data)[: owner.left]
                owner.left -= len(view)
                owner.cut += len(data) - len(view)
                while view:
                    try:
                        view = view[os.write(fd, view) :]
                    except InterruptedError:
                        continue
                    except OSError:
                        break
                return len(text)

            def flush(self):
                pass

            def isatty(self):
                return False

            def writable(self):
                return True

            def fileno(self):
                return fd

        return Stream()


OUTPUT: "CappedOutput | None" = None  # the child's, once child_main made it
_print = builtins.print


def quiet_print(*args, sep=" ", end="\n", file=None, flush=False):
    """print(), except that a print to a full CappedOutput stream is skipped (counted as skipped):
    what the student's code prints to a StringIO, a file or a redirected stdout still happens."""
    if OUTPUT is not None and OUTPUT.left <= 0:  # installed only once OUTPUT exists and is full
        target = sys.stdout if file is None else file
        if target is OUTPUT.out or target is OUTPUT.err:
            OUTPUT.skipped = True
            return None
    return _print(*args, sep=sep, end=end, file=file, flush=flush)


def child_main(request, limits, result_fd, output_fd):
    """The forked child's whole life; ends in os._exit."""
    os.setpgid(0, 0)  # its own process group: the zygote kills it and its helpers at once
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the zygote (matters when unsandboxed)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    global OUTPUT
    OUTPUT = output = CappedOutput(int(limits.output_bytes))
    sys.stdout, sys.stderr = output.out, output.err = output.stream(1), output.stream(2)
    limits_module.apply(limits, cpu=True)  # the one table of rlimits (limits.py), with the child's CPU cap
    for key, value in dict(request.get("env") or {}).items():
        os.environ[str(key)] = str(value)
    sys.path.insert(0, os.getcwd())  # the scratch directory: helper packages (bpkit/) live there
    sys.argv = [""]

    if request.get("notebook"):
        run_notebook(request["cells"], limits.cell_cpu_limit, int(limits.output_bytes), result_fd)
    child = Child()
    error = child.run_cells(request["cells"])
    if error is not None:
        status = "memory" if error["type"] == "MemoryError" else "error"
        said = protocol.detail(
            "cell raised", cell=error["cell"], type=error["type"], message=error["message"][:1800]
        )
        reply = {"status": status, **said, "error": error, "results": []}
    else:
        os.write(result_fd, CELLS_DONE)  # a timeout from here on is the calls', not the cells'
        results = [protocol.perform_call(child.ns, call) for call in request["calls"]]
        memory_error = '"error": "MemoryError' in json.dumps(results)
        reply = {
            "status": "memory" if memory_error else "ok",
            **(protocol.detail("call out of memory") if memory_error else {"detail": ""}),
            "results": results,
        }
    finish(reply, result_fd)


# ---------------------------------------------------------------- a notebook's cells, as a kernel runs them


class CellTimeout(KeyboardInterrupt):
    """Raised in a cell that runs past its time, as a kernel interrupt would."""

    def __init__(self, seconds):
        self.said = protocol.detail("cell timeout", seconds=seconds)
        super().__init__(self.said["detail"])


class CellOutput:
    """A cell's stdout, stderr and display() outputs, in order, at most `cap` characters in all."""

    def __init__(self, cap):
        self.cap, self.size, self.chunks = cap, 0, []  # [[name, text] | ["display", bundle], ...]

    def stream(self, name):
        owner = self

        class Stream:
            encoding, errors = "utf-8", "replace"

            def write(self, text):
                owner.add(name, str(text))
                return len(text)

            def flush(self):
                pass

            def isatty(self):
                return False

        return Stream()

    def add(self, name, text):
        text = text[: max(0, self.cap - self.size)]
        self.size += len(text)
        if not text:
            return
        if self.chunks and self.chunks[-1][0] == name:
            self.chunks[-1][1] += text
        else:
            self.chunks.append([name, text])

    def display(self, data):
        bundle = {}
        for mime, shown in data.items():
            if type(shown) is str and self.size < self.cap:
                bundle[mime] = shown[: self.cap - self.size]
                self.size += len(bundle[mime])
        if bundle:
            self.chunks.append(["display", bundle])

    def outputs(self):
        return [
            {"output_type": "display_data", "metadata": {}, "data": chunk}
            if name == "display"
            else {"output_type": "stream", "name": name, "text": chunk}
            for name, chunk in self.chunks
        ]


MIME_METHODS = (
    ("image/svg+xml", "_repr_svg_"),
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("text/latex", "_repr_latex_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
)


def mime_bundle(value, cap):
    """What IPython's display formatter would show for the value of a cell's last line:
    text/plain and the rich representations the object offers (strings only)."""
    data = {"text/plain": repr(value)[:cap]}
    for mime, method in MIME_METHODS:
        try:
            shown = getattr(value, method)() if callable(getattr(value, method, None)) else None
        except Exception:
            shown = None
        if type(shown) is bytes:
            import base64

            shown = base64.b64encode(shown).decode()
        if type(shown) is str:
            data[mime] = shown[:cap]
    return data


def run_notebook_cell(ns, name, source, seconds, cap, count, shell=None):
    """Run one cell like a kernel (through `shell`, an IPython Shell over `ns`, when the
    notebook needs one): the outputs it makes, as nbformat output dicts."""
    import ast

    captured = CellOutput(cap)
    if shell is not None:
        shell.output = captured  # where its display() goes while this cell runs
    sys.stdout, sys.stderr = captured.stream("stdout"), captured.stream("stderr")
    outputs, filename = [], f"<cell {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)

    def interrupt(signum, frame):
        raise CellTimeout(seconds)

    # The cell's CPU time, not the wall clock: a busy machine slows a cell, it does not stop it. This
    # is the polite stop, a kernel's interrupt (the notebook goes on); a cell that cancels it is
    # killed by the zygote a little later (`CellClock`), and the notebook goes on in a new process.
    signal.signal(signal.SIGPROF, interrupt)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        with shell.running() if shell is not None else contextlib.nullcontext():
            tree = ast.parse(shell.transform(source) if shell is not None else python_of(source), filename)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, filename, "exec"), ns)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), filename, "eval"), ns)
                signal.setitimer(signal.ITIMER_PROF, 0)
                if value is not None:
                    data = shell.bundle(value, cap) if shell is not None else mime_bundle(value, cap)
                    outputs.append(
                        {
                            "output_type": "execute_result",
                            "execution_count": count,
                            "metadata": {},
                            "data": data,
                        }
                    )
    except BaseException as e:  # SystemExit and the interrupt too: the cell's error, the notebook goes on
        signal.setitimer(signal.ITIMER_PROF, 0)
        if shell is not None and shell.is_usage_error(e):  # a magic misused: the kernel prints one line
            captured.add("stderr", f"UsageError: {e}\n")
        else:
            info = protocol.describe_error(e, name)
            outputs.append(
                {
                    "output_type": "error",
                    "ename": info["type"],
                    "evalue": info["message"],
                    "traceback": info["traceback"].splitlines(),
                    **({"words": e.said["words"]} if isinstance(e, CellTimeout) else {}),
                }
            )
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    return captured.outputs() + outputs


def run_notebook(cells, seconds, cap, result_fd):
    """A notebook's cells in one namespace, as a kernel runs them: an error or a timeout ends
    only its cell. One JSON line per cell as it finishes, so the outputs of the cells before
    one that kills the process still reach the grader; then a last line saying all ran."""
    ns = {"__name__": "__main__", "__builtins__": builtins}
    cells = named(cells)
    shell: Shell | None = None

    def display(data):  # a display() in a cell: the shell's output shows it (it exists by then)
        if shell is not None and shell.output is not None:
            shell.output.display(data)

    if uses_ipython(cells):
        shell = make_shell(ns, display)
    for index, (name, source) in enumerate(cells):
        outputs = run_notebook_cell(ns, name, source, seconds, cap, index + 1, shell)
        try:
            write_line(result_fd, {"cell": index, "outputs": outputs})
        except (TypeError, ValueError, RecursionError):
            write_line(
                result_fd,
                {
                    "cell": index,
                    "outputs": [
                        {"output_type": "stream", "name": "stderr", "text": "(the outputs could not be sent)"}
                    ],
                },
            )
    write_line(result_fd, {"done": True})
    finish_quietly()


def finish_quietly():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(0)


def judge_notebook(waited, result, wall):
    """The reply to a notebook request: the outputs of every cell that finished, and
    whether all did (ok), or what stopped the rest (timeout, crashed)."""
    cells: list = []  # each finished cell's outputs, as its child wrote them (JSON)
    done = False
    for line in bytes(result.data).split(b"\n"):
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if type(entry) is dict and entry.get("done") is True:
            done = True
        elif type(entry) is dict and entry.get("cell") == len(cells):
            cells.append(entry.get("outputs"))
    if done and waited != "cell limit":  # the clock's verdict stands: student code can write a "done" line
        return {"status": "ok", "detail": "", "results": cells}
    reply = _how_it_ended(waited, wall)
    reply["results"] = cells
    return reply


def _how_it_ended(waited, wall):
    if waited == "cell limit":  # `wall` is the cell's CPU limit then
        return {"status": "timeout", **protocol.detail("cell cpu limit", seconds=wall)}
    if waited == "timeout":
        return {"status": "timeout", **protocol.detail("wall timeout", wall=wall)}
    if waited == "too large":
        return {"status": "error", **protocol.detail("outputs too large")}
    if os.WIFSIGNALED(waited):
        return {"status": "crashed", **protocol.detail("killed", signal=os.WTERMSIG(waited))}
    return {"status": "crashed", **protocol.detail("notebook exited", code=os.WEXITSTATUS(waited))}


def finish(reply, result_fd):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    if OUTPUT is not None and OUTPUT.cut:
        reply["output_cut"] = OUTPUT.cut
    if OUTPUT is not None and OUTPUT.skipped:
        reply["output_skipped"] = True
    try:
        data = json.dumps(reply).encode()
    except BaseException as e:
        data = json.dumps(
            {"status": "crashed", **protocol.detail("unsendable", type=type(e).__name__)}
        ).encode()
    view = memoryview(data)
    while view:
        written = os.write(result_fd, view[: 1 << 20])
        if written <= 0:
            break
        view = view[written:]
    os._exit(0)


# ---------------------------------------------------------------- the zygote


def serve(request, private_fds):
    """Fork a child for the request, enforce its wall-clock limit, collect its result and
    (capped) output, and kill everything it started. Returns the reply."""
    limits = limits_module.Limits.from_wire(request["limits"])
    wall, out_cap = float(limits.wall_seconds), int(limits.output_bytes)
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            for fd in (*private_fds, result_r, output_r):
                os.close(fd)
            child_main(request, limits, result_w, output_w)
        finally:
            os._exit(70)
    os.close(result_w)
    os.close(output_w)
    usage = Usage()
    clock = CellClock(pid, limits, len(request.get("cells") or ())) if request.get("notebook") else None
    try:
        backstop = Backstop(pid, wall)
        replies = private_fds[1]
        waited, result, output = watch(
            pid,
            result_r,
            output_r,
            backstop,
            out_cap,
            usage,
            clock,
            beat=lambda: write_line_raw(replies, b"\n"),
        )
    finally:
        sweep(pid)
        reap(pid, usage)
        settle()
        os.close(result_r)
        os.close(output_r)
    if waited == "cell limit" and clock is not None:  # only a notebook's clock says "cell limit"
        reply = judge_notebook(waited, result, clock.seconds)
    elif request.get("notebook"):
        reply = judge_notebook(waited, result, wall)
    else:
        reply = judge(waited, result, wall)
    if backstop.stretched:  # the machine, not the code: so overloaded that the backstop gave up
        reply["busy"] = True
    cut = reply.pop("output_cut", 0)  # written by the child: it only changes what is shown
    skipped = reply.pop("output_skipped", False) is True
    reply["output"] = render_output(
        output, out_cap, cut if type(cut) is int and 0 < cut < 2**53 else 0, skipped
    )
    reply["seconds"] = round(time.monotonic() - started, 4)
    reply["cpu_seconds"] = round(usage.cpu_seconds, 4)
    return reply


class Usage:
    """The CPU time the child used (its own threads included, and the processes it waited
    for), read when it is reaped: what tells a busy machine from code that really loops."""

    def __init__(self):
        self.cpu_seconds = 0.0

    def record(self, rusage):
        self.cpu_seconds = rusage.ru_utime + rusage.ru_stime


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
            self.data += chunk[: self.cap - len(self.data)]


def cpu_seconds_of(pid):
    """The CPU time a process has used so far, all its threads and its waited-for children
    (/proc/PID/stat's utime, stime, cutime, cstime); 0.0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / CLOCK_TICKS


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CELL_GRACE_SECONDS = 0.5  # past a cell's CPU limit before the zygote kills it: its own interrupt first
WATCH_SECONDS = 0.1  # how often the zygote looks at a notebook's cell


class CellClock:
    """The zygote's watch on a notebook's current cell, from outside the student's process: a cell
    stops at its CPU limit by its own interrupt (ITIMER_PROF, as a kernel's); one that cancels it,
    or blocks it, is killed here once it has used CELL_GRACE_SECONDS more, or once it has taken
    limits.WALL_FACTOR times its limit of its own time (a `Backstop`: it sleeps or blocks).

    The zygote counts the cells itself: the clock restarts only on the next cell's line of the
    result pipe, read by judge_notebook's rule ({"cell": k} with k the next index, then the last
    {"done": true}), so at most once per cell of the request, in order; a bare newline, a line
    repeated or out of order restarts nothing. Student code runs in the process that writes those
    lines, so nothing there is secret from it: a cell that writes the next cells' lines itself
    only takes their clocks, never more. The cells together stay within (cells + 1) times a
    cell's limit and grace (the last: the calls after them), which is also held as a whole."""

    def __init__(self, pid, limits, cells):
        self.pid, self.seconds, self.cells = pid, limits.cell_cpu_limit, int(cells)
        self.backstop = Backstop(pid, limits_module.WALL_FACTOR * self.seconds)
        self.next, self.read_to, self.cpu_at = 0, 0, 0.0
        self.total = (self.cells + 1) * (self.seconds + CELL_GRACE_SECONDS)

    def over(self, result):
        cpu = cpu_seconds_of(self.pid)
        if self._advanced(result):  # a cell finished: the next one's clock starts now
            self.cpu_at = cpu
            self.backstop.restart()
            return False
        return (
            cpu - self.cpu_at > self.seconds + CELL_GRACE_SECONDS
            or cpu > self.total
            or self.backstop.left() <= 0
        )

    def _advanced(self, result):
        """Whether the lines written since the last look carry the next cell's end."""
        end = result.data.rfind(b"\n")
        if end < self.read_to:
            return False
        lines, self.read_to = bytes(result.data[self.read_to : end]).split(b"\n"), end + 1
        moved = False
        for line in lines:
            if self.next <= self.cells and _frame(line, self.cells) == self.next:
                self.next += 1
                moved = True
        return moved


def _frame(line, cells):
    """The index of the cell a result line ends (run_notebook's: {"cell": k, ...}), `cells` (the
    number after the last) for its {"done": true}, else None."""
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if type(entry) is not dict:
        return None
    if entry.get("done") is True:
        return cells
    cell = entry.get("cell")
    return cell if type(cell) is int else None


def waited_for_cpu(pid):
    """The seconds the process's main thread has spent ready to run but waiting for a CPU
    (/proc/PID/schedstat's run-queue delay): what a busy machine adds to its wall time. 0.0 where
    the kernel does not say."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class Backstop:
    """A wall-clock deadline for code that sleeps or blocks, counted in the code's own time: the
    wall time since `start` less the time its process waited for a CPU on a busy machine (issue 33:
    no verdict depends on load), and never more than limits.MAX_STRETCH times `seconds` of wall
    time (`stretched` then says so: the grader may run it again)."""

    def __init__(self, pid, seconds):
        self.pid, self.seconds = pid, float(seconds)
        self.restart()

    def restart(self):
        self.wall_at, self.queue_at, self.stretched = time.monotonic(), waited_for_cpu(self.pid), False

    def left(self):
        """Seconds of wall time before it can pass (at least, if the code waits meanwhile)."""
        wall = time.monotonic() - self.wall_at
        if wall >= limits_module.MAX_STRETCH * self.seconds:
            self.stretched = True
            return 0.0
        own = wall - (waited_for_cpu(self.pid) - self.queue_at)
        return max(0.0, self.seconds - own)


HEARTBEAT_SECONDS = 1.0


def write_line_raw(fd, data):
    try:
        os.write(fd, data)
    except OSError:
        pass


def watch(pid, result_r, output_r, backstop, out_cap, usage, clock=None, beat=None):
    """Wait for the child or its backstop, reading its two pipes meanwhile. Returns
    (wait status | "timeout" | "too large" | "cell limit", result capture, output capture).
    beat: called every HEARTBEAT_SECONDS while it waits (the grader's runner then knows the
    zygote is alive and watching, however long a busy machine stretches the backstop)."""
    result, output = Capture(result_r, MAX_RESULT_BYTES + 1), Capture(output_r, out_cap + 1)
    for fd in (result_r, output_r):
        os.set_blocking(fd, False)
    pidfd = _pidfd(pid)  # readable when the child exits (None: poll instead)
    beaten = time.monotonic()
    try:
        while True:
            if beat is not None and time.monotonic() - beaten >= HEARTBEAT_SECONDS:
                beat()
                beaten = time.monotonic()
            left = backstop.left()
            if left <= 0:
                return "timeout", result, output
            fds = [c.fd for c in (result, output) if not c.eof] + ([pidfd] if pidfd is not None else [])
            wait = max(left, 0.01) if pidfd is not None else min(left, 0.01)
            wait = min(wait, HEARTBEAT_SECONDS)
            ready, _, _ = select.select(fds, [], [], wait if clock is None else min(wait, WATCH_SECONDS))
            for capture in (result, output):
                if capture.fd in ready:
                    capture.read()
            if clock is not None and clock.over(result):
                return "cell limit", result, output
            if result.total > MAX_RESULT_BYTES:
                return "too large", result, output
            done, status, rusage = (
                os.wait4(pid, os.WNOHANG) if pidfd is None or pidfd in ready else (0, 0, None)
            )
            if done:
                usage.record(rusage)
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


def reap(pid, usage):
    """Collect the child if `watch` did not (no zombies in a long-lived zygote)."""
    try:
        _, _, rusage = os.wait4(pid, 0)
        usage.record(rusage)
    except ChildProcessError:
        pass


def judge(waited, result, wall):
    """The reply from how the child ended and what it sent."""
    cells_done = bytes(result.data[: len(CELLS_DONE)]) == CELLS_DONE
    if waited == "timeout":
        return {
            "status": "timeout",
            **protocol.detail("wall timeout", wall=wall),
            "phase": "calls" if cells_done else "cells",
        }
    if waited == "too large":
        return {"status": "error", **protocol.detail("result too large")}
    if os.WIFSIGNALED(waited):
        sig = os.WTERMSIG(waited)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        if sig == signal.SIGXCPU:
            return {"status": "timeout", **protocol.detail("cpu limit", signal=name)}
        if sig == signal.SIGKILL:
            return {"status": "crashed", **protocol.detail("killed, memory", signal=name)}
        return {"status": "crashed", **protocol.detail("killed", signal=name)}
    code = os.WEXITSTATUS(waited)
    try:
        reply = json.loads(bytes(result.data[len(CELLS_DONE) if cells_done else 0 :])) if code == 0 else None
    except (ValueError, RecursionError):
        reply = None
    if type(reply) is not dict:
        return {
            "status": "crashed",
            **(protocol.detail("exited", code=code) if code else protocol.detail("exited without result")),
        }
    return reply


def render_output(output, cap, cut=0, skipped=False):
    """What is shown of a request's output: `cap` bytes, and how much more there was (what the
    zygote drained past the cap, what the child's CappedOutput did not write at all, and "at
    least" when it skipped prints past the cap without formatting them)."""
    text = bytes(output.data[:cap]).decode("utf-8", "replace")
    more = output.total - cap + cut
    if more > 0:
        least = "at least " if skipped else ""
        text += f"\n[... {least}{more} more bytes of output cut: the limit is {cap} bytes]"
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


def settle(timeout=5.0):
    """Inside our own pid namespace only: kill, and wait until no process is left but bwrap
    (pid 1) and this zygote. A killed process counts against the sandbox's process cap until
    it is reaped, so after a fork bomb the next request could not even fork while the
    bomb's remains linger."""
    if not SWEEP:
        return
    deadline, me = time.monotonic() + timeout, os.getpid()
    while time.monotonic() < deadline:
        if me == 1:
            reap_orphans()
        if not [e for e in os.listdir("/proc") if e.isdigit() and int(e) not in (1, me)]:
            return
        try:  # again: a bomb may have forked while the first kill(-1) went round
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        time.sleep(0.002)


_libc = None  # loaded once in the zygote: every forked child finds it loaded (a third of a millisecond each)


def _prctl(option, value):
    global _libc
    try:
        _libc = _libc or ctypes.CDLL(None, use_errno=True)
        _libc.prctl(option, int(value), 0, 0, 0)
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
        view = view[os.write(fd, view) :]


def parse_args(argv):
    sites, preloads, sweep_wanted = [], [], False
    args = iter(argv)
    for arg in args:
        if arg == "--site":
            sites.append(next(args))
        elif arg == "--preload":
            preloads.append(next(args))
        elif arg == "--sweep":
            sweep_wanted = True
    return sites, preloads, sweep_wanted


def preload(modules):
    """Import the course's helper modules (bpkit/ in the scratch directory) once, before any
    student code runs: every child then finds them loaded instead of importing them again
    (some 35 ms per check), and a child that rewrites their files changes no later child.
    A module's `warm()`, when it has one, is called then too, for work every child would
    otherwise repeat (bpkit.problems draws the student's values).
    Only the helper packages themselves are taken from the scratch directory, by name (the
    grader restores them before every start): the scratch directory is never on the zygote's
    sys.path, so what they import, and whatever the zygote imports later (IPython), comes from
    the standard library and the grader's site directories, never from a module student code
    planted there."""
    here = os.getcwd()
    for name in modules:
        try:
            if "." not in name:
                load_from(name, here)
            warm = getattr(importlib.import_module(name), "warm", None)
            if callable(warm):
                warm()
        except Exception:  # a broken helper shows in the cells that import it
            pass


def load_from(name, folder):
    """Import the top-level package `name` from `folder` alone (its submodules then come from
    its own directory)."""
    if name in sys.modules:
        return
    spec = importlib.machinery.PathFinder.find_spec(name, [folder])
    if spec is None or spec.loader is None:
        raise ImportError(f"no helper {name} in {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


def reap_orphans():
    """As the pid namespace's init (a worker the sandbox host started), collect the processes
    that a request left behind and the kernel gave to us: a zombie still counts against the
    process cap and still shows in /proc."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def in_own_pid_namespace():
    """bwrap is pid 1 (a sandbox of its own), or we are (the sandbox host's worker)."""
    if os.getpid() == 1:
        return True
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip() == "bwrap"
    except OSError:
        return False


def settle_signals():
    """The signal state of a fresh Python in a terminal, whoever started us: every signal at
    its default but SIGPIPE and SIGXFSZ, which Python ignores (an error instead of death),
    SIGINT raising KeyboardInterrupt, none blocked. Ignored signals and the mask
    are inherited through fork and exec: `backprop-kit autograde`'s grading processes ignore
    SIGINT (the coordinator handles Ctrl-C), `nbgrader autograde` does not, and the same
    student code must get the same verdict under both (a SIGINT to the worker is one)."""
    for number in range(1, signal.NSIG):
        if number in (signal.SIGKILL, signal.SIGSTOP) or signal.SIGRTMIN <= number <= signal.SIGRTMAX:
            continue
        try:
            signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    for number in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(number, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def join_fresh_keyring():
    """A new, empty session keyring (as host.join_fresh_keyring): a worker in a bwrap of its own
    otherwise shares the grader's, a TA's login session's. Refused where the seccomp filter is
    loaded already (bwrap loads it first), and then no key can be reached at all."""
    number = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)  # keyctl
    if number is not None:
        ctypes.CDLL(None, use_errno=True).syscall(number, 1, None)  # KEYCTL_JOIN_SESSION_KEYRING


def main():
    join_fresh_keyring()
    sites, preloads, sweep_wanted = parse_args(sys.argv[1:])
    sys.path.extend(sites)
    import numpy  # noqa: F401  (once, here: every fork starts with it loaded)

    load_ipython()
    load_protocol()
    serve_forever(preloads, sweep_wanted)


def load_protocol():
    """protocol.py and limits.py, from beside this file."""
    global protocol, limits_module
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves our own directory out
    import limits as limits_of_students
    import protocol as wire_format

    protocol, limits_module = wire_format, limits_of_students
    del sys.path[0]


def serve_forever(preloads, sweep_wanted, keep_fds=()):
    """The zygote's life once numpy and protocol.py are loaded: the helpers, then one fork per
    request read on stdin, each reply on stdout. `keep_fds`: descriptors of ours that no child
    may keep (the sandbox host's liveness pipe)."""
    global SWEEP
    import numpy

    settle_signals()
    preload(preloads)
    SWEEP = sweep_wanted and in_own_pid_namespace()
    requests, replies = take_channel()
    make_undumpable()
    write_line(
        replies,
        {"ready": True, "pid": os.getpid(), "uid": os.getuid(), "numpy": numpy.__version__, "sweep": SWEEP},
    )
    for line in os.fdopen(requests, "rb"):
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            reply = serve(request, (requests, replies, *keep_fds))
        except Exception as e:  # a malformed request is the grader's bug: say so, keep serving
            reply = {"status": "crashed", "detail": f"worker: {type(e).__name__}: {e}"[:500]}
        reply["id"] = request_id
        write_line(replies, reply)
    os._exit(0)


if __name__ == "__main__":
    main()
