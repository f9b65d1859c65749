"""What nbgrader's Validate runs: the visible line of every graded cell.

`nbgrader validate` and JupyterLab's Validate button run the notebook in the student's own
kernel and call it a success when no graded cell fails. A graded cell's real tests run
only after submission, outside the student's kernel, so its visible part calls one of
these functions instead. Each raises `ExerciseNotReady`, with a plain message naming the
exercise, when the exercise is unfinished (a stub left in, NotImplementedError, answers
not given) or when the student's code disagrees with itself (backward is not the slope of
the student's own forward, wrong shapes or types). It never compares anything with a
correct answer, so passing it says "finished and self-consistent", not "right"; and it
decides no score: autograde never runs these lines.

Shipped to students as bpkit/validate.py (numpy + standard library).
"""
import textwrap

import numpy as np

from . import selfcheck
from .gate_kinds import KINDS

WIDTH = 78  # nbgrader validate cuts longer lines with "..."
NOT_RIGHT = ("Validate only checks that the exercise is finished and that your code agrees with itself; "
             "whether it is right is graded after you submit.")


class ExerciseNotReady(Exception):
    """An exercise Validate must not call a success. Shown without a traceback: the message is
    the whole story, and the frames would only show bpkit's code."""

    HEADS = {"unfinished": "not finished yet.", "inconsistent": "your code disagrees with itself.",
             "form": "some answers are not in the form asked for."}

    def __init__(self, title, problems, unfinished=False, kind=None):
        self.title, self.problems = title, list(problems)
        self.kind = kind or ("unfinished" if unfinished else "inconsistent")
        super().__init__(self.message())

    def message(self, prefix=""):
        head = textwrap.fill(f"{prefix}{self.title}: {self.HEADS[self.kind]}", WIDTH, subsequent_indent="  ")
        return "\n".join([head] + [_fill("  " + p) for p in self.problems] + [_fill(NOT_RIGHT)])

    def _render_traceback_(self):  # IPython shows this list instead of a traceback
        return [self.message(prefix=f"{type(self).__name__}: ")]


def _fill(line):
    """Wrap one line at WIDTH, continuation lines indented two more than the line itself."""
    indent = line[:len(line) - len(line.lstrip())]
    return textwrap.fill(line.strip(), WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def answers(exercise, namespace, shapes, title=None):
    """Hand answers: every name defined, replaced (not ...), numbers of the right shape.
    shapes: {answer name: its shape, () for a single number}."""
    title = title or exercise
    missing, problems = selfcheck.answer_findings(selfcheck.lookup(namespace, shapes), shapes)
    if missing:
        raise ExerciseNotReady(title, [f"Not answered yet: {', '.join(missing)}. Replace each ... in the "
                                       "exercise's cell with your answer, then run that cell."] + problems,
                               unfinished=True)
    if problems:
        raise ExerciseNotReady(title, problems, kind="form")


def gate(exercise, check, namespace, title=None):
    """A gate class: defined; forward runs and returns the right shape; for "backward", backward
    returns one gradient per input, each with its input's shape, and matches the slope of the
    student's own forward; for "ties", backward runs at its kinks (its kind's, bpkit/gate_kinds.py)."""
    spec = selfcheck.GATE_BY_CELL[exercise]
    name = spec["name"]
    title = title or f"{name}.{check}"
    cls = namespace.get(name)
    if not isinstance(cls, type):
        raise ExerciseNotReady(title, [f"{name} is not defined: run its cell (the class {name})."], unfinished=True)
    steps = ("forward",) if check == "forward" else ("forward", "backward")
    findings = selfcheck.gate_findings(cls, seed=sum(map(ord, exercise + check)), steps=steps)
    if check == "ties" and not findings:
        findings = _kink_findings(cls, spec)
    _raise_findings(title, findings)


def _kink_findings(cls, spec):
    """backward at the gate's kinks (its kind's, bpkit/gate_kinds.py): it runs and returns one
    gradient per input, each of its input's shape. Which split is right there is not asked."""
    names = ["d" + name for name in spec["inputs"]]
    for label, inputs in KINDS[spec["kind"]].kink.cases(np.random.default_rng(0)):
        try:
            g = cls()
            selfcheck.quietly(lambda: g.forward(*inputs))
            grads = selfcheck.quietly(lambda: g.backward(np.ones_like(inputs[0]) * 0.7))
        except NotImplementedError:
            return [selfcheck.Finding("stub", ["backward is not implemented yet."], unfinished=True)]
        except Exception as e:
            return [selfcheck.Finding("error", [f"backward raised {type(e).__name__}: {e}"], [label])]
        if len(names) == 1 and not isinstance(grads, (tuple, list)):
            grads = (grads,)
        counted = isinstance(grads, (tuple, list)) and len(grads) == len(names)
        problems = selfcheck.answer_findings(dict(zip(names, grads)) if counted else {},
                                             {n: np.shape(v) for n, v in zip(names, inputs)})[1]
        if not counted or problems:
            return [selfcheck.Finding("shape", problems or [f"backward must return {len(names)} gradient(s), one "
                                                            f"per input ({', '.join(names)})."], [label])]
    return []


def function(exercise, namespace, title=None):
    """A function built from gates, on the student's own numbers: defined, runs, returns f and
    one gradient per input, and its gradients match the slope of its own f."""
    title = title or exercise
    fn = namespace.get(exercise)
    if not callable(fn):
        raise ExerciseNotReady(title, [f"{exercise} is not defined: run its cell."], unfinished=True)
    problems = getattr(namespace.get("P"), selfcheck.PROBLEM_OF[exercise], None)
    if problems is None:
        raise ExerciseNotReady(title, ["Your numbers are not loaded: run the setup cell at the top "
                                       "(on your own computer, set STUDENT_ID first)."], unfinished=True)
    unfinished, lines = selfcheck.function_findings(fn, problems, seed=sum(map(ord, exercise)))
    if lines:
        raise ExerciseNotReady(title, lines, unfinished=unfinished)


def _raise_findings(title, findings):
    if not findings:
        return
    unfinished = [f for f in findings if f.unfinished]
    if unfinished:
        raise ExerciseNotReady(title, [f.lines[0] for f in unfinished], unfinished=True)
    lines = []
    for finding in findings:
        lines += finding.text(indent="")
    raise ExerciseNotReady(title, lines)
