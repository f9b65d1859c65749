"""The grader's view of one submission's student code: the notebook's cells and a check's calls,
run by the sandboxed worker (sandbox/runner.py), which only runs code and answers; and the
grading policy around those runs, one small named step per concern, stacked as RUN_STEPS says
(as nbgrader stacks its preprocessors):

  ShareRuns          the asks of the same cells (every check's asks are known before any runs:
                     subject.Plan) are answered from one run
  SkipAfterTimeout   cells that looped by themselves are not run again
  RunAgainWhenBusy   a timeout on a busy machine is run once more before it counts

Each step is a `Runs` wrapping the next one; the last wraps SandboxRuns. `sandboxed_subject`
builds the stack for one submission: the Subject (subject.py) its checks' plans are judged on."""

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Protocol

from ..sandbox.protocol import detail
from ..sandbox.runner import RunResult, StudentRunner
from .cells import Submission
from .subject import Ask, Call, Subject


class Runs(Protocol):
    def run(self, cell_ids: Sequence[str], calls: list[Call], wall_seconds: float | None = None) -> RunResult:
        """A Subject's run (subject.Subject.run); wall_seconds: a shorter wall-clock limit than the
        course's, for a run whose timeout decides nothing (ShareRuns' shared run: its asks then
        run alone, with the course's limit), which the steps neither run again nor remember."""
        ...


@dataclasses.dataclass(frozen=True)
class RunSetting:
    """What the steps are told of the grading they serve."""

    wall_seconds: float  # the course's wall-clock limit of a run (grading.timeout_seconds)
    planned: tuple[Ask, ...] = ()  # every ask the notebook's checks will make, in order


class SandboxRuns:  # a Runs
    """The submission's cells (the student id's line first), then the calls, run by the sandboxed
    worker: one request per run, nothing else. A cell the notebook lacks is a "missing" reply."""

    def __init__(self, runner: StudentRunner, submission: Submission):
        self.runner, self.submission = runner, submission

    def run(self, cell_ids: Sequence[str], calls: list[Call], wall_seconds: float | None = None) -> RunResult:
        try:
            program = [("student_id", 'STUDENT_ID = ""')] + self.submission.program(cell_ids)
        except KeyError as e:
            return RunResult("missing", **detail("missing cell", name=e.args[0]))
        request = {"cells": program, "calls": calls}
        if wall_seconds is not None:
            request["limits"] = {"wall_seconds": wall_seconds}
        return self.runner.run(request)


# ---------------------------------------------------------------- a timeout on a busy machine

# What decides points is what the student's code controls: its CPU time (RLIMIT_CPU, the cell's
# CPU clock and the cgroup's budget), its output and its memory. The wall clock is only a backstop
# for code that sleeps, counted in the code's own time (sandbox/worker.py's Backstop), so the same
# code scores the same on a quiet and on a busy machine; a timeout is run once more only when the
# machine was so overloaded that the backstop gave up stretching (RunResult.busy).


def machine_was_busy(reply: RunResult, wall_seconds: float) -> bool:
    """A wall-clock timeout that the machine's load ran into: the worker's backstop counts only the
    code's own time (the wall time less its wait for a CPU), and says `busy` when the load was so
    heavy that it gave up stretching (sandbox/limits.py: MAX_STRETCH). A loop ends at its CPU
    limit; code that sleeps, at its backstop: neither is run again. (`wall_seconds`: the course's
    wall-clock limit, which the worker has already judged against.)"""
    return reply.status == "timeout" and reply.busy


class RunAgainWhenBusy:  # a Runs
    """A run that timed out because the machine was busy (machine_was_busy) is run once more
    before its timeout costs anything. `again` lists the cell lists run once more, in turn."""

    def __init__(self, inner: Runs, setting: RunSetting):
        self.inner, self.wall_seconds = inner, setting.wall_seconds
        self.again: list[tuple[str, ...]] = []

    def run(self, cell_ids: Sequence[str], calls: list[Call], wall_seconds: float | None = None) -> RunResult:
        reply = self.inner.run(cell_ids, calls, wall_seconds)
        if wall_seconds is None and machine_was_busy(reply, self.wall_seconds):
            self.again.append(tuple(cell_ids))
            reply = self.inner.run(cell_ids, calls)
        return reply


# ---------------------------------------------------------------- cells that loop


class SkipAfterTimeout:  # a Runs
    """Cell sets that ran out of time by themselves, before any call, are not run again: every
    later ask that runs them would time out too, so it fails at once (a "skipped" timeout) instead
    of costing another full timeout. A timeout inside a call (a forward that loops) skips nothing:
    other calls may finish."""

    def __init__(self, inner: Runs, setting: RunSetting):
        self.inner = inner
        self.timed_out: list[set[str]] = []

    def run(self, cell_ids: Sequence[str], calls: list[Call], wall_seconds: float | None = None) -> RunResult:
        if any(earlier <= set(cell_ids) for earlier in self.timed_out):
            return RunResult("timeout", **detail("skipped"))
        reply = self.inner.run(cell_ids, calls, wall_seconds)
        if wall_seconds is None and reply.status == "timeout" and reply.phase == "cells":
            self.timed_out.append(set(cell_ids))
        return reply


# ---------------------------------------------------------------- asks of the same cells, run once


def split_reply(reply: RunResult, sizes: list[int]) -> list[RunResult] | None:
    """An ok reply to concatenated lists of calls, cut into one ok reply per list (`sizes`: their
    lengths), each what that list would have got alone: calls are independent of each other
    (protocol.perform_call). None when it is not ok or does not answer exactly that many calls."""
    if not reply.ok or len(reply.results) != sum(sizes):
        return None
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    return [
        dataclasses.replace(reply, results=reply.results[start : start + size])
        for start, size in zip(starts, sizes)
    ]


