"""What a check runs against, and how it says what it will ask.

A check first plans: from what it grades and the student's context (its random inputs drawn
from ctx.rng) it declares every ask it will make (`Ask`: run these cells, then make these
calls), in order, and how it judges the replies (`Plan`). Nothing is learnt by running it.
Then a Subject answers the asks and the plan's judge turns the replies into outcomes.

Two kinds of Subject answer asks: sandboxed.py's `sandboxed_subject` (during grading: the
sandboxed worker runs the submission's cells and calls, through the grading steps around its
runs) and inprocess.py's InProcessSubject (in the instructor's source notebook: its own kernel's
globals, the reference solution). Knowing every ask before any runs is what lets sandboxed.py's
ShareRuns step answer the asks of the same cells, from all of a notebook's checks, with one run
of the worker.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from ..sandbox.runner import RunResult
from .outcomes import CheckResult
from .problems import problem_of

Call = dict[str, Any]  # one request of the wire protocol (sandbox/protocol.py): {"op": ..., ...}


class Subject(Protocol):
    def run(self, cell_ids: Sequence[str], calls: list[Call]) -> RunResult:
        """Run the cells `cell_ids` (the setup cells before them), then `calls` in order:
        one RunResult, whose `results` hold the calls' encoded results when it is ok."""
        ...


class Ask(NamedTuple):
    """What a check asks a Subject: run these cells, then make these calls. `needed`: without
    an answer (a crash, a timeout, a missing cell) the check cannot judge anything, fails with
    that reply's problem and asks nothing more; an ask that is not needed is judged even then."""

    cell_ids: tuple[str, ...]
    calls: list[Call]
    needed: bool = True

    @property
    def key(self) -> tuple:
        """Equal for equal asks: the cells and a canonical JSON of the calls (what the worker gets)."""
        return self.cell_ids, json.dumps(self.calls, sort_keys=True, separators=(",", ":"))


# (the replies to the plan's asks, in order; the result to add outcomes to)
Judge = Callable[[list[RunResult], CheckResult], None]


@dataclass(frozen=True)
class Plan:
    """Everything one check will ask, in order, and how it judges the replies."""

    asks: list[Ask]
    judge: Judge
    by_hand: bool = False  # answers computed by hand: hints speak of the graph, not of code

    def judged(self, subject: Subject) -> CheckResult:
        """Ask `subject` each ask in turn, then judge the replies. A needed ask that gets no
        answer ends the check there, failed with that reply's problem."""
        result = CheckResult(by_hand=self.by_hand)
        replies = []
        for ask in self.asks:
            reply = subject.run(ask.cell_ids, ask.calls)
            if ask.needed and not reply.ok:
                result.error, result.error_kind = problem_of(reply), reply.status
                return result
            replies.append(reply)
        self.judge(replies, result)
        return result
