"""The table of graded gates: gate knowledge written once.

The notebook builder, the hidden checks, the students' self-checks and the README
all read this table; add a gate here and each of them picks it up.
"""
import re
from dataclasses import dataclass

from . import gates
from .misconceptions import for_gate


@dataclass(frozen=True)
class GateSpec:
    cls: type
    inputs: tuple  # argument names of forward(), in order
    kind: str  # "elementwise", "matmul" or "reduce": decides which inputs the checks draw
    pattern: str  # the lecture's one-word description of its backward flow

    @property
    def name(self):
        return self.cls.__name__

    @property
    def grade_id(self):
        """The snake_case id of the notebook cell that defines the class (MatMulGate -> matmul_gate)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name.replace("MatMul", "Matmul")).lower()

    @property
    def summary(self):
        return (self.cls.__doc__ or "").strip().splitlines()[0]

    @property
    def misconceptions(self):
        return for_gate(self.name)


GATES = (
    GateSpec(gates.AddGate, ("x", "y"), "elementwise", "distributor"),
    GateSpec(gates.MulGate, ("x", "y"), "elementwise", "switcher"),
    GateSpec(gates.MaxGate, ("x", "y"), "elementwise", "router"),
    GateSpec(gates.SigmoidGate, ("x",), "elementwise", "squasher"),
    GateSpec(gates.MatMulGate, ("W", "x"), "matmul", "matrix product"),
    GateSpec(gates.L2Gate, ("q",), "reduce", "sum of squares"),
)

BY_NAME = {g.name: g for g in GATES}
BY_GRADE_ID = {g.grade_id: g for g in GATES}
