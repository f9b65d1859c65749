"""What each test costs in CPU seconds, its children included: a pytest plugin that
conftest.py turns on when BPKIT_CPU_COST names a folder (benchmarks/test_suite_cost.py sets it).

Wall time says little on a shared 2-core machine; CPU seconds say what a test costs wherever it
runs. A test's cost is its process's user+sys time (RUSAGE_SELF, all threads) plus that of its
descendants (nbgrader and `backprop-kit` commands, Jupyter kernels, sandbox hosts and workers):
those ended and reaped (RUSAGE_CHILDREN) and those still running (/proc), over setup, call and
teardown. A process that detaches from its parent (reparented to init) is not counted. A fixture shared by several tests is charged to the first test that asks for it (and
its teardown to the last); benchmarks/test_suite_cost.py also sums by file for that reason.

Each process (the pytest-xdist controller and every worker) writes one JSON line per test to
a file of its own in the folder, and one line for the session: when it started and ended, so
the script can see a worker left idle while the other finishes a long file."""

import json
import os
import resource
import time
from pathlib import Path

import pytest

ENVIRONMENT = "BPKIT_CPU_COST"


TICK = os.sysconf("SC_CLK_TCK")


def _living_descendants() -> float:
    """CPU seconds so far of this process's descendants still running, each with its own reaped
    children's (a sandbox host or a kernel started by a module's fixture lives across tests: its
    time reaches RUSAGE_CHILDREN only when it is reaped, so a test that used it is charged here)."""
    parent: dict[int, int] = {}
    spent: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        # after "pid (comm)": state ppid ... utime(12) stime(13) cutime(14) cstime(15), from field 3
        parent[int(entry.name)] = int(fields[1])
        spent[int(entry.name)] = sum(int(field) for field in fields[11:15]) / TICK
    me, total = os.getpid(), 0.0
    for pid in spent:
        ancestor = parent.get(pid)
        while ancestor not in (None, 0, 1, me):
            ancestor = parent.get(ancestor)
        if ancestor == me:
            total += spent[pid]
    return total


def _cpu() -> tuple[float, float]:
    """(this process's CPU seconds, its children's: reaped or still running), user+sys."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime + _living_descendants()


class CpuCost:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.out = (folder / f"{self.worker}-{os.getpid()}.jsonl").open("a", buffering=1)
        self.started = time.time()
        self.cpu_at_start = _cpu()

    def _write(self, record: dict) -> None:
        self.out.write(json.dumps(record) + "\n")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item):
        own, children = _cpu()
        began = time.time()
        yield
        own_after, children_after = _cpu()
        self._write(
            {
                "test": item.nodeid,
                "file": item.nodeid.split("::")[0],
                "worker": self.worker,
                "start": began,
                "wall": time.time() - began,
                "cpu": own_after - own,
                "children": children_after - children,
                "markers": sorted({mark.name for mark in item.iter_markers()}),
            }
        )

    def pytest_sessionfinish(self) -> None:
        own, children = _cpu()
        self._write(
            {
                "session": self.worker,
                "start": self.started,
                "end": time.time(),
                # collection and imports, before the first test and between tests
                "cpu": own - self.cpu_at_start[0],
                "children": children - self.cpu_at_start[1],
            }
        )
        self.out.close()


def pytest_configure(config: pytest.Config) -> None:
    folder = os.environ.get(ENVIRONMENT)
    if folder:
        config.pluginmanager.register(CpuCost(Path(folder)), "bpkit-cpu-cost")