def cells_raised(reply: RunResult) -> bool:
    """A cell raised (a MemoryError too) before any call: whatever calls follow, the same error."""
    return reply.status in ("error", "memory") and reply.error is not None


# A shared run whose calls loop is run again ask by ask, each with the course's full wall-clock
# limit, to tell which asks time out: the shared run's own limit is this share of it (at least
# SHARED_WALL_MIN seconds), so a loop in a forward costs a fifth of a timeout more, not a whole
# one. The asks of a gate take some tens of milliseconds together; code slow enough to pass this
# limit only loses the sharing (its asks run alone), never a point.
SHARED_WALL_SHARE = 0.2
SHARED_WALL_MIN = 1.0


def shared_wall_seconds(wall: float) -> float:
    return min(wall, max(SHARED_WALL_MIN, SHARED_WALL_SHARE * wall))


class SharedRun:
    """Asks that need exactly the same cells, answered from one run: the cells once, then every
    ask's calls in turn (one fork, not one per ask)."""

    def __init__(self, asks: list[Ask]):
        self.cell_ids, self.asks = asks[0].cell_ids, asks
        self.replies: dict[tuple, list[RunResult]] | None = None  # once run; an ask not in it runs alone

    def reply_for(self, key: tuple, inner: Runs, wall_seconds: float) -> "RunResult | None":
        """The reply to the ask `key` from the shared run (made at the first ask), or None: ask it alone."""
        if self.replies is None:
            self.replies = self._run(key, inner, wall_seconds)
        waiting = self.replies.get(key)
        return waiting.pop(0) if waiting else None

    def _run(self, asking: tuple, inner: Runs, full: float) -> dict[tuple, list[RunResult]]:
        """The replies the shared run gives: to each ask what it would have got alone, or none."""
        wall = shared_wall_seconds(full)
        reply = inner.run(
            self.cell_ids,
            [call for ask in self.asks for call in ask.calls],
            wall_seconds=wall if wall < full else None,
        )
        replies: dict[tuple, list[RunResult]] = {}
        split = split_reply(reply, [len(ask.calls) for ask in self.asks])
        if split is not None:
            for ask, one in zip(self.asks, split):
                replies.setdefault(ask.key, []).append(one)
        elif cells_raised(reply):
            for ask in self.asks:
                replies.setdefault(ask.key, []).append(dataclasses.replace(reply))
        elif reply.status == "timeout" and reply.phase == "cells" and wall == full:
            # The cells loop by themselves: the ask made now gets the timeout, as it would have alone,
            # and SkipAfterTimeout then skips the others, as it would have.
            replies[asking] = [reply]
        # Anything else (a crash, a timeout or no memory left in some call, a reply that does not
        # answer every call, a timeout under the shorter limit) may be one ask's doing alone, or
        # not happen with the course's limit: every ask runs by itself, as without this.
        return replies


class ShareRuns:  # a Runs, and a Subject
    """The planned asks of the same cells (RunSetting.planned: every check of a notebook, planned
    before any runs, preprocessors._check_all) answered from one run (SharedRun); any other ask
    runs as the next step runs it. An ask is answered from a shared run only when it is exactly
    one of its asks (the same cells, the same calls), so every verdict comes from the same calls
    as when each ask runs alone."""

    def __init__(self, inner: Runs, setting: RunSetting):
        self.inner, self.wall_seconds = inner, setting.wall_seconds
        self.shared: dict[tuple, SharedRun] = {}  # Ask.key -> the SharedRun that answers it
        self.shared_cells: set[tuple[str, ...]] = set()  # their cell lists: any other ask runs at once
        by_cells: dict[tuple[str, ...], list[Ask]] = {}
        for ask in setting.planned:
            by_cells.setdefault(ask.cell_ids, []).append(ask)
        for asks in by_cells.values():
            if len(asks) > 1:
                run = SharedRun(asks)
                self.shared.update((ask.key, run) for ask in asks)
                self.shared_cells.add(run.cell_ids)

    def run(self, cell_ids: Sequence[str], calls: list[Call], wall_seconds: float | None = None) -> RunResult:
        reply = None
        if (
            wall_seconds is None and tuple(cell_ids) in self.shared_cells
        ):  # else no need to write out its calls
            key = Ask(tuple(cell_ids), calls).key
            shared = self.shared.get(key)
            reply = shared.reply_for(key, self.inner, self.wall_seconds) if shared is not None else None
        return reply if reply is not None else self.inner.run(cell_ids, calls, wall_seconds)


# ---------------------------------------------------------------- the stack


class Step(Protocol):
    def __call__(self, inner: Runs, setting: RunSetting) -> Runs: ...


# The grading policy around the sandbox's runs, outermost first. Every step is optional: without
# ShareRuns each ask runs alone; without SkipAfterTimeout a loop in the cells costs every ask that
# runs them a timeout; without RunAgainWhenBusy a busy machine's timeouts count at once.
RUN_STEPS: tuple[Step, ...] = (ShareRuns, SkipAfterTimeout, RunAgainWhenBusy)


def sandboxed_subject(
    runner: StudentRunner,
    submission: Submission,
    planned: Iterable[Ask] = (),
    steps: Sequence[Step] = RUN_STEPS,
) -> Subject:
    """The Subject a submission's checks are judged on: its cells run by `runner`, through `steps`
    (outermost first), told the course's wall-clock limit and the asks `planned`."""
    setting = RunSetting(float(runner.limits.wall_seconds), tuple(planned))
    runs: Runs = SandboxRuns(runner, submission)
    for step in reversed(steps):
        runs = step(runs, setting)
    return runs
