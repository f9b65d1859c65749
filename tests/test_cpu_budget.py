"""tests/cpu_budget.py: in the fast lane a test whose call costs more CPU than its budget fails,
naming itself, its cost and what to do; a test marked with a larger budget, and any test of a
run that includes the slow lane, passes."""

import pytest

SPINS = """
import time

import pytest


def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_spins():
    spin(0.4)


@pytest.mark.cpu_budget(5)
def test_spins_within_its_own_budget():
    spin(0.4)


def test_cheap():
    pass
"""

FAST = "not e2e and not slow"


@pytest.fixture
def spinning(pytester):
    pytester.makepyfile(test_spins=SPINS)
    return pytester


def test_a_fast_lane_test_over_its_budget_fails_naming_its_cost(spinning):
    result = spinning.runpytest_inprocess("-p", "cpu_budget", "--cpu-budget", "0.2", "-m", FAST)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*test_spins.py::test_spins took 0.* CPU s in the fast lane (its budget: 0.2 s*"]
    )
    result.stdout.fnmatch_lines(["FAILED test_spins.py::test_spins*"])


def test_outside_the_fast_lane_nothing_is_checked(spinning):
    spinning.runpytest_inprocess("-p", "cpu_budget", "--cpu-budget", "0.2").assert_outcomes(passed=3)
    spinning.runpytest_inprocess(
        "-p", "cpu_budget", "--cpu-budget", "0.2", "-m", "slow or e2e"
    ).assert_outcomes(deselected=3)
