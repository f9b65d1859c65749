"""Grading on submit (autograder/hub/on_submit.py), measured: submit → feedback fetchable.

Real pieces: a course made by `backprop-kit init` as a course account made here (useradd),
`backprop-kit hub`'s config with `feedback: on-submit`, nbgrader's release as that account,
the kit's submit (PrivateSubmit, nbgrader's ExchangeSubmit underneath, in this process as root
with `--student`-style ids: 50 submits by 50 nbgrader commands would cost more CPU than the
grading being measured), and `backprop-kit grading-service` running as the course account.

  1. one student alone: submit → the service says "graded" (feedback released and fetchable);
     target at most 5 s on 2 cores;
  2. a burst of N (50) students submitting within 10 s, hostile submissions among them (a fork
     bomb, a memory bomb, an endless loop, an output flood: the kit's tests' cases), and the
     service stopped and started again in the middle: target p95 at most 30 s, nothing lost,
     nothing graded twice, and the same grades from a batch `backprop-kit autograde --force` after.

Prints p50, p95 and max, the CPU seconds the service used, and the load average (the machine
is shared: latency is wall time and says how loaded it was).

    sudo .venv/bin/python benchmarks/on_submit.py [N] [--alone] [--profile FOLDER]

--alone: the one student only (no burst). --profile FOLDER: the service writes each batch's
cProfile there (autograder/hub/on_submit.py PROFILE_ENV), and the top of the first is printed.
"""

import json
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402
from hub_course import (  # noqa: E402
    ACCOUNT_PREFIX,
    BIN,
    feedback_on_submit,
    hub_course,
    on_submit_status,
    run,
    start_grading_service,
    stop_grading_service,
)

from autograder import demo  # noqa: E402

GRADER = f"{ACCOUNT_PREFIX}-bench"
COURSE_ID, ASSIGNMENT = "cs231n-backprop", "backprop"
sim = demo.load_simulated_class()


def hostile(correct):
    flood = "for _ in range(200000):\n    print('x' * 200)\n"  # 40 MB of output
    return {
        "fork-bomb": {**correct, "sigmoid_gate": sim._dedent(sim.FORK_BOMB) + correct["sigmoid_gate"]},
        "memory-bomb": {**correct, "matmul_gate": sim.BROKEN["matmul_gate"]},
        "endless-loop": {**correct, "sigmoid_gate": sim.BROKEN["sigmoid_gate"]},
        "output-flood": {**correct, "add_gate": flood + correct["add_gate"]},
    }


