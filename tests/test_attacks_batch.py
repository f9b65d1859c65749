"""Attacks on grading itself, graded as a class by both commands (issue 32, items 1, 5, 6, 7).

One small course, built once for the module, holds a hostile class between two innocent
students: a signal storm aimed at every process the student can reach, a restart forced
after planting code for the new worker, a scratch tree 3,000 levels deep, and key calls.
`nbgrader autograde` and `backprop-kit autograde --jobs 2` each grade it, with their temporary
folders in a folder of the test's own: the verdicts must agree cell by cell (scores and
comments), the innocent students get full marks, the innocent graded last in normal time,
and nothing is left on disk. Then each command is killed outright mid-batch (kill -9) and
nothing of it may keep running; a mutation run without the parent-death signal must leave
grading processes behind."""

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from lanes import lane
from shared_class import records
from submissions import sandboxed_course, submit_class

from autograder import demo
from autograder.course import nbgrader_environment
from autograder.sandbox.bwrap import remove_tree, sandbox_available

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

REPO = Path(__file__).resolve().parent.parent
INNOCENT = ("ann", "zoe")  # graded first and last (a batch hands out students by name)

# Every process the student may signal, with everything but SIGKILL and SIGSTOP, 100 times over:
# the worker (pid 1 of its namespace, or its parent), its own process group, every process of
# its uid (-1). The student's own process ignores them all first.
SIGNAL_STORM = """
import os as _os, signal as _signal
for _number in range(1, 32):
    if _number not in (9, 19):
        try:
            _signal.signal(_number, _signal.SIG_IGN)
        except (OSError, ValueError):
            pass
for _round in range(100):
    for _number in range(1, 32):
        if _number in (9, 19):
            continue
        for _target in (1, _os.getppid(), 0, -1):
            try:
                _os.kill(_target, _number)
            except OSError:
                pass
"""

# A package planted for the restarted worker to preload, the course's helper replaced, then a
# restart forced: SIGINT to the worker (a worker the host started is pid 1 and has Python's
# handler; under `backprop-kit autograde` it ignored SIGINT, inherited from its grading process).
PLANT_AND_RESTART = """
import os as _os, signal as _signal
def _write(path, text):
    _os.makedirs(_os.path.dirname(path) or ".", exist_ok=True)
    open(path, "w").write(text)
_PLANT = "import os\\nopen(os.path.join(os.getcwd(), 'planted-ran'), 'a').write('x')\\n"
_write("evil/__init__.py", _PLANT)
_write("IPython/__init__.py", _PLANT)
if _os.path.isdir("bpkit") and not _os.path.isdir("bpkit-moved"):
    _os.rename("bpkit", "bpkit-moved")
    _write("bpkit/__init__.py", _PLANT)
_os.kill(_os.getppid(), _signal.SIGINT)
"""

DEEP_TREE = """
import os as _os
_top = _os.getcwd()
try:
    for _ in range(3000):
        try:
            _os.mkdir("d")
        except FileExistsError:
            pass
        _os.chdir("d")
    open("bottom", "w").write("x" * 1000)
finally:
    _os.chdir(_top)
"""

# Without the filter these would reach keyrings that outlive the sandbox; with it, each is refused.
KEYS = """
import ctypes as _ctypes
_libc = _ctypes.CDLL(None, use_errno=True)
for _keyring in (-3, -4, -5):  # session, user, user session
    _libc.syscall({add_key}, b"user", b"left-behind", b"x" * 100, 100, _ctypes.c_long(_keyring))
"""


# Not an attack: what the worker's process is, as student code sees it (its signal state, its
# limits, its environment but the values that name its own scratch folder), printed in the cell.
STATE = """
import json as _json, os as _os
_status = dict(_line.split(":", 1) for _line in open("/proc/self/status") if ":" in _line)
print("STATE " + _json.dumps({
    **{_field: _status[_field].strip() for _field in ("SigIgn", "SigBlk", "SigCgt", "Seccomp")},
    "limits": open("/proc/self/limits").read(),
    "environment": {_k: _v for _k, _v in sorted(_os.environ.items()) if "/" not in _v and _k != "BPKIT_STUDENT_ID"},
}))
"""


