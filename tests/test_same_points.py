"""The same points whoever grades and however busy the machine is (issue 17, items 3 and 4).

A small class whose correct code has costly side effects (work left running in the
background, floods of output) or is written with IPython's own syntax (magics, shell
escapes, display(), get_ipython(), gates pasted with every line indented, a gate whose cell
spends 60% of its CPU limit) is
graded by `nbgrader autograde` and by `backprop-kit autograde`, each alone and beside a busy
process per core and one more, each writing through 512 MB (CPU and memory pressure for the whole
grading); a cell at 80% of its CPU limit and one that never ends get the same points there too; the four gradebooks must agree cell for cell, and every one of these students earns
full marks, as their code does in Jupyter (issue 33: no verdict depends on load). Before that, on its own: code that sleeps costs its wall-clock backstop
once; an infinite loop costs its CPU limit at once."""

import os
import re
import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest
from lanes import lane
from shared_class import records
from submissions import autograde_beside, sandboxed_course, submit_class

from autograder import demo
from autograder.grading.cells import Submission
from autograder.grading.sandboxed import (
    RunAgainWhenBusy,
    RunSetting,
    SkipAfterTimeout,
    machine_was_busy,
    sandboxed_subject,
)
from autograder.sandbox.bwrap import sandbox_available
from autograder.sandbox.limits import Limits
from autograder.sandbox.runner import RunResult, StudentRunner

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

REPO = Path(__file__).resolve().parent.parent
needs_sandbox = pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed")


# ---------------------------------------------------------------- a timeout on a busy machine


def runs_of(cell_source, limits):
    """How many times a check whose cell is `cell_source` ran, and the reply it got."""
    counting = "open('runs.txt', 'a').write('x')\n" + cell_source
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                counting, metadata={"nbgrader": {"grade_id": "answer", "solution": True}}
            )
        ]
    )
    with StudentRunner(limits, require_sandbox=True) as runner:
        reply = sandboxed_subject(runner, Submission(nb)).run(["answer"], [])
        count = runner.run({"cells": ["print(len(open('runs.txt').read()))"]}).output.strip()
    return int(count), reply


@needs_sandbox
def test_code_that_sleeps_costs_its_backstop_once():
    # No CPU used: the wall-clock backstop (the code's own time, not the machine's load) ends it, once.
    runs, reply = runs_of("import time\ntime.sleep(30)", Limits(wall_seconds=1))
    assert (runs, reply.status, reply.phase) == (1, "timeout", "cells") and reply.cpu_seconds < 0.5
    assert not reply.busy


@needs_sandbox
def test_code_that_uses_up_its_cpu_time_costs_at_once():
    # The student's own CPU time ran out (RLIMIT_CPU), however long the machine took to give it.
    runs, reply = runs_of("while True:\n    pass", Limits(wall_seconds=120, cpu_seconds=1))
    assert (runs, reply.status) == (1, "timeout") and reply.cpu_seconds > 0.5, (
        reply
    )  # (rusage lags the limit by ticks)


def test_only_a_timeout_the_machine_ran_into_is_run_again():
    wall = 10.0
    assert machine_was_busy(RunResult("timeout", phase="calls", cpu_seconds=1.0, busy=True), wall)
    assert not machine_was_busy(RunResult("timeout", phase="calls", cpu_seconds=1.0), wall)  # it slept
    assert not machine_was_busy(RunResult("timeout", cpu_seconds=2.0), wall)  # its CPU limit
    assert not machine_was_busy(RunResult("error", phase="calls", busy=True), wall)


class Replies:  # a Runs: the replies given in turn, every run recorded
    def __init__(self, *replies):
        self.replies, self.runs = list(replies), []

    def run(self, cell_ids, calls, wall_seconds=None):
        self.runs.append((tuple(cell_ids), wall_seconds))
        return self.replies.pop(0)


BUSY = RunResult("timeout", phase="cells", cpu_seconds=0.1, busy=True)  # the backstop gave up stretching
LOOPED = RunResult("timeout", phase="cells", cpu_seconds=9.9)


