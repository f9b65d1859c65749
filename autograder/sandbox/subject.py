"""The grader's view of one submission's student code: the notebook's cells, run by the
sandboxed worker, with the calls a check makes."""
from typing import TYPE_CHECKING, Sequence

from ..words import _
from .runner import RunResult, StudentRunner

if TYPE_CHECKING:  # the grader's side; the sandbox package imports nothing of it at run time
    from ..grading.cells import Submission
    from ..grading.subject import Call

# What decides points is what the student's code controls: its CPU time (RLIMIT_CPU), its
# output and its memory. grading.timeout_seconds is the wall-clock cap; a check that reaches
# it having used less CPU than this share of it is run once more before the timeout counts,
# so the same code scores the same on a quiet and on a busy machine.
BUSY_SHARE = 0.8


class SandboxSubject:  # a Subject (grading/subject.py)
    """Student code of one submission, run by the sandboxed worker."""

    def __init__(self, runner: StudentRunner, submission: "Submission"):
        self.runner, self.submission = runner, submission
        # Cell sets that ran out of time by themselves, before any call: every later check that
        # runs them would too, so it fails at once instead of costing another full timeout. A
        # timeout inside a call (a forward that loops) skips nothing: other calls may finish.
        self.timed_out = []

    def machine_was_busy(self, reply: RunResult) -> bool:
        """A wall-clock timeout while the student's process used less than BUSY_SHARE of that
        time in CPU: the machine was busy, not the code (an infinite loop uses all of it)."""
        wall = float(self.runner.limits.wall_seconds)
        return reply.status == "timeout" and reply.phase != "" and reply.cpu_seconds < BUSY_SHARE * wall

    def run(self, cell_ids: Sequence[str], calls: "list[Call]") -> RunResult:
        if any(earlier <= set(cell_ids) for earlier in self.timed_out):
            return RunResult("timeout", _("skipped: a cell it needs already ran out of time (an infinite loop?)"))
        try:
            program = [("student_id", 'STUDENT_ID = ""')] + self.submission.program(cell_ids)
        except KeyError as e:
            return RunResult("missing", _("the cell {name!r} is missing from the notebook (deleted, or its "
                                          "grade_id metadata was changed), so it cannot be graded").format(name=e.args[0]))
        reply = self.runner.run({"cells": program, "calls": calls})
        if self.machine_was_busy(reply):  # once more before it costs anything
            reply = self.runner.run({"cells": program, "calls": calls})
        if reply.status == "timeout" and reply.phase == "cells":
            self.timed_out.append(set(cell_ids))
        return reply
