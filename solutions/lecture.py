"""The lecture's computational graphs, built with the reference gates.

The graphs themselves are described once, as data, in autograder/bpkit/graphs.py (the
pictures draw the same descriptions). Each builder takes the input values, runs forward,
and returns the Graph and its output node; call `graph.backward(output)` for the
gradients. Gate classes can be swapped (`gates=`) so the same graphs run a student's
gates or a mistaken model.
"""
import types

from autograder.bpkit.graphs import GRAPHS

from . import gates as reference
from .graph import Graph

# What each operation of a graph description is, as a reference gate (from a gate module G).
OPERATIONS = {
    "+": lambda G: G.AddGate(), "*": lambda G: G.MulGate(), "σ": lambda G: G.SigmoidGate(),
    "*-1": lambda G: G.MulConstGate(-1.0), "exp": lambda G: G.ExpGate(), "+1": lambda G: G.AddConstGate(1.0),
    "1/x": lambda G: G.ReciprocalGate(), "W·x": lambda G: G.MatMulGate(), "‖·‖²": lambda G: G.L2Gate(),
}


def build(name, values, gates=None):
    """The graph GRAPHS[name] on these input values ({input name: value}), run forward:
    (Graph, its output node)."""
    G, g, description = gates or reference, Graph(), GRAPHS[name]
    nodes = {n: g.input(n, values[n]) for n in description.inputs}
    for node, operation, parents in description.gates:
        nodes[node] = g.apply(OPERATIONS[operation](G), *(nodes[p] for p in parents), name=node)
    return g, nodes[description.output]


def simple(x, y, z, gates=None):
    """Example 1: f = (x + y) * z."""
    return build("simple", {"x": x, "y": y, "z": z}, gates)


def neuron_staged(w, x, gates=None):
    """Example 2 gate by gate: 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))."""
    return build("neuron_staged", _neuron_inputs(w, x), gates)


def neuron_shortcut(w, x, gates=None):
    """Example 2 with one sigmoid gate in place of the four staged ones."""
    return build("neuron_shortcut", _neuron_inputs(w, x), gates)


def _neuron_inputs(w, x):
    return {"w0": w[0], "x0": x[0], "w1": w[1], "x1": x[1], "w2": w[2]}


def l2_of_matmul(W, x, gates=None):
    """Example 3: f = ||W x||^2, for a vector x of shape (D,) or a batch of shape (D, N)."""
    return build("l2_of_matmul", {"W": W, "x": x}, gates)


def branch(x, y, gates=None):
    """Gradients add at branches: f = (x + y) * x, where x feeds both the add and the mul."""
    return build("branch", {"x": x, "y": y}, gates)


def gradients(builder, *args, gates=None, **backward_options):
    """Forward values and gradients of one lecture graph, as {name: value} and {name: grad}."""
    graph, out = builder(*args, gates=gates)
    grads = graph.backward(out, **backward_options)
    return types.SimpleNamespace(
        values={n.name: n.value for n in graph.nodes}, grads=grads, graph=graph, output=out
    )
