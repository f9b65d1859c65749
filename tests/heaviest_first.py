"""The test files in the order their CPU cost says: heaviest first, so that under pytest-xdist's
--dist loadfile the last file a worker takes is a short one and neither core idles for minutes
at the end of the run while the other finishes a graded class.

pytest-xdist hands out whole files in the order it receives them, after sorting them by their
number of tests (--loadscope-reorder, its default): a file of 400 quick parametrized cases went
first and a file of two tests that build and grade a whole course (minutes of CPU) went last.
conftest.py turns that sort off and sorts the collection by tests/data/test_file_costs.json
(CPU seconds per file, children included, written by `benchmarks/test_suite_cost.py --save-costs`).
A file not in it yet (new) goes first: a new file is as likely as not to be a heavy one, and an
unknown light file first costs nothing. The order of tests inside a file is kept."""

import json
from pathlib import Path

COSTS = Path(__file__).resolve().parent / "data" / "test_file_costs.json"


def file_costs() -> dict[str, float]:
    try:
        return json.loads(COSTS.read_text())["cpu_seconds"]
    except (OSError, ValueError, KeyError):  # a missing or broken table orders nothing
        return {}


def heaviest_first(items: list, costs: dict[str, float]) -> None:
    """Sort `items` (pytest items) in place: by file, unknown files first, then by descending cost;
    stable, so a file's tests keep their order and files of equal cost theirs."""
    unknown = float("inf")
    items.sort(key=lambda item: -costs.get(item.nodeid.split("::")[0], unknown))
