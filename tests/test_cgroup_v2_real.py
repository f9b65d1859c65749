"""cgroup v2 for real on a v1 host (issue 32, item 4): the kernel lets root mount the unified
hierarchy at a spare mount point even where every controller is bound to v1, so the v2 code's
parts that need no controller run against the kernel's own files here: the layout found from the
real /proc/self/mountinfo (and refused, naming the controllers v1 holds), a submission's cgroup
made in it, a real process joining it through cgroup.procs (as a worker's `sh` prefix does), its
CPU read from cpu.stat, every process killed through cgroup.kill, the cgroup removed, and a killed
grader's leftover removed by the next. What cannot run without the memory, pids and cpu
controllers (memory.max, pids.max, cpu.max, and their caps holding) is tested on directory trees
only (tests/test_attacks_limits.py); docs/grading.md says which is which."""

import ctypes
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.sandbox import cgroups

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting cgroup2 needs root")


@pytest.fixture(scope="module")
def unified():
    """The cgroup2 hierarchy, mounted at a spare point for this module, unmounted after it."""
    point = Path(tempfile.mkdtemp(prefix="bpkit-cgroup2-"))
    if subprocess.run(["mount", "-t", "cgroup2", "none", str(point)], capture_output=True).returncode:
        point.rmdir()
        pytest.skip("the kernel does not let cgroup2 be mounted here")
    try:
        yield point
    finally:
        for entry in point.glob(f"{cgroups.PREFIX}*"):
            cgroups._rmdir(entry)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.umount2(os.fsencode(str(point)), 2)  # MNT_DETACH
        point.rmdir()


def test_the_real_layout_is_found_and_refused_naming_what_v1_holds(unified):
    """A grader placed only in the unified hierarchy (its /proc/self/cgroup's 0:: line) finds the
    real cgroup2 mount in the real mountinfo, reads its real cgroup.controllers, and refuses it."""
    assert "memory" not in (unified / "cgroup.controllers").read_text().split()  # v1 holds it
    found, why = cgroups.find_layout("0::/\n", Path("/proc/self/mountinfo").read_text())
    assert found is None and why.endswith("does not offer memory, pids, cpu"), why


def bare_v2_cgroup(parent: Path) -> cgroups.Cgroup:
    """A submission's cgroup made as Cgroup makes it, without the limits no controller can hold here."""
    cgroup = object.__new__(cgroups.Cgroup)
    cgroup.layout = cgroups.Layout(2, (("unified", parent),))
    cgroup.name = f"{cgroups.PREFIX}{os.getpid()}-v2-{time.monotonic_ns() % 16**6:06x}"
    cgroup.dirs = {"unified": parent / cgroup.name}
    cgroups.remove_stale(parent)
    cgroup.dirs["unified"].mkdir(mode=0o755)
    return cgroup


def test_a_process_joins_is_counted_killed_and_its_cgroup_removed(unified):
    cgroup = bare_v2_cgroup(unified)
    join = 'for f; do [ "$f" = -- ] && { shift; break; }; echo $$ > "$f" || exit 70; shift; done; exec "$@"'
    spin = (
        "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(600)"
    )
    procs = [str(p) for p in cgroup.procs_files()]
    child = subprocess.Popen(["/bin/sh", "-c", join, "sh", *procs, "--", sys.executable, "-c", spin])
    try:
        deadline = time.monotonic() + 30
        while child.pid not in cgroup.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in cgroup.pids()  # joined before it ran: the exec'd python is in it
        while cgroup.cpu_seconds() < 0.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cgroup.cpu_seconds() >= 0.2  # cpu.stat's usage_usec, the kernel's
        assert (cgroup.dirs["unified"] / "cgroup.kill").exists()
        directory = cgroup.dirs["unified"]
        assert cgroup.remove() and not directory.exists()  # killed through cgroup.kill, then rmdir
        assert child.wait(timeout=10) == -9
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_killed_graders_v2_cgroup_is_removed_by_the_next(unified):
    stale = unified / f"{cgroups.PREFIX}999999999-1-abcdef"
    stale.mkdir()
    sleeper = subprocess.Popen(["/bin/sh", "-c", f'echo $$ > "{stale}/cgroup.procs" && exec sleep 600'])
    try:
        deadline = time.monotonic() + 10
        while not (stale / "cgroup.procs").read_text().split() and time.monotonic() < deadline:
            time.sleep(0.05)
        cgroup = bare_v2_cgroup(unified)  # the next grader: removes what a dead one left
        assert not stale.exists() and sleeper.wait(timeout=10) == -9
        assert cgroup.remove()
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
