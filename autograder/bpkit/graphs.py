"""The lecture's computational graphs as data: the one description that the reference
engine builds and computes (solutions/lecture.py) and that the pictures draw
(bpkit/pictures.py).

A graph is its inputs, in order, and its gates, in an order where every gate comes after
the nodes it reads: (node name, operation, names of its inputs in the gate's argument
order). The operation is what a picture writes inside the gate and what the engine maps to
a gate class. No values and no gradients: shipped to students as bpkit/graphs.py
(standard library only).
"""
from typing import NamedTuple


class GraphDescription(NamedTuple):
    title: str
    inputs: tuple  # names of the input nodes
    gates: tuple  # (name, operation, (input names...)) in topological order

    @property
    def output(self):
        return self.gates[-1][0]


_WEIGHTED_SUM = (("w0x0", "*", ("w0", "x0")), ("w1x1", "*", ("w1", "x1")),
                 ("p", "+", ("w0x0", "w1x1")), ("s", "+", ("p", "w2")))

GRAPHS = {
    "simple": GraphDescription(
        "f(x, y, z) = (x + y) · z", ("x", "y", "z"),
        (("q", "+", ("x", "y")), ("f", "*", ("q", "z")))),
    "neuron_staged": GraphDescription(
        "f(w, x) = 1 / (1 + exp(-(w0·x0 + w1·x1 + w2))), gate by gate", ("w0", "x0", "w1", "x1", "w2"),
        _WEIGHTED_SUM + (("neg", "*-1", ("s",)), ("exp", "exp", ("neg",)), ("denom", "+1", ("exp",)),
                         ("f", "1/x", ("denom",)))),
    "neuron_shortcut": GraphDescription(
        "f(w, x) = σ(w0·x0 + w1·x1 + w2)", ("w0", "x0", "w1", "x1", "w2"),
        _WEIGHTED_SUM + (("f", "σ", ("s",)),)),
    "branch": GraphDescription(
        "f(x, y) = (x + y) · x: x feeds two gates", ("x", "y"),
        (("q", "+", ("x", "y")), ("f", "*", ("q", "x")))),
    "l2_of_matmul": GraphDescription(
        "f(W, x) = ‖W·x‖², q = W·x", ("W", "x"),
        (("q", "W·x", ("W", "x")), ("f", "‖·‖²", ("q",)))),
}
