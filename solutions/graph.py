"""A small computational-graph engine: nodes, a topological order, one backward pass.

    g = Graph()
    x, y, z = g.input("x", -2.0), g.input("y", 5.0), g.input("z", -4.0)
    q = g.apply(AddGate(), x, y, name="q")
    f = g.apply(MulGate(), q, z, name="f")
    g.backward(f)            # x.grad == -4.0, y.grad == -4.0, z.grad == 3.0

Where a node feeds several gates its gradient is the *sum* of what comes back along
each branch (the multivariate chain rule), so backward accumulates with `combine`,
which is addition. The misconception catalog passes another `combine` to model a
student who overwrites instead.
"""

import operator

import numpy as np


class Node:
    """One value of the graph, with the gate that made it and that gate's inputs."""

    def __init__(self, name, value, gate=None, parents=()):
        self.name, self.value, self.gate, self.parents = name, value, gate, tuple(parents)
        self.grad = None  # None until some branch sends a gradient back

    def __repr__(self):
        return f"Node({self.name}={self.value!r}, grad={self.grad!r})"


class Graph:
    def __init__(self):
        self.nodes = []

    def input(self, name, value):
        return self._add(Node(name, value))

    def apply(self, gate, *parents, name=None):
        value = gate.forward(*(p.value for p in parents))
        name = name or f"{type(gate).__name__}#{len(self.nodes)}"
        return self._add(Node(name, value, gate, parents))

    def _add(self, node):
        self.nodes.append(node)
        return node

    def __getitem__(self, name):
        return next(n for n in self.nodes if n.name == name)

    @staticmethod
    def topological_order(output):
        """Every node before the nodes it feeds, ending with `output`."""
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        visit(output)
        return order

    def backward(self, output, seed=1.0, combine=operator.add):
        for node in self.nodes:
            node.grad = None
        output.grad = np.ones_like(output.value) * seed if np.ndim(output.value) else seed
        for node in reversed(self.topological_order(output)):
            if node.gate is None or node.grad is None:
                continue
            grads = node.gate.backward(node.grad)
            if len(node.parents) == 1:
                grads = (grads,)
            for parent, grad in zip(node.parents, grads):
                parent.grad = grad if parent.grad is None else combine(parent.grad, grad)
        return {node.name: node.grad for node in self.nodes}