def test_the_busy_step_runs_a_busy_timeout_once_more_and_nothing_else():
    setting = RunSetting(wall_seconds=10.0)
    inner = Replies(BUSY, RunResult("ok", results=[]))
    step = RunAgainWhenBusy(inner, setting)
    assert step.run(["a"], []).ok and step.again == [("a",)] and len(inner.runs) == 2
    inner = Replies(LOOPED)
    step = RunAgainWhenBusy(inner, setting)
    assert step.run(["a"], []) is LOOPED and step.again == [] and len(inner.runs) == 1
    inner = Replies(BUSY)  # under a shorter limit of its own (a shared run's): its timeout decides nothing
    step = RunAgainWhenBusy(inner, setting)
    assert step.run(["a"], [], wall_seconds=2.0) is BUSY and step.again == []


def test_the_timeout_step_skips_cells_that_looped_by_themselves_and_only_those():
    inner = Replies(LOOPED, RunResult("timeout", phase="calls", cpu_seconds=9.9), RunResult("ok", results=[]))
    step = SkipAfterTimeout(inner, RunSetting(wall_seconds=10.0))
    assert step.run(["a"], []) is LOOPED
    skipped = step.run(["a", "b"], [])  # needs the looping cell: not run again
    assert skipped.status == "timeout" and skipped.words["key"] == "skipped" and len(inner.runs) == 1
    assert step.run(["b"], []).phase == "calls"  # a loop inside a call skips nothing
    assert step.run(["b"], []).ok and len(inner.runs) == 3


# ---------------------------------------------------------------- one class, four gradings

BACKGROUND = """
import threading

def _busy_elsewhere():  # work left running in the background, competing for the interpreter
    while True:
        sum(range(1000))

threading.Thread(target=_busy_elsewhere, daemon=True).start()
"""

FLOOD = "print('x' * 1000 + '\\n' * 10, end='')  # a flood of output at every call\n"

TIMEOUT = 5  # grading.timeout_seconds of this class: CPU seconds a check may use
# Slow but correct: its cell spends 60% of the CPU limit before it defines the gate (each run).
SLOW = f"""
import time as _time
_began = _time.process_time()
while _time.process_time() - _began < {0.6 * TIMEOUT}:
    pass
"""


# At the edge of the limit: a cell that spends 80% of it (each run) passes under any load; one
# that never ends costs its CPU limit, the same cells and points under any load.
EDGE = f"""
import time as _time
_began = _time.process_time()
while _time.process_time() - _began < {0.8 * TIMEOUT}:
    pass
"""
NEVER_ENDS = "\nwhile True:\n    pass\n"
OVER_THE_LIMIT = "tim"  # the one student who does not earn full marks


def students(source):
    """{student: {grade_id: source}}: correct code, with side effects or IPython syntax."""
    correct = simulated_class.reference_answers(source)
    flood = {
        gid: re.sub(
            r"(\n([ \t]+)def (forward|backward)\(self[^)]*\):\n)",
            lambda m: (
                m.group(1) + m.group(2) + "    for _ in range(200):\n" + m.group(2) + "        " + FLOOD
            ),
            code,
        )
        for gid, code in correct.items()
        if gid.endswith("_gate")
    }
    return {
        "ada": correct,
        "sol": {**correct, "mul_gate": textwrap.dedent(SLOW) + correct["mul_gate"]},
        "eda": {**correct, "sigmoid_gate": textwrap.dedent(EDGE) + correct["sigmoid_gate"]},
        OVER_THE_LIMIT: {**correct, "max_gate": correct["max_gate"] + NEVER_ENDS},
        "bea": {
            **correct,
            "add_gate": textwrap.dedent(BACKGROUND) + correct["add_gate"],
            "sigmoid_gate": textwrap.dedent(BACKGROUND) + correct["sigmoid_gate"],
        },
        "fio": {**correct, **flood},
        "ivy": {
            **correct,
            "simple_by_hand": "%env BPKIT_STYLE=ipython\n" + correct["simple_by_hand"] + "\ndisplay(f)\n",
            "add_gate": "%%time\n" + correct["add_gate"],
            "mul_gate": correct["mul_gate"] + "\n!echo defined MulGate\nfiles = !ls\n",
            "l2_by_hand": correct["l2_by_hand"] + "\nget_ipython().user_ns['checked'] = True\n%who_ls\n",
        },
        # Every gate pasted with every line indented, and nothing else IPython's: a kernel
        # removes the common indent of a cell before Python reads it.
        "uma": {
            **correct,
            **{gid: textwrap.indent(code, "    ") for gid, code in correct.items() if gid.endswith("_gate")},
        },
    }


