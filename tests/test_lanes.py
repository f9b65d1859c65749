"""The lanes a fixture brings reach the tests that use it, whichever way round @lane and
@pytest.fixture are written (tests/lanes.py)."""

import pytest
from lanes import lane


@lane("e2e")
@pytest.fixture
def above():
    return 1


@pytest.fixture
@lane("browser")
def below():
    return 2


def test_lane_above_or_below_pytest_fixture_marks_the_function_pytest_calls():
    assert above._get_wrapped_function().lanes == ("e2e",)
    assert below._get_wrapped_function().lanes == ("browser",)
