"""The notebook's exercises that are not a single gate: hand-computed answers and
functions built from the student's gates, each tied to one lecture graph.

The tables below are what the notebook builder, the hidden checks, the tests and (as data,
bpkit/exercise_table.json: see shipped_functions) the students' self-checks read:
which graph an exercise uses, which problem values feed it, and which of its values and
gradients the student must give (answer variable -> ("value" | "grad", graph node)).
"""
import types
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from solutions import gates as reference
from solutions import lecture
from solutions.misconceptions import CATALOG, Seen, overwrite
from solutions.table import gates_named_by

from .bpkit.gradcheck import INPUT_RANGE  # where no gate saturates: the self-checks draw there too


Values = dict[str, Any]  # one problem's values, as bpkit.problems draws them (numbers and arrays)
Answers = dict[str, Any]  # answer variable -> its value


class HandAnswers(Protocol):
    """The kind of exercise graded by the answers a student types (HAND_ANSWERS):
    GraphExercise (values from a lecture graph) and FixedAnswers (the same for everyone)."""

    id: str  # the grade_id of the answer cell; its test cell is test_<id>
    problem: str | None  # the key of the student's values in bpkit.problems; None: no values
    answers: dict

    def correct(self, values: Values) -> Answers:
        """The right answers for these values."""
        ...

    def mistaken(self, values: Values) -> dict[str, list[Answers]]:
        """{misconception id: the answers it gives, one dict per variant}."""
        ...


@dataclass(frozen=True)
class GraphExercise:  # a HandAnswers
    id: str  # the grade_id of the answer cell; its test cell is test_<id>
    problem: str  # the key of the student's values in bpkit.problems
    builder: Callable  # a graph of solutions.lecture
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
        gates_used = {type(n.gate).__name__ for n in graph.nodes if n.gate is not None}
        fans_out = any(sum(p is n for m in graph.nodes for p in m.parents) > 1 for n in graph.nodes)
        found = {}
        for m in CATALOG:
            if m.scope == "graph":
                if fans_out:
                    found[m.id] = [self.correct(values, combine=overwrite)]
            elif gates_used & set(gates_named_by(m.id)):
                answers = [self.correct(values, gates=mistaken_gates(m, k)) for k in range(m.ways)]
                # A mistake that moves no answer clearly here (batch-not-summed without a batch, a
                # forgotten upstream gradient where it is about 1) cannot be told from rounding.
                if all(_clearly_differ(a, self.correct(values)) for a in answers):
                    found[m.id] = answers
        return found


# "Clearly": by more than five times course.yaml's default hand-answer tolerance somewhere.
# The problem draws make every catalogued mistake clear for almost every student (the tests
# check both); where one is not, it is not named.
CLEAR_ABS, CLEAR_REL = 0.025, 0.025


def _clearly_differ(answers, correct):
    return any(np.shape(answers[k]) != np.shape(v)
               or np.any(np.abs(np.asarray(answers[k], float) - v) > CLEAR_ABS + CLEAR_REL * np.abs(v))
               for k, v in correct.items())


def mistaken_gates(misconception, variant=0):
    """The reference gates, with every gate the misconception applies to replaced by its
    error model: a gate module (like solutions.gates) for solutions.lecture's builders."""
    module = types.SimpleNamespace(**{k: v for k, v in vars(reference).items() if isinstance(v, type)})
    for name in gates_named_by(misconception.id):
        setattr(module, name, _mistaken(getattr(module, name), misconception, variant))
    return module


def _mistaken(gate_class, misconception, variant):
    class Mistaken(gate_class):
        def forward(self, *inputs):
            self._seen_inputs = inputs
            self._seen_out = super().forward(*inputs)
            return self._seen_out

        def backward(self, dout):
            correct = super().backward(dout)
            single = not isinstance(correct, tuple)
            seen = Seen(self._seen_inputs, self._seen_out, dout, (correct,) if single else correct,
                        lambda d: _as_tuple(gate_class.backward(self, d)))
            variants = misconception.variants(seen)
            grads = variants[min(variant, len(variants) - 1)] if variants else seen.correct
            return grads[0] if single else grads

    Mistaken.__name__ = gate_class.__name__
    return Mistaken


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


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


