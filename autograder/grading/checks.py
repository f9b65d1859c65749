"""The hidden checks: what each graded cell verifies, each declared once.

A check is one small function declared with `@check(name, points=..., of=..., says=...)`:
its name (graded cells are test_<exercise>_<name> or test_<exercise>), the default points
of its cell, which exercises it applies to (`of` maps an exercise id to what it checks: a
row of the gate table, a hand exercise, a function exercise; None where it does not apply),
what it tells the student (the graded cell's comment) and, in its body, its plan: it draws
its inputs, declares every ask it will make of the student's code (which cells, which calls,
which inputs) and returns them with the judge that turns the replies into small named
outcomes (subject.Plan). Nothing here names a gate: all that is gate-specific comes from the
gate table (solutions/table.py).

A Subject runs student code somewhere else (a sandboxed worker during autograde, the
instructor's own kernel for source notebooks) and gives back encoded results; every
judge decodes them strictly and compares them here with the reference engine. Student
code only ever receives copies of inputs, so mutating them changes nothing here.
"""

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from solutions import graphs as described
from solutions.misconceptions import OR_ELSE, UNKNOWN, UNKNOWN_BY_HAND, Seen, likeliest, overwrite
from solutions.table import BY_GRADE_ID as GATES
from solutions.table import CATALOG, gates_named_by, misconceptions_of
from solutions.table import CATALOG_BY_ID as MISCONCEPTIONS

from ..bpkit import forms, slips  # slips: what the self-check says too, in the same words
from ..bpkit.gradcheck import KINK_DISTANCE, H, difference_noise, slope_errors
from ..bpkit.gradcheck import random_upstream as upstream
from ..exercises import (
    FUNCTIONS_BY_ID,
    HAND_ANSWERS,
    GraphExercise,
    explaining,
    keyed_gates,
    mistaken_gates,
    where_said,
    where_said_all,
)
from ..sandbox.protocol import InvalidAnswer, decode, encode, refuse_undefined
from ..words import N_, _, student_words
from .outcomes import (
    CheckResult,
    Outcome,
    check_close,
    check_hand_answer,
    explaining_misconception,
    explaining_way,
    explaining_ways,
)
from .problems import problem_of, refusal_of
from .subject import Ask, Plan, Subject

# Centered differences with step H agree with a correct backward to ~1e-8 relative; the check
# of backward against the student's own forward uses the course's gradient tolerance unless
# that is tighter than this, which finite differences cannot resolve. Below the rounding
# noise of the differences (bpkit/gradcheck.py: difference_noise) no error counts, as in the
# students' self-checks.
SLOPE_REL = 1e-5

SHARED_STATE = N_(
    "right when one instance is used alone, wrong when two are used in turn: a forward of one "
    "instance changed what backward of another one uses. Keep what backward needs on self, "
    "not on the class or in a global"
)
SHARED_STATE_AGAIN = N_("again right alone, wrong beside another instance")
NOT_KNOWN_EITHER = N_("not a known mistake either")

# ---------------------------------------------------------------- declaring checks


@dataclass(frozen=True)
class Check:
    name: str
    points: float  # default points of its graded cell; None: the notebook's test cell says
    of: Callable  # exercise id -> what the check grades, or None where it does not apply
    says: Callable  # what it grades -> the words of its graded cell
    plan: Callable[..., Plan]  # (what, ctx) -> what it asks the student's code and how it judges

    def run(self, what, subject: Subject, ctx) -> CheckResult:
        return self.plan(what, ctx).judged(subject)


CHECKS: dict[str, Check] = {}  # name -> Check, in declaration order (the order of a gate's graded cells)


def check(name, *, of, says, points=None):
    def declare(plan):
        CHECKS[name] = Check(name, points, of, says, plan)
        return plan

    return declare


def gate_row(exercise):
    return GATES.get(exercise)


def gate_with_ties(exercise):
    row = GATES.get(exercise)
    return row if row is not None and row.kinks is not None and row.kinks.check == "ties" else None


# ---------------------------------------------------------------- inputs


class Case(NamedTuple):
    label: str
    inputs: tuple
    origin: str = "random"  # "lecture", "random", "extra" (the table's) or "kink"


def gate_cases(spec, rng):
    """The cases of a gate's forward and backward checks: the lecture's numbers, random inputs of
    its kind (away from its kinks), the table's extra cases, and its kinks when backward takes them."""
    cases = [Case(spec.lecture[0], spec.lecture[1], "lecture")] if spec.lecture else []
    draw = spec.kind_of.graded_cases  # the random inputs of its kind (solutions/gate_kinds.py)
    for label, inputs in draw(rng):
        while spec.kinks is not None and np.min(spec.kinks.distance(inputs), initial=np.inf) < KINK_DISTANCE:
            inputs = dict(draw(rng))[label]
        cases.append(Case(label, inputs))
    cases += [Case(label, make(rng), "extra") for label, make in spec.extra_cases]
    if spec.kinks is not None and spec.kinks.check == "backward":
        cases += [Case(label, inputs, "kink") for label, inputs in spec.kinks.cases(rng)]
    return cases


def _output_shape(spec, inputs):
    """The shape forward must return: its kind's rule (gate_kinds.py, shipped in bpkit), the one
    the self-check and Validate apply (selfcheck.expected_output_shape)."""
    return spec.kind_of.output_shape(inputs)


# ---------------------------------------------------------------- gate checks


def _gate_calls(spec, steps_list):
    """One call per list of steps: (method, args) on the only instance, or (method, args, instance)."""
    return [
        {
            "op": "gate",
            "class": spec.name,
            "steps": [[step[0], [encode(a) for a in step[1]], *step[2:]] for step in steps],
        }
        for steps in steps_list
    ]


