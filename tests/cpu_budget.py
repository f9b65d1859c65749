"""The fast lane's budget: a pytest plugin (conftest.py loads it) that fails a test of the fast lane
whose own run costs more than BUDGET CPU seconds, so a heavy test added to the minute-to-minute
loop is caught by the run that adds it, not by the next person's stopwatch.

The fast lane is a run whose marker expression leaves the slow lane out (`make test-fast`:
`-m "... and not slow"`); `make test` runs everything and checks nothing here. What is counted is
the test's call alone, in CPU seconds (user + sys) of the pytest process and of the processes it
started and reaped meanwhile (an nbgrader command, the CLI, a kernel): CPU time, unlike wall time,
does not grow much with the machine's load, so the check is the same on a quiet and on a busy
machine. A fixture's cost (a course built once per module, a sandbox host) is not charged here:
it is shared by many tests; `benchmarks/test_suite_cost.py fast` shows it.

BUDGET is generous (the fast lane's rule is 2 s, docs/testing.md): the check is there to catch
a test of many seconds, not to argue about one at 2.5 s under load. A test that must stay in the
fast lane although it costs more says so with `@pytest.mark.cpu_budget(seconds)` and a comment
saying why (the issue puts mypy in the fast lane). `--cpu-budget SECONDS` sets another budget
(this plugin's own test sets a small one)."""

import resource

import pytest

BUDGET = 8.0


def _cpu() -> float:
    # The test's own thread and the children it waited for: the whole process would also count
    # threads earlier tests left running in this worker (a cheap test was billed 0.4 s for them).
    own = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def fast_lane(config: pytest.Config) -> bool:
    """Whether this run is the fast lane: its -m expression leaves the slow lane out."""
    expression = " ".join((config.option.markexpr or "").split())
    return "not slow" in expression


def budget_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("cpu_budget")
    if marker is not None:
        return float(marker.args[0])
    return float(item.config.getoption("cpu_budget") or BUDGET)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-budget",
        type=float,
        default=None,
        help=f"the fast lane's CPU seconds per test (default {BUDGET:g}; tests/cpu_budget.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cpu_budget(seconds): this fast-lane test may cost up to `seconds` CPU s (tests/cpu_budget.py); say why beside it",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    began = _cpu()
    yield
    item.stash[_SPENT] = _cpu() - began


_SPENT = pytest.StashKey[float]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.passed or not fast_lane(item.config):
        return
    spent, budget = item.stash.get(_SPENT, 0.0), budget_of(item)
    if spent > budget:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} took {spent:.1f} CPU s in the fast lane (its budget: {budget:g} s, "
            "tests/cpu_budget.py). Make it cheaper, or mark it with its lane (pytest.mark.slow, "
            "e2e, ...: pyproject.toml's markers) so that `make test` runs it and `make test-fast` "
            "does not."
        )
