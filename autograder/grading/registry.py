"""Which check each graded cell runs, what it is worth by default, and how it is described.

A graded cell names its check as grade(exercise, check): for a gate of the table the checks
are forward, backward (and ties for MaxGate); a hand-computed exercise has answers; a
function built from gates has function.
"""
from solutions.table import BY_GRADE_ID as GATES

from ..exercises import BY_ID as HAND_EXERCISES, FUNCTIONS_BY_ID

TEST_DEFAULT_POINTS = 1
GATE_CHECK_POINTS = {"forward": 1, "backward": 2, "ties": 1}


def gate_checks(spec):
    """(check, default points) for one gate of the table."""
    names = ["forward", "backward"] + (["ties"] if spec.name == "MaxGate" else [])
    return [(n, GATE_CHECK_POINTS[n]) for n in names]


def describe_check(exercise, check):
    if exercise in GATES:
        spec = GATES[exercise]
        return {
            "forward": f"{spec.name}.forward on the lecture's numbers and on random Python floats, 0-d arrays, "
                       "vectors and matrices" + (", including very large |x|" if spec.name == "SigmoidGate" else ""),
            "backward": f"{spec.name}.backward on the same kinds of inputs with a random upstream gradient, and "
                        "against the slope of your own forward",
            "ties": "MaxGate.backward where x == y: any split of the upstream gradient into non-negative "
                    "parts is accepted",
        }[check]
    if check == "answers":
        return f"your answers in {exercise!r}, for your own numbers"
    if check == "function":
        return f"{exercise} on random inputs: f and every gradient"
    raise KeyError((exercise, check))


def known(exercise, check):
    if exercise in GATES:
        return check in dict(gate_checks(GATES[exercise]))
    if check == "answers":
        return exercise in HAND_EXERCISES or exercise == "jacobian_question"
    return check == "function" and exercise in FUNCTIONS_BY_ID


def run_check(exercise, check, subject, ctx):
    """The CheckResult of one graded cell."""
    from . import checks  # the checks pull in the runner; rendering notebooks needs only the names

    if not known(exercise, check):
        raise KeyError(f"no check {check!r} for exercise {exercise!r}")
    if exercise in GATES:
        return {"forward": checks.gate_forward, "backward": checks.gate_backward,
                "ties": checks.gate_ties}[check](GATES[exercise], subject, ctx)
    if check == "answers":
        return checks.hand_answers(exercise, subject, ctx)
    return checks.function(exercise, subject, ctx)