def _extras_said(spec):
    extras = [student_words(label) for label, _ in spec.extra_cases]
    return _(", including {cases}").format(cases=", ".join(extras)) if extras else ""


def _forward_says(g):
    """What the graded cell of a gate's forward says it checks (the notebook's comment, in the
    course's language: the kinds of input are the student catalog's words)."""
    on = (
        _("{gate}.forward on the lecture's numbers and on {inputs}")
        if g.lecture
        else _("{gate}.forward on {inputs}")
    )
    return (
        on.format(gate=g.name, inputs=student_words(g.kind_of.graded_words))
        + _extras_said(g)
        + (
            _(", and where its slope is not defined")
            if g.kinks is not None and g.kinks.check == "backward"
            else ""
        )
    )


def _backward_says(g):
    return _(
        "{gate}.backward on the same inputs with a random upstream gradient, with two instances in use at "
        "once, and against the slope of your own forward"
    ).format(gate=g.name) + (
        "; " + student_words(g.kinks.rule) if g.kinks is not None and g.kinks.check == "backward" else ""
    )


@check("forward", points=1, of=gate_row, says=_forward_says)
def gate_forward(spec, ctx) -> Plan:
    cases = gate_cases(spec, ctx.rng)
    calls = _gate_calls(spec, [[("forward", case.inputs)] for case in cases])

    def judge(replies, result):
        for case, steps in zip(cases, replies[0].results):
            expected = spec.cls().forward(*[np.copy(v) for v in case.inputs])
            result.add(
                _decoded_then(
                    f"forward, {student_words(case.label)}",
                    steps,
                    0,
                    _output_shape(spec, case.inputs),
                    lambda name, out: check_close(name, out, expected, ctx.tolerances.value_rel),  # noqa: B023
                )
            )

    return Plan([Ask((spec.grade_id,), calls)], judge)


@check("backward", points=2, of=gate_row, says=_backward_says)
def gate_backward(spec, ctx) -> Plan:
    """Every case runs on two live instances in turn (forward A, forward B, backward A,
    backward B), so a gate that keeps its inputs on the class rather than on the instance
    fails; each case also runs alone, to tell that apart from a wrong formula. Then the
    student's backward against the slope of their own forward (a second ask, judged even
    when it gets no answer: the first one's outcomes stand)."""
    cases = gate_cases(spec, ctx.rng)
    douts = [upstream(ctx.rng, _output_shape(spec, case.inputs)) for case in cases]
    # Pairs (0, 1), (2, 3), ...; an odd last case goes with the first, so every case is interleaved.
    pairs = [(i, (i + 1) % len(cases)) if len(cases) > 1 else (i,) for i in range(0, len(cases), 2)]
    interleaved = [
        [("forward", cases[i].inputs, w) for i, w in zip(pair, "AB")]
        + [("backward", (douts[i],), w) for i, w in zip(pair, "AB")]
        for pair in pairs
    ]
    alone = [[("forward", case.inputs), ("backward", (dout,))] for case, dout in zip(cases, douts)]
    calls = _gate_calls(spec, interleaved + alone)
    # The check against the student's own forward draws its case after these (judging draws
    # nothing from ctx.rng): both asks are known before the first runs, so that they can be
    # answered from one run.
    consistency = _consistency_case(spec, ctx)
    asks = [Ask((spec.grade_id,), calls), Ask((spec.grade_id,), consistency.calls, needed=False)]
    judge = functools.partial(_judge_backward, spec, ctx, cases, douts, pairs, consistency)
    return Plan(asks, judge)


def _judge_backward(spec, ctx, cases, douts, pairs, consistency, answered, result):
    replies = answered[0].results
    in_turn: dict[int, list | None] = {}
    recognised: list[
        tuple[list[Outcome], list]
    ] = []  # (failed outcomes of a case, the ways that reproduce them)
    for pair, steps in zip(pairs, replies):
        for k, i in enumerate(pair):  # the pair's forwards, then their backwards
            if i not in in_turn:
                ok = isinstance(steps, list) and len(steps) == 2 * len(pair)
                in_turn[i] = [steps[k], steps[len(pair) + k]] if ok else None
    for i, (case, dout) in enumerate(zip(cases, douts)):
        seen = _reference_seen(spec, case.inputs, dout)
        shapes = [np.shape(v) for v in spec.gradient_inputs(case.inputs)]
        right_alone = _judge(
            spec, case, seen, _decode_grads(replies[len(pairs) + i], 1, shapes, spec.differentiable), ctx
        )
        grads = _decode_grads(in_turn[i], 1, shapes, spec.differentiable)
        if isinstance(grads, Outcome):
            grads.name = f"backward, {student_words(case.label)}" + (f": {grads.name}" if grads.name else "")
            if right_alone and all(o.passed for o in right_alone):
                _say_once(result, [grads], _(SHARED_STATE), _(SHARED_STATE_AGAIN), replace=True)
            else:
                _explain_failure(spec, seen, grads, in_turn[i])
            result.add(grads)
            continue
        outcomes = _judge(spec, case, seen, grads, ctx)
        if right_alone and all(o.passed for o in right_alone):
            _say_once(result, outcomes, _(SHARED_STATE), _(SHARED_STATE_AGAIN), replace=True)
        elif not all(o.passed for o in outcomes):
            _recognise(
                result,
                outcomes,
                explaining_ways(grads, _models(spec, seen), seen.correct, _model_close),
                recognised,
            )
        for o in outcomes:
            result.add(o)
    _name_mistakes(recognised, spec.differentiable)
    result.add(_own_forward_consistency(spec, consistency, answered[1], ctx))


