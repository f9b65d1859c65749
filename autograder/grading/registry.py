"""Which check each graded cell runs, what it is worth by default, and how it is described:
lookups over the checks declared in checks.py (each declared once, there).

A graded cell names its check as grade(exercise, check): a gate of the table has forward,
backward and the extra checks its row asks for; a hand-computed exercise has answers; a
function built from gates has function.
"""

from .checks import CHECKS
from .outcomes import CheckResult
from .subject import Plan, Subject

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


def plan_check(exercise, check, ctx) -> Plan:
    """What the check of one graded cell will ask with this context (its random inputs drawn
    from ctx.rng) and how it judges the replies. Asks nothing yet."""
    if not known(exercise, check):
        raise KeyError(f"no check {check!r} for exercise {exercise!r}")
    c = CHECKS[check]
    return c.plan(c.of(exercise), ctx)


def run_check(exercise, check, subject: Subject, ctx) -> CheckResult:
    """The CheckResult of one graded cell: its plan, asked of `subject` and judged."""
    return plan_check(exercise, check, ctx).judged(subject)
