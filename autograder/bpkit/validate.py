"""What nbgrader's Validate runs: the visible line of every graded cell.

`nbgrader validate` and JupyterLab's Validate button run the notebook in the student's own
kernel and call it a success when no graded cell fails. A graded cell's real tests run
only after submission, outside the student's kernel, so its visible part calls one of
these functions instead. Each finds, in plain words naming the exercise, whether the
exercise is unfinished (a stub left in, NotImplementedError, answers not given) or the
student's code disagrees with itself (backward is not the slope of the student's own
forward, wrong shapes or types). It never compares anything with a correct answer, so
passing it says "finished and self-consistent", not "right"; and it decides no score:
autograde never runs these lines.

nbgrader's Validate dialog prints the whole source of every failing graded cell, so an
unfinished notebook failing cell by cell is a wall of repeated code. Instead each check
prints what it found under its own cell (for a student running that cell) and records it;
`summary()`, the visible line of the notebook's last graded cell, fails once with one line
per unfinished exercise and then the first real problem in detail (`NotebookNotReady`).

Shipped to students as bpkit/validate.py (numpy + standard library).
"""

import textwrap
import unicodedata

import numpy as np

from . import forms, reach, selfcheck
from .i18n import N_, STUDENT_WORDS

_ = STUDENT_WORDS.gettext
ngettext = STUDENT_WORDS.ngettext

WIDTH = 78  # nbgrader validate cuts longer lines with "..."
LINE = 83  # the longest line nbgrader's dialog shows whole (90 columns, 4 of indent, 3 for "...")
NOT_RIGHT = N_(
    "Validate only checks that the exercise is finished and that your code agrees with itself; "
    "whether it is right is graded after you submit."
)


class ExerciseNotReady(Exception):
    """An exercise Validate must not call a success. Shown without a traceback: the message is
    the whole story, and the frames would only show bpkit's code. `todo`: for an unfinished
    exercise, what is left to do, in a few words ("write backward in the AddGate cell")."""

    HEADS = {  # noqa: RUF012
        "unfinished": N_("not finished yet."),
        "inconsistent": N_("your code disagrees with itself."),
        "form": N_("some answers are not in the form asked for."),
        "graded": N_("this will fail where your notebook is graded."),
    }

    def __init__(self, title, problems, unfinished=False, kind=None, todo=""):
        self.title, self.problems, self.todo = title, list(problems), todo
        self.kind = kind or ("unfinished" if unfinished else "inconsistent")
        super().__init__(self.message())

    def message(self, prefix=""):
        if self.kind == "unfinished" and self.todo:
            return _fill(
                prefix + _("{title}: not finished yet: {todo}.").format(title=self.title, todo=self.todo)
            )
        head = fill(f"{prefix}{self.title}: {_(self.HEADS[self.kind])}", WIDTH, subsequent_indent="  ")
        return "\n".join([head] + [_fill("  " + p) for p in self.problems] + [_fill(_(NOT_RIGHT))])

    def line(self):
        """One line for the summary: the exercise and what is left to do (or what is wrong)."""
        what = self.todo if self.kind == "unfinished" and self.todo else _(self.HEADS[self.kind]).rstrip(".")
        return fill(f"  - {self.title}: {what}", LINE, subsequent_indent="    ")

    def _render_traceback_(self):  # IPython shows this list instead of a traceback
        return [self.message()]


class NotebookNotReady(Exception):
    """What Validate reports for the whole notebook, from its last graded cell: every
    unfinished exercise in one line (what is left to do), every exercise with a problem in
    one line, then the first problem in detail."""

    def __init__(self, unfinished, problems):
        self.unfinished, self.problems = list(unfinished), list(problems)
        super().__init__(self.message())

    def message(self):
        lines = []
        if self.unfinished:
            n = len(self.unfinished)
            lines.append(
                _fill(
                    ngettext(
                        "{count} exercise is not finished yet (replace each ... with your answer, each YOUR CODE HERE "
                        "with your code):",
                        "{count} exercises are not finished yet (replace each ... with your answer, each YOUR CODE HERE "
                        "with your code):",
                        n,
                    ).format(count=n)
                )
            )
            lines += [e.line() for e in self.unfinished]
        if len(self.problems) > 1:
            lines.append(_("{count} exercises have a problem:").format(count=len(self.problems)))
            lines += [e.line() for e in self.problems]
        if self.problems:
            lines += [
                "",
                _("The first problem, in detail:") if len(self.problems) > 1 else _("A problem to fix:"),
                self.problems[0].message(),
            ]
        elif lines:
            lines.append(_fill(_(NOT_RIGHT)))
        return "\n".join(lines)

    def _render_traceback_(self):
        return [self.message()]