class Bench:
    """The course hub_course made, its grading service (profiled into `profile` if given), and each
    student's submit as the kit's own."""

    def __init__(self, course, profile=None):
        self.hub = course
        self.base, self.course, self.out, self.exchange = (
            course.base,
            course.course,
            course.out,
            course.exchange,
        )
        self.env = {}
        if profile:
            from autograder.hub.on_submit import PROFILE_ENV

            self.env[PROFILE_ENV] = str(profile)
        self.service = None

    def status(self, student):
        return on_submit_status(self.exchange, COURSE_ID, ASSIGNMENT, student)

    def start(self):
        self.service = start_grading_service(self.hub, self.env)

    def stop(self):
        stop_grading_service(self.service, timeout=60)

    def submit(self, student, notebook):
        """The kit's submit, as `nbgrader submit --student` would run it."""
        from nbgrader.auth import Authenticator
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config import Config

        from autograder.hub.exchange import PrivateSubmit

        home = self.base / "students" / student
        (home / COURSE_ID / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, home / COURSE_ID / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        config = Config()
        config.Exchange.root = str(self.exchange)
        config.Exchange.path_includes_course = True
        config.Exchange.cache = str(home / ".cache")
        config.CourseDirectory.course_id = COURSE_ID
        config.Authenticator.plugin_class = "nbgrader.auth.NoAuthPlugin"
        config.PrivateSubmit.rules_file = str(self.out / "nbgrader" / "on-submit.json")
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id, coursedir.student_id = ASSIGNMENT, student
        here = os.getcwd()
        os.chdir(home)
        try:
            PrivateSubmit(
                coursedir=coursedir, authenticator=Authenticator(config=config), config=config
            ).start()
        finally:
            os.chdir(here)

    def scores(self):
        out = run(
            [
                BIN / "python",
                "-c",
                "import json; from nbgrader.api import Gradebook; "
                f"g = Gradebook('sqlite:///{self.course}/gradebook.db'); "
                f"print(json.dumps({{s.student.id: s.score for s in g.find_assignment({ASSIGNMENT!r}).submissions}}))",
            ],
            user=GRADER,
        ).stdout
        return json.loads(out)


def watch(bench, submitted, graded, stop):
    """Note when each student's status first says graded after their submission."""
    while not stop.is_set():
        for student in list(submitted):
            if student not in graded and bench.status(student).get("state") == "graded":
                graded[student] = time.monotonic()
        time.sleep(0.1)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main(n=50, alone_only=False, profile=None):
    load_before = os.getloadavg()
    with hub_course([GRADER], GRADER, GRADER, before_hub=feedback_on_submit()) as hub:
        base, course = hub.base, hub.course
        if profile:
            profile.mkdir(parents=True, exist_ok=True)
            os.chmod(profile, 0o1777)  # the service writes there as the course account
        bench = Bench(hub, profile)
        hub.nbgrader(GRADER, "release_assignment", ASSIGNMENT, cwd=course)
        source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        correct = sim.reference_answers(source)
        mistakes = list(sim.MISTAKES)
        submitted, graded, stop = {}, {}, threading.Event()
        threading.Thread(target=watch, args=(bench, submitted, graded, stop), daemon=True).start()
        started = time.monotonic()
        bench.start()
        # The service says "ready" once warm (nbgrader's apps, the kit's grader, the assignment's
        # snapshot): JupyterHub starts it with the hub, before any student can have logged in.
        while "ready: grading on submit" not in (base / "grading.log").read_text():
            time.sleep(0.1)
        warm = time.monotonic() - started

        # 1. One student alone.
        bench.submit("alone", sim.fill(release, correct))
        submitted["alone"] = time.monotonic()
        while "alone" not in graded:
            time.sleep(0.1)
        alone = graded["alone"] - submitted["alone"]
        if alone_only:
            stop.set()
            bench.stop()
            log = (base / "grading.log").read_text()
            print(
                f"load average before: {load_before}, at the end: {os.getloadavg()}; {os.cpu_count()} cores"
            )
            print(f"the service's start, until it says ready: {warm:.1f} s")
            print(f"one student alone: submit → feedback fetchable {alone:.1f} s (target ≤ 5 s)")
            print(
                "  the service's line: " + next(line for line in log.splitlines() if "graded alone" in line)
            )
            if profile:
                import pstats

                first = sorted(profile.glob("batch-of-1-*.prof"))[0]
                pstats.Stats(str(first)).sort_stats("cumulative").print_stats(40)
            return

        # 2. A burst of n within 10 s, hostile ones among them; the service restarted mid-burst.
        cases = hostile(correct)
        answers = {}
        at = {n * (k + 1) // (len(cases) + 1): kind for k, kind in enumerate(cases)}  # spread over the burst
        for i in range(n):
            if i in at:
                answers[f"s{i:02d}-{at[i]}"] = cases[at[i]]
            elif i % 3:
                exercise, code = sim.MISTAKES[mistakes[i % len(mistakes)]][:2]
                answers[f"s{i:02d}"] = {**correct, exercise: code}
            else:
                answers[f"s{i:02d}"] = correct
        start = time.monotonic()
        restarted = False
        for i, (student, a) in enumerate(answers.items()):
            bench.submit(student, sim.fill(release, a))
            submitted[student] = time.monotonic()
            time.sleep(max(0.0, start + (i + 1) * 10 / n - time.monotonic()))
        spread = time.monotonic() - start
        deadline = time.monotonic() + 3600
        while len(graded) < len(submitted) and time.monotonic() < deadline:
            if not restarted and len(graded) >= 1 + n // 3:
                bench.stop()  # the service restarted in the middle of the burst
                bench.start()
                restarted = True
            time.sleep(0.2)
        stop.set()
        bench.stop()

        latencies = [graded[s] - submitted[s] for s in answers if s in graded]
        lost = [s for s in answers if s not in graded]
        attempts = json.loads((course / "backprop-kit" / "on-submit" / "attempts.json").read_text())[
            ASSIGNMENT
        ]
        twice = [
            s
            for s, e in attempts.items()
            if len(e["graded"]) != len(set(e["graded"])) or len(e["graded"]) > 1
        ]
        on_submit = bench.scores()
        batch = run(
            [BIN / "backprop-kit", "autograde", ASSIGNMENT, "--force"], user=GRADER, cwd=course, check=False
        )
        again = bench.scores()
        differ = {s: (on_submit.get(s), again.get(s)) for s in again if on_submit.get(s) != again.get(s)}
        log = (base / "grading.log").read_text()
        # Each batch's CPU, as the service measured it (runuser, killed with its session, cannot
        # hand the service's own usage back to this process).
        cpu = sum(float(s) for s in re.findall(r"([0-9.]+) s of CPU", log))

        print(f"load average before: {load_before}, at the end: {os.getloadavg()}; {os.cpu_count()} cores")
        print(f"the service's start, until it says ready: {warm:.1f} s")
        print(f"one student alone: submit → feedback fetchable {alone:.1f} s (target ≤ 5 s)")
        print(f"burst of {n} submitted in {spread:.1f} s, the service restarted after {1 + n // 3} graded:")
        if latencies:
            print(
                f"  p50 {statistics.median(latencies):.1f} s   p95 {percentile(latencies, 95):.1f} s   "
                f"max {max(latencies):.1f} s   (target p95 ≤ 30 s)"
            )
        print(f"  lost: {lost or 'none'}; graded twice: {twice or 'none'}")
        print(
            f"  hostile: {[s for s in answers if '-' in s]}: graded {[s for s in answers if '-' in s and s in graded]}"
        )
        print(
            f"  batch `backprop-kit autograde --force` after: rc {batch.returncode}; grades that differ: {differ or 'none'}"
        )
        print(
            f"  grading CPU (user+sys of the service and its grading processes, its log's batch lines): "
            f"{cpu:.1f} s for {1 + n} gradings, {cpu / (1 + n):.2f} s per submission"
        )
        print(f"  service log lines 'could not grade': {log.count('could not grade')}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=50)
    parser.add_argument("--alone", action="store_true")
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    main(args.n, args.alone, args.profile)
