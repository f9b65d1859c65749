"""A cgroup per submission: its memory, its processes and its CPU held from outside (issue 32).

cgroup v2 where the host has it, v1 where that is what it has (the project's machines and CI run
as root with writable v1 `memory`, `pids`, `cpu` and `cpuacct` hierarchies; most university
servers have v2). A submission's cgroup is made below the grader's own cgroup in each hierarchy
(v1) or in the unified one (v2): whatever caps the grader's service still caps its students, and a
container's limits hold too. It carries:

* a memory cap (v1 `memory.limit_in_bytes`, and `memory.memsw.limit_in_bytes` so swap is no way
  out; v2 `memory.max`, `memory.swap.max` 0). The kernel charges to it every page the submission's
  processes touch: their heaps, tmpfs pages (the scratch tmpfs, /tmp, /dev/shm), System V and POSIX
  shared memory, pipe buffers and the kernel memory of their files and sockets. TCP socket buffers
  are charged in v2 always, in v1 only with `memory.kmem.tcp.limit_in_bytes`, set where present
  (the sandbox has no network, so only loopback of its own namespace could use them);
* a cap on processes and threads together (`pids.max`), whatever uid they run as;
* a CPU share of one core (v1 `cpu.cfs_quota_us`, v2 `cpu.max`), so a swarm of spinning processes
  takes one core at most from the submissions graded beside it;
* a CPU budget: `cpu_seconds` reads what all its processes used (v1 `cpuacct.usage`, v2
  `cpu.stat`), and the runner kills the whole cgroup past a request's budget.

`kill` ends every process in it (v2 `cgroup.kill`, else SIGKILL to each until none is left) and
`remove` then removes it; a cgroup left by a grader that was itself killed is removed by the next
one that makes a cgroup there (its name holds the pid of the grader that made it).

Where no cgroup can be made (a container without a writable cgroup tree, Gradescope, a v2 host
whose cgroup does not delegate its controllers), `for_submission` says so once, in one line, and
grading falls back to the rlimits alone; with grading.require_cgroup: true it raises instead.
"""

import errno
import itertools
import logging
import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from .limits import Limits

log = logging.getLogger("backprop-kit")

V1_CONTROLLERS = ("memory", "pids", "cpuacct", "cpu")  # cpu (the share) is optional
V2_CONTROLLERS = ("memory", "pids", "cpu")
PREFIX = "bpkit-"
ENABLE = chr(43)  # subtree_control's "turn on" sign, written without the literal operation symbol
CPU_PERIOD_US = 100_000
CPUS = 1  # a submission's share of the machine: one core
TCP_BYTES = 64 * 1024**2  # v1's separate cap on TCP buffers (loopback only: no network)
KILL_SECONDS = 5.0
REMOVE_SECONDS = 5.0

UNAVAILABLE = (
    "no cgroup can be made for each submission here ({reason}): set grading.require_cgroup: false in "
    "course.yaml to grade with per-process limits only"
)
FALLBACK = "backprop-kit: no cgroup per submission ({reason}): per-process limits only"


class CgroupUnavailable(RuntimeError):
    """grading.require_cgroup: true, and no cgroup can be made here."""

    def __init__(self, reason: str):
        super().__init__(UNAVAILABLE.format(reason=reason))


