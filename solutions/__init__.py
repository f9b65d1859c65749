"""The reference solution of backprop-kit: the operation table and the gates built from it, a
graph engine, the lecture's graphs and the catalog of misconceptions. Never shipped to students."""

from .gates import CLASSES
from .graph import Graph, Node
from .misconceptions import Misconception
from .table import CATALOG, GATES, OPERATIONS

globals().update(CLASSES)  # solutions.MulGate: each row's class, named by the table only

__all__ = ["CATALOG", "CLASSES", "GATES", "OPERATIONS", "Graph", "Misconception", "Node", *CLASSES]
