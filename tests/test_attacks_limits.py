"""Attacks on the limits of one submission (issue 32, items 2 and 4; issue 33, item 1), each from
student code in a real sandbox, both ways a worker starts (forked by the sandbox host, and in a
bwrap of its own), each followed by an innocent student graded in full with nothing left on disk
(no cgroup, no scratch). Each protection has a mutation test: turned off, some test here fails.
The attacks are in the `attacks` lane; the cgroup layout's unit tests (v1 and v2, on directory
trees built here) stay in the fast lane."""

import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.sandbox import bwrap, cgroups
from autograder.sandbox.hosted import HostedWorker
from autograder.sandbox.limits import Limits, rlimits
from autograder.sandbox.runner import StudentRunner

REPO = Path(__file__).resolve().parent.parent
LIMITS = Limits(wall_seconds=20, cpu_seconds=2, memory_bytes=1024**3, output_bytes=20000)

needs_sandbox = pytest.mark.skipif(
    not bwrap.sandbox_available(), reason="bubblewrap (bwrap) is not installed or cannot build a sandbox here"
)
needs_cgroup = pytest.mark.skipif(
    cgroups.layout()[0] is None, reason=f"no cgroup can be made here: {cgroups.layout()[1]}"
)


@pytest.fixture(params=["hosted", "own bwrap"])
def way(request, monkeypatch):
    """How the worker starts: forked by the sandbox host (as root), or in a bwrap of its own."""
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "1" if request.param == "hosted" else "0")
    return request.param


def start(way, limits=LIMITS):
    runner = StudentRunner(limits, require_sandbox=True, hide=[REPO]).__enter__()
    assert runner.process is not None, runner._start_failure
    assert isinstance(runner.process, HostedWorker) == (way == "hosted" and runner.uid is not None)
    return runner


def finish(runner):
    private = runner.private
    runner.__exit__(None, None, None)
    assert not private.exists()
    assert cgroups.leftovers() == []


def innocent_is_graded(way):
    """A student after the attack: her code runs and her answer comes back whole, quickly."""
    runner = start(way)
    try:
        started = time.process_time()
        result = runner.run(
            {"cells": [["answer", "x = 6 * 7"]], "calls": [{"op": "variables", "names": ["x"]}]}
        )
    finally:
        finish(runner)
    assert result.ok and result.results == [{"x": {"float": 42.0}}], (result.status, result.detail)
    assert time.process_time() - started < 2.0


# ---------------------------------------------------------------- the layout (fast lane)


def test_limits_cross_the_wire_whole_and_strictly():
    limits = Limits(wall_seconds=3, cpu_seconds=1.5, processes=7)
    assert Limits.from_wire(limits.to_wire()) == limits
    with pytest.raises(ValueError, match="cpu_seconds must be a number"):
        Limits.from_wire({**limits.to_wire(), "cpu_seconds": "1"})
    with pytest.raises(ValueError, match="expected the fields"):
        Limits.from_wire({"wall_seconds": 1})
    assert limits.overridden({"wall_seconds": 9, "cell_seconds": -1, "nonsense": 3}) == Limits(
        wall_seconds=9, cpu_seconds=1.5, processes=7
    )


def test_one_table_of_rlimits_holds_the_file_and_process_caps():
    table = {name: soft for name, soft, _hard in rlimits(Limits(processes=9), processes=9, cpu=True)}
    assert table["RLIMIT_NOFILE"] == 1024 and table["RLIMIT_NPROC"] == 9 and table["RLIMIT_CORE"] == 0
    assert table["RLIMIT_CPU"] == 31  # cpu_seconds None: the wall limit and one second
    assert "RLIMIT_CPU" not in {name for name, *_ in rlimits(Limits())}  # a zygote's is watched instead


def test_the_course_decides_by_cpu_time_and_the_wall_clock_is_a_backstop():
    from autograder.config.schema import Grading

    limits = Limits.from_course(Grading(timeout_seconds=10, scratch_mb=64))
    assert (limits.cpu_seconds, limits.wall_seconds, limits.scratch_bytes) == (10.0, 20.0, 64 * 1024**2)


V1_MOUNTS = """\
30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/pids rw,relatime shared:10 - cgroup cgroup rw,pids
32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
33 25 0:29 / /sys/fs/cgroup/unified rw,relatime shared:12 - cgroup2 cgroup2 rw
"""
V1_OWN = "4:memory:/grading.service\n3:pids:/grading.service\n2:cpu,cpuacct:/grading.service\n0::/\n"


