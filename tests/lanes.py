"""The test lanes: a test that needs a browser, a Dask cluster, a PostgreSQL server or a real
nbgrader grading is marked so (pyproject.toml declares the markers); `make test-fast` leaves
those lanes out, `make test` runs everything.

A whole module in one lane says so with `pytestmark`. A fixture that brings a lane with it
(a class graded by nbgrader, a browser) says so once with `@lane(...)`, and every test that
uses it, directly or through another fixture, gets the marker (conftest.py's hook): a new
test on a graded class is in the e2e lane without anyone remembering to mark it."""

from collections.abc import Callable
from typing import TypeVar

import pytest

Fixture = TypeVar("Fixture", bound=Callable)


def lane(*names: str) -> Callable[[Fixture], Fixture]:
    """Mark a fixture function as bringing these lanes to every test that uses it (a name not
    declared in pyproject.toml fails the run: --strict-markers)."""

    def mark(function: Fixture) -> Fixture:
        # Above @pytest.fixture it gets pytest's wrapper: the hook reads the function inside it.
        inner = function._get_wrapped_function() if hasattr(function, "_get_wrapped_function") else function
        inner.lanes = function.lanes = (*getattr(inner, "lanes", ()), *names)
        return function

    return mark


def mark_from_fixtures(item: pytest.Item) -> None:
    """Give `item` the markers of the lanes its fixtures (the whole closure) bring."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return
    brought = {
        name
        for definitions in info.name2fixturedefs.values()
        for definition in definitions
        for name in getattr(definition.func, "lanes", ())
    }
    for name in sorted(brought):
        item.add_marker(getattr(pytest.mark, name))


def require_sandbox() -> None:
    """Skip where bubblewrap cannot build a sandbox: a test that grades for real needs one. Never
    under CI=true: conftest.py refuses to start a run there without a sandbox, so CI never skips."""
    from autograder.sandbox.bwrap import sandbox_available

    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
