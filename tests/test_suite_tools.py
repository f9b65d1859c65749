"""The suite's own tools: the order files run in (tests/heaviest_first.py) and the CPU a test is
charged (tests/cpu_cost.py), children still running included."""

import subprocess
import sys
import time
from types import SimpleNamespace

from cpu_cost import _cpu
from heaviest_first import file_costs, heaviest_first


def test_files_run_heaviest_first_new_files_before_all_and_each_files_tests_in_their_order():
    items = [
        SimpleNamespace(nodeid=nodeid)
        for nodeid in ("a.py::one", "a.py::two", "b.py::one", "new.py::one", "c.py::one", "b.py::two")
    ]
    heaviest_first(items, {"a.py": 1.0, "b.py": 30.0, "c.py": 1.0})
    assert [i.nodeid for i in items] == [
        "new.py::one",
        "b.py::one",
        "b.py::two",
        "a.py::one",
        "a.py::two",
        "c.py::one",
    ]


def test_the_recorded_costs_are_read():
    """A stale entry (a file renamed since) only misplaces that file: not checked here, so that
    renaming a test file fails nothing."""
    from heaviest_first import COSTS

    costs = file_costs()
    assert costs, f"{COSTS} is missing or broken: write it with benchmarks/test_suite_cost.py --save-costs"
    assert all(name.startswith("tests/test_") and seconds >= 0 for name, seconds in costs.items())


def test_a_child_still_running_is_charged_to_the_test_that_made_it_work():
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\nprint(1, flush=True)\ntime.sleep(60)"
    before = _cpu()[1]
    child = subprocess.Popen([sys.executable, "-c", busy], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"1\n"  # its 0.3 s of CPU spent; it now sleeps, unreaped
        time.sleep(0.05)
        assert _cpu()[1] - before >= 0.3
    finally:
        child.kill()
        child.wait()