def test_v1_layout_puts_each_hierarchy_below_the_graders_own_cgroup():
    found, why = cgroups.find_layout(V1_OWN, V1_MOUNTS, root="/x")
    assert found is not None and found.version == 1, why
    assert found.parent("memory") == Path("/x/sys/fs/cgroup/memory/grading.service")
    assert (
        found.parent("cpu") == found.parent("cpuacct") == Path("/x/sys/fs/cgroup/cpu,cpuacct/grading.service")
    )


V2_MOUNTS = "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def v2_tree(tmp_path, controllers="cpuset cpu io memory pids"):
    """A v2 cgroup of the grader's, as a directory tree (the kernel's files, written here)."""
    own = tmp_path / "sys/fs/cgroup/grading.slice/grader.service"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text(controllers + "\n")
    (own / "cgroup.subtree_control").write_text("")
    return own


def test_v2_layout_and_a_cgroup_with_its_limits_on_a_directory_tree(tmp_path, monkeypatch):
    own = v2_tree(tmp_path)
    found, why = cgroups.find_layout("0::/grading.slice/grader.service\n", V2_MOUNTS, root=str(tmp_path))
    assert found is not None and found.version == 2 and found.parent("unified") == own, why
    # A directory stands in for the kernel's cgroup: its files are plain files here, so mkdir
    # makes none of them; create them as the kernel would, then check what was written.
    real_mkdir = Path.mkdir

    def kernel_mkdir(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)
        for name in ("memory.max", "memory.swap.max", "pids.max", "cpu.max", "cgroup.procs"):
            (self / name).write_text("")
        (self / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")

    monkeypatch.setattr(Path, "mkdir", kernel_mkdir)
    cgroup = cgroups.Cgroup(
        found, Limits(memory_bytes=1024**3, processes=50, scratch_bytes=0), extra_memory=10
    )
    made = own / cgroup.name
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (made / "memory.max").read_text() == str(1024**3 + 10)
    assert (made / "memory.swap.max").read_text() == "0"
    assert (made / "pids.max").read_text() == "58"
    assert (made / "cpu.max").read_text() == "100000 100000"
    assert cgroup.cpu_seconds() == 2.5 and cgroup.procs_files() == [made / "cgroup.procs"]
    for name in os.listdir(made):  # rmdir of a real cgroup takes its files with it
        os.unlink(made / name)
    assert cgroup.remove() and not made.exists()


def test_v2_without_the_controllers_says_which_are_missing(tmp_path):
    v2_tree(tmp_path, controllers="cpuset io")
    found, why = cgroups.find_layout("0::/grading.slice/grader.service\n", V2_MOUNTS, root=str(tmp_path))
    assert found is None and why.endswith("does not offer memory, pids, cpu")


def test_no_cgroup_is_said_once_in_one_line_or_refused_when_required(monkeypatch, caplog):
    monkeypatch.setattr(cgroups, "_layout", (None, "no cgroup file system is mounted"))
    monkeypatch.setattr(cgroups, "_said", False)
    with pytest.raises(cgroups.CgroupUnavailable, match="require_cgroup: false"):
        cgroups.for_submission(Limits(), required=True)
    assert cgroups.for_submission(Limits()) is None
    assert cgroups.for_submission(Limits()) is None
    said = [r.getMessage() for r in caplog.records if "cgroup" in r.getMessage()]
    assert said == [
        "backprop-kit: no cgroup per submission (no cgroup file system is mounted): per-process limits only"
    ]


@needs_cgroup
def test_a_stale_cgroup_of_a_killed_grader_is_removed_by_the_next():
    found, _ = cgroups.layout()
    stale = [parent / f"{cgroups.PREFIX}999999999-1-abcdef" for _, parent in found.parents]
    for path in stale:
        path.mkdir(exist_ok=True)
    cgroup = cgroups.for_submission(Limits())
    try:
        assert not any(path.exists() for path in stale)
    finally:
        cgroup.remove()
    assert cgroups.leftovers() == []


# ---------------------------------------------------------------- attacks


SWARM = """
import os
for _ in range(40):
    if os.fork() == 0:
        while True:
            pass
while True:
    pass
"""


@needs_sandbox
@needs_cgroup
@pytest.mark.attacks
def test_a_spinning_swarm_is_killed_at_its_cpu_budget_and_costs_only_its_owner(way):
    runner = start(way)
    try:
        result = runner.run({"cells": [["swarm", SWARM]], "calls": []})
        assert result.status == "timeout" and result.words["key"] == "cpu budget", result.detail
        assert result.words["fields"]["seconds"] <= LIMITS.cpu_limit + 3.0
    finally:
        finish(runner)
    innocent_is_graded(way)


@needs_sandbox
@pytest.mark.attacks
def test_without_cgroups_the_swarm_is_not_held(way, monkeypatch):
    """The mutation: no cgroup, and the swarm spins on until its wall-clock backstop (each of its
    processes within its own RLIMIT_CPU): the test above would fail."""
    monkeypatch.setattr(cgroups, "ENFORCED", False)
    runner = start(way, Limits(wall_seconds=4, cpu_seconds=2, memory_bytes=1024**3))
    try:
        assert runner.cgroup is None
        result = runner.run({"cells": [["swarm", SWARM]], "calls": []})
        assert (result.words or {}).get("key") != "cpu budget", result.detail
    finally:
        finish(runner)


MEMORY_TIMES_PROCESSES = """
import os
pids = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(700 * 1024**2)  # each within its own RLIMIT_AS of 1 GiB
            for i in range(0, len(block), 4096):
                block[i] = 1
        finally:
            os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
"""


@needs_sandbox
@needs_cgroup
@pytest.mark.attacks
def test_many_processes_times_memory_stay_within_the_submissions_memory_cap(way):
    runner = start(way)
    try:
        runner.run({"cells": [["hog", MEMORY_TIMES_PROCESSES]], "calls": []})
        cap = LIMITS.memory_bytes + 512 * 1024**2 + LIMITS.scratch_bytes
        assert runner.cgroup.memory_peak() <= cap + 16 * 1024**2
    finally:
        finish(runner)
    innocent_is_graded(way)


CANCELLED_ALARM = """
import signal, time
for name in ("SIGALRM", "SIGPROF", "SIGVTALRM"):
    signal.signal(getattr(signal, name), signal.SIG_IGN)
signal.setitimer(signal.ITIMER_REAL, 0)
signal.setitimer(signal.ITIMER_PROF, 0)
while True:
    pass
"""


@needs_sandbox
@pytest.mark.attacks
def test_a_cell_that_cancels_its_time_limit_is_stopped_by_its_parent(way):
    runner = start(way)
    try:
        started = time.monotonic()
        result = runner.run(
            {
                "cells": [["before", "x = 1"], ["evil", CANCELLED_ALARM], ["after", "print(x)"]],
                "notebook": True,
                "limits": {"cell_seconds": 1},
            }
        )
        assert result.status == "timeout" and result.words["key"] == "cell cpu limit", result.detail
        assert len(result.results) == 1  # the cell before it finished; the rest is the grader's to go on with
        assert result.cpu_seconds < 1 + 0.5 + 1.0
        assert time.monotonic() - started < 60
    finally:
        finish(runner)
    innocent_is_graded(way)


# A cell that cancels its limit, then writes what restarted its parent's clock before (a newline,
# then every cell's line and the last one) to every pipe it holds, its result pipe among them.
RESTARTS_ITS_CLOCK = CANCELLED_ALARM.replace(
    "while True:\n    pass\n",
    """import json, os
lines = [b"\\n"] + [json.dumps({"cell": k, "outputs": []}).encode() + b"\\n" for k in range(50)]
lines.append(json.dumps({"done": True}).encode() + b"\\n")
pipes = [int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2]
while True:
    for fd in pipes:
        try:
            os.write(fd, lines[0])
            for line in lines[1:]:
                os.write(fd, line)
        except OSError:
            pass
    lines = lines[:1]  # then a newline now and then, forever
    sum(range(200000))
""",
)


def _restarts_its_clock(runner):
    return runner.run(
        {
            "cells": [["before", "x = 1"], ["evil", RESTARTS_ITS_CLOCK], ["after", "print(x)"]],
            "notebook": True,
            "limits": {"cell_seconds": 1},
        }
    )


@needs_sandbox
@pytest.mark.attacks
def test_a_cell_cannot_restart_its_parents_clock_by_writing_to_its_result_pipe(way):
    """Newlines and forged cell lines on the result pipe: the zygote restarts its clock only on the
    next cell's line, at most once per cell, so the cell is stopped within the clocks of the
    cells of the request (3 cells and the calls after: 4 of 1.5 s), not at the request's end."""
    runner = start(way)
    try:
        result = _restarts_its_clock(runner)
        assert result.status == "timeout" and result.words["key"] == "cell cpu limit", result.detail
        assert result.cpu_seconds < 4 * 1.5 + 1.0, result.cpu_seconds
    finally:
        finish(runner)
    innocent_is_graded(way)


@needs_sandbox
@pytest.mark.attacks
def test_a_slow_cell_is_interrupted_by_its_cpu_time_and_the_notebook_goes_on(way):
    runner = start(way)
    try:
        result = runner.run(
            {
                "cells": [["slow", "while True:\n    pass"], ["after", "print('after')"]],
                "notebook": True,
                "limits": {"cell_seconds": 1},
            }
        )
        assert result.ok, result.detail
        assert result.results[0][0]["ename"] == "CellTimeout"
        assert result.results[1] == [{"output_type": "stream", "name": "stdout", "text": "after\n"}]
    finally:
        finish(runner)


FILL_THE_DISK = """
import os
try:
    fd = os.open("huge", os.O_CREAT | os.O_WRONLY)
    os.posix_fallocate(fd, 0, 2 * 1024**3)
    huge = "reserved"
except OSError as e:
    huge = type(e).__name__
reserved = 0
for i in range(4):
    try:
        fd = os.open(f"part{i}", os.O_CREAT | os.O_WRONLY)
        os.posix_fallocate(fd, 0, 32 * 1024**2)
        reserved += 32
    except OSError:
        break
"""
SMALL_SCRATCH = Limits(wall_seconds=20, cpu_seconds=5, memory_bytes=1024**3, scratch_bytes=48 * 1024**2)


@needs_sandbox
@pytest.mark.attacks
@pytest.mark.skipif(os.geteuid() != 0, reason="a scratch tmpfs needs root")
def test_filling_the_scratch_stops_at_its_size_and_costs_only_its_owner(way):
    runner = start(way, SMALL_SCRATCH)
    try:
        assert runner.tmpfs is not None and runner.scratch == runner.tmpfs.view
        assert not os.path.ismount(runner.scratch_dir)  # mounted in the sandbox's namespace only
        result = runner.run(
            {"cells": [["fill", FILL_THE_DISK]], "calls": [{"op": "variables", "names": ["reserved"]}]}
        )
        assert result.ok, result.detail
        assert result.results[0]["reserved"]["float"] <= 32  # of 128 MB asked: the scratch holds 48
    finally:
        finish(runner)
    innocent_is_graded(way)


@needs_sandbox
@pytest.mark.attacks
def test_without_the_scratch_tmpfs_the_disk_fills(way, monkeypatch):
    """The mutation: a plain scratch directory on the real disk takes all 128 MB (only
    RLIMIT_FSIZE caps each file), so the test above would fail."""
    monkeypatch.setattr(bwrap, "TMPFS_SCRATCH", False)
    runner = start(way, SMALL_SCRATCH)
    try:
        assert runner.tmpfs is None and not os.path.ismount(runner.scratch)
        result = runner.run(
            {"cells": [["fill", FILL_THE_DISK]], "calls": [{"op": "variables", "names": ["reserved"]}]}
        )
        assert result.ok and result.results[0]["reserved"]["float"] == 128, result.detail
    finally:
        finish(runner)


@needs_sandbox
@pytest.mark.attacks
def test_without_the_parents_clock_a_cancelled_limit_runs_on(tmp_path, monkeypatch):
    """The mutation: a worker whose CellClock never fires (its own bwrap, so no sandbox host holds
    the real worker) lets the cell that cancelled its timer run to the request's own backstop, and
    the attack test above would fail."""
    from autograder.sandbox import runner as runner_module

    worker = (REPO / "autograder" / "sandbox" / "worker.py").read_text()
    marker = "    def over(self, result):\n"
    assert worker.count(marker) == 1
    (tmp_path / "worker.py").write_text(worker.replace(marker, marker + "        return False\n"))
    files = [tmp_path / "worker.py" if f.name == "worker.py" else f for f in runner_module.WORKER_FILES]
    monkeypatch.setattr(runner_module, "WORKER_FILES", tuple(files))
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "0")
    runner = start("own bwrap", Limits(wall_seconds=3, cpu_seconds=2, memory_bytes=1024**3))
    try:
        result = runner.run(
            {"cells": [["evil", CANCELLED_ALARM]], "notebook": True, "limits": {"cell_seconds": 0.5}}
        )
        assert (result.words or {}).get("key") != "cell cpu limit", result.detail
    finally:
        finish(runner)


