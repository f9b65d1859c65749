"""Which check each graded cell runs, what it is worth by default, and how it is described:
lookups over the checks declared in checks.py (each declared once, there).

A graded cell names its check as grade(exercise, check): a gate of the table has forward,
backward and the extra checks its row asks for; a hand-computed exercise has answers; a
function built from gates has function.
"""

from ..sandbox.subject import Ask, FirstAsk, RecordingSubject
from .checks import CHECKS
from .outcomes import CheckResult

TEST_DEFAULT_POINTS = 1  # a graded cell of the notebook source that gives no points=


def gate_checks(spec):
    """(check, default points) of one gate of the table, in the order of its graded cells."""
    return [(c.name, c.points) for c in CHECKS.values() if c.of(spec.grade_id) is not None]


def describe_check(exercise, check):
    c = CHECKS[check]
    what = c.of(exercise)
    if what is None:
        raise KeyError((exercise, check))
    return c.says(what)


def known(exercise, check):
    return check in CHECKS and CHECKS[check].of(exercise) is not None


def run_check(exercise, check, subject, ctx):
    """The CheckResult of one graded cell."""
    if not known(exercise, check):
        raise KeyError(f"no check {check!r} for exercise {exercise!r}")
    c = CHECKS[check]
    return c.run(c.of(exercise), subject, ctx)


def first_asks(exercise, check, ctx) -> list[Ask]:
    """What the check asks first with this context (its random inputs drawn from ctx.rng, as when
    it runs), found without running anything: its body stopped at that ask, or at the asks it
    says come first (checks.will_ask). Empty when it asks nothing."""
    c = CHECKS[check]
    try:
        c.body(c.of(exercise), RecordingSubject(), ctx, CheckResult())
    except FirstAsk as asked:
        return asked.asks
    return []
