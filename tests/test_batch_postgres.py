"""`backprop-kit autograde` with the gradebook on a PostgreSQL server (nbgrader's
CourseDirectory.db_url), against a real server this test starts itself: initdb and pg_ctl
from Debian's /usr/lib/postgresql/<version>/bin, in a temporary folder, listening on a
private unix socket only; stopped afterwards. Under CI=true a missing PostgreSQL fails."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from shared_class import backprop_kit, records, set_due_date
from test_batch_dask import free_port

from autograder import demo
from autograder.sandbox.bwrap import sandbox_available

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed"),
]


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.environ.get("CI"):
            pytest.fail(
                "CI=true but PostgreSQL's initdb is missing: `make test` installs the postgresql package"
            )
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed")
    return Path(found[-1]).parent


def as_server_user(argv):
    """PostgreSQL refuses to run as root: as root, run it as the postgres account."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    bindir = postgres_bin()
    # Not under pytest's tmp folder: the server's account must be able to reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="bpkit-postgres-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (folder, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    port = str(free_port())  # the server listens on a unix socket only; the port names the socket file
    subprocess.run(
        as_server_user(
            [str(bindir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        as_server_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(folder / "log"),
                "-o",
                f"-k {sockets} -c listen_addresses='' -p {port} -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        import psycopg

        with psycopg.connect(
            host=str(sockets), port=port, user="grader", dbname="postgres", autocommit=True
        ) as db:
            db.execute("CREATE DATABASE gradebook")
        yield f"postgresql+psycopg://grader@/gradebook?host={sockets}&port={port}"
    finally:
        subprocess.run(
            as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def test_the_gradebook_on_a_postgresql_server(postgres, shared_class, tmp_path):
    """The class of test_batch_autograde.py, its gradebook on the server: the same records
    as `nbgrader autograde` gave with SQLite."""
    pristine, stock, students = shared_class.base, shared_class.stock, shared_class.students
    base = tmp_path / "postgres"
    shutil.copytree(pristine, base, symlinks=True)

    with open(base / "nbgrader_config.py", "a") as config:
        # PostgreSQL enforces the gradebook's foreign keys: nbgrader needs a course id there
        config.write(f"\nc.CourseDirectory.db_url = {postgres!r}\nc.CourseDirectory.course_id = 'cs231n'\n")
    done = demo.nbgrader(base, "generate_assignment", "backprop", "--force")  # the assignment into PostgreSQL
    assert done.returncode == 0, done.stderr[-2000:]
    set_due_date(postgres, "cs231n")
    sqlite_before = (base / "gradebook.db").read_bytes()

    done = backprop_kit(base, "autograde", "backprop", "--jobs", "2")
    assert done.returncode == 1, done.stdout + done.stderr  # fay, gus, hal, as everywhere
    for student in students:
        on_server, expected = records(base, student, db_url=postgres), records(stock, student)
        if expected is None:
            assert on_server is None, student
            continue
        # Every cell exactly; the totals PostgreSQL sums in SQL only up to float rounding.
        for total in ("score", "late_penalty"):
            assert on_server.pop(total) == pytest.approx(expected.pop(total)), (student, total)
        assert on_server == expected, student
    with Gradebook(postgres, "cs231n") as gb:
        assert len(gb.find_assignment("backprop").submissions) == len(students) - 1  # hal sent no notebook
    assert (base / "gradebook.db").read_bytes() == sqlite_before, "the sqlite gradebook was written"
    done = demo.nbgrader(base, "export")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ada" in (base / "grades.csv").read_text()