SOCKET_BUFFERS = """
import os, socket
def fill(pairs):
    kept = []
    for _ in range(pairs):
        try:
            a, b = socket.socketpair()
        except OSError:
            break
        a.setblocking(False)
        try:
            while True:
                a.send(b"x" * 65536)
        except OSError:  # full (BlockingIOError), or the cgroup refused the memory
            pass
        kept.append((a, b))
    import time

    time.sleep(1)  # the buffers held while the others fill theirs
children = []
for _ in range(12):  # some 110 MB of socket buffers each: 1.3 GB asked in all
    pid = os.fork()
    if pid == 0:
        try:
            fill(480)
        finally:
            os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""
TIGHT = Limits(wall_seconds=30, cpu_seconds=10, memory_bytes=256 * 1024**2, scratch_bytes=16 * 1024**2)


@needs_sandbox
@needs_cgroup
@pytest.mark.attacks
def test_socket_buffers_count_against_the_submissions_memory(way):
    runner = start(way, TIGHT)
    try:
        runner.run({"cells": [["buffers", SOCKET_BUFFERS]], "calls": []})
        cap = TIGHT.memory_bytes + 512 * 1024**2 + TIGHT.scratch_bytes
        peak = runner.cgroup.memory_peak()
        assert 300 * 1024**2 < peak <= cap + 16 * 1024**2, peak  # they were charged, and capped
    finally:
        finish(runner)
    innocent_is_graded(way)


OPEN_FILES = """
import os
opened = 0
try:
    for _ in range(5000):
        os.open("/dev/null", os.O_RDONLY)
        opened += 1