@pytest.fixture(scope="module")
@lane("e2e")
def four_gradings(tmp_path_factory):
    # Its own gradings, not the shared class's (shared_class.py): the class is graded four
    # times on purpose, each command alone and with the cores kept busy.
    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    root = tmp_path_factory.mktemp("same-points")
    base, source, release = sandboxed_course(root, timeout_seconds=TIMEOUT)
    submit_class(base, release, students(source))
    graded = {}
    for busy in (False, True):
        for command in ("nbgrader", "backprop-kit"):
            course = root / f"{command}-{'busy' if busy else 'alone'}"
            shutil.copytree(base, course)
            # Real load for the whole grading: a hog per core and one more, each writing through
            # 512 MB, beside the grading's own two processes.
            hogs = (os.cpu_count() or 2) + 1 if busy else 0
            autograde_beside(course, command, busy=hogs, memory_mb=512)
            graded[(command, busy)] = course
    return graded, sorted(students(source))


def test_the_same_grades_cell_for_cell_by_either_command_alone_or_beside_a_cpu_hog(four_gradings):
    graded, names = four_gradings
    first = graded[("nbgrader", False)]
    for (command, busy), course in graded.items():
        for student in names:
            assert records(course, student)["grades"] == records(first, student)["grades"], (
                command,
                busy,
                student,
            )


@pytest.mark.slow
def test_a_verdict_at_the_edge_of_the_limit_never_depends_on_load(four_gradings):
    """Issue 33: under a hog per core holding memory, the cell spending 80% of its CPU limit still
    passes and the cell that never ends still fails, cell for cell as on a quiet machine, under
    both commands; the never-ending cell costs only the cells that need it."""
    graded, _names = four_gradings
    for (command, busy), course in graded.items():
        ada, eda, tim = (records(course, s)["grades"] for s in ("ada", "eda", OVER_THE_LIMIT))
        assert eda == ada, (command, busy)
        lost = sorted(g for g in ada if tim[g] != ada[g])
        assert lost and all("max_gate" in g or "with_gates" in g for g in lost), (command, busy, lost)
        quiet = records(graded[(command, False)], OVER_THE_LIMIT)["grades"]
        assert tim == quiet, (command, busy)


def test_costly_side_effects_and_ipython_syntax_earn_the_marks_their_code_earns(four_gradings):
    graded, names = four_gradings
    for course in graded.values():
        full = records(course, "ada")["score"]
        assert full > 0
        for student in (n for n in names if n != OVER_THE_LIMIT):
            assert records(course, student)["score"] == full, (course.name, student)


# ---------------------------------------------------------------- output limits cut only what is shown

PRINTING = """
import threading as _threading

def _lines(count, tag):
    for i in range(count):
        print(tag, i)

"""
PRINTING_FORWARD = (
    "_printer = _threading.Thread(target=_lines, args=(100000, 'thread'))\n"
    "_printer.start()\n"
    "_lines(100000, 'forward')\n"
    "_printer.join()\n"
)


@pytest.mark.e2e
@needs_sandbox
def test_a_forward_printing_200000_lines_gets_full_marks_under_both_commands_beside_load(tmp_path):
    """Issue 33: a correct MulGate whose forward prints 200,000 lines at every call, half from a
    thread, graded with the course's own limits beside three busy processes. Past the output cap
    its prints are skipped before they format anything (worker.py's quiet_print): the gradient
    check calls forward dozens of times, and formatting 200,000 lines costs some 0.3 s of CPU."""
    base, source, release = sandboxed_course(tmp_path)
    correct = simulated_class.reference_answers(source)
    printing = re.sub(
        r"(\n([ \t]+)def forward\(self[^)]*\):\n)",
        lambda m: m.group(1) + textwrap.indent(PRINTING_FORWARD, m.group(2) + "    "),
        correct["mul_gate"],
    )
    assert printing != correct["mul_gate"]
    submit_class(base, release, {"ada": correct, "pia": {**correct, "mul_gate": PRINTING + printing}})
    for command in ("nbgrader", "backprop-kit"):
        course = tmp_path / command
        shutil.copytree(base, course)
        autograde_beside(course, command, busy=3)
        assert records(course, "pia")["grades"] == records(course, "ada")["grades"], command
        assert records(course, "pia")["score"] == records(course, "ada")["score"] > 0, command
