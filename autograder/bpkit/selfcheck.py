"""Self-checks students run after each exercise.

They test the student's code against the numeric gradient of the student's *own*
forward, on random inputs with a random upstream gradient, and say in plain words which
input is off, by how much, and which known mistake it looks like. There is no reference
code here and nothing is compared with hidden answers: hand-computed answers are only
checked for form, and cross-checked against the student's own gates.

The same findings, as data, are what Validate runs (bpkit/validate.py).

Shipped to students as bpkit/selfcheck.py (numpy + standard library).
"""

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import forms, gradcheck, reach, slips
from .i18n import STUDENT_WORDS
from .misconceptions import Seen, likeliest
from .table import CATALOG_BY_ID as MISCONCEPTIONS
from .table import GRADED


def _shipped(name):
    """Data the release builder wrote beside this file from the kit's tables."""
    return json.loads(Path(__file__).with_name(name).read_text())


# The graded gates: rows of the operation table (bpkit/table.py), as the grader reads them.
GATE_TABLE = {g.name: g for g in GRADED}  # the kit's gates and any an assignment asks for
GATE_BY_CELL = {g.grade_id: g for g in GRADED}

# The functions built from gates (autograder/exercises.py): the gradients each returns,
# flattened and named like the hand answers, and the student's problem values (P.<problem>)
# it is checked on.
FUNCTIONS = _shipped("exercise_table.json")
GRADIENT_NAMES = {name: tuple(f["gradients"]) for name, f in FUNCTIONS.items()}
PROBLEM_OF = {name: f["problem"] for name, f in FUNCTIONS.items()}

_ = STUDENT_WORDS.gettext

UNANSWERED = forms.UNANSWERED  # what an answer variable holds until the student replaces it


def _say(lines):
    print("\n".join(lines))
    return None


def quietly(call, *args):
    """Run student code without numpy's floating-point warnings: a warning on stderr would make
    Validate fail a correct overflow-prone formula, and the self-checks report values instead."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return call(*args)


# ---------------------------------------------------------------- gates


@dataclass
class Finding:
    """One problem, found on one or more kinds of input."""

    key: str  # what makes two findings the same problem
    lines: list  # what is wrong, in words (for the first input it was found on)
    labels: list = field(default_factory=list)  # the kinds of input it was found on
    misconception: str = ""
    said: str = (
        ""  # what the mistake did, in a few words ("MulGate: the gradient to input y has the wrong sign")
    )
    unfinished: bool = False  # a stub left in: forward/backward not implemented

    def text(self, indent="  "):
        if self.unfinished:
            out = [indent + self.lines[0]]
        elif len(self.lines) == 1:
            out = [
                indent + _("{problem} (on {inputs})").format(problem=self.lines[0], inputs=_join(self.labels))
            ]
        else:
            head = _("On {inputs} (numbers for {first}):") if len(self.labels) > 1 else _("On {inputs}:")
            out = [indent + head.format(inputs=_join(self.labels), first=_(self.labels[0]))] + [
                indent + "  " + line for line in self.lines
            ]
        if self.misconception:
            m = MISCONCEPTIONS[self.misconception]
            out += ([f"{indent}{self.said}."] if self.said else []) + [
                indent
                + _("This looks like '{id}': {explanation}").format(id=m.id, explanation=_(m.explanation)),
                indent + _("Hint: {hint}").format(hint=_(m.hint)),
            ]
        return out


def _join(labels):
    """The kinds of input, in words of the course's language (their English is in gate_kinds.py)."""
    labels = [_(label) for label in labels]
    if len(labels) == 1:
        return labels[0]
    return _("{some} and {last}").format(some=_(", ").join(labels[:-1]), last=labels[-1])


def _cases(gate, rng):
    """The self-check's inputs for a gate: its kind's (bpkit/gate_kinds.py), away from its kinks."""
    return gate.kind_of.self_check_cases(rng, gradcheck.KINK_DISTANCE)


def expected_output_shape(gate, inputs):
    """The shape forward must return: the inputs' for elementwise gates, (H,) or (H, N) for
    W @ x, a single number for a reduction (the gate's kind says which)."""
    return gate.kind_of.output_shape(inputs)


def _copy(v):
    return np.copy(v) if isinstance(v, np.ndarray) else v