except OSError as e:
    why = e.errno
"""


@needs_sandbox
@pytest.mark.attacks
def test_open_files_stop_at_the_per_process_cap(way):
    runner = start(way)
    try:
        result = runner.run(
            {"cells": [["files", OPEN_FILES]], "calls": [{"op": "variables", "names": ["opened"]}]}
        )
        assert result.ok and result.results[0]["opened"]["float"] < 1024, result.detail
    finally:
        finish(runner)


# A grading command that runs one student's cell (it writes a file into its scratch and says the
# scratch's device), then waits to be killed.
GRADING_COMMAND = """
import json, sys, time
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import StudentRunner

limits = Limits(wall_seconds=20, cpu_seconds=5, memory_bytes=1024**3, scratch_bytes=32 * 1024**2)
runner = StudentRunner(limits, require_sandbox=True).__enter__()
cell = "import os\\nopen('left.bin', 'wb').write(b'x' * 65536)\\ndev = float(os.stat('.').st_dev)"
result = runner.run({"cells": [["w", cell]], "calls": [{"op": "variables", "names": ["dev"]}]})
print(json.dumps({"dev": result.results[0]["dev"]["float"], "hosted": runner.process.__class__.__name__}))
sys.stdout.flush()
time.sleep(600)
"""


def mounted_in(device):
    """The pids whose mount namespace has a mount of `device` ("major:minor")."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/mountinfo") as f:
                if any(line.split()[2] == device for line in f):
                    found.append(int(pid))
        except OSError:  # gone meanwhile
            continue
    return found


