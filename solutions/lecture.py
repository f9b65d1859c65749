"""The lecture's computational graphs, built with the reference gates.

Each builder takes the input values, runs forward, and returns the Graph and its
output node; call `graph.backward(output)` for the gradients. Gate classes can be
swapped (`gates=`) so the same graphs run a student's gates or a mistaken model.
"""
import types

from . import gates as reference
from .graph import Graph


def _gates(gates):
    return gates or reference


def simple(x, y, z, gates=None):
    """Example 1: f = (x + y) * z."""
    G, g = _gates(gates), Graph()
    q = g.apply(G.AddGate(), g.input("x", x), g.input("y", y), name="q")
    return g, g.apply(G.MulGate(), q, g.input("z", z), name="f")


def neuron_staged(w, x, gates=None):
    """Example 2 gate by gate: 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))."""
    G, g = _gates(gates), Graph()
    s = _weighted_sum(G, g, w, x)
    neg = g.apply(G.MulConstGate(-1.0), s, name="neg")
    e = g.apply(G.ExpGate(), neg, name="exp")
    d = g.apply(G.AddConstGate(1.0), e, name="denom")
    return g, g.apply(G.ReciprocalGate(), d, name="f")


def neuron_shortcut(w, x, gates=None):
    """Example 2 with one sigmoid gate in place of the four staged ones."""
    G, g = _gates(gates), Graph()
    s = _weighted_sum(G, g, w, x)
    return g, g.apply(G.SigmoidGate(), s, name="f")


def _weighted_sum(G, g, w, x):
    """w0*x0 + w1*x1 + w2, the neuron's pre-activation, with its five inputs as graph inputs."""
    names, values = ("w0", "x0", "w1", "x1", "w2"), (w[0], x[0], w[1], x[1], w[2])
    w0, x0, w1, x1, w2 = (g.input(n, v) for n, v in zip(names, values))
    p0 = g.apply(G.MulGate(), w0, x0, name="w0x0")
    p1 = g.apply(G.MulGate(), w1, x1, name="w1x1")
    p = g.apply(G.AddGate(), p0, p1, name="p")
    return g.apply(G.AddGate(), p, w2, name="s")


def l2_of_matmul(W, x, gates=None):
    """Example 3: f = ||W x||^2, for a vector x of shape (D,) or a batch of shape (D, N)."""
    G, g = _gates(gates), Graph()
    q = g.apply(G.MatMulGate(), g.input("W", W), g.input("x", x), name="q")
    return g, g.apply(G.L2Gate(), q, name="f")


def branch(x, y, gates=None):
    """Gradients add at branches: f = (x + y) * x, where x feeds both the add and the mul."""
    G, g = _gates(gates), Graph()
    xn = g.input("x", x)
    q = g.apply(G.AddGate(), xn, g.input("y", y), name="q")
    return g, g.apply(G.MulGate(), q, xn, name="f")


def gradients(builder, *args, gates=None, **backward_options):
    """Forward values and gradients of one lecture graph, as {name: value} and {name: grad}."""
    graph, out = builder(*args, gates=gates)
    grads = graph.backward(out, **backward_options)
    return types.SimpleNamespace(
        values={n.name: n.value for n in graph.nodes}, grads=grads, graph=graph, output=out
    )