# A product whose shapes do not line up, as numpy words it (np.dot, @, np.matmul).
SHAPE_ERROR = ("shapes", "not aligned", "mismatch in its core dimension", "matmul")
LIKELY_TRANSPOSE = N_(
    "the shapes of a product in backward do not line up: most likely a factor needs its transpose "
    "(each gradient has its variable's shape: dW = xᵀ · dout, dx = dout · Wᵀ)"
)
OVERFLOWED = N_("your result contains NaN or infinity: {what}")


def _explain_failure(spec, seen, failed, steps):
    """A backward that raised or returned no usable numbers, put down to the mistake it most likely
    is: a product's shapes not lining up in a gate with matrix products (a missing transpose), or
    NaN or infinity where a catalogued mistake's model gives them on this case (exp overflowing)."""
    text = failed.message or ""
    if (
        "matmul-transpose" in spec.misconceptions
        and "ValueError" in text
        and any(w in text for w in SHAPE_ERROR)
    ):
        failed.misconception = "matmul-transpose"
        failed.message = f"{text}: {_(LIKELY_TRANSPOSE)}"
        return
    if not _nonfinite(steps):
        return
    for mid in spec.misconceptions:
        ways = MISCONCEPTIONS[mid].variants(seen)
        if any(not np.all(np.isfinite(np.asarray(g, dtype=float))) for way in ways for g in way):
            failed.misconception = mid
            failed.message = _(OVERFLOWED).format(
                what=MISCONCEPTIONS[mid].said_at(0, spec.differentiable, gettext=student_words)
            )
            return


def _nonfinite(steps):
    """Whether backward's reply (the second step) holds NaN or infinity somewhere."""
    try:
        reply = steps[1]
        items = reply.get("seq", [reply])
        return any(
            not np.all(np.isfinite(np.asarray(item.get("array", item.get("float", 0.0)), dtype=float)))
            for item in items
        )
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return False


@check(
    "ties",
    points=1,
    of=gate_with_ties,
    says=lambda g: _("{gate}.backward where its slope is not defined: {rule}").format(
        gate=g.name, rule=student_words(g.kinks.rule)
    ),
)
def gate_ties(spec, ctx) -> Plan:
    """The gate at its kinks: any valid subgradient passes (the table says which are)."""
    cases = [Case(label, inputs, "kink") for label, inputs in spec.kinks.cases(ctx.rng)]
    douts = [upstream(ctx.rng, _output_shape(spec, case.inputs)) for case in cases]
    calls = _gate_calls(
        spec, [[("forward", case.inputs), ("backward", (dout,))] for case, dout in zip(cases, douts)]
    )
    return Plan([Ask((spec.grade_id,), calls)], functools.partial(_judge_ties, spec, ctx, cases, douts))


def _judge_ties(spec, ctx, cases, douts, answered, result):
    replies = answered[0].results
    recognised: list[tuple[list[Outcome], list]] = []
    for case, dout, steps in zip(cases, douts, replies):
        seen = _reference_seen(spec, case.inputs, dout)
        grads = _decode_grads(
            steps, 1, [np.shape(v) for v in spec.gradient_inputs(case.inputs)], spec.differentiable
        )
        if isinstance(grads, Outcome):
            grads.name = f"backward, {student_words(case.label)}"
            result.add(grads)
            continue
        outcomes = _judge(spec, case, seen, grads, ctx)
        if not all(o.passed for o in outcomes):
            _recognise(
                result,
                outcomes,
                explaining_ways(grads, _models(spec, seen), seen.correct, _model_close),
                recognised,
            )
        for o in outcomes:
            result.add(o)
    _name_mistakes(recognised, spec.differentiable)


def _judge(spec, case, seen, grads, ctx):
    """The outcomes of one case's gradients: one per input, against the reference; at a kink, one
    for the case, where any split of the upstream gradient the table allows there passes."""
    if isinstance(grads, Outcome):
        return None
    tol = ctx.tolerances.gradient_rel_error
    if case.origin != "kink":
        return [
            check_close(f"backward, {student_words(case.label)}: d{name}", g, c, tol)
            for name, g, c in zip(spec.differentiable, grads, seen.correct)
        ]
    return [
        _subgradient_outcome(
            spec.kinks, f"backward, {student_words(case.label)}", case.inputs, seen, grads, tol
        )
    ]


def _subgradient_outcome(kinks, name, inputs, seen, grads, tol):
    if any(np.shape(g) != np.shape(c) for g, c in zip(grads, seen.correct)):
        bad = next(k for k, (g, c) in enumerate(zip(grads, seen.correct)) if np.shape(g) != np.shape(c))
        return Outcome(
            name,
            False,
            _("gradient {number} has shape {shape}, expected shape {expected}").format(
                number=bad + 1, shape=np.shape(grads[bad]), expected=np.shape(seen.correct[bad])
            ),
        )
    at = np.broadcast_to(kinks.at(inputs), np.shape(seen.dout))
    away = [np.where(at, 0.0, g) for g in grads], [np.where(at, 0.0, c) for c in seen.correct]
    if not all(check_close("", g, c, tol).passed for g, c in zip(*away)):
        return Outcome(name, False, _("wrong where the slope is defined"))
    dout = np.asarray(seen.dout, dtype=float)
    shares = [np.where(at, np.asarray(g, dtype=float) / np.where(at, dout, 1.0), 0.0) for g in grads]
    eps = 1e-9
    valid = all(np.all((s >= -eps) & (s <= 1 + eps)) for s in shares)
    total = np.asarray(np.sum(shares, axis=0))
    valid = valid and bool(
        np.allclose(total[at], 1.0) if kinks.shares_add_up else np.all(total[at] <= 1 + eps)
    )
    return (
        Outcome(name, True)
        if valid
        else Outcome(
            name, False, _("not a valid split at the kinks ({rule})").format(rule=student_words(kinks.rule))
        )
    )