@needs_sandbox
@pytest.mark.attacks
@pytest.mark.skipif(os.geteuid() != 0, reason="a scratch tmpfs needs root")
def test_a_killed_grading_commands_scratch_tmpfs_vanishes_with_it(way):
    """kill -9 of the grading process: nobody unmounts anything, yet the scratch tmpfs (and what
    the student wrote in it) is gone once its sandbox has died with its parent, because it was
    only ever mounted in the sandbox's own mount namespace. While it runs, the same scan finds it
    there (and not in the grader's namespace): the scan would see a tmpfs left behind."""
    child = subprocess.Popen(
        [sys.executable, "-c", GRADING_COMMAND], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        said = json.loads(child.stdout.readline())
        assert (said["hosted"] == "HostedWorker") == (way == "hosted"), said
        dev = int(said["dev"])
        device = f"{os.major(dev)}:{os.minor(dev)}"
        holders = mounted_in(device)
        assert holders and child.pid not in holders, (device, holders)
        assert device not in Path("/proc/self/mountinfo").read_text().split()
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 30
    while mounted_in(device) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert mounted_in(device) == [], device


@needs_sandbox
@pytest.mark.attacks
def test_with_a_clock_restarted_by_any_newline_the_cell_runs_on(tmp_path, monkeypatch):
    """The mutation: a CellClock that restarts on any new line of the result pipe (as before the
    zygote counted cells) lets the cell above run to the request's own bounds, and its test fails."""
    from autograder.sandbox import runner as runner_module

    worker = (REPO / "autograder" / "sandbox" / "worker.py").read_text()
    marker = "    def _advanced(self, result):\n"
    assert worker.count(marker) == 1
    any_newline = "        seen, self.read_to = self.read_to, len(result.data)\n        return b'\\n' in result.data[seen:]\n"
    (tmp_path / "worker.py").write_text(worker.replace(marker, marker + any_newline))
    files = [tmp_path / "worker.py" if f.name == "worker.py" else f for f in runner_module.WORKER_FILES]
    monkeypatch.setattr(runner_module, "WORKER_FILES", tuple(files))
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "0")
    runner = start("own bwrap", Limits(wall_seconds=6, cpu_seconds=3, memory_bytes=1024**3))
    try:
        result = _restarts_its_clock(runner)
        assert (result.words or {}).get("key") != "cell cpu limit", result.detail
    finally:
        finish(runner)


