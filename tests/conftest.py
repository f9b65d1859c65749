"""In CI the sandbox is part of what is tested: a missing bubblewrap must fail the run,
not quietly skip every test that needs it."""
import os

import pytest

from lanes import lane, mark_from_fixtures


def pytest_sessionstart(session):
    from autograder.sandbox.bwrap import sandbox_available

    if os.environ.get("CI") and not sandbox_available():
        raise pytest.UsageError("CI=true but bubblewrap cannot build a sandbox here: the sandbox tests would be "
                                "skipped. `make test` installs bubblewrap when run as root.")


def pytest_collection_modifyitems(items):
    for item in items:
        mark_from_fixtures(item)


@pytest.fixture(scope="session")
@lane("e2e")
def graded_course(tmp_path_factory):
    """A small class graded once with real nbgrader (tests/graded_course.py), shared by the
    tests of feedback, logs and the browser."""
    from autograder.sandbox.bwrap import sandbox_available
    from graded_course import build

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    return build(tmp_path_factory.mktemp("graded"))


from batch_class import batch_class  # noqa: E402,F401  (the class graded both ways, shared by test_batch_*.py)