def gate_findings(cls, seed=None, steps=("forward", "backward"), errors=None):
    """The problems of a gate class, one Finding per distinct problem, each listing the kinds of
    input it shows on. steps: "forward" checks that forward runs and returns the right shape;
    "backward" adds backward's shapes and its agreement with the slope of forward. errors: a dict
    that gets each gradient's largest cs231n relative error over the inputs, where computed."""
    spec = GATE_TABLE[cls.__name__]
    rng = np.random.default_rng(seed)
    findings: dict = {}
    for label, inputs in _cases(spec, rng):
        found = _check_one(cls, spec, inputs, rng, steps, {} if errors is None else errors)
        if found is None:
            continue
        if found.key in findings:
            findings[found.key].labels.append(label)
        else:
            found.labels.append(label)
            findings[found.key] = found
    return list(findings.values())


def _check_one(cls, spec, inputs, rng, steps, errors):
    names = spec.differentiable  # a loss's labels get no gradient
    try:
        out = quietly(lambda: cls().forward(*[_copy(v) for v in inputs]))
    except NotImplementedError:
        return Finding("forward-stub", [_("forward is not implemented yet.")], unfinished=True)
    except Exception as e:  # the student's code: any error is reported, not raised
        return Finding(
            f"forward-{type(e).__name__}",
            [_("forward raised {error}: {message}").format(error=type(e).__name__, message=e)],
        )
    try:
        forms.gate_value(out)
    except forms.Refused as refused:
        return Finding("forward-sequence", [refused.words(_, "forward(...)")])
    want = expected_output_shape(spec, inputs)
    try:
        got = np.shape(out)
        finite = bool(np.all(np.isfinite(np.asarray(out, dtype=float))))
    except (TypeError, ValueError):
        return Finding(
            "forward-type", [_("forward returned a {type}, not numbers.").format(type=type(out).__name__)]
        )
    if got != want:
        return Finding(
            "forward-shape",
            [
                _("forward returned shape {got}; for these inputs it should be {want}.").format(
                    got=got, want=want
                )
            ],
        )
    if not finite:
        return Finding("forward-nan", [_("forward returned NaN or infinity.")])
    if "backward" not in steps:
        return None
    dout = gradcheck.random_upstream(rng, np.shape(out))
    try:
        g = cls()
        quietly(lambda: g.forward(*[_copy(v) for v in inputs]))
        grads = quietly(lambda: g.backward(_copy(dout)))
    except NotImplementedError:
        return Finding("backward-stub", [_("backward is not implemented yet.")], unfinished=True)
    except Exception as e:
        return Finding(
            f"backward-{type(e).__name__}",
            [_("backward raised {error}: {message}").format(error=type(e).__name__, message=e)],
        )
    if len(names) == 1 and not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if not isinstance(grads, (tuple, list)) or len(grads) != len(names):
        return Finding(
            "backward-count",
            [
                _("backward must return {count} gradient(s), one per input ({names}).").format(
                    count=len(names), names=", ".join("d" + n for n in names)
                )
            ],
        )
    for input_name, g in zip(names, grads):
        try:
            forms.gate_value(g)
        except forms.Refused as refused:
            return Finding(f"backward-sequence-{input_name}", [refused.words(_, "d" + input_name)])

    def forward(*moved):
        # The numeric gradient moves the differentiable inputs only; labels stay as drawn.
        given = iter(moved)
        return cls().forward(*[v if n in spec.labels else next(given) for n, v in zip(spec.inputs, inputs)])

    moved = spec.gradient_inputs(inputs)
    report = quietly(
        lambda: gradcheck.check_gradients(
            forward,
            moved,
            tuple(grads),
            dout=dout,
            names=tuple("d" + n for n in names),
            threshold=forms.gradient_rel_error(),
        )
    )
    for r in report.inputs:
        if r.cs231n is not None:
            errors[r.name] = max(errors.get(r.name, 0.0), r.cs231n)
    if report.passed:
        return None
    mistake, way = _recognise(spec, inputs, out, dout, grads, forward)
    wrong = ",".join(r.name for r in report.inputs if not r.passed)
    lines = report.text().splitlines()
    said = f"{spec.name}: {MISCONCEPTIONS[mistake].said_at(way, names, gettext=_)}" if mistake else ""
    return Finding(f"slope-{wrong}-{mistake}-{way}", lines, misconception=mistake, said=said)