def _reference_seen(spec, inputs, dout):
    """What the reference gate sees on these inputs, with its correct gradients for any upstream one."""
    ref = spec.cls()
    out = ref.forward(*[np.copy(v) for v in inputs])

    def correct_for(d):
        grads = ref.backward(np.copy(d))
        return grads if isinstance(grads, tuple) else (grads,)

    return Seen(inputs, out, dout, correct_for(dout), correct_for)


def _models(spec, seen):
    """{misconception id: [the gradients it produces, ...]} for the mistakes the table says apply."""
    return {m.id: m.variants(seen) for m in misconceptions_of(spec)}


def _model_close(a, b):
    return forms.matches_model(a, b)  # the self-check's rule too


def _recognise(result, outcomes, ways, recognised):
    """Keep the failed outcomes of one case with the (mistake, way)s that reproduce them, to be
    named once every case is seen (_name_mistakes); or say that the mistake is not a known one
    (with the general hint the first time in a check, so feedback does not repeat it)."""
    if ways:
        recognised.append((outcomes, ways))
    else:
        _say_once(result, outcomes, student_words(UNKNOWN), _(NOT_KNOWN_EITHER))


def _name_mistakes(recognised, inputs):
    """Put each case's failed outcomes down to the mistakes that reproduce it and most cases of the
    check, the likeliest first (misconceptions.likeliest: the rule hand answers and functions are
    named by), each said where several tie ("X; or Y"), in words for a gate whose inputs are named
    `inputs` ("the gradient to input y has the wrong sign"). Each mistake in the way of making it
    that reproduces most cases: where one input's gradient is 0 (the loser of a max), a sign
    flipped on the other input only and on every input look alike."""
    ways_counted = Counter(way for _, ways in recognised for way in ways)
    cases_of = Counter(mid for _, ways in recognised for mid in dict.fromkeys(w[0] for w in ways))
    for outcomes, ways in recognised:
        mids = list(dict.fromkeys(w[0] for w in ways))
        named = [mids[i] for i in likeliest([(MISCONCEPTIONS[mid], cases_of[mid]) for mid in mids])]
        said = []
        for mid in named:
            way = max(
                (w for w in ways if w[0] == mid), key=lambda w: ways_counted[w]
            )  # the first among equals
            said.append(MISCONCEPTIONS[mid].said_at(way[1], inputs, gettext=student_words))
        message = said[0]
        for other in said[1:]:
            message = student_words(OR_ELSE).format(first=message, second=other)
        for o in outcomes:
            if not o.passed:
                o.misconception, o.message = named[0], message


def _say_once(result, outcomes, full, short, replace=False):
    """Add `full` to the message of the first failed outcome of a check and `short` to the
    later ones (or put them in place of the message), so feedback does not repeat itself."""
    for o in outcomes:
        if o.passed:
            continue
        said = any(full in x.message for x in result.outcomes + outcomes if x is not o)
        words = short if said else full
        o.message = words if replace or not o.message else f"{o.message}; {words}"


class ConsistencyCase(NamedTuple):
    label: str
    inputs: tuple  # float arrays
    dout: np.ndarray
    calls: list  # forward then backward on them, and the forwards of the numeric gradient


def _consistency_case(spec, ctx) -> ConsistencyCase:
    """The case of _own_forward_consistency: the last random case (drawn anew), an upstream
    gradient, and the calls that ask the student's code about it."""
    label, inputs, _origin = [case for case in gate_cases(spec, ctx.rng) if case.origin == "random"][-1]
    inputs = tuple(
        np.asarray(v) if name in spec.labels else np.asarray(v, dtype=float)
        for name, v in zip(spec.inputs, inputs)
    )
    dout = upstream(ctx.rng, _output_shape(spec, inputs))
    fixed = [i for i, name in enumerate(spec.inputs) if name in spec.labels]  # labels are not nudged
    nudged = {
        "op": "nudged_forwards",
        "class": spec.name,
        "args": [encode(v) for v in inputs],
        "h": H,
        "fixed": fixed,
    }
    return ConsistencyCase(
        label, inputs, dout, _gate_calls(spec, [[("forward", inputs), ("backward", (dout,))]]) + [nudged]
    )


def _own_forward_consistency(spec, case: ConsistencyCase, reply, ctx):
    """The student's backward against the numeric gradient of the student's own forward
    (`reply`: the answer to case.calls)."""
    label, inputs, dout = case.label, case.inputs, case.dout
    name = _("backward agrees with the slope of your own forward ({label})").format(
        label=student_words(label)
    )
    if not reply.ok:
        return Outcome(name, False, problem_of(reply))
    replies = reply.results
    moved = spec.gradient_inputs(inputs)
    grads = _decode_grads(replies[0], 1, [np.shape(v) for v in moved], spec.differentiable)
    if isinstance(grads, Outcome):
        return Outcome(name, False, grads.message)
    try:
        noise = difference_noise(dout, _gate_decode(_step(replies[0], 0), "forward(...)"))
        outs = replies[1] if len(replies) > 1 and isinstance(replies[1], list) else []
        if len(outs) != 2 * sum(v.size for v in moved):  # nudged_inputs' order: +h, -h, entry by entry
            raise InvalidAnswer("no result")
        decoded = iter([_gate_decode(out, "forward(...)") for out in outs])
        numeric = []
        for v in moved:
            n = np.zeros(v.shape)
            for j in range(v.size):
                n.flat[j] = (np.sum(dout * next(decoded)) - np.sum(dout * next(decoded))) / (2 * H)
            numeric.append(n)
    except (InvalidAnswer, ValueError, TypeError) as e:
        return Outcome(name, False, _("your forward gave an unusable result: {error}").format(error=_said(e)))
    for input_name, g, n in zip(spec.differentiable, grads, numeric):
        if not (
            np.shape(g) == np.shape(n)
            and np.all(slope_errors(g, n, noise) < max(SLOPE_REL, ctx.tolerances.gradient_rel_error))
        ):
            return Outcome(
                name,
                False,
                _("d{input} from your backward is not the slope of your forward").format(input=input_name),
            )
    return Outcome(name, True)


