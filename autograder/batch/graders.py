"""What a batch hands its work to. The coordinator (run.py) knows graders only by this
protocol; LocalGraders (run.py: warm processes on this machine) and DaskGraders (cluster.py:
a Dask cluster) follow it. Both sides import this module, never each other's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .pipeline import SubmissionJob, SubmissionResult


class BatchError(Exception):
    """Grading cannot start; the message says why and what to do."""


class PendingResult(Protocol):
    """A submission being graded: concurrent.futures.Future locally, distributed.Future on Dask."""

    def result(self) -> SubmissionResult: ...


class Graders(Protocol):
    """Where submissions are graded, one SubmissionJob at a time each."""

    window: int  # how many submissions the coordinator keeps in flight (its memory stays flat)

    def submit(self, job: SubmissionJob) -> PendingResult:
        """Start grading one submission."""

    def wait(self, pending: Iterable[PendingResult]) -> Iterable[PendingResult]:
        """Block until some of `pending` are finished; return those."""

    def lost(self, error: BaseException) -> bool:
        """Did this error come from where the grading ran (a process or worker died), not
        from the submission? Then the submission is graded again."""

    def recover(self) -> bool:
        """After a loss: True when the other submissions in flight go on, False when they
        were lost too (the coordinator hands them out again)."""

    def describe(self) -> str:
        """Where grading runs, in words ("2 local processes")."""

    def close(self) -> None:
        """Stop grading and remove what the graders left on this machine."""


__all__ = ["BatchError", "Graders", "PendingResult"]