def _recognise(spec, inputs, out, dout, grads, forward):
    """(id, way) of a catalogued mistake whose error model, fed your forward's numeric gradient as
    the correct one, reproduces your backward (a sign flipped on one input only is a way of its
    own: that input's sign flip); ("", 0) when none does."""
    try:
        numeric = quietly(lambda: gradcheck.numeric_gradient(forward, spec.gradient_inputs(inputs), dout))
        seen = Seen(tuple(inputs), out, dout, tuple(numeric))
        models = {mid: MISCONCEPTIONS[mid].variants(seen) for mid in spec.misconceptions}
        ways = forms.reproducing_ways(tuple(grads), models, tuple(numeric))  # the grader's enumeration
    except Exception:
        return "", 0
    if not ways:
        return "", 0
    # The likeliest of the mistakes that reproduce it, by the grader's rule (misconceptions.likeliest).
    mids = list(dict.fromkeys(w[0] for w in ways))
    first = mids[likeliest([(MISCONCEPTIONS[mid], 1) for mid in mids])[0]]
    return next(w for w in ways if w[0] == first)


def gate(cls, seed=None):
    """Check a gate class of the notebook: shapes, and backward against your forward's slope."""
    name = getattr(cls, "__name__", str(cls))
    if name not in GATE_TABLE:
        return _say([_("selfcheck: no gate called {name} in this assignment.").format(name=name)])
    errors: dict = {}
    findings = gate_findings(cls, seed, errors=errors)
    spec = GATE_TABLE[name]
    # cs231n's figures, one per gradient (the largest over the inputs tried), then the diagnosis.
    figures = ["  " + line for line in gradcheck.relative_errors_said(errors, forms.gradient_rel_error())]
    if not findings:
        matches = (
            _(
                "{name}: backward matches the slope of your forward on floats, vectors and matrices. "
                "(The graded tests also check forward against the lecture's formulas.)"
            ).format(name=name)
            if spec.kind_of.elementwise
            else _("{name}: backward matches the slope of your forward on {inputs}.").format(
                name=name, inputs=_join([label for label, _x in _cases(spec, np.random.default_rng(0))])
            )
        )
        return _say([matches] + (figures if not spec.kind_of.elementwise else []))
    lines = [_("{name}: {count} problem(s) found.").format(name=name, count=len(findings))] + figures
    for finding in findings:
        lines += finding.text()
    return _say(lines)


# ---------------------------------------------------------------- hand answers


def answer_findings(values, shapes=None):
    """(names not answered yet, problems of form) for {name: value}; a name missing from
    `values` counts as not answered. shapes: {name: its shape}; a name not in it is a single
    number. The form is bpkit/forms.py's, the grader's own rule: what passes here is graded."""
    shapes = shapes or {}
    missing, lines = [], []
    for name, value in values.items():
        if forms.unanswered(value):
            missing.append(name)
            continue
        try:
            forms.answer(value, shapes.get(name, ()))
        except forms.Refused as refused:
            lines.append(refused.words(_, name))
    return missing, lines


def lookup(namespace, names):
    """{name: value} from a namespace (the notebook's globals()); names not defined yet map to ...,
    so a check never stops on a raw NameError."""
    return {name: namespace.get(name, ...) for name in names}


def answers(*namespace_and_names, shapes=None, **values):
    """Hand-computed answers: checked for form only (they are graded after you submit).

    selfcheck.answers(globals(), "q", "f", ...) looks the names up (a name not defined yet
    is reported as not answered); selfcheck.answers(q=q, f=f) checks the values given."""
    graded_apart = []
    if namespace_and_names:
        namespace, *names = namespace_and_names
        values = {**lookup(namespace, names), **values}
        graded_apart = reach.hand_cell_said(namespace, names)
    missing, problems = answer_findings(values, shapes)
    lines = [f"  {line}" for line in graded_apart + problems]
    if missing:
        lines.insert(
            0,
            "  " + forms.Refused("unanswered").words(_, ", ".join(missing)),
        )
    if lines:
        return _say([_("Some answers need a look:")] + lines)
    return _say(
        [
            _("Your answers have the right form. They are graded after you submit, against your own numbers.")
            + (
                _(" Once your gates work, the self-check after your function compares it with these answers.")
                if set(values) & {n for names in GRADIENT_NAMES.values() for n in names}
                else ""
            )
        ]
    )


# ---------------------------------------------------------------- functions built from gates


