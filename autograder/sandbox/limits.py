"""What one submission's student code may use, as one type, and the one function that applies it.

STANDALONE (standard library only), like worker.py and host.py: the runner copies it beside them
into the sandbox's read-only code directory, so the grader, the sandbox host and the worker read
the same `Limits` and apply it through the same `rlimits` table. Every path builds it from
course.yaml's `grading` settings (`Limits.from_course`); it crosses into the sandbox as a plain
dict (`to_wire`/`from_wire`, strict: a missing or mistyped field is the grader's bug and raises).

Where each limit is held (docs/grading.md, "Security"):

* per process, by rlimits (`rlimits`, applied by `apply` in a process that is about to run student
  code, or rendered as a prlimit prefix by `prlimit_args`): address space, file size, core dumps,
  open files, processes per uid, and CPU time for each request's child;
* per submission, by a cgroup where one can be made (cgroups.py): memory (tmpfs, socket buffers and
  shared memory included), processes, a CPU share and a CPU budget the grader enforces;
* by the parent, from outside: the worker's zygote kills a child past its CPU or wall time (a cell
  cannot cancel it), and the grader kills the whole cgroup past its CPU budget.
"""

import resource
from dataclasses import asdict, dataclass, fields, replace

KiB, MiB, GiB = 1024, 1024**2, 1024**3

# The wall clock is only a backstop (issue 33: no verdict depends on load): code is stopped by its
# CPU time, and a wall deadline of this many times the CPU limit catches what sleeps or blocks. On
# a quiet machine a loop ends at its CPU limit; a machine this many times oversubscribed still
# gives a slow-but-correct gate its whole CPU budget before the backstop.
WALL_FACTOR = 2.0
# A wall-clock backstop stretches by the time the code waited for a CPU (worker.py's Backstop), up
# to this many times its length: an overloaded machine must not cost points, a sleeping cell is
# still stopped after its own WALL_FACTOR times the limit.
MAX_STRETCH = 10.0
# Open files per process: 128 processes of a sandbox times this is 131,072 files at most, far
# below the kernel's file table (fs.file-max), and each file's kernel memory counts against the
# cgroup's memory cap where there is one.
OPEN_FILES = 1024
DEFAULT_SCRATCH_BYTES = 256 * MiB