def _gate_decode(encoded, name, expect_shape=None):
    """decode, for a gate's output or one of its gradients (`name`: forward(...) or dx): a list or
    tuple is refused in forms' words (forms.gate_value), as the self-check and Validate say it."""
    try:
        return decode(encoded, expect_shape=expect_shape)
    except InvalidAnswer as e:
        if e.key == "sequence":
            raise InvalidAnswer("refused", forms.Refused("returned a sequence"), name=name) from None
        raise


def _decoded_then(name, steps, index, shape, compare):
    try:
        return compare(name, _gate_decode(_step(steps, index), "forward(...)", expect_shape=shape))
    except InvalidAnswer as e:
        return Outcome(name, False, _said(e))


def _said(error):
    """A refusal of a result in the course's language (grading/problems.py words InvalidAnswer's
    key); any other error's message is Python's, as it came."""
    return refusal_of(error) if isinstance(error, InvalidAnswer) else str(error)


def _step(steps, index):
    if isinstance(steps, list) and steps:
        refuse_undefined(steps[0])  # the class is not defined: its one reply, instead of the steps'
    if not isinstance(steps, list) or len(steps) <= index:
        raise InvalidAnswer("no result")
    step = steps[index]
    if isinstance(step, dict) and "error" in step:
        raise InvalidAnswer("raised this", error=str(step["error"])[:300])
    return step


def _decode_grads(steps, index, shapes, names):
    """The gradients returned by backward, one per input (`names`: the inputs'), or a failed
    Outcome saying why not."""
    try:
        step = _step(steps, index)
        # Shapes are compared by the checks, which can then recognise a transposed gradient.
        if len(shapes) == 1 and not (isinstance(step, dict) and "seq" in step):
            return (_gate_decode(step, "d" + names[0]),)
        items = step.get("seq") if isinstance(step, dict) else None
        if not isinstance(items, list) or len(items) != len(shapes):
            raise InvalidAnswer(
                "backward returns" if len(shapes) > 1 else "backward returns one", n=len(shapes)
            )
        return tuple(_gate_decode(item, "d" + name) for item, name in zip(items, names))
    except InvalidAnswer as e:
        return Outcome("", False, _said(e))


# ---------------------------------------------------------------- hand answers


@check(
    "answers",
    of=HAND_ANSWERS.get,
    says=lambda e: _("your answers in {exercise}, for your own numbers").format(exercise=repr(e.id)),
)
def hand_answers(exercise, ctx) -> Plan:
    """Each answer is a case of its own: a wrong one is put down to a mistake made at one node of
    the student's graph (a wrong sign there, a forgotten upstream factor, one branch kept alone, a
    transposed matrix...) when that model reproduces it, and the feedback says where."""
    values, graph = ctx.problem_values.get(exercise.problem), ctx.problem_graphs.get(exercise.problem)
    on_graph = isinstance(exercise, GraphExercise)
    if on_graph and graph is None:
        graph = exercise.shape(ctx.graph_mode).graphs[0]
    correct = exercise.correct(values, graph, ctx.graph_mode)
    ask = Ask((exercise.id,), [{"op": "variables", "names": list(correct)}])
    judge = functools.partial(_judge_hand_answers, exercise, ctx, values, graph, correct)
    return Plan([ask], judge, by_hand=True)