@dataclass(frozen=True)
class Layout:
    """Where a submission's cgroup goes: v1, a parent directory per controller (the grader's own
    cgroup in that hierarchy); v2, one parent directory (the grader's own cgroup)."""

    version: int
    parents: tuple[tuple[str, Path], ...]  # (controller, parent directory); v2: (("unified", dir),)

    def parent(self, controller: str) -> Path | None:
        return dict(self.parents).get(controller)


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def find_layout(proc_cgroup: str, mountinfo: str, root: str = "") -> tuple[Layout | None, str]:
    """(the layout, "") or (None, why not), from /proc/self/cgroup's and /proc/self/mountinfo's
    text. `root` prefixes every path (tests build a directory tree there)."""
    own: dict[str, str] = {}  # controller ("" for v2) -> the grader's cgroup path
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                own[controller] = parts[2]
    v1: dict[str, Path] = {}
    v2: Path | None = None
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) < 5 or len(after) < 3:
            continue
        mount_root, point, fstype, options = _unescape(fields[3]), _unescape(fields[4]), after[0], after[2]
        if fstype == "cgroup":
            for controller in options.split(","):
                if controller in V1_CONTROLLERS and controller in own:
                    v1[controller] = _below(root, point, mount_root, own[controller])
        elif fstype == "cgroup2" and "" in own:
            v2 = _below(root, point, mount_root, own[""])
    if all(c in v1 for c in ("memory", "pids", "cpuacct")):
        return Layout(1, tuple(sorted(v1.items()))), ""
    if v2 is not None:
        controllers = _read(v2 / "cgroup.controllers").split()
        missing = [c for c in V2_CONTROLLERS if c not in controllers]
        if missing:
            return None, f"cgroup v2 at {v2} does not offer {', '.join(missing)}"
        return Layout(2, (("unified", v2),)), ""
    if v1:
        return None, f"cgroup v1 has only {', '.join(sorted(v1))} (memory, pids and cpuacct are needed)"
    return None, "no cgroup file system is mounted"


def _below(root: str, point: str, mount_root: str, own: str) -> Path:
    """The directory of the cgroup `own` in a hierarchy mounted at `point` (showing `mount_root`)."""
    relative = os.path.relpath(own, mount_root) if own.startswith(mount_root) else own.lstrip("/")
    return Path(root + point) / ("" if relative == "." else relative)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


_counter = itertools.count(1)


class Cgroup:
    """One submission's cgroup (in each v1 hierarchy, or the v2 one), made with its limits set."""

    def __init__(self, layout: Layout, limits: Limits, extra_memory: int = 0):
        self.layout = layout
        self.name = f"{PREFIX}{os.getpid()}-{next(_counter)}-{random.SystemRandom().randrange(16**6):06x}"
        self.dirs: dict[str, Path] = {}
        try:
            for controller, parent in layout.parents:
                directory = parent / self.name
                if directory not in self.dirs.values():  # v1 may mount cpu and cpuacct together
                    if layout.version == 2:
                        enable_controllers(parent)
                    remove_stale(parent)
                    directory.mkdir(mode=0o755)
                self.dirs[controller] = directory
            self._set(limits, extra_memory)
        except BaseException:
            self.remove()
            raise

    def _set(self, limits: Limits, extra_memory: int) -> None:
        memory = int(limits.memory_bytes + extra_memory + limits.scratch_bytes)
        processes = str(int(limits.processes) + 8)  # the sandbox's own: bwrap, the zygote, the shell
        if self.layout.version == 2:
            unified = self.dirs["unified"]
            _write(unified / "memory.max", str(memory))
            if (unified / "memory.swap.max").exists():
                _write(unified / "memory.swap.max", "0")
            _write(unified / "pids.max", processes)
            _write(unified / "cpu.max", f"{CPUS * CPU_PERIOD_US} {CPU_PERIOD_US}")
            return
        cgroup = self.dirs["memory"]
        _write(cgroup / "memory.limit_in_bytes", str(memory))
        if (cgroup / "memory.memsw.limit_in_bytes").exists():  # swap accounting on: no way out by swap
            _write(cgroup / "memory.memsw.limit_in_bytes", str(memory))
        if (cgroup / "memory.kmem.tcp.limit_in_bytes").exists():
            _write(cgroup / "memory.kmem.tcp.limit_in_bytes", str(min(TCP_BYTES, memory)))
        _write(self.dirs["pids"] / "pids.max", processes)
        if "cpu" in self.dirs and (self.dirs["cpu"] / "cpu.cfs_quota_us").exists():
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(CPUS * CPU_PERIOD_US))

    def procs_files(self) -> list[Path]:
        """The cgroup.procs files a process writes its pid (or 0) to, to join every hierarchy."""
        return [directory / "cgroup.procs" for directory in dict.fromkeys(self.dirs.values())]

    def cpu_seconds(self) -> float:
        """CPU time used by every process that has been in it."""
        if self.layout.version == 2:
            for line in _read(self.dirs["unified"] / "cpu.stat").splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
            return 0.0
        text = _read(self.dirs["cpuacct"] / "cpuacct.usage").strip()
        return int(text) / 1e9 if text.isdigit() else 0.0

    def memory_peak(self) -> int:
        """The most memory it held at once (bytes), or 0 where the kernel does not say."""
        name = "memory.peak" if self.layout.version == 2 else "memory.max_usage_in_bytes"
        directory = self.dirs.get("unified" if self.layout.version == 2 else "memory")
        text = _read(directory / name).strip() if directory else ""
        return int(text) if text.isdigit() else 0

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files():
            found.update(int(p) for p in _read(procs).split() if p.isdigit())
        return sorted(found)

    def kill(self) -> bool:
        """Kill every process in it and wait until none is left; True when none is."""
        unified = self.dirs.get("unified")
        if unified is not None and (unified / "cgroup.kill").exists():
            try:
                _write(unified / "cgroup.kill", "1")
            except OSError:
                pass
        deadline = time.monotonic() + KILL_SECONDS
        while True:
            pids = self.pids()
            if not pids:
                return True
            if time.monotonic() > deadline:
                log.error("backprop-kit: processes of cgroup %s survive: %s", self.name, pids)
                return False
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.005)

    def remove(self) -> bool:
        """Kill what is in it, then remove it from every hierarchy; True when nothing is left."""
        self.kill()
        left = []
        for directory in dict.fromkeys(self.dirs.values()):
            if not _rmdir(directory):
                left.append(str(directory))
        if left:
            log.error("backprop-kit: cgroups could not be removed: %s", ", ".join(left))
        self.dirs = {}
        return not left


