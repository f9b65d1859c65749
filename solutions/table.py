"""The gate table: everything gate-specific, written once, one row per gate.

A graded gate is one row here plus its class in the engine (solutions/gates.py). The
notebook builder, the hidden checks, the students' self-checks (bpkit/gate_table.json),
misconception naming, the README tables and the table-driven tests all read these rows;
none of them names a gate. Add a row and each of them picks the gate up.
"""

from dataclasses import dataclass

import numpy as np

from . import gates
from .gate_kinds import KINDS, N_, Kind, Kink  # N_: labels a student reads, translated where shown
from .misconceptions import BY_ID as CATALOG_BY_ID


@dataclass(frozen=True)
class Kinks:
    """A gate's kink (its kind's, gate_kinds.py) and which graded check takes it."""

    kink: Kink
    check: str  # "ties": a graded check of its own; "backward": among the backward check's cases

    @property
    def distance(self):
        return self.kink.distance

    @property
    def cases(self):
        return self.kink.cases

    @property
    def shares_add_up(self):
        return self.kink.shares_add_up

    @property
    def rule(self):
        return self.kink.rule

    def at(self, inputs):
        return self.kink.at(inputs)


@dataclass(frozen=True)
class GateSpec:
    name: str  # the class students write; the engine's class of the same name is the reference
    grade_id: str  # the id of its notebook cell, forever in gradebooks: test_<grade_id>_<check>
    inputs: tuple  # argument names of forward(), in order
    kind: str  # a key of gate_kinds.py's KINDS: its inputs, its random cases, its output's shape, its kink
    lecture: tuple  # (label, inputs): the lecture's own numbers, checked first; () when it has none
    misconceptions: tuple  # ids of the catalogued mistakes that apply to it
    extra_cases: tuple = ()  # (label, make(rng) -> inputs) checked besides the random inputs
    kink_check: str | None = (
        None  # where its kind has a kink: "ties" (a graded check of its own) or "backward"
    )

    @property
    def cls(self):
        return getattr(gates, self.name)

    @property
    def kind_of(self) -> Kind:
        return KINDS[self.kind]

    @property
    def kinks(self):
        """Its kink and the check that takes it, or None for a smooth gate."""
        # a kind has a kink exactly when its row names the check that takes it (checked at import)
        kink, check = self.kind_of.kink, self.kink_check
        return Kinks(kink, check) if kink is not None and check is not None else None


@dataclass(frozen=True)
class StagedSpec:
    """A primitive gate of the lecture's staged sigmoid: in the hand exercises, not graded on its own."""

    name: str
    misconceptions: tuple

    @property
    def cls(self):
        return getattr(gates, self.name)


def _large(rng):
    return (np.array([-1000.0, -60.0, -20.0, 20.0, 60.0, 1000.0]),)


GATES = (
    GateSpec(
        "AddGate",
        "add_gate",
        ("x", "y"),
        "pair",
        (N_("the lecture's numbers"), (-2.0, 5.0)),
        ("upstream-ignored", "add-split", "sign-flip"),
    ),
    GateSpec(
        "MulGate",
        "mul_gate",
        ("x", "y"),
        "pair",
        (N_("the lecture's numbers"), (3.0, -4.0)),
        ("upstream-ignored", "mul-not-swapped", "sign-flip"),
    ),
    GateSpec(
        "MaxGate",
        "max_gate",
        ("x", "y"),
        "max of a pair",
        (N_("the lecture's numbers"), (-1.0, 2.0)),
        ("upstream-ignored", "max-routes-both", "max-routes-smaller", "sign-flip"),
        kink_check="ties",
    ),
    GateSpec(
        "ReLUGate",
        "relu_gate",
        ("x",),
        "rectifier",
        (),
        ("upstream-ignored", "relu-mask-of-upstream", "sign-flip"),
        kink_check="backward",
    ),
    GateSpec(
        "SigmoidGate",
        "sigmoid_gate",
        ("x",),
        "one input",
        (N_("the lecture's numbers"), (1.0,)),
        ("upstream-ignored", "sigmoid-of-input", "sigmoid-missing-term", "sign-flip"),
        extra_cases=((N_("large |x|"), _large),),
    ),
    GateSpec(
        "MatMulGate",
        "matmul_gate",
        ("W", "x"),
        "matmul",
        (N_("the lecture's W and x"), (np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4]))),
        ("upstream-ignored", "matmul-transpose", "batch-not-summed", "sign-flip"),
    ),
    GateSpec(
        "L2Gate",
        "l2_gate",
        ("q",),
        "reduce",
        (N_("the lecture's q"), (np.array([0.22, 0.26]),)),
        ("upstream-ignored", "l2-missing-2", "sign-flip"),
    ),
)

STAGED = tuple(
    StagedSpec(name, ("sign-flip",)) for name in ("MulConstGate", "ExpGate", "AddConstGate", "ReciprocalGate")
)

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
    return [
        {
            "name": g.name,
            "grade_id": g.grade_id,
            "inputs": list(g.inputs),
            "kind": g.kind,
            "kink_check": g.kink_check,
            "misconceptions": list(g.misconceptions),
        }
        for g in GATES
    ]


def _check_rows():
    """A row that names a class the engine lacks, a mistake the catalog lacks or a grade_id twice
    would break grading far from here: refuse at import, naming the row."""
    for g in GATES + STAGED:
        if not isinstance(getattr(gates, g.name, None), type):
            raise ValueError(f"solutions/table.py: {g.name} has no class in solutions/gates.py")
        unknown = [m for m in g.misconceptions if m not in CATALOG_BY_ID]
        if unknown:
            raise ValueError(
                f"solutions/table.py: {g.name} names {unknown}, not in solutions/misconceptions.py"
            )
    for g in GATES:
        if g.kind not in KINDS:
            raise ValueError(
                f"solutions/table.py: {g.name} has kind {g.kind!r}; the kinds are {', '.join(KINDS)}"
            )
        if KINDS[g.kind].arity != len(g.inputs):
            raise ValueError(
                f"solutions/table.py: {g.name} has {len(g.inputs)} input(s), but a {g.kind!r} gate "
                f"takes {KINDS[g.kind].arity}"
            )
        if (KINDS[g.kind].kink is None) != (g.kink_check is None) or g.kink_check not in (
            None,
            "ties",
            "backward",
        ):
            raise ValueError(
                f"solutions/table.py: {g.name}: kink_check {g.kink_check!r} does not fit its kind "
                f"{g.kind!r} (one of 'ties' or 'backward' where the kind has a kink, else none)"
            )
    if len(BY_GRADE_ID) != len(GATES) or len(BY_NAME) != len(GATES):
        raise ValueError("solutions/table.py: two rows share a name or a grade_id")


_check_rows()


if __name__ == "__main__":  # python -m solutions.table: bpkit/gate_table.json, the table as students' data
    import json
    from pathlib import Path

    target = Path(__file__).resolve().parent.parent / "autograder" / "bpkit" / "gate_table.json"
    target.write_text(json.dumps(shipped_table(), indent=1) + "\n")
    print(f"wrote {target}")