def _judge_hand_answers(exercise, ctx, values, graph, correct, answered, result):
    on_graph = isinstance(exercise, GraphExercise)
    replies = answered[0].results
    answers = replies[0] if replies and isinstance(replies[0], dict) else {}
    tolerance = ctx.tolerances.hand_answer_abs, ctx.tolerances.hand_answer_rel
    wrong = []  # (name, value, expected, outcome) of the answers that are off

    def same(a, b):
        return check_hand_answer("", a, b, *tolerance).passed

    for name, expected in correct.items():
        try:  # converted to numbers on the student's side (bpkit/forms.py), decoded strictly here
            value = decode(answers.get(name, {"missing": True}))
        except InvalidAnswer as e:
            said = (
                e.refused.words(student_words, name)
                if e.refused
                else _("no usable answer: {error}").format(error=_said(e))
            )
            result.add(Outcome(name, False, said))
            continue
        try:  # the self-check's rule of shape: a one-element array where a number is asked is it
            value = forms.fit_shape(value, np.shape(expected))
        except forms.Refused:
            pass  # refused in forms' words by check_hand_answer; a transposed matrix is still named below
        result.answers[name] = value
        outcome = result.add(check_hand_answer(name, value, expected, *tolerance))
        if not outcome.passed:
            wrong.append((name, value, expected, outcome))
    if not wrong:
        return
    if on_graph:  # the lecture's own answers, handed in for the student's: said first, and only that
        copied_names = slips.lecture_copies(
            [w[0] for w in wrong], result.answers, exercise.lecture_answers(), len(correct), same
        )
        copied = [w for w in wrong if w[0] in copied_names]
        if copied:
            said = student_words(slips.LECTURE_NUMBERS).format(problem=exercise.problem)
            _say_once(result, [o for *_, o in copied], said, student_words(slips.LECTURE_NUMBERS_AGAIN))
            wrong = [w for w in wrong if w not in copied]
    everywhere = exercise.mistaken(values, graph, ctx.graph_mode)
    by_hand = exercise.rounded(values, graph, ctx.graph_mode) if on_graph else []
    at_nodes = exercise.mistaken_at_nodes(values, graph, ctx.graph_mode) if on_graph else []

    # For each wrong answer, the mistakes at one node that give it and most of the other answers
    # too, the likeliest first (exercises.explaining): one mistake giving every answer at once is
    # what happened; where two give the same answers, both are said.
    best_for = explaining([name for name, *_ in wrong], result.answers, at_nodes, same)
    for name, value, expected, outcome in wrong:
        best = best_for[name]
        if best:
            outcome.misconception = best[0].misconception
            where = _("not right: {where}").format(where=where_said_all(graph, best))
            # A wrong shape keeps forms' words, the self-check's and Validate's, before where it came from.
            outcome.message = (
                where if np.shape(value) == np.shape(expected) else f"{outcome.message} ({where})"
            )
            continue
        named = explaining_misconception(
            (value,), {mid: [(v[name],) for v in vs] for mid, vs in everywhere.items()}, (expected,), same
        )
        if named:
            outcome.misconception = named
        elif on_graph and slips.rounded_early(value, expected, [made[name] for made in by_hand], same):
            _say_once(
                result,
                [outcome],
                student_words(slips.ROUNDED_EARLY),
                student_words(slips.ROUNDED_EARLY_AGAIN),
            )
        elif on_graph and np.shape(value) == np.shape(expected):  # a wrong shape is its form, said already
            _say_once(result, [outcome], student_words(UNKNOWN_BY_HAND), _(NOT_KNOWN_EITHER))


# ---------------------------------------------------------------- functions built from gates


@check(
    "function",
    of=FUNCTIONS_BY_ID.get,
    says=lambda e: _("{exercise} on random inputs: f and every gradient").format(exercise=e.id),
)
def function(exercise, ctx) -> Plan:
    graph, mode = ctx.problem_graphs.get(exercise.problem), ctx.graph_mode
    cases = exercise.cases(ctx.rng, graph, mode)
    cells = (*exercise.needs_for(mode), exercise.id)
    names = list(_scaled_gates(exercise, mode))
    # Every call goes through the gates' wrappers (protocol: "through"), the plain ones with
    # strength 0, so nothing in a call tells the grader's scaled calls apart from the others.
    a, b = float(ctx.rng.uniform(*METHOD_FREQUENCIES)), float(ctx.rng.uniform(0, 2 * np.pi))

    def calls_of(strength):
        through = {"classes": names, "scale": [a, b, strength]}
        return [
            {"op": "call", "function": exercise.id, "args": [encode(v) for v in args], "through": through}
            for _, args in cases
        ]

    calls = calls_of(0.0)
    asks = [Ask(cells, calls)]
    method = None
    if ctx.method_points > 0:
        # The method: every case again, plainly (the same numbers twice, or they follow nothing),
        # and with every gate's backward scaled by a factor drawn from its own inputs, which the
        # function's gradients must follow exactly; the two kinds of call in a drawn order, so
        # that counting calls tells nothing either. The worker only runs the calls; the verdict
        # is the grader's.
        order = [int(i) for i in ctx.rng.permutation(2 * len(cases))]
        both = calls + calls_of(1.0)
        method = Method((a, b, 1.0), order)
        asks.append(Ask(cells, [both[i] for i in order], needed=False))
    return Plan(asks, functools.partial(_judge_function, exercise, ctx, graph, mode, cases, method))


class Method(NamedTuple):
    """How a function's method was asked: the scale of its scaled calls (protocol.backward_factor)
    and `order`, where the second ask's k-th call is the k-th of [plain calls, scaled calls]."""

    scale: tuple[float, float, float]
    order: list[int]


# How fast a gate's factor turns with its inputs (protocol.backward_factor's a): drawn, so that
# the factors at a graph's nodes are not known before the grader's call.
METHOD_FREQUENCIES = (0.5, 1.5)
# How much a gradient must move, relative to its size, to count as moved at all.
FOLLOWS_REL = 1e-3
NOT_FROM_GATES = N_(
    "with each gate's backward result scaled by a factor drawn from that gate's inputs, {names} did "
    "not change as your gates' backward made them, so they are not what your gates' backward gives. "
    "Build the function from your gates: forward through them, then backward from f, and return "
    "what backward gives"
)
METHOD_NOT_JUDGED = N_("whether your gradients come from your gates' backward could not be judged: {problem}")
METHOD_UNSTEADY = N_(
    "your function returned different gradients for the same inputs, so whether they come from "
    "your gates' backward cannot be judged"
)
METHOD_ALL_ZERO = N_(
    "every gradient your function returned is 0, so whether they come from your gates' backward "
    "cannot be judged"
)
METHOD_NAME = N_("gradients from your gates' backward")


