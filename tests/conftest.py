"""In CI the sandbox is part of what is tested: a missing bubblewrap must fail the run,
not quietly skip every test that needs it. And CI's property tests are reproducible: under
CI=true hypothesis draws the same examples on every run (derandomize) and keeps no database
of past failures to replay, so a red run fails the same way when run again; on a desk,
examples are random and a failure found is replayed from .hypothesis/."""

import os

import pytest
from hypothesis import settings
from lanes import lane, mark_from_fixtures

# Registered and loaded here, before any test module is imported: each module's own
# @settings(...) is built on the profile in force when that module is imported.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_sessionstart(session):
    from autograder.sandbox.bwrap import sandbox_available

    if os.environ.get("CI") and not sandbox_available():
        raise pytest.UsageError(
            "CI=true but bubblewrap cannot build a sandbox here: the sandbox tests would be "
            "skipped. `make test` installs bubblewrap when run as root."
        )


def pytest_collection_modifyitems(items):
    for item in items:
        mark_from_fixtures(item)


@pytest.fixture(scope="session")
@lane("e2e")
def graded_course(tmp_path_factory):
    """A small class graded once per run with real nbgrader (tests/graded_course.py), shared
    by the tests of feedback, logs and the feedback page in the browser."""
    from graded_course import build, opened
    from once_per_run import built_once_per_run

    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    return opened(*built_once_per_run(tmp_path_factory, "graded-course", build))


from shared_class import shared_class  # noqa: E402,F401  (the simulated class graded both ways, once per run)