def random_like(values, seed=None):
    """Random arguments shaped like the student's numbers (floats stay floats, tuples stay
    tuples). The slope of a correct f at the student's own numbers *is* their hand answers,
    so the self-checks never print it: they check functions on inputs like these instead.

    Every entry is uniform in +-gradcheck.INPUT_RANGE, where no gate saturates (see there),
    and not rounded: a rounded draw can hit 0, 1 or another input exactly, where a mistake
    (a forgotten upstream factor, swapped inputs) gives the right gradient by chance."""
    rng = np.random.default_rng(seed)
    r = gradcheck.INPUT_RANGE

    def like(v):
        if isinstance(v, tuple):
            return tuple(like(e) for e in v)
        if isinstance(v, np.ndarray):
            return rng.uniform(-r, r, size=v.shape)
        return float(rng.uniform(-r, r))

    return {k: like(v) for k, v in values.items()}


def function_findings(fn, values, seed=None):
    """What is wrong with a function built from gates, on random inputs shaped like the
    student's values: (unfinished, lines); lines is empty when its gradients match the slope
    of its own f."""
    unfinished, _stops, lines = _function_findings(fn, values, seed)
    return unfinished, lines


def _function_findings(fn, values, seed=None):
    """(unfinished, stops, lines): `stops` when the function cannot be run as asked at all (it
    raised, or returned something else than f and gradients), so comparing it with the hand
    answers would say nothing more."""
    name = getattr(fn, "__name__", "the function")
    args = tuple(random_like(values, seed).values())
    try:
        result = quietly(fn, *args)
    except NotImplementedError:
        return True, True, [_("{name} is not implemented yet (or a gate it uses is not).").format(name=name)]
    except Exception as e:
        return (
            False,
            True,
            [_("{name} raised {error}: {message}").format(name=name, error=type(e).__name__, message=e)],
        )
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return (
            False,
            True,
            [_("{name} must return two things: f and a tuple of gradients.").format(name=name)],
        )
    f, grads = result
    flat = forms.flatten(grads)
    expected = GRADIENT_NAMES.get(name)
    arrays = tuple(np.asarray(a, dtype=float) for a in args)
    try:
        if not np.all(np.isfinite(np.asarray(f, dtype=float))) or np.shape(f) != ():
            return (
                False,
                False,
                [
                    _("{name}: f should be a single finite number, found {found}.").format(
                        name=name, found=f"{f!r:.60}"
                    )
                ],
            )
    except (TypeError, ValueError):
        return (
            False,
            False,
            [_("{name}: f is a {type}, not a number.").format(name=name, type=type(f).__name__)],
        )

    def f_of(*xs):
        return fn(*xs)[0]

    if sum(np.size(g) for g in flat) != sum(np.size(a) for a in arrays):
        return (
            False,
            True,
            [
                (
                    _("{name} must return one gradient per input ({names}), with each input's shape.")
                    if expected
                    else _("{name} must return one gradient per input, with each input's shape.")
                ).format(name=name, names=", ".join(expected or ()))
            ],
        )
    report = _slope_report(f_of, arrays, flat, tuple(values))
    if report.passed:
        return False, False, []
    # The right gradients in another order than the inputs' ((dx, dW) for (W, x)): said so, in the
    # grader's words (bpkit/slips.py), rather than as a slope that does not match.
    returned = list(grads) if isinstance(grads, (tuple, list)) else []
    if len(returned) == len(arrays):
        order = slips.another_order(
            len(returned),
            lambda order: (
                _slope_report(
                    f_of, arrays, forms.flatten(tuple(returned[i] for i in order)), tuple(values)
                ).passed
            ),
        )
        if order is not None:
            return False, False, [f"{name}: " + slips.another_order_said(order, tuple(values), _)]
    return (
        False,
        False,
        [_("{name}: its gradients do not match the slope of its own f:").format(name=name)]
        + ["  " + line for line in report.text().splitlines()],
    )


def _slope_report(f_of, arrays, flat, names):
    """gradcheck's report of flat gradients (forms.flatten's) against the slope of f_of at `arrays`."""
    regrouped = _regroup(flat, arrays)
    return quietly(
        lambda: gradcheck.check_gradients(
            f_of,
            arrays,
            tuple(
                np.asarray(g, dtype=float).reshape(np.shape(a))
                if _numeric(g) and np.size(g) == np.size(a)
                else g
                for g, a in zip(regrouped, arrays)
            ),
            dout=1.0,
            names=tuple(f"d{k}" for k in names),
        )
    )