def _judge_function(exercise, ctx, graph, mode, cases, method, answered, result):
    replies = answered[0].results
    if method is not None:
        result.method_share = ctx.method_points
        result.method = _judge_method(exercise, ctx, graph, mode, cases, method, replies, answered[1])
    for (label, args), got in zip(cases, replies):
        f_ref, grads_ref = exercise.correct(args, graph, mode)
        flat_ref = forms.flatten(grads_ref)
        items = None
        try:
            refuse_undefined(got)
            if isinstance(got, dict) and "error" in got:
                raise InvalidAnswer("function raised", error=str(got["error"])[:300])
            items = got.get("seq") if isinstance(got, dict) else None
            if not isinstance(items, list) or len(items) != 2:
                raise InvalidAnswer("not f and gradients")
            f = decode(items[0], expect_shape=np.shape(f_ref))
            flat = _decode_structure(items[1], grads_ref, exercise.outputs_for(mode))
        except InvalidAnswer as e:
            reordered = _in_another_order(items, grads_ref, exercise, mode, ctx)
            result.add(Outcome(student_words(label), False, reordered or _said(e)))
            continue
        result.add(check_close(f"{student_words(label)}: f", f, f_ref, ctx.tolerances.value_rel))
        outcomes = [
            check_close(f"{student_words(label)}: d{name}", g, c, ctx.tolerances.gradient_rel_error)
            for (name, g), c in zip(flat, flat_ref)
        ]
        if not all(o.passed for o in outcomes):  # a mistake must reproduce every gradient of the call
            _name_function_mistake(
                result,
                outcomes,
                exercise,
                args,
                graph,
                mode,
                tuple(g for _, g in flat),
                tuple(flat_ref),
                # A max routed to the smaller input swaps two gradients as returning them in
                # another order would: a catalogued mistake that reproduces them comes first.
                lambda: _in_another_order(items, grads_ref, exercise, mode, ctx),  # noqa: B023
            )
        for o in outcomes:
            result.add(o)


def _in_another_order(items, grads_ref, exercise, mode, ctx):
    """What to tell a student whose function returns the right gradients in another order than
    its inputs' ((dx, dW) for (W, x)): the order asked, in words; None when no other order of the
    returned gradients is right (each group decoded strictly, as in its place)."""
    returned = (
        items[1].get("seq")
        if isinstance(items, list) and len(items) == 2 and isinstance(items[1], dict)
        else None
    )
    if not isinstance(returned, list) or len(returned) != len(grads_ref) or len(returned) < 2:
        return None
    names, flat_ref = exercise.outputs_for(mode), forms.flatten(grads_ref)

    def right_in(order):
        try:
            flat = _decode_structure({"seq": [returned[i] for i in order]}, grads_ref, names)
        except InvalidAnswer:
            return False
        return all(
            check_close("", g, c, ctx.tolerances.gradient_rel_error).passed
            for (_, g), c in zip(flat, flat_ref)
        )

    order = slips.another_order(len(returned), right_in)
    if order is None:
        return None
    groups = described.group_names(described.shape(exercise.exercise, mode).values)
    return slips.another_order_said(order, groups, student_words)


def _function_gradients(exercise, mode, reference, got):
    """The gradients of one function call's reply, flattened [(name, value)], or InvalidAnswer."""
    refuse_undefined(got)
    if isinstance(got, dict) and "error" in got:
        raise InvalidAnswer("function raised", error=str(got["error"])[:300])
    items = got.get("seq") if isinstance(got, dict) else None
    if not isinstance(items, list) or len(items) != 2:
        raise InvalidAnswer("not f and gradients")
    return _decode_structure(items[1], reference, exercise.outputs_for(mode))


def _scaled_gates(exercise, mode) -> tuple[str, ...]:
    """The gate classes whose backward the method check scales, the same on the student's side
    (the worker's wrappers) and the reference's (keyed_gates): the function's gate cells but those
    whose local gradients are fixed numbers (Operation.constant_local_gradients), so that how a
    sum is grouped does not decide the method."""
    needed = (GATES[gid] for gid in exercise.needs_for(mode))
    return tuple(op.name for op in needed if not op.constant_local_gradients)


def _judge_method(exercise, ctx, graph, mode, cases, method, plain, reply):
    """Whether the function's gradients come from the gates' backward (None where no case gave
    usable gradients: nothing to follow, and its numbers already fail): run again plainly, each
    case must give the same gradients as in the first run; with every backward scaled by a
    factor drawn from its gate's inputs, each gradient that was right must become what the
    reference's gates scaled the same way give, and a wrong one (a wrong gate) must at least
    move where the reference's does. Any way of using one gate per node of the graph
    (instances reused across calls or fresh, backward in any order, through a helper, local
    gradients times the upstream by hand) gives exactly that; a formula or numeric differences
    do not, whatever they do to tell the scaled calls apart (they cannot know the factors)."""
    name = _(METHOD_NAME)
    if not reply.ok:
        return Outcome(name, False, _(METHOD_NOT_JUDGED).format(problem=problem_of(reply)))
    n = len(cases)
    answers: list = [None] * (2 * n)
    for k, i in enumerate(method.order):
        answers[i] = reply.results[k] if k < len(reply.results) else {"missing": True}
    again, scaled = answers[:n], answers[n:]
    tol = ctx.tolerances.gradient_rel_error
    keyed = keyed_gates(method.scale, _scaled_gates(exercise, mode))
    stayed, judged, usable, moves = [], False, False, False
    for (_label, args), first, repeated, moved in zip(cases, plain, again, scaled):
        grads_ref = exercise.correct(args, graph, mode)[1]
        scaled_ref = forms.flatten(exercise.correct(args, graph, mode, gates=keyed)[1])
        try:
            one = _function_gradients(exercise, mode, grads_ref, first)
        except InvalidAnswer:
            continue  # no usable gradients to follow: the numbers' lines say why, once
        usable = True
        try:
            two, three = (_function_gradients(exercise, mode, grads_ref, r) for r in (repeated, moved))
        except InvalidAnswer as e:
            return Outcome(name, False, _(METHOD_NOT_JUDGED).format(problem=_said(e)))
        if not all(_same(a, b, FOLLOWS_REL) for (_n, a), (_m, b) in zip(one, two)):
            return Outcome(name, False, _(METHOD_UNSTEADY))
        for (grad, before), (_n, after), ref_before, ref_after in zip(
            one, three, forms.flatten(grads_ref), scaled_ref
        ):
            # Only where the reference moves, and where the student's gradient is not 0: a wrong
            # gate may give 0 (a sigmoid's x(1 - x) at x = 1), which no scaling moves.
            if _same(ref_before, ref_after, FOLLOWS_REL):
                continue
            moves = True
            if _same(before, 0.0 * np.asarray(before), 0.0):
                continue
            judged = True
            if check_close("", before, ref_before, tol).passed:
                followed = check_close("", after, ref_after, tol).passed
            else:  # the student's own (wrong) gates: what they give scaled is not known here
                followed = not _same(before, after, FOLLOWS_REL)
            if not followed:
                stayed.append(f"d{grad}")
    if not usable or not moves:
        return None  # no gradient to follow, or none the scaled gates move (a graph of sums)
    if not judged:
        return Outcome(name, False, _(METHOD_ALL_ZERO))
    if stayed:
        return Outcome(name, False, _(NOT_FROM_GATES).format(names=", ".join(dict.fromkeys(stayed))))
    return Outcome(name, True)


