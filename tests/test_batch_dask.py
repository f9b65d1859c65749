"""`backprop-kit autograde --scheduler`: a real Dask cluster, started with Dask's own CLI on
127.0.0.1 (a scheduler and two workers, separate processes, run from a folder that is not
the course: submissions travel as bytes). One worker is killed mid-batch: its submissions
are graded by the other, nothing is lost and nothing is recorded twice."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shared_class import assert_each_recorded_once_as_by_nbgrader, autograde_disturbed

from autograder.course import nbgrader_environment
from autograder.sandbox.bwrap import sandbox_available

DASK = Path(sys.executable).parent / "dask"

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_workers(address, n, timeout=90):
    from distributed import Client

    deadline = time.monotonic() + timeout
    with Client(address, timeout="30s", set_as_default=False) as client:
        while len(client.scheduler_info()["workers"]) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{n} Dask workers did not join {address}")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("dask-cwd")  # the workers' folder: not the course
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = nbgrader_environment()
    processes = [
        subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            cwd=elsewhere,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        for name in ("alpha", "beta"):
            processes.append(
                subprocess.Popen(
                    [
                        str(DASK),
                        "worker",
                        address,
                        "--name",
                        name,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    cwd=elsewhere,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        wait_for_workers(address, 2)
        yield address, {"alpha": processes[1], "beta": processes[2]}
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_a_class_graded_on_dask_with_a_worker_killed_midway(cluster, shared_class, tmp_path):
    """The class of test_batch_autograde.py, graded on the cluster: the same records as
    `nbgrader autograde` gave."""
    address, workers = cluster
    base, stock, students = shared_class.base, shared_class.stock, shared_class.students
    course = tmp_path / "dask"
    shutil.copytree(base, course, symlinks=True)

    def kill_alpha(_):
        workers["alpha"].kill()  # SIGKILL: no goodbye to the scheduler
        return True

    returncode, lines, killed = autograde_disturbed(course, "--scheduler", address, disturb=kill_alpha)
    assert killed and workers["alpha"].wait(timeout=10) == -signal.SIGKILL
    assert_each_recorded_once_as_by_nbgrader(course, stock, students, returncode, lines)
    assert any("beta" in line for line in lines if line.startswith("✓")), "".join(lines)


def cancel_one_grading_task(address):
    """Cancel, from another client, one submission's task still on the cluster (what an admin
    or a scheduler restart does); returns its key, or None when none is left."""
    from distributed import Client, Future

    def grading_tasks(dask_scheduler):
        return [
            str(key)
            for key, task in dask_scheduler.tasks.items()
            if str(key).startswith("grade-") and task.state not in ("memory", "erred", "forgotten")
        ]

    with Client(address, timeout="20s", set_as_default=False) as admin:
        keys = admin.run_on_scheduler(grading_tasks)
        if keys:
            admin.cancel([Future(keys[-1], admin)], force=True)
        return keys[-1] if keys else None


def test_a_task_cancelled_on_the_cluster_is_graded_again(cluster, shared_class, tmp_path):
    """Dask gives up on a task (cancelled elsewhere, or its workers kept dying): the
    coordinator hands the submission out again; it is recorded once, with nbgrader's grades."""
    address, _ = cluster
    base, stock, students = shared_class.base, shared_class.stock, shared_class.students
    course = tmp_path / "cancelled"
    shutil.copytree(base, course, symlinks=True)
    returncode, lines, cancelled = autograde_disturbed(
        course, "--scheduler", address, disturb=lambda _: cancel_one_grading_task(address)
    )
    assert cancelled, "".join(lines)  # a task was still on the cluster when the first result came back
    assert_each_recorded_once_as_by_nbgrader(course, stock, students, returncode, lines)