# What each check found in this kernel, by exercise title, in the order the cells ran: the
# summary reports it. A cell run again replaces its entry.
_FOUND: dict = {}


def _record(title, check):
    """Run one check: remember what it found and say it under the cell, without failing it."""
    try:
        check()
    except ExerciseNotReady as e:
        _FOUND[title] = e
        print(e.message())
    else:
        _FOUND[title] = None


def summary():
    """The visible line of a notebook's last graded cell: fails once for the whole notebook
    when any exercise is unfinished or disagrees with itself."""
    imports = reach.notebook_imports_said(_kernel_namespace())
    if imports:  # a cell imports what the grading environment lacks: it fails there, whichever cell
        _FOUND[_("Imports")] = ExerciseNotReady(_("Imports"), imports, kind="graded")
    found = [e for e in _FOUND.values() if e is not None]
    if found:
        raise NotebookNotReady(
            [e for e in found if e.kind == "unfinished"], [e for e in found if e.kind != "unfinished"]
        )


def _kernel_namespace():
    """The student kernel's globals (where IPython's `In` history is), or {} outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def _fitting(title, todo, shorter):
    """`todo`, or `shorter` when the summary's line for this exercise would not fit in one line."""
    return todo if columns(f"  - {title}: {todo}") <= LINE else shorter