def _rmdir(directory: Path) -> bool:
    """rmdir a cgroup, waiting while its last processes are still being torn down (EBUSY)."""
    deadline = time.monotonic() + REMOVE_SECONDS
    while True:
        try:
            os.rmdir(directory)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                return False
            time.sleep(0.005)


def enable_controllers(parent: Path) -> None:
    """v2: the controllers a child needs, turned on in the parent's subtree_control (fails when the
    parent holds processes of its own and is not the root: the grader must run in a delegated
    cgroup, docs/grading.md)."""
    enabled = _read(parent / "cgroup.subtree_control").split()
    wanted = " ".join(ENABLE + c for c in V2_CONTROLLERS if c not in enabled)
    if wanted:
        _write(parent / "cgroup.subtree_control", wanted)


def remove_stale(parent: Path) -> None:
    """Remove the cgroups that graders no longer running left here (killed before they could)."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        owner = entry.name[len(PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            for pid in (int(p) for p in _read(Path(entry.path) / "cgroup.procs").split() if p.isdigit()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            _rmdir(Path(entry.path))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Tests turn it off to see the tests of what it holds fail (a mutation test), as seccomp.ENFORCED.
ENFORCED = True
_layout: tuple[Layout | None, str] | None = None
_said = False


def layout() -> tuple[Layout | None, str]:
    """This machine's layout (read once per process), or (None, why there is none)."""
    global _layout
    if not ENFORCED:
        return None, "turned off (cgroups.ENFORCED)"
    if _layout is None:
        if os.geteuid() != 0:
            _layout = (None, "the grader does not run as root")
        else:
            _layout = find_layout(_read(Path("/proc/self/cgroup")), _read(Path("/proc/self/mountinfo")))
            found = _layout[0]
            if found is not None and not all(os.access(p, os.W_OK) for _, p in found.parents):
                _layout = (None, f"the grader's cgroup ({found.parents[0][1]}) is not writable")
    return _layout


def for_submission(limits: Limits, *, extra_memory: int = 0, required: bool = False) -> Cgroup | None:
    """A new cgroup for one submission, or None where none can be made (said once, in one line;
    CgroupUnavailable instead when `required`)."""
    global _said
    found, reason = layout()
    if found is not None:
        try:
            return Cgroup(found, limits, extra_memory)
        except OSError as e:
            reason = f"{type(e).__name__}: {e}"
    if required:
        raise CgroupUnavailable(reason)
    if not _said:
        log.warning(FALLBACK.format(reason=reason))
        _said = True
    return None


def leftovers() -> list[Path]:
    """This process's cgroups still on disk (tests check none are left)."""
    found, _reason = layout()
    if found is None:
        return []
    mine = f"{PREFIX}{os.getpid()}-"
    return [path for _, parent in found.parents for path in parent.iterdir() if path.name.startswith(mine)]
