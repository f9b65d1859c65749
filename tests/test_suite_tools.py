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


def test_saving_the_costs_of_part_of_the_suite_keeps_the_other_files_figures(tmp_path, monkeypatch):
    """A run of a few files (the new ones, one lane) updates their figures; the table's other
    files keep theirs (before, they left the table and ran first as unknown), and a file no longer
    in the suite leaves it."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "test_suite_cost.py"
    spec = importlib.util.spec_from_file_location("test_suite_cost", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (tmp_path / "tests" / "data").mkdir(parents=True)
    for name in ("test_old.py", "test_new.py", "test_both.py"):
        (tmp_path / "tests" / name).write_text("")
    table = tmp_path / "tests" / "data" / "test_file_costs.json"
    old = {"tests/test_old.py": 7.0, "tests/test_both.py": 50.0, "tests/test_gone.py": 3.0}
    table.write_text(json.dumps({"cpu_seconds": old}))
    run = tmp_path / "run"
    run.mkdir()
    records = [
        ("tests/test_new.py", 2.0, 1.5),
        ("tests/test_both.py", 4.0, 0.0),
        ("tests/test_new.py", 1.0, 0.0),
    ]
    run.joinpath("gw0.jsonl").write_text(
        "".join(json.dumps({"file": f, "cpu": c, "children": k}) + "\n" for f, c, k in records)
    )
    monkeypatch.setattr(tool, "REPO", tmp_path)
    tool.save_costs([run])
    saved = json.loads(table.read_text())["cpu_seconds"]
    # measured now: the new figure, also where it fell (50 -> 4); the others kept; the gone one dropped
    assert saved == {"tests/test_old.py": 7.0, "tests/test_new.py": 4.5, "tests/test_both.py": 4.0}
    assert list(saved) == ["tests/test_old.py", "tests/test_new.py", "tests/test_both.py"]  # heaviest first