def students(source):
    """{student: {grade_id: source}}: correct code, an attack prepended to one cell of each attacker."""
    import pyseccomp

    correct = simulated_class.reference_answers(source)
    add_key = pyseccomp.resolve_syscall(pyseccomp.system_arch(), "add_key")  # this machine's number

    def attacked(cell, attack):
        return {**correct, cell: textwrap.dedent(attack) + "\n" + correct[cell]}

    return {  # rex is no attacker: see STATE
        "ann": correct,
        "dee": attacked("max_gate", DEEP_TREE),
        "kay": attacked("relu_gate", KEYS.format(add_key=add_key)),
        "rex": attacked("add_gate", STATE),
        "sig": attacked("add_gate", SIGNAL_STORM),
        "wes": attacked("mul_gate", PLANT_AND_RESTART),
        "zoe": correct,
    }


@pytest.fixture(scope="module")
@lane("attacks")
def course(tmp_path_factory):
    """The course with the hostile class submitted, ungraded (each test grades a copy)."""
    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    root = tmp_path_factory.mktemp("attacks-batch")
    base, source, release = sandboxed_course(root)
    submit_class(base, release, students(source))
    return root


def command(which):
    if which == "nbgrader":
        return [sys.executable, "-m", "nbgrader", "autograde", "backprop"]
    return [sys.executable, "-m", "autograder.cli", "autograde", "backprop", "--jobs", "2"]


def environment(tmp):
    """The grader's environment, its temporary folders (every sandbox's scratch) in `tmp`."""
    return {**nbgrader_environment(), "TMPDIR": str(tmp), "COLUMNS": "200"}


