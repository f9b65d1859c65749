"""The gate table: everything gate-specific, written once, one row per gate.

A graded gate is one row here plus its class in the engine (solutions/gates.py). The
notebook builder, the hidden checks, the students' self-checks (bpkit/gate_table.json),
misconception naming, the README tables and the table-driven tests all read these rows;
none of them names a gate. Add a row and each of them picks the gate up.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import gates
from .misconceptions import BY_ID as CATALOG_BY_ID


@dataclass(frozen=True)
class Kinks:
    """Where a gate has no derivative (max at x == y, max(0, x) at x == 0): there every split
    of the upstream gradient the gate could route is a valid subgradient, and is accepted."""

    distance: Callable  # inputs -> each output entry's distance from the nearest kink (0: at one)
    cases: Callable  # rng -> [(label, inputs)] with entries exactly at a kink
    shares_add_up: bool  # True: the inputs' shares add up to all of it (max(x, y)); False: one share
    #                      between none and all of it (max(0, x): the rest goes to the constant 0)
    check: str  # "ties": a graded check of its own; "backward": among the backward check's cases
    rule: str  # the rule in words, for the graded cell and for feedback

    def at(self, inputs):
        return np.asarray(self.distance(inputs)) == 0


@dataclass(frozen=True)
class GateSpec:
    name: str  # the class students write; the engine's class of the same name is the reference
    grade_id: str  # the id of its notebook cell, forever in gradebooks: test_<grade_id>_<check>
    inputs: tuple  # argument names of forward(), in order
    kind: str  # "elementwise", "matmul" or "reduce": which random inputs the checks draw
    pattern: str  # the lecture's one-word description of its backward flow
    lecture: tuple  # (label, inputs): the lecture's own numbers, checked first; () when it has none
    misconceptions: tuple  # ids of the catalogued mistakes that apply to it
    extra_cases: tuple = ()  # (label, make(rng) -> inputs) checked besides the random inputs
    kinks: Kinks = None

    @property
    def cls(self):
        return getattr(gates, self.name)


@dataclass(frozen=True)
class StagedSpec:
    """A primitive gate of the lecture's staged sigmoid: in the hand exercises, not graded on its own."""

    name: str
    misconceptions: tuple

    @property
    def cls(self):
        return getattr(gates, self.name)


def _max_ties(rng):
    x = rng.normal(size=8)
    y = np.where(np.arange(8) % 2 == 0, x, x + rng.choice([-1, 1], 8) * rng.uniform(0.5, 2, 8))
    return [("vectors with ties at every other entry", (x, y)), ("equal Python floats", (1.5, 1.5))]


def _relu_zeros(rng):
    x = rng.normal(size=8) * 2
    x[::2] = 0.0
    return [("a vector with zeros at every other entry", (x,)), ("0.0 as a Python float", (0.0,))]


def _large(rng):
    return (np.array([-1000.0, -60.0, -20.0, 20.0, 60.0, 1000.0]),)


GATES = (
    GateSpec("AddGate", "add_gate", ("x", "y"), "elementwise", "distributor",
             ("the lecture's numbers", (-2.0, 5.0)),
             ("upstream-ignored", "add-split", "sign-flip")),
    GateSpec("MulGate", "mul_gate", ("x", "y"), "elementwise", "switcher",
             ("the lecture's numbers", (3.0, -4.0)),
             ("upstream-ignored", "mul-not-swapped", "sign-flip")),
    GateSpec("MaxGate", "max_gate", ("x", "y"), "elementwise", "router",
             ("the lecture's numbers", (-1.0, 2.0)),
             ("upstream-ignored", "max-routes-both", "max-routes-smaller", "sign-flip"),
             kinks=Kinks(lambda i: np.abs(np.asarray(i[0]) - np.asarray(i[1])), _max_ties, True, "ties",
                         "where x == y, any split of the upstream gradient into non-negative parts is accepted")),
    GateSpec("ReLUGate", "relu_gate", ("x",), "elementwise", "router", (),
             ("upstream-ignored", "relu-mask-of-upstream", "sign-flip"),
             kinks=Kinks(lambda i: np.abs(np.asarray(i[0])), _relu_zeros, False, "backward",
                         "where x == 0, any share of the upstream gradient from none to all of it is accepted")),
    GateSpec("SigmoidGate", "sigmoid_gate", ("x",), "elementwise", "squasher",
             ("the lecture's numbers", (1.0,)),
             ("upstream-ignored", "sigmoid-of-input", "sigmoid-missing-term", "sign-flip"),
             extra_cases=(("large |x|", _large),)),
    GateSpec("MatMulGate", "matmul_gate", ("W", "x"), "matmul", "matrix product",
             ("the lecture's W and x", (np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4]))),
             ("upstream-ignored", "matmul-transpose", "batch-not-summed", "sign-flip")),
    GateSpec("L2Gate", "l2_gate", ("q",), "reduce", "sum of squares",
             ("the lecture's q", (np.array([0.22, 0.26]),)),
             ("upstream-ignored", "l2-missing-2", "sign-flip")),
)

STAGED = tuple(StagedSpec(name, ("sign-flip",))
               for name in ("MulConstGate", "ExpGate", "AddConstGate", "ReciprocalGate"))

BY_NAME = {g.name: g for g in GATES}
BY_GRADE_ID = {g.grade_id: g for g in GATES}


def gates_named_by(misconception_id):
    """The names of the gates (graded, then staged) a catalogued mistake applies to, in table order."""
    return tuple(g.name for g in GATES + STAGED if misconception_id in g.misconceptions)


def misconceptions_of(spec):
    """The catalog entries that apply to a gate, in the row's order."""
    return tuple(CATALOG_BY_ID[mid] for mid in spec.misconceptions)


def shipped_table():
    """What the students' self-checks know of the table (bpkit/gate_table.json): no code, no answers."""
    return [{"name": g.name, "grade_id": g.grade_id, "inputs": list(g.inputs), "kind": g.kind,
             "pattern": g.pattern, "misconceptions": list(g.misconceptions)} for g in GATES]


def _check_rows():
    """A row that names a class the engine lacks, a mistake the catalog lacks or a grade_id twice
    would break grading far from here: refuse at import, naming the row."""
    for g in GATES + STAGED:
        if not isinstance(getattr(gates, g.name, None), type):
            raise ValueError(f"solutions/table.py: {g.name} has no class in solutions/gates.py")
        unknown = [m for m in g.misconceptions if m not in CATALOG_BY_ID]
        if unknown:
            raise ValueError(f"solutions/table.py: {g.name} names {unknown}, not in solutions/misconceptions.py")
    if len(BY_GRADE_ID) != len(GATES) or len(BY_NAME) != len(GATES):
        raise ValueError("solutions/table.py: two rows share a name or a grade_id")


_check_rows()


if __name__ == "__main__":  # python -m solutions.table: bpkit/gate_table.json, the table as students' data
    import json
    from pathlib import Path

    target = Path(__file__).resolve().parent.parent / "autograder" / "bpkit" / "gate_table.json"
    target.write_text(json.dumps(shipped_table(), indent=1) + "\n")
    print(f"wrote {target}")
