"""The reference solution of backprop-kit: gates, a graph engine, the lecture's graphs
and the catalog of misconceptions. Never shipped to students."""

from .gates import (
    AddConstGate,
    AddGate,
    ExpGate,
    L2Gate,
    MatMulGate,
    MaxGate,
    MulConstGate,
    MulGate,
    ReciprocalGate,
    ReLUGate,
    SigmoidGate,
)
from .graph import Graph, Node
from .misconceptions import CATALOG, Misconception
from .table import GATES

__all__ = [
    "CATALOG",
    "GATES",
    "AddConstGate",
    "AddGate",
    "ExpGate",
    "Graph",
    "L2Gate",
    "MatMulGate",
    "MaxGate",
    "Misconception",
    "MulConstGate",
    "MulGate",
    "Node",
    "ReLUGate",
    "ReciprocalGate",
    "SigmoidGate",
]