def _fill(line):
    """Wrap one line at WIDTH, continuation lines indented two more than the line itself."""
    indent = line[: len(line) - len(line.lstrip())]
    return fill(line.strip(), WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def columns(text):
    """How many columns `text` takes in a monospaced font: Hangul and other wide characters two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fill(text, width, initial_indent="", subsequent_indent=""):
    """textwrap.fill, by columns rather than characters: a Korean line of 78 characters is some 130
    columns wide in Validate's dialog. Text of narrow characters only is wrapped by textwrap itself."""
    if columns(text) == len(text):
        return textwrap.fill(text, width, initial_indent=initial_indent, subsequent_indent=subsequent_indent)
    leading = text[: len(text) - len(text.lstrip())]  # kept, as textwrap keeps a paragraph's
    lines, line, first = [], initial_indent + leading, True
    for word in text.split():
        candidate = line + word if first else line + " " + word
        if not first and columns(candidate) > width:
            lines.append(line)
            line = subsequent_indent + word
        else:
            line = candidate
        first = False
    return "\n".join(lines + [line])


def answers(exercise, namespace, shapes, title=None):
    """Hand answers: every name defined, replaced (not ...), numbers of the right shape.
    shapes: {answer name: its shape, () for a single number}."""
    title = title or exercise
    _record(title, lambda: _answers(title, namespace, shapes))


def _answers(title, namespace, shapes):
    # First: a cell that reaches beyond what it is graded with fails there whatever it gives here
    # (and in Validate's fresh kernel, a gate class defined further down leaves it unanswered).
    graded_apart = reach.hand_cell_said(namespace, list(shapes))
    if graded_apart:
        raise ExerciseNotReady(title, graded_apart, kind="graded")
    missing, problems = selfcheck.answer_findings(selfcheck.lookup(namespace, shapes), shapes)
    if missing:
        raise ExerciseNotReady(
            title,
            [forms.Refused("unanswered").words(_, ", ".join(missing))] + problems,
            unfinished=True,
            todo=_fitting(
                title,
                _("answer {names}").format(names=", ".join(missing)),
                _("give its {count} answers").format(count=len(missing)),
            ),
        )
    if problems:
        raise ExerciseNotReady(title, problems, kind="form")


def gate(exercise, check, namespace, title=None):
    """A gate class: defined; forward runs and returns the right shape; for "backward", backward
    returns one gradient per input, each with its input's shape, and matches the slope of the
    student's own forward; for "ties", backward runs at its kinks (its kind's, bpkit/gate_kinds.py)."""
    spec = selfcheck.GATE_BY_CELL[exercise]
    name = spec.name
    title = title or f"{name}.{check}"
    _record(title, lambda: _gate(exercise, check, namespace, title, spec, name))


def _gate(exercise, check, namespace, title, spec, name):
    cls = namespace.get(name)
    if not isinstance(cls, type):
        raise ExerciseNotReady(
            title,
            [_("{name} is not defined: run its cell (the class {name}).").format(name=name)],
            unfinished=True,
            todo=_("run the {name} cell ({name} is not defined yet)").format(name=name),
        )
    steps = ("forward",) if check == "forward" else ("forward", "backward")
    findings = selfcheck.gate_findings(cls, seed=sum(map(ord, exercise + check)), steps=steps)
    if check == "ties" and not findings:
        findings = _kink_findings(cls, spec)
    _raise_findings(title, findings, name, check)


def _kink_findings(cls, spec):
    """backward at the gate's kinks (its kind's, bpkit/gate_kinds.py): it runs and returns one
    gradient per input, each of its input's shape. Which split is right there is not asked."""
    names = ["d" + name for name in spec.inputs]
    for label, inputs in spec.kind_of.kink.cases(np.random.default_rng(0)):
        try:
            g = cls()
            selfcheck.quietly(lambda: g.forward(*inputs))  # noqa: B023
            grads = selfcheck.quietly(lambda: g.backward(np.ones_like(inputs[0]) * 0.7))  # noqa: B023
        except NotImplementedError:
            return [selfcheck.Finding("stub", [_("backward is not implemented yet.")], unfinished=True)]
        except Exception as e:
            return [
                selfcheck.Finding(
                    "error",
                    [_("backward raised {error}: {message}").format(error=type(e).__name__, message=e)],
                    [label],
                )
            ]
        if len(names) == 1 and not isinstance(grads, (tuple, list)):
            grads = (grads,)
        counted = isinstance(grads, (tuple, list)) and len(grads) == len(names)
        problems = selfcheck.answer_findings(
            dict(zip(names, grads)) if counted else {}, {n: np.shape(v) for n, v in zip(names, inputs)}
        )[1]
        if not counted or problems:
            return [
                selfcheck.Finding(
                    "shape",
                    problems
                    or [
                        _("backward must return {count} gradient(s), one per input ({names}).").format(
                            count=len(names), names=", ".join(names)
                        )
                    ],
                    [label],
                )
            ]
    return []


def function(exercise, namespace, title=None):
    """A function built from gates, on the student's own numbers: defined, runs, returns f and
    one gradient per input, and its gradients match the slope of its own f."""
    title = title or exercise
    _record(title, lambda: _function(exercise, namespace, title))


def _function(exercise, namespace, title):
    fn = namespace.get(exercise)
    if not callable(fn):
        raise ExerciseNotReady(
            title,
            [_("{name} is not defined: run its cell.").format(name=exercise)],
            unfinished=True,
            todo=_("run the {name} cell ({name} is not defined yet)").format(name=exercise),
        )
    problems = getattr(namespace.get("P"), selfcheck.PROBLEM_OF[exercise], None)
    if problems is None:
        raise ExerciseNotReady(
            title,
            [
                _(
                    "Your numbers are not loaded: run the setup cell at the top "
                    "(on your own computer, set STUDENT_ID first)."
                )
            ],
            unfinished=True,
            todo=_("run the setup cell at the top first (your numbers are not loaded)"),
        )
    unfinished, lines = selfcheck.function_findings(fn, problems, seed=sum(map(ord, exercise)))
    if lines:
        raise ExerciseNotReady(
            title,
            lines,
            unfinished=unfinished,
            todo=_fitting(title, _("write the function (and the gates it uses)"), _("write the function"))
            if unfinished
            else "",
        )


# What is left to write, by the stubs a gate's check ran into (selfcheck's finding keys).
WHAT_TO_WRITE_FOR_STUBS = {
    ("forward-stub",): N_("write forward in the {name} cell"),
    ("backward-stub",): N_("write backward in the {name} cell"),
    ("stub",): N_("write backward in the {name} cell"),
}
WRITE_BOTH = N_("write forward and backward in the {name} cell")  # any other mix of stubs


def _raise_findings(title, findings, name, check):
    if not findings:
        return
    unfinished = [f for f in findings if f.unfinished]
    if unfinished:
        keys = tuple(dict.fromkeys(f.key for f in unfinished))
        todo = _(WHAT_TO_WRITE_FOR_STUBS.get(keys, WRITE_BOTH)).format(name=name)
        if keys == ("forward-stub",) and check != "forward":
            todo = _("write forward, then backward, in the {name} cell").format(
                name=name
            )  # backward needs forward
        raise ExerciseNotReady(title, [f.lines[0] for f in unfinished], unfinished=True, todo=todo)
    lines = []
    for finding in findings:
        lines += finding.text(indent="")
    raise ExerciseNotReady(title, lines)
