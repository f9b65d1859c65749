"""Grading on a Dask distributed cluster (`backprop-kit autograde --scheduler ADDRESS`): one
task per submission, sent as bytes, so workers need only the kit and bubblewrap, no shared
filesystem. The coordinator (run.py) records results as they come back, as with local graders."""

import os
from collections.abc import Iterable

from distributed import CancelledError, Client, Future, KilledWorker, WorkerPlugin, as_completed, get_worker

from .graders import BatchError
from .pipeline import SubmissionJob, grade_submission
from .snapshot import AssignmentSnapshot


def _grade_on_dask(plugin_name, job):
    worker = get_worker()
    result = grade_submission(worker.plugins[plugin_name].snapshot, job)
    result.where = f"{result.where}, Dask worker {worker.name}"
    return result


class SnapshotOnEveryWorker(WorkerPlugin):
    """The assignment's snapshot, kept by every worker of the cluster, those that join later
    included. Why a plugin and not scattered data: a scattered object lives on workers as a
    task result, and when the worker holding it dies the scheduler cancels every task that
    needs it ("lost dependencies"); a plugin is held by the scheduler and handed to each
    worker as it joins, so a killed worker loses only the submission it was grading."""

    idempotent = True

    def __init__(self, snapshot, name):
        self.snapshot, self.name = snapshot, name


class DaskGraders:  # a Graders (graders.py)
    """A Dask distributed cluster: one task per submission, the snapshot sent to every
    worker once. A worker that dies has its tasks rerun elsewhere by the scheduler; a task
    Dask gives up on (cancelled, or its workers kept dying) is handed out again here."""

    def __init__(self, snapshot: AssignmentSnapshot, address: str):
        try:
            self.client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise BatchError(f"cannot reach the Dask scheduler at {address}: {e}") from None
        self.address = address
        workers = self.client.scheduler_info().get("workers", {})
        if not workers:
            self.client.close()
            raise BatchError(
                f"the Dask scheduler at {address} has no workers: start some with `dask worker {address}`"
            )
        threads = sum(w.get("nthreads", 1) for w in workers.values())
        self.window = max(4, 2 * threads)
        self.plugin = f"backprop-kit-snapshot-{os.urandom(6).hex()}"
        self.client.register_plugin(SnapshotOnEveryWorker(snapshot, self.plugin), name=self.plugin)
        self.finished = as_completed(loop=self.client.loop)

    def submit(self, job: SubmissionJob) -> Future:
        future = self.client.submit(
            _grade_on_dask,
            self.plugin,
            job,
            pure=False,
            retries=2,
            key=f"grade-{job.student}-{os.urandom(4).hex()}",
        )
        self.finished.add(future)
        return future

    def wait(self, pending: Iterable[Future]) -> list[Future]:
        """The next finished future (a task whose worker died finishes once, elsewhere)."""
        return [next(self.finished)]

    def lost(self, error: BaseException) -> bool:
        """Did Dask give up on the task for reasons of the cluster, not of the submission?"""
        return isinstance(error, (CancelledError, KilledWorker))

    def recover(self) -> bool:
        return True  # the other tasks go on where they are

    def describe(self) -> str:
        return f"the Dask cluster at {self.address}"

    def close(self) -> None:
        try:
            self.client.unregister_worker_plugin(self.plugin)
        except Exception:  # the cluster may be gone by now; the plugin goes with it
            pass
        self.client.close()
