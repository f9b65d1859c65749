"""The simulated class and the bad-submissions class get the grades, comments and reports they got
before the checks declared their asks and the grading policy left the sandbox (issue 31): every
submission graded now equals tests/data/golden/class_results.json, recorded from the code at the
branch point (tests/golden_class.py says how it was made)."""

import json
from pathlib import Path

import pytest
from golden_class import course, results, steady

from autograder.sandbox.bwrap import sandbox_available

GOLDEN = Path(__file__).resolve().parent / "data" / "golden" / "class_results.json"

# Some 50 s: a dozen submissions through the whole pipeline, their loops into their timeouts.
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not sandbox_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    return results(*course(tmp_path_factory.mktemp("same-results")))


def test_every_submission_gets_what_it_got_at_the_branch_point(graded):
    golden = steady(json.loads(GOLDEN.read_text()))  # what varies, written as it is now
    assert sorted(graded) == sorted(golden)
    changed = [
        (student, part)
        for student, was in golden.items()
        for part in ("error", "grades", "comments", "report", "facts")
        if graded[student][part] != was[part]
    ]
    assert not changed, changed