@dataclass(frozen=True)
class Limits:
    """What one run of student code may use.

    cpu_seconds: the CPU time one request's child may use (RLIMIT_CPU, and the cgroup's budget for
    the request); None means wall_seconds + 1. This is what stops a loop.
    wall_seconds: the wall-clock deadline the zygote kills a request's child at: a backstop for
    code that sleeps or blocks, generous enough that a busy machine does not reach it first.
    cell_seconds: in a notebook run, the CPU time each cell may use (None: cpu_seconds).
    processes: processes + threads of one sandbox (RLIMIT_NPROC in uid mode, pids.max in a cgroup).
    scratch_bytes: the size of the scratch tmpfs, inside the memory cap (0: a plain directory).
    """

    wall_seconds: float = 30.0
    memory_bytes: int = 2 * GiB
    output_bytes: int = 64 * KiB
    cpu_seconds: float | None = None
    processes: int = 128
    open_files: int = OPEN_FILES
    scratch_bytes: int = DEFAULT_SCRATCH_BYTES
    cell_seconds: float | None = None

    @classmethod
    def from_course(cls, grading) -> "Limits":
        """From course.yaml's `grading` settings (config/schema.py's Grading): timeout_seconds is
        the CPU time a check may use; its wall deadline is WALL_FACTOR times that."""
        cpu = float(grading.timeout_seconds)
        return cls(
            wall_seconds=WALL_FACTOR * cpu,
            memory_bytes=int(grading.memory_mb) * MiB,
            output_bytes=int(grading.output_kb) * KiB,
            cpu_seconds=cpu,
            scratch_bytes=int(getattr(grading, "scratch_mb", DEFAULT_SCRATCH_BYTES // MiB)) * MiB,
        )

    @property
    def cpu_limit(self) -> float:
        """The CPU seconds a request's child may use."""
        return float(self.cpu_seconds) if self.cpu_seconds else float(self.wall_seconds) + 1.0

    @property
    def cell_cpu_limit(self) -> float:
        """The CPU seconds one notebook cell may use."""
        return float(self.cell_seconds) if self.cell_seconds else self.cpu_limit

    @property
    def file_bytes(self) -> int:
        """The largest file student code may write (RLIMIT_FSIZE)."""
        return max(64 * MiB, 16 * self.output_bytes)

    def overridden(self, override) -> "Limits":
        """These limits with a request's positive numeric overrides (wall_seconds, cell_seconds, ...)."""
        known = {f.name for f in fields(self)}
        changes = {
            key: value
            for key, value in dict(override or {}).items()
            if key in known and type(value) in (int, float) and value > 0
        }
        return replace(self, **changes)

    def to_wire(self) -> dict:
        return asdict(self)

    @classmethod
    def from_wire(cls, data) -> "Limits":
        """Strict: exactly the fields, each a number of the right kind (the grader wrote it)."""
        names = {f.name for f in fields(cls)}
        if type(data) is not dict or set(data) != names:
            raise ValueError(f"limits: expected the fields {sorted(names)}, found {data!r:.200}")
        for key, value in data.items():
            if value is not None and type(value) not in (int, float):
                raise ValueError(f"limits: {key} must be a number, found {value!r:.50}")
        return cls(**data)


def rlimits(limits: Limits, *, extra_memory: int = 0, processes: int | None = None, cpu: bool = False):
    """The one table of per-process limits: [(resource name, soft, hard)].

    extra_memory: added to the address-space cap (a zygote holds numpy above its children's
    limit). processes: RLIMIT_NPROC, from bwrap.process_cap (None: not capped this way). cpu: a
    request's child (its CPU time is capped; the zygote's and a kernel's are the grader's to
    watch, as a whole notebook's cells share one process)."""
    table = [
        ("RLIMIT_CORE", 0, 0),
        ("RLIMIT_FSIZE", limits.file_bytes, limits.file_bytes),
        ("RLIMIT_NOFILE", limits.open_files, limits.open_files),
    ]
    if limits.memory_bytes:
        memory = int(limits.memory_bytes + extra_memory)
        table.append(("RLIMIT_AS", memory, memory))
    if processes:
        table.append(("RLIMIT_NPROC", int(processes), int(processes)))
    if cpu:
        seconds = int(limits.cpu_limit + 0.999)
        table.append(("RLIMIT_CPU", seconds, seconds + 1))
    return table


def apply(limits: Limits, **kwargs) -> None:
    """Set `rlimits(limits, **kwargs)` on this process (it then holds for all it starts). A limit
    is only ever lowered: a hard limit already below ours stays."""
    for name, soft, hard in rlimits(limits, **kwargs):
        kind = getattr(resource, name)
        _old_soft, old_hard = resource.getrlimit(kind)
        if old_hard != resource.RLIM_INFINITY:
            hard = min(hard, old_hard)
            soft = min(soft, hard)
        resource.setrlimit(kind, (soft, hard))


PRLIMIT_OPTIONS = {
    "RLIMIT_CORE": "--core",
    "RLIMIT_FSIZE": "--fsize",
    "RLIMIT_NOFILE": "--nofile",
    "RLIMIT_AS": "--as",
    "RLIMIT_NPROC": "--nproc",
    "RLIMIT_CPU": "--cpu",
}


def prlimit_args(limits: Limits, **kwargs) -> list[str]:
    """`rlimits(limits, **kwargs)` as util-linux prlimit's options (a command prefix's)."""
    return [f"{PRLIMIT_OPTIONS[name]}={soft}:{hard}" for name, soft, hard in rlimits(limits, **kwargs)]