def _same(a, b, rel):
    """Equal shapes and every entry within `rel` of the larger size (or 1e-12 absolutely)."""
    if np.shape(a) != np.shape(b):
        return False
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(np.abs(a - b) <= np.maximum(1e-12, rel * np.maximum(np.abs(a), np.abs(b)))))


def _decode_structure(encoded, reference, names):
    """Decode a nested tuple of gradients shaped like `reference` into [(name, value), ...]."""
    out = []

    def walk(enc, ref, name):
        if isinstance(ref, tuple):
            items = enc.get("seq") if isinstance(enc, dict) else None
            if (
                items is None and isinstance(enc, dict) and "array" in enc
            ):  # an array in place of a tuple of scalars
                arr = np.asarray(decode(enc, expect_shape=(len(ref),)))  # an array: its shape is (n,)
                items = [{"float": float(v)} for v in arr]
            if not isinstance(items, list) or len(items) != len(ref):
                raise InvalidAnswer("gradients", n=len(ref))
            for e, r, n in zip(items, ref, name):
                walk(e, r, n)
        else:
            out.append((name, decode(enc, expect_shape=np.shape(ref))))

    walk(encoded, reference, names)
    return out


def _name_function_mistake(result, outcomes, exercise, args, graph, mode, given, correct, reordered):
    """Put a call's wrong gradients down to the mistake, run on the student's own graph here in the
    grader, that reproduces all of them: made at one node (said there: "at q = max(x, y), the
    gradient went to the smaller input"), in one gate class wherever the function uses it, or one
    branch kept alone; else made at every gate it applies to; else, `reordered()` saying so, the
    right gradients in another order; else not a known mistake."""
    computed = exercise.graph(graph, mode)
    found = [
        m
        for m in exercise.mistaken_at_nodes(args, graph, mode)
        if explaining_way(given, {m.misconception: [tuple(forms.flatten(m.made[1]))]}, correct, _model_close)
    ]
    if found:
        # A function is built from the student's gates: a gate class wrong wherever it is used comes
        # first; another place giving the same gradients is said too, as the other possibility.
        first = next((m for m in found if len(m.nodes) > 1), found[0])
        other = next((m for m in found if m.nodes != first.nodes), None)
        said = where_said(computed, first)
        if other is not None:
            said = student_words(OR_ELSE).format(first=said, second=where_said(computed, other))
        for o in outcomes:
            if not o.passed:
                o.misconception, o.message = first.misconception, said
        return
    models = {
        mid: [tuple(forms.flatten(v)) for v in vs]
        for mid, vs in _function_mistakes(exercise, args, graph, mode).items()
    }
    named = explaining_misconception(given, models, correct, _model_close)
    if named:
        for o in outcomes:
            o.misconception = o.misconception if o.passed else named
    elif said := reordered():  # the right gradients, in another order than the inputs'
        _say_once(result, outcomes, said, student_words(slips.IN_ANOTHER_ORDER_AGAIN), replace=True)
    else:
        _say_once(result, outcomes, student_words(UNKNOWN), _(NOT_KNOWN_EITHER))


def _function_mistakes(exercise, args, graph, mode):
    """{misconception id: [the gradients the function returns with that mistake, ...]}, made at
    every gate it applies to; only mistakes the graph it computes can show."""
    computed = exercise.graph(graph, mode)
    kinds = {described.gate_of(op)[0] for _, op, _ in computed.gates}
    found = {}
    for m in CATALOG:
        if not (computed.branching() if m.scope == "graph" else kinds & set(gates_named_by(m.id))):
            continue
        try:
            if m.scope == "graph":
                found[m.id] = [exercise.correct(args, graph, mode, combine=overwrite)[1]]
            else:
                found[m.id] = [
                    exercise.correct(args, graph, mode, gates=mistaken_gates(m, k))[1]
                    for k in range(m.ways + m.more_ways)
                ]
        except (ValueError, TypeError):
            continue  # a mistake that cannot even run on these shapes (e.g. a transposed dW)
    return found