@pytest.fixture(scope="module")
def graded(course):
    """{command: (course copy, what it printed)}, each command grading the whole hostile class."""
    out = {}
    for which in ("nbgrader", "backprop-kit"):
        copy, tmp = course / which, course / f"{which}-tmp"
        shutil.copytree(course / "base", copy)
        tmp.mkdir()
        done = subprocess.run(
            command(which), cwd=copy, capture_output=True, text=True, env=environment(tmp), timeout=900
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        out[which] = (copy, done.stdout + done.stderr, tmp)
    return out


def test_both_commands_give_the_hostile_class_the_same_verdicts_cell_by_cell(graded):
    (stock, _, _), (kit, _, _) = graded["nbgrader"], graded["backprop-kit"]
    for student in students_of(stock):
        by_nbgrader, by_kit = records(stock, student), records(kit, student)
        assert by_nbgrader["grades"] == by_kit["grades"], student
        assert by_nbgrader["comments"] == by_kit["comments"], student


def test_the_worker_is_the_same_process_whichever_command_grades(graded):
    """rex prints its worker's signal state, limits and environment: the same under both."""
    state = {}
    for which, (copy, _, _) in graded.items():
        nb = nbformat.read(copy / "autograded" / "rex" / "backprop" / "backprop.ipynb", as_version=4)
        printed = [
            line
            for cell in nb.cells
            for output in cell.get("outputs", [])
            for line in output.get("text", "").splitlines()
            if line.startswith("STATE ")
        ]
        assert len(printed) == 1, (which, printed)
        state[which] = json.loads(printed[0][len("STATE ") :])
    assert state["nbgrader"] == state["backprop-kit"]
    assert state["nbgrader"]["SigBlk"] == "0" * 16 and state["nbgrader"]["Seccomp"] == "2"


def students_of(course_dir):
    return sorted(p.name for p in (course_dir / "submitted").iterdir())


def test_innocent_students_get_full_marks_and_nothing_is_left_on_disk(graded):
    for which, (copy, _said, tmp) in graded.items():
        full = records(copy, "ann")["score"]
        assert full > 0 and records(copy, "zoe")["score"] == full, which
        assert list(tmp.iterdir()) == [], (which, list(tmp.iterdir()))  # every scratch, every host's folder
        assert not list((copy / "autograded").rglob("planted-ran"))
        assert not list((copy / "autograded").rglob("d/d/d"))  # the deep tree stayed in its sandbox
    # Each attack cost its author the cell it sits in, at most: the cell's own exercise.
    kit = graded["backprop-kit"][0]
    for attacker in ("dee", "kay", "rex", "sig", "wes"):
        assert records(kit, attacker)["score"] > 0, attacker


def test_the_innocent_graded_last_takes_normal_time(graded):
    """`backprop-kit autograde` says how long each student took: zoe, after every attack, within
    twice ann's time (graded before them), plus a margin for a busy machine."""
    said = graded["backprop-kit"][1]
    seconds = {m.group(1): float(m.group(2)) for m in re.finditer(r"✓ (\w+) .*graded in ([0-9.]+) s", said)}
    assert set(INNOCENT) <= set(seconds), said[-2000:]
    assert seconds["zoe"] <= 2 * seconds["ann"] + 5, seconds


# ---------------------------------------------------------------- a coordinator killed outright

# Run in a process of its own that adopts every orphan (PR_SET_CHILD_SUBREAPER): the grading
# command is started, killed with SIGKILL once a sandboxed worker runs (a process of a sandbox
# uid below it), and whatever of it is still alive some seconds later is an orphan of ours, which
# we list, then kill (we started it) and reap.
KILL_MIDWAY = r"""
import ctypes, json, os, signal, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
argv, cwd = json.loads(sys.argv[1]), sys.argv[2]

def processes():
    found = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                uid = os.stat(f"/proc/{pid}").st_uid
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
            except (OSError, IndexError, ValueError):
                continue
            found[int(pid)] = (ppid, uid, cmd)
    return found

def below(root, table):
    out, todo = set(), [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _, _) in table.items():
            if ppid == parent and pid not in out:
                out.add(pid)
                todo.append(pid)
    return out

coordinator = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline, worker_seen = time.monotonic() + 600, False
while time.monotonic() < deadline and coordinator.poll() is None:
    table = processes()
    if any(table[p][1] >= 100000 for p in below(coordinator.pid, table) if p in table):
        worker_seen = True
        break
    time.sleep(0.2)
descendants = len(below(coordinator.pid, processes()))
coordinator.kill()
coordinator.wait()
time.sleep(8)  # what dies with its parent has died by now
left = {}
for pid, (ppid, uid, cmd) in processes().items():
    if ppid == os.getpid():
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            waited = 0
        if waited == 0 and os.path.exists(f"/proc/{pid}"):
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                left[pid] = cmd
for pid in left:  # ours to end: orphans of the command we started
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
time.sleep(1)
while True:
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            break
    except ChildProcessError:
        break
print(json.dumps({"worker seen": worker_seen, "descendants": descendants, "left": sorted(left.values())}))
"""

NO_PARENT_DEATH_SIGNAL = (
    "import sys, autograder.batch.run as run; run.die_with_parent = lambda parent=None: None; "
    "from autograder.cli import main; sys.argv = ['backprop-kit', *sys.argv[1:]]; sys.exit(main())"
)


def killed_midway(course, which, argv=None):
    copy, tmp = course / f"killed-{which}", course / f"killed-{which}-tmp"
    shutil.copytree(course / "base", copy)
    tmp.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", KILL_MIDWAY, json.dumps(argv or command(which)), str(copy)],
        capture_output=True,
        text=True,
        env=environment(tmp),
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # A killed command cannot clean up: what it left is ours (a deep tree too: never shutil.rmtree).
    # Its sandboxes' scratch tmpfs were never mounted here (bwrap.ScratchTmpfs): none is left.
    with open("/proc/self/mountinfo") as mounts:
        points = [line.split()[4] for line in mounts if line.split()[4].startswith(f"{tmp}/")]
    assert points == []
    assert remove_tree(tmp)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["worker seen"], seen
    return seen


@pytest.mark.parametrize("which", ["nbgrader", "backprop-kit"])
def test_a_command_killed_midway_leaves_nothing_running(course, which):
    seen = killed_midway(course, which)
    assert seen["left"] == [], seen


def test_without_the_parent_death_signal_grading_processes_outlive_their_coordinator(course):
    """The mutation: the pool's processes without PR_SET_PDEATHSIG keep running (and so do their
    sandbox hosts, which die with them)."""
    argv = [sys.executable, "-c", NO_PARENT_DEATH_SIGNAL, *command("backprop-kit")[3:]]
    seen = killed_midway(course, "mutated", argv)
    assert seen["left"], seen
