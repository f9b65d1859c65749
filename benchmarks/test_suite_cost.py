"""Where the test suite's CPU goes: runs pytest with tests/cpu_cost.py turned on and prints the
top CPU consumers (tests and files, children included), the lanes' totals, and how busy each
pytest-xdist worker stayed. Wall time on a shared machine is noise; CPU seconds are not, and
on 2 busy cores the wall time is about the total CPU / 2 — unless one worker idles at the end.

    .venv/bin/python benchmarks/test_suite_cost.py fast             # make test-fast's lane
    .venv/bin/python benchmarks/test_suite_cost.py all              # make test's whole suite
    .venv/bin/python benchmarks/test_suite_cost.py all -- -k korean # more pytest arguments
    .venv/bin/python benchmarks/test_suite_cost.py --report FOLDER  # a run already recorded
    .venv/bin/python benchmarks/test_suite_cost.py --compare BEFORE AFTER
    .venv/bin/python benchmarks/test_suite_cost.py --save-costs FOLDER [FOLDER ...]

Each run keeps its records in build/test-cost/<lane>-<time>/ (one JSON line per test); pass two
such folders to --compare to print the top tests and files before and after side by side.
--save-costs writes the files' CPU seconds (the largest of the folders' figures for a file) into
tests/data/test_file_costs.json, the order the suite runs its files in (tests/heaviest_first.py);
files the folders did not run keep their figures there.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAST = "not browser and not cluster and not postgres and not e2e and not attacks and not slow"


def run(lane: str, extra: list[str]) -> Path:
    folder = REPO / "build" / "test-cost" / f"{lane}-{time.strftime('%Y%m%d-%H%M%S')}"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--dist",
        "loadfile",
    ]
    if lane == "fast":
        command += ["-m", FAST]
    command += extra
    print("$", " ".join(command), flush=True)
    began = time.time()
    subprocess.run(command, cwd=REPO, env={**os.environ, "BPKIT_CPU_COST": str(folder)})
    (folder / "command.json").write_text(json.dumps({"command": command, "wall": time.time() - began}))
    return folder


def load(folder: Path) -> tuple[list[dict], list[dict]]:
    tests, sessions = [], []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            (sessions if "session" in record else tests).append(record)
    return tests, sessions


def cost(record: dict) -> float:
    return record["cpu"] + record["children"]


def by_file(tests: list[dict]) -> dict[str, float]:
    files: dict[str, float] = collections.Counter()
    for test in tests:
        files[test["file"]] += cost(test)
    return files


def report(folder: Path, top: int) -> None:
    tests, sessions = load(folder)
    total = sum(cost(test) for test in tests)
    # Under pytest-xdist the controller's children are the workers: count the workers alone.
    workers = [session for session in sessions if session["session"] != "main"] or sessions
    overhead = sum(cost(session) for session in workers) - total
    print(
        f"\n{folder}: {len(tests)} tests, {total:.0f} CPU s in tests (+{overhead:.0f} s collecting, between tests)"
    )
    command = folder / "command.json"
    if command.exists():
        print(f"wall time of the run: {json.loads(command.read_text())['wall']:.0f} s")
    lanes: dict[str, list[float]] = collections.defaultdict(list)
    for test in tests:
        lanes[lane_of(test)].append(cost(test))
    print("\nby lane:")
    for name, costs in sorted(lanes.items(), key=lambda item: -sum(item[1])):
        print(f"  {name:28s} {len(costs):5d} tests {sum(costs):8.1f} CPU s")
    print(f"\ntop {top} tests (CPU s = own + children; wall s):")
    for test in sorted(tests, key=cost, reverse=True)[:top]:
        print(
            f"  {cost(test):7.1f} = {test['cpu']:6.1f} + {test['children']:6.1f}  {test['wall']:6.1f}  {test['test']}"
        )
    print(f"\ntop {top} files (CPU s):")
    for name, seconds in by_file(tests).most_common(top):
        print(f"  {seconds:7.1f}  {name}")
    if sessions and len({s["session"] for s in sessions}) > 1:
        print("\nworkers (busy = CPU charged to its tests; finished = seconds after the first worker began):")
        began = min(s["start"] for s in sessions)
        for session in sorted(sessions, key=lambda s: s["session"]):
            mine = [test for test in tests if test["worker"] == session["session"]]
            print(
                f"  {session['session']:6s} {len(mine):5d} tests  {sum(map(cost, mine)):7.0f} CPU s  "
                f"finished at {session['end'] - began:6.0f} s"
            )


LANES = ("browser", "cluster", "postgres", "e2e", "attacks", "slow")


def lane_of(test: dict) -> str:
    return ",".join(name for name in test["markers"] if name in LANES) or "fast"


def compare(before: Path, after: Path, top: int) -> None:
    old, _ = load(before)
    new, _ = load(after)
    old_tests = {test["test"]: cost(test) for test in old}
    new_tests = {test["test"]: cost(test) for test in new}
    print(f"{'':60s} {'before':>8s} {'after':>8s}")
    print(
        f"{'all tests (' + str(len(old)) + ' -> ' + str(len(new)) + ')':60s} {sum(old_tests.values()):8.0f} {sum(new_tests.values()):8.0f}"
    )
    for name in sorted({lane_of(t) for t in old + new}):
        print(
            f"{'  lane ' + name:60s} {sum(cost(t) for t in old if lane_of(t) == name):8.0f} "
            f"{sum(cost(t) for t in new if lane_of(t) == name):8.0f}"
        )
    print(f"\ntop {top} tests before (CPU s):")
    for name, seconds in sorted(old_tests.items(), key=lambda item: -item[1])[:top]:
        after_seconds = f"{new_tests[name]:8.1f}" if name in new_tests else "    gone"
        print(f"  {name[-70:]:70s} {seconds:8.1f} {after_seconds}")
    old_files, new_files = by_file(old), by_file(new)
    print(f"\ntop {top} files before (CPU s):")
    for name, seconds in old_files.most_common(top):
        print(f"  {name:70s} {seconds:8.1f} {new_files.get(name, 0):8.1f}")


def save_costs(folders: list[Path]) -> None:
    path = REPO / "tests" / "data" / "test_file_costs.json"
    # A run of part of the suite (one lane, or the files a change touched) updates those files'
    # figures and keeps the table's others; a file no longer in the suite leaves the table.
    try:
        kept = json.loads(path.read_text())["cpu_seconds"]
    except (OSError, ValueError, KeyError):
        kept = {}
    measured: set[str] = set()
    costs: dict[str, float] = dict(kept)
    for folder in folders:
        tests, _ = load(folder)
        for name, seconds in by_file(tests).items():  # a lane's run sees part of a file: keep the most
            fresh = costs.get(name, 0.0) if name in measured else 0.0
            costs[name] = max(fresh, round(seconds, 1))
            measured.add(name)
    costs = {name: seconds for name, seconds in costs.items() if (REPO / name).exists()}
    ordered = dict(sorted(costs.items(), key=lambda item: (-item[1], item[0])))
    note = (
        "CPU seconds per test file, children included (benchmarks/test_suite_cost.py --save-costs); "
        "tests/heaviest_first.py runs the files in this order, heaviest first"
    )
    path.write_text(json.dumps({"about": note, "cpu_seconds": ordered}, indent=1) + "\n")
    print(
        f"{len(ordered)} files ({len(measured)} measured now, {len(ordered) - len(measured)} kept), "
        f"{sum(ordered.values()):.0f} CPU s, into {path}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lane", nargs="?", choices=("fast", "all"), help="run this lane, then report")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    parser.add_argument("--report", type=Path, help="report a run recorded earlier")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--save-costs", type=Path, nargs="+", metavar="FOLDER")
    parser.add_argument("--top", type=int, default=20)
    arguments = parser.parse_args()
    if arguments.save_costs:
        save_costs(arguments.save_costs)
    elif arguments.compare:
        compare(*arguments.compare, arguments.top)
    elif arguments.report:
        report(arguments.report, arguments.top)
    elif arguments.lane:
        report(run(arguments.lane, arguments.pytest_args), arguments.top)
    else:
        parser.error("name a lane to run (fast, all), or --report / --compare folders")


if __name__ == "__main__":
    main()