def _numeric(value):
    try:
        np.asarray(value, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


def function(fn, values=None, answers=None, seed=None):
    """Check a function built from your gates: its gradients against the slope of its own f,
    and, when given, your hand-computed answers against what it returns for your numbers.

    selfcheck.function("simple_with_gates", globals(), answers=("f", "dfdx", ...)) looks the
    function, your numbers and your answers up by name."""
    if isinstance(fn, str):
        namespace, name = values, fn
        if name not in namespace:
            return _say([_("{name} is not defined yet: run its cell first.").format(name=name)])
        if "P" not in namespace:
            return _say([_("Your numbers are not loaded: run the setup cell at the top first.")])
        graded_apart = reach.hand_cell_said(namespace, answers or ())
        problems = namespace["P"]
        fn, values = namespace[name], getattr(problems, PROBLEM_OF[name])
        answers = lookup(namespace, answers or ())
    else:
        graded_apart, problems = [], None
    name = fn.__name__
    unfinished, stops, lines = _function_findings(fn, values, seed)
    lines = graded_apart + lines
    if unfinished or stops:
        return _say(lines)
    if answers:
        try:
            f, grads = quietly(fn, *values.values())
        except Exception as e:  # the student's code, on the student's numbers
            return _say(
                lines
                + [
                    _("{name} raised {error} on your numbers: {message}").format(
                        name=name, error=type(e).__name__, message=e
                    )
                ]
            )
        given = dict(zip(GRADIENT_NAMES.get(name, ()), forms.flatten(grads)), f=f)
        off = [
            k
            for k, v in answers.items()
            if k in given and not any(v is u for u in UNANSWERED) and not _close(v, given[k])
        ]
        if off:
            lines.append(
                _("{name} and your hand answers disagree on: {names}. One of the two is wrong.").format(
                    name=name, names=", ".join(off)
                )
            )
            if not lines[:-1]:  # the function matches its own slope: its numbers are the right ones
                lines += _slips_said(name, answers, given, off, values, problems)
        elif not lines:
            lines.append(_("{name} agrees with your hand answers.").format(name=name))
    if not lines:
        lines.append(_("{name}: gradients match the slope of its own f.").format(name=name))
    return _say(lines)


def _slips_said(name, answers, given, off, values, problems):
    """What the grader's feedback will say of hand answers that disagree with a function whose
    gradients are right (`given`: what it returned for the student's numbers), by bpkit/slips.py's
    rules and in its words: the lecture's numbers handed in, or rounding on the way."""
    problem = PROBLEM_OF.get(name)
    if problem is None:
        return []
    tolerance = forms.hand_tolerance()
    typed = {}
    for k in off:
        try:
            typed[k] = forms.answer(answers[k], np.shape(forms.plain(given[k])))
        except forms.Refused:
            continue  # its form is said by the hand cell's own self-check

    def same(a, b):
        return forms.hand_close(a, b, *tolerance)

    lines = []
    copied = slips.lecture_copies(list(typed), typed, slips.lecture_answers(problem), len(answers), same)
    if copied:
        lines.append(f"  {', '.join(copied)}: " + _(slips.LECTURE_NUMBERS).format(problem=problem))
    try:
        graph = problems.graphs.get(problem) if problems is not None else None
        mode = problems.graph_mode if problems is not None else slips.described.LECTURE
        by_hand = slips.rounded_answers(problem, values, graph, mode)
    except (AttributeError, KeyError, TypeError, ValueError):
        by_hand = []
    rounded = [
        k
        for k in typed
        if k not in copied
        and slips.rounded_early(typed[k], forms.plain(given[k]), [r[k] for r in by_hand if k in r], same)
    ]
    if rounded:
        lines.append(f"  {', '.join(rounded)}: " + _(slips.ROUNDED_EARLY))
    return lines


def _close(answer, returned):
    """A hand answer agrees with what the function returned for the student's numbers, by the
    course's hand tolerance (course.yaml, through course.json), as the grader would say."""
    try:
        returned = forms.plain(returned)
        return forms.hand_close(forms.answer(answer, np.shape(returned)), returned, *forms.hand_tolerance())
    except forms.Refused:
        return False


def _regroup(flat, arrays):
    """Match a flat list of scalar or array gradients to the function's arguments."""
    out, i = [], 0
    for a in arrays:
        if a.ndim >= 1 and i < len(flat) and np.shape(flat[i]) == a.shape:
            out.append(flat[i])
            i += 1
        elif a.ndim == 1 and i + a.size <= len(flat):
            try:
                out.append(np.array([float(np.asarray(v)) for v in flat[i : i + a.size]]))
            except (TypeError, ValueError):
                out.append(flat[i])
            i += a.size
        else:
            out.append(flat[i] if i < len(flat) else np.nan)
            i += 1
    return out