@dataclass(frozen=True)
class FixedAnswers:  # a HandAnswers
    """A question whose answers are the same for everyone (the lecture's sizes)."""

    id: str
    answers: dict
    problem = None  # no problem values

    def correct(self, values=None):
        return dict(self.answers)

    def mistaken(self, values=None):
        return {}


JACOBIAN = FixedAnswers("jacobian_question", {
    "jacobian_entries": 4096 * 4096,
    "jacobian_nonzero": 4096,
    "batch_jacobian_entries": 409_600 * 409_600,
})
JACOBIAN_ANSWERS = JACOBIAN.answers
HAND_ANSWERS: dict[str, HandAnswers] = {e.id: e for e in EXERCISES + (JACOBIAN,)}  # every exercise graded by its answers


@dataclass(frozen=True)
class FunctionExercise:
    """A function the student builds from their gates: f and its gradients for any inputs."""

    id: str  # the function's name and the grade_id of its cell
    problem: str  # the key of the student's values (bpkit.problems); self-checks run it on inputs shaped like them
    builder: Callable  # the lecture graph it must reproduce
    outputs: tuple  # the gradient structure it returns, as graph node names
    needs: tuple[str, ...]  # grade_ids of the gate cells it uses
    cases: Callable[[np.random.Generator], list[tuple[str, tuple]]]  # the inputs it is graded on: [(label, args)]

    def correct(self, args, gates=None, **backward_options):
        result = lecture.gradients(self.builder, *args, gates=gates, **backward_options)
        return result.values[result.output.name], _pick(result.grads, self.outputs)

    @property
    def gradient_names(self):
        """The gradients it returns, flattened in order and named as the hand answers name
        them: (("w0", "w1"), ("x0",)) -> dfdw0, dfdw1, dfdx0."""
        return tuple(f"dfd{node}" for node in _leaves(self.outputs))


def _pick(grads, structure):
    return tuple(_pick(grads, s) if isinstance(s, tuple) else grads[s] for s in structure)


def _leaves(structure):
    return [leaf for s in structure for leaf in (_leaves(s) if isinstance(s, tuple) else [s])]


def _small_numbers(n):
    """n Python floats, whole numbers plus a quarter, half or three quarters: exact in binary."""
    return lambda rng: tuple(float(v) for v in rng.integers(-9, 10, size=n) + rng.choice([0.25, 0.5, 0.75], n))


def _twice(draw):
    return lambda rng: [("random inputs", draw(rng)), ("more random inputs", draw(rng))]


FUNCTIONS = (
    FunctionExercise("simple_with_gates", "simple", lecture.simple, ("x", "y", "z"), ("add_gate", "mul_gate"),
                     _twice(_small_numbers(3))),
    FunctionExercise("neuron_with_gates", "neuron", lecture.neuron_shortcut, (("w0", "w1", "w2"), ("x0", "x1")),
                     ("add_gate", "mul_gate", "sigmoid_gate"),
                     lambda rng: [("the lecture's neuron", ((2.0, -3.0, -3.0), (-1.0, -2.0))),
                                  ("random weights", (tuple(rng.uniform(-INPUT_RANGE, INPUT_RANGE, 3)),
                                                      tuple(rng.uniform(-INPUT_RANGE, INPUT_RANGE, 2))))]),
    FunctionExercise("branch_with_gates", "branch", lecture.branch, ("x", "y"), ("add_gate", "mul_gate"),
                     _twice(_small_numbers(2))),
    FunctionExercise("l2_with_gates", "l2", lecture.l2_of_matmul, ("W", "x"), ("matmul_gate", "l2_gate"),
                     lambda rng: [("a vector x", (rng.normal(size=(3, 5)), rng.normal(size=5))),
                                  ("a batch x of 4 columns", (rng.normal(size=(3, 5)), rng.normal(size=(5, 4))))]),
)

FUNCTIONS_BY_ID = {e.id: e for e in FUNCTIONS}


def shipped_functions():
    """What the students' self-checks and Validate know of the functions
    (bpkit/exercise_table.json): each one's problem values and the names of the gradients it
    returns. Both are in the released notebook's text already; no inputs it is graded on, no
    answers."""
    return {e.id: {"problem": e.problem, "gradients": list(e.gradient_names)} for e in FUNCTIONS}
