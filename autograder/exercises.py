"""The notebook's exercises that are not a single gate: hand-computed answers and
functions built from the student's gates, each tied to one lecture graph.

The table below is what the notebook builder, the hidden checks and the tests read:
which graph an exercise uses, which problem values feed it, and which of its values and
gradients the student must give (answer variable -> ("value" | "grad", graph node)).
"""
import types
from dataclasses import dataclass

import numpy as np

from solutions import gates as reference
from solutions import lecture
from solutions.misconceptions import CATALOG, Seen, overwrite


@dataclass(frozen=True)
class GraphExercise:
    id: str  # the grade_id of the answer cell; its test cell is test_<id>
    problem: str  # the key of the student's values in bpkit.problems
    builder: object  # a graph of solutions.lecture
    answers: dict  # answer variable -> ("value" | "grad", node name)

    def arguments(self, values):
        """The builder's arguments from one problem's values."""
        return tuple(values[name] for name in self.builder.__code__.co_varnames[: self.arity])

    @property
    def arity(self):
        return self.builder.__code__.co_argcount - 1  # all but gates=

    def correct(self, values, gates=None, **backward_options):
        result = lecture.gradients(self.builder, *self.arguments(values), gates=gates, **backward_options)
        return {name: (result.values if kind == "value" else result.grads)[node]
                for name, (kind, node) in self.answers.items()}

    def mistaken(self, values):
        """{misconception id: [answers the mistake produces]} for the mistakes this graph can show."""
        graph = lecture.gradients(self.builder, *self.arguments(values)).graph
        output = graph.nodes[-1]
        inner_gates = {type(n.gate).__name__ for n in graph.nodes if n.gate is not None and n is not output}
        all_gates = inner_gates | {type(output.gate).__name__}
        fans_out = any(sum(p is n for m in graph.nodes for p in m.parents) > 1 for n in graph.nodes)
        found = {}
        for m in CATALOG:
            if m.id == "branch-overwrite":
                if fans_out:
                    found[m.id] = [self.correct(values, combine=overwrite)]
            # The output gate's upstream gradient is 1, so forgetting it there shows nowhere.
            elif (inner_gates if m.id == "upstream-ignored" else all_gates) & set(m.gates):
                answers = []
                for k in range(_n_variants(m)):
                    module = mistaken_gates(m, k)
                    answers.append(self.correct(values, gates=module))
                if any(module.applied):  # e.g. batch-not-summed has nothing to say about a single vector
                    found[m.id] = answers
        return found


def _n_variants(misconception):
    return {"sigmoid-missing-term": 2, "batch-not-summed": 2}.get(misconception.id, 1)


def mistaken_gates(misconception, variant=0):
    """The reference gates, with every gate the misconception applies to replaced by its
    error model: a gate module (like solutions.gates) for solutions.lecture's builders."""
    module = types.SimpleNamespace(**{k: v for k, v in vars(reference).items() if isinstance(v, type)})
    module.applied = []  # set when some gate's error model actually changed a gradient
    for name in misconception.gates:
        if hasattr(module, name):
            setattr(module, name, _mistaken(getattr(module, name), misconception, variant, module.applied))
    return module


def _mistaken(gate_class, misconception, variant, applied):
    class Mistaken(gate_class):
        def forward(self, *inputs):
            self._seen_inputs = inputs
            self._seen_out = super().forward(*inputs)
            return self._seen_out

        def backward(self, dout):
            correct = super().backward(dout)
            single = not isinstance(correct, tuple)
            seen = Seen(self._seen_inputs, self._seen_out, dout, (correct,) if single else correct)
            variants = misconception.variants(seen)
            grads = variants[min(variant, len(variants) - 1)] if variants else seen.correct
            applied.append(bool(variants))
            return grads[0] if single else grads

    Mistaken.__name__ = gate_class.__name__
    return Mistaken


EXERCISES = (
    GraphExercise("simple_by_hand", "simple", lecture.simple, {
        "q": ("value", "q"), "f": ("value", "f"),
        "dfdq": ("grad", "q"), "dfdz": ("grad", "z"), "dfdx": ("grad", "x"), "dfdy": ("grad", "y"),
    }),
    GraphExercise("neuron_by_hand", "neuron", lecture.neuron_staged, {
        "f": ("value", "f"),
        "dfd_denom": ("grad", "denom"), "dfd_exp": ("grad", "exp"), "dfd_neg": ("grad", "neg"),
        "dfds": ("grad", "s"),
        "dfdw0": ("grad", "w0"), "dfdx0": ("grad", "x0"), "dfdw1": ("grad", "w1"),
        "dfdx1": ("grad", "x1"), "dfdw2": ("grad", "w2"),
    }),
    GraphExercise("branch_by_hand", "branch", lecture.branch, {
        "q": ("value", "q"), "f": ("value", "f"), "dfdx": ("grad", "x"), "dfdy": ("grad", "y"),
    }),
    GraphExercise("l2_by_hand", "l2", lecture.l2_of_matmul, {
        "q": ("value", "q"), "f": ("value", "f"),
        "dfdq": ("grad", "q"), "dfdW": ("grad", "W"), "dfdx": ("grad", "x"),
    }),
)

BY_ID = {e.id: e for e in EXERCISES}


def differs(a, b, abs_tol, rel_tol, margin=1.0):
    """True when a and b differ in shape, or somewhere by more than margin * tolerance."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return True
    return bool(np.any(np.abs(a - b) > margin * (abs_tol + rel_tol * np.abs(b))))


@dataclass(frozen=True)
class FunctionExercise:
    """A function the student builds from their gates: f and its gradients for any inputs."""

    id: str  # the function's name and the grade_id of its cell
    builder: object  # the lecture graph it must reproduce
    outputs: tuple  # the gradient structure it returns, as graph node names
    needs: tuple  # grade_ids of the gate cells it uses

    def correct(self, args, gates=None, **backward_options):
        result = lecture.gradients(self.builder, *args, gates=gates, **backward_options)
        return result.values[result.output.name], _pick(result.grads, self.outputs)


def _pick(grads, structure):
    return tuple(_pick(grads, s) if isinstance(s, tuple) else grads[s] for s in structure)


FUNCTIONS = (
    FunctionExercise("simple_with_gates", lecture.simple, ("x", "y", "z"), ("add_gate", "mul_gate")),
    FunctionExercise("neuron_with_gates", lecture.neuron_shortcut, (("w0", "w1", "w2"), ("x0", "x1")),
                     ("add_gate", "mul_gate", "sigmoid_gate")),
    FunctionExercise("branch_with_gates", lecture.branch, ("x", "y"), ("add_gate", "mul_gate")),
    FunctionExercise("l2_with_gates", lecture.l2_of_matmul, ("W", "x"), ("matmul_gate", "l2_gate")),
)

FUNCTIONS_BY_ID = {e.id: e for e in FUNCTIONS}

JACOBIAN_ANSWERS = {  # not randomized: the lecture's sizes
    "jacobian_entries": 4096 * 4096,
    "jacobian_nonzero": 4096,
    "batch_jacobian_entries": 409_600 * 409_600,
}