# A tmpfs of one's own, uncapped, in a user namespace: unshare, map the ids, mount, fill 1.25 GB.
TMPFS_IN_A_USER_NAMESPACE = r"""
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
steps = {}
def step(name, result):
    steps[name] = "ok" if result == 0 else errno.errorcode.get(ctypes.get_errno(), "?")
    return result == 0
if step("unshare", libc.unshare(0x10000000 | 0x00020000)):  # CLONE_NEWUSER | CLONE_NEWNS
    for path, text in (("setgroups", "deny"), ("uid_map", f"0 {os.getuid()} 1"), ("gid_map", f"0 {os.getgid()} 1")):
        try:
            with open(f"/proc/self/{path}", "w") as f:
                f.write(text)
            steps[path] = "ok"
        except OSError as e:
            steps[path] = errno.errorcode.get(e.errno, "?")
    os.makedirs("mnt", exist_ok=True)
    if step("mount", libc.mount(b"none", b"mnt", b"tmpfs", 0, b"size=2g")):
        written = 0
        try:
            with open("mnt/big", "wb") as f:
                for _ in range(40):
                    f.write(b"x" * (32 << 20))
                    written += 32
        except OSError as e:
            steps["write"] = errno.errorcode.get(e.errno, "?")
        steps["written_mb"] = written
print(steps)
"""


@needs_sandbox
@pytest.mark.attacks
@pytest.mark.parametrize("filtered", [True, False], ids=["seccomp", "no filter"])
def test_a_submission_cannot_mount_a_tmpfs_of_its_own_in_a_user_namespace(way, filtered, monkeypatch):
    """With the filter, unshare(CLONE_NEWUSER) fails with EPERM. Without it (the mutation: the
    filter off), the namespace and the mount are made, but what else holds stops the tmpfs from
    holding anything: the new namespace gets no id mapping (writing uid_map is refused), so
    nothing can be created in it (EOVERFLOW: its files would belong to no one); and its pages would
    be charged to the submission's cgroup like any tmpfs's (the cgroup's own tests)."""
    from autograder.sandbox import seccomp

    monkeypatch.setattr(seccomp, "ENFORCED", filtered)
    runner = start(way)
    try:
        result = runner.run({"cells": [["tmpfs", TMPFS_IN_A_USER_NAMESPACE]], "calls": []})
        assert result.ok, result.detail
        steps = ast.literal_eval(result.output.strip().splitlines()[-1])
    finally:
        finish(runner)
    if filtered:
        assert steps == {"unshare": "EPERM"}, steps
    else:
        assert steps["unshare"] == "ok" and steps["uid_map"] != "ok", steps
        assert steps.get("written_mb", 0) == 0 and steps.get("write", "EOVERFLOW") == "EOVERFLOW", steps
    innocent_is_graded(way)
