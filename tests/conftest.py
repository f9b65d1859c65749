"""In CI the sandbox is part of what is tested: a missing bubblewrap must fail the run,
not quietly skip every test that needs it; and CI's property tests are reproducible
(hypothesis_profiles.py)."""

import os

import hypothesis_profiles  # noqa: F401  (first: the profile in force when test modules build their @settings)
import pytest
from heaviest_first import file_costs, heaviest_first
from lanes import lane, mark_from_fixtures

# BPKIT_CPU_COST=folder records each test's CPU seconds, children included (benchmarks/test_suite_cost.py);
# cpu_budget fails a fast-lane test that costs more than its budget; pytester runs pytest in a test
pytest_plugins = ("cpu_cost", "cpu_budget", "pytester")


def pytest_sessionstart(session):
    from autograder.sandbox.bwrap import sandbox_available

    if os.environ.get("CI") and not sandbox_available():
        raise pytest.UsageError(
            "CI=true but bubblewrap cannot build a sandbox here: the sandbox tests would be "
            "skipped. `make test` installs bubblewrap when run as root."
        )


def pytest_configure(config):
    # pytest-xdist sorts files by their number of tests before handing them out; heaviest_first's
    # order (below) is the one that keeps both cores busy to the end of the run.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    for item in items:
        mark_from_fixtures(item)
    heaviest_first(items, file_costs())


@pytest.fixture(autouse=True)
def language_restored():
    """Each test ends speaking the language it began in. A command run in-process (click's
    CliRunner) speaks its course's language from then on, as a process should; in a test worker
    that shared process then spoke Korean to every later test of the worker."""
    from autograder.bpkit.i18n import in_force, speaking

    with speaking(in_force()):
        yield


@pytest.fixture(scope="session")
@lane("e2e")
def graded_course(tmp_path_factory):
    """A small class graded once per run with real nbgrader (tests/graded_course.py), shared
    by the tests of feedback, logs and the feedback page in the browser."""
    from functools import partial

    from graded_course import build, opened
    from once_per_run import built_once_per_run

    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    return opened(
        *built_once_per_run(
            tmp_path_factory, "graded-course", partial(build, tmp_path_factory=tmp_path_factory)
        )
    )


from shared_class import shared_class  # noqa: E402,F401  (the simulated class graded both ways, once per run)
