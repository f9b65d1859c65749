"""The graphs of the exercises, built with the reference gates.

The graphs themselves are described once, as data, in solutions/graphs.py (the pictures and
the draws read the same descriptions). `build` takes a description and its input values,
runs forward, and returns the Graph and its output node; `gradients` adds the backward pass.
Gate classes can be swapped (`gates=`) so the same graphs run a student's gates or a
mistaken model.
"""

import types

from . import gates as reference
from .graph import Graph
from .graphs import GRAPHS, gate_of


def gate(operation, G=reference):
    """The gate an operation of a description is, from a gate module G ('*-1' -> MulConstGate(-1.0))."""
    name, constants = gate_of(operation)
    return getattr(G, name)(*constants)


def build(graph, values, gates=None, at=None):
    """The graph (a GraphDescription, or the name of a lecture graph) on these input values
    ({input name: value}), run forward: (Graph, its output node). `at` ({node: gate module})
    builds those nodes from another module (a mistake made at one gate only)."""
    description = GRAPHS[graph] if isinstance(graph, str) else graph
    G, g, at = gates or reference, Graph(), at or {}
    nodes = {n: g.input(n, values[n]) for n in description.inputs}
    for node, operation, parents in description.gates:
        nodes[node] = g.apply(gate(operation, at.get(node, G)), *(nodes[p] for p in parents), name=node)
    return g, nodes[description.output]


def gradients(graph, *args, gates=None, at=None, **backward_options):
    """Forward values and gradients of one graph, as {name: value} and {name: grad}: a description
    (or a lecture graph's name) with {input: value}, or one of the lecture's examples below with
    its own arguments (lecture.gradients(lecture.simple, -2.0, 5.0, -4.0))."""
    g, out = graph(*args, gates=gates) if callable(graph) else build(graph, args[0], gates, at)
    grads = g.backward(out, **backward_options)
    return types.SimpleNamespace(values={n.name: n.value for n in g.nodes}, grads=grads, graph=g, output=out)


# The lecture's examples by their own arguments, as the tests and benchmarks call them.


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
