"""The hidden checks: what each graded cell verifies, run against a `Subject`.

A Subject runs student code somewhere else (a sandboxed worker during autograde, the
instructor's own kernel for source notebooks) and gives back encoded results; every
check decodes them strictly and compares them here with the reference engine. Student
code only ever receives copies of inputs, so mutating them changes nothing here.
"""
import numpy as np

from solutions.misconceptions import UNKNOWN, Seen

from ..exercises import BY_ID as HAND_EXERCISES, FUNCTIONS_BY_ID, JACOBIAN_ANSWERS
from ..protocol import InvalidAnswer, decode, encode
from .outcomes import CheckResult, Outcome, check_close, check_hand_answer, explaining_misconception

H = 1e-5  # step of the numeric gradient of the student's own forward
# Centered differences with step H agree with a correct backward to ~1e-8 relative; the check
# of backward against the student's own forward uses the course's gradient tolerance unless
# that is tighter than this, which finite differences cannot resolve.
SLOPE_REL, SLOPE_ABS = 1e-5, 1e-6
# A wrong result is put down to a catalogued mistake when the mistake's model reproduces it
# to this relative error: models differ from students' code only by rounding, even where a
# student writes an equivalent formula (a tanh sigmoid), far below what any two mistakes differ by.
MODEL_MATCH_REL = 1e-4


# ---------------------------------------------------------------- inputs

def gate_cases(spec, rng, ties=False):
    """(label, inputs) pairs: the lecture's textbook values, then Python floats, 0-d arrays,
    vectors and matrices (for MatMulGate a non-square W, a vector and a batch)."""
    if spec.kind == "matmul":
        H_, D, N = 3, 5, 4
        return [
            ("the lecture's W and x", (np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4]))),
            ("W of shape (3, 5), x of shape (5,)", (rng.normal(size=(H_, D)), rng.normal(size=D))),
            ("W of shape (3, 5), a batch x of shape (5, 4)", (rng.normal(size=(H_, D)), rng.normal(size=(D, N)))),
        ]
    if spec.kind == "reduce":
        return [("the lecture's q", (np.array([0.22, 0.26]),)),
                ("a vector", (rng.normal(size=6),)), ("a matrix", (rng.normal(size=(3, 4)),))]
    n = len(spec.inputs)
    textbook = {"AddGate": (-2.0, 5.0), "MulGate": (3.0, -4.0), "MaxGate": (-1.0, 2.0), "SigmoidGate": (1.0,)}
    cases = [("the lecture's numbers", textbook[spec.name]),
             ("Python floats", tuple(float(v) for v in _distinct(rng, (), n))),
             ("0-d arrays", tuple(np.array(v) for v in _distinct(rng, (), n))),
             ("vectors", _distinct(rng, (7,), n)),
             ("matrices", _distinct(rng, (3, 4), n))]
    if spec.name == "SigmoidGate":
        cases.append(("large |x|", (np.array([-1000.0, -60.0, -20.0, 20.0, 60.0, 1000.0]),)))
    if ties:
        x = rng.normal(size=8)
        y = np.where(np.arange(8) % 2 == 0, x, x + rng.choice([-1, 1], 8) * rng.uniform(0.5, 2, 8))
        cases = [("vectors with ties at every other entry", (x, y)), ("equal Python floats", (1.5, 1.5))]
    return cases


def _distinct(rng, shape, n):
    """n inputs whose entries differ pairwise by at least 0.1 (no max ties, no kinks)."""
    first = rng.normal(size=shape) * 2
    if n == 1:
        return (first,)
    gap = rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return first, first + gap


def upstream(rng, shape):
    """A random upstream gradient whose entries are never close to ±1: a 1 would hide a
    forgotten upstream factor. Magnitudes in [0.5, 0.8] or [1.25, 2], either sign."""
    magnitude = rng.uniform(0.5, 0.8, size=shape)
    magnitude = np.where(rng.random(size=shape) < 0.5, magnitude, 1 / magnitude)
    g = magnitude * rng.choice([-1.0, 1.0], size=shape)
    return float(g) if shape == () else g


def _forward_output_shape(spec, inputs):
    return np.shape(spec.cls().forward(*[np.copy(v) for v in inputs]))


# ---------------------------------------------------------------- gate checks

def _call_gate(subject, spec, steps_list):
    calls = [{"op": "gate", "class": spec.name,
              "steps": [[step[0], [encode(a) for a in step[1]], *step[2:]] for step in steps]} for steps in steps_list]
    return subject.run([spec.grade_id], calls)


def gate_forward(spec, subject, ctx):
    result = CheckResult()
    cases = gate_cases(spec, ctx.rng)
    reply = _call_gate(subject, spec, [[("forward", inputs)] for _, inputs in cases])
    if not reply.ok:
        result.error, result.error_kind = reply.problem, reply.status
        return result
    for (label, inputs), steps in zip(cases, reply.results):
        expected = spec.cls().forward(*[np.copy(v) for v in inputs])
        result.add(_decoded_then(f"forward, {label}", steps, 0, np.shape(expected),
                                 lambda name, out: check_close(name, out, expected, ctx.tolerances.value_rel)))
    return result


def gate_backward(spec, subject, ctx):
    """Every case runs on two live instances in turn (forward A, forward B, backward A,
    backward B), so a gate that keeps its inputs on the class rather than on the instance
    fails; each case also runs alone, to tell that apart from a wrong formula."""
    result = CheckResult()
    cases = gate_cases(spec, ctx.rng)
    douts = [upstream(ctx.rng, _forward_output_shape(spec, inputs)) for _, inputs in cases]
    pairs = [tuple(range(i, min(i + 2, len(cases)))) for i in range(0, len(cases), 2)]
    steps = lambda i, which: ([("forward", cases[i][1], which)], [("backward", (douts[i],), which)])  # noqa: E731
    interleaved = [sum((steps(i, w)[0] for i, w in zip(pair, "AB")), []) + sum((steps(i, w)[1] for i, w in zip(pair, "AB")), [])
                   for pair in pairs]
    alone = [steps(i, "A")[0] + steps(i, "A")[1] for i in range(len(cases))]
    reply = _call_gate(subject, spec, interleaved + alone)
    if not reply.ok:
        result.error, result.error_kind = reply.problem, reply.status
        return result
    in_turn = {}
    for pair, results in zip(pairs, reply.results):
        for k, i in enumerate(pair):  # results: forwards of the pair, then their backwards
            in_turn[i] = [results[k], results[len(pair) + k]] if isinstance(results, list) and len(results) == 2 * len(pair) else None
    shapes = lambda inputs: [np.shape(v) for v in inputs]  # noqa: E731
    for i, ((label, inputs), dout) in enumerate(zip(cases, douts)):
        seen = _reference_seen(spec, inputs, dout)
        right_alone = _right(_decode_grads(reply.results[len(pairs) + i], 1, shapes(inputs)), seen.correct, ctx)
        grads = _decode_grads(in_turn[i], 1, shapes(inputs))
        if isinstance(grads, Outcome):
            grads.name = f"backward, {label}" + (f": {grads.name}" if grads.name else "")
            grads.message = SHARED_STATE if right_alone else grads.message
            result.add(grads)
            continue
        outcomes = [check_close(f"backward, {label}: d{name}", g, c, ctx.tolerances.gradient_rel_error)
                    for name, g, c in zip(spec.inputs, grads, seen.correct)]
        if right_alone:
            for o in outcomes:
                o.message = o.message if o.passed else SHARED_STATE
        elif not all(o.passed for o in outcomes):
            _name_mistake(result, outcomes, explaining_misconception(grads, _models(spec, seen), seen.correct, _model_close))
        for o in outcomes:
            result.add(o)
    result.add(_own_forward_consistency(spec, subject, ctx))
    return result


SHARED_STATE = ("right when one instance is used alone, wrong when two are used in turn: a forward of one "
                "instance changed what backward of another one uses. Keep what backward needs on self, "
                "not on the class or in a global")


def _right(grads, correct, ctx):
    """Decoded gradients that all pass (False for a failed decode)."""
    return not isinstance(grads, Outcome) and all(
        check_close("", g, c, ctx.tolerances.gradient_rel_error).passed for g, c in zip(grads, correct))


def _model_close(a, b):
    return check_close("", a, b, MODEL_MATCH_REL).passed


def _reference_seen(spec, inputs, dout):
    """What the reference gate sees on these inputs, with its correct gradients."""
    ref = spec.cls()
    out = ref.forward(*[np.copy(v) for v in inputs])

    def correct_for(d):
        grads = ref.backward(np.copy(d))
        return grads if isinstance(grads, tuple) else (grads,)

    return Seen(inputs, out, dout, correct_for(dout), correct_for)


def _models(spec, seen):
    """{misconception id: [the gradients it produces, ...]} for the mistakes that apply to a gate."""
    return {m.id: m.variants(seen) for m in spec.misconceptions}


def _name_mistake(result, failed, misconception):
    """Put a wrong result down to `misconception`, or say it is not a known mistake (with the
    general hint the first time in a check, so feedback does not repeat it)."""
    for o in failed:
        if o.passed:
            continue
        if misconception:
            o.misconception = misconception
        elif not any(UNKNOWN in x.message for x in result.outcomes + failed if x is not o):
            o.message = f"{o.message}; {UNKNOWN}" if o.message else UNKNOWN
        else:
            o.message = f"{o.message}; not a known mistake either" if o.message else "not a known mistake"


def _own_forward_consistency(spec, subject, ctx):
    """The student's backward against the numeric gradient of the student's own forward."""
    label, inputs = gate_cases(spec, ctx.rng)[-1 if spec.name != "SigmoidGate" else -2]
    inputs = tuple(np.asarray(v, dtype=float) for v in inputs)
    dout = upstream(ctx.rng, _forward_output_shape(spec, inputs))
    perturbed = []
    for i, v in enumerate(inputs):
        for j in range(v.size):
            for sign in (1, -1):
                moved = [np.copy(a) for a in inputs]
                moved[i].flat[j] += sign * H
                perturbed.append([("forward", tuple(moved))])
    name = f"backward agrees with the slope of your own forward ({label})"
    reply = _call_gate(subject, spec, [[("forward", inputs), ("backward", (dout,))]] + perturbed)
    if not reply.ok:
        return Outcome(name, False, reply.problem)
    grads = _decode_grads(reply.results[0], 1, [np.shape(v) for v in inputs])
    if isinstance(grads, Outcome):
        return Outcome(name, False, grads.message)
    try:
        outs = iter([decode(steps[0]) for steps in reply.results[1:]])
        numeric = []
        for v in inputs:
            n = np.zeros(v.shape)
            for j in range(v.size):
                n.flat[j] = (np.sum(dout * next(outs)) - np.sum(dout * next(outs))) / (2 * H)
            numeric.append(n)
    except (InvalidAnswer, ValueError, TypeError) as e:
        return Outcome(name, False, f"your forward gave an unusable result: {e}")
    for input_name, g, n in zip(spec.inputs, grads, numeric):
        if not check_close("", g, n, max(SLOPE_REL, ctx.tolerances.gradient_rel_error), atol=SLOPE_ABS).passed:
            return Outcome(name, False, f"d{input_name} from your backward is not the slope of your forward")
    return Outcome(name, True)


def gate_ties(spec, subject, ctx):
    """MaxGate on ties: any split of the upstream gradient with non-negative parts is a valid
    subgradient; both inputs receiving all of it is not."""
    result = CheckResult()
    cases = gate_cases(spec, ctx.rng, ties=True)
    douts = [upstream(ctx.rng, np.shape(inputs[0])) for _, inputs in cases]
    reply = _call_gate(subject, spec, [[("forward", inputs), ("backward", (dout,))]
                                       for (_, inputs), dout in zip(cases, douts)])
    if not reply.ok:
        result.error, result.error_kind = reply.problem, reply.status
        return result
    for (label, (x, y)), dout, steps in zip(cases, douts, reply.results):
        name = f"backward, {label}"
        grads = _decode_grads(steps, 1, [np.shape(x), np.shape(y)])
        if isinstance(grads, Outcome):
            grads.name = name
            result.add(grads)
            continue
        dx, dy, dout = np.asarray(grads[0], float), np.asarray(grads[1], float), np.asarray(dout, float)
        tie = np.asarray(x) == np.asarray(y)
        share = np.where(tie, dx / dout, 0.0)
        routed_ok = np.allclose(np.where(tie, 0, dx), np.where(tie, 0, np.where(np.asarray(x) > y, dout, 0)))
        if np.allclose(np.where(tie, dx, 0), np.where(tie, dout, 0)) and np.allclose(np.where(tie, dy, 0), np.where(tie, dout, 0)):
            result.add(Outcome(name, False, "on a tie both inputs received the whole gradient",
                               misconception="max-routes-both"))
        elif not np.allclose(dx + dy, dout) or not np.all((share >= -1e-9) & (share <= 1 + 1e-9)) or not routed_ok:
            result.add(Outcome(name, False, "the two gradients must be non-negative shares of the upstream "
                                            "gradient that add up to it"))
        else:
            result.add(Outcome(name, True))
    return result


def _decoded_then(name, steps, index, shape, compare):
    try:
        return compare(name, decode(_step(steps, index), expect_shape=shape))
    except InvalidAnswer as e:
        return Outcome(name, False, str(e))


def _step(steps, index):
    if not isinstance(steps, list) or len(steps) <= index:
        raise InvalidAnswer("no result came back")
    step = steps[index]
    if isinstance(step, dict) and "error" in step:
        raise InvalidAnswer(f"your code raised {str(step['error'])[:300]}")
    return step


def _decode_grads(steps, index, shapes):
    """The gradients returned by backward, one per input, or a failed Outcome saying why not."""
    try:
        step = _step(steps, index)
        # Shapes are compared by the checks, which can then recognise a transposed gradient.
        if len(shapes) == 1 and not (isinstance(step, dict) and "seq" in step):
            return (decode(step),)
        items = step.get("seq") if isinstance(step, dict) else None
        if not isinstance(items, list) or len(items) != len(shapes):
            raise InvalidAnswer(f"backward must return {len(shapes)} gradient(s), one per input"
                                + (" (as a tuple)" if len(shapes) > 1 else ""))
        return tuple(decode(item) for item in items)
    except InvalidAnswer as e:
        return Outcome("", False, str(e))


# ---------------------------------------------------------------- hand answers

def hand_answers(exercise_id, subject, ctx):
    result = CheckResult()
    if exercise_id == "jacobian_question":
        correct, candidates = JACOBIAN_ANSWERS, {}
    else:
        exercise = HAND_EXERCISES[exercise_id]
        values = ctx.problem_values[exercise.problem]
        correct, mistaken = exercise.correct(values), exercise.mistaken(values)
        candidates = {name: {mid: [v[name] for v in vs] for mid, vs in mistaken.items()} for name in correct}
    reply = subject.run([exercise_id], [{"op": "variables", "names": list(correct)}])
    if not reply.ok:
        result.error, result.error_kind = reply.problem, reply.status
        return result
    answers = reply.results[0] if reply.results and isinstance(reply.results[0], dict) else {}
    for name, expected in correct.items():
        try:
            value = decode(answers.get(name, {"missing": True}), expect_shape=np.shape(expected))
        except InvalidAnswer as e:
            result.add(Outcome(name, False, f"no usable answer: {e}"))
            continue
        outcome = result.add(check_hand_answer(name, value, expected, *_hand_tolerance(ctx)))
        if not outcome.passed:  # each answer is a case of its own: a model must reproduce it
            models = {mid: [(v,) for v in vs] for mid, vs in candidates.get(name, {}).items()}
            _name_mistake(result, [outcome], explaining_misconception(
                (value,), models, (expected,), lambda a, b: check_hand_answer("", a, b, *_hand_tolerance(ctx)).passed))
    return result


def _hand_tolerance(ctx):
    return ctx.tolerances.hand_answer_abs, ctx.tolerances.hand_answer_rel


# ---------------------------------------------------------------- functions built from gates

def function(exercise_id, subject, ctx):
    exercise = FUNCTIONS_BY_ID[exercise_id]
    result = CheckResult()
    cases = _function_cases(exercise_id, ctx)
    reply = subject.run(list(exercise.needs) + [exercise_id],
                        [{"op": "call", "function": exercise_id, "args": [encode(a) for a in args]} for _, args in cases])
    if not reply.ok:
        result.error, result.error_kind = reply.problem, reply.status
        return result
    for (label, args), got in zip(cases, reply.results):
        f_ref, grads_ref = exercise.correct(args)
        flat_ref = _flatten(grads_ref)
        try:
            if isinstance(got, dict) and "error" in got:
                raise InvalidAnswer(f"your function raised {str(got['error'])[:300]}")
            items = got.get("seq") if isinstance(got, dict) else None
            if not isinstance(items, list) or len(items) != 2:
                raise InvalidAnswer("the function must return f and a tuple of gradients")
            f = decode(items[0], expect_shape=np.shape(f_ref))
            flat = _decode_structure(items[1], grads_ref, exercise.outputs)
        except InvalidAnswer as e:
            result.add(Outcome(label, False, str(e)))
            continue
        result.add(check_close(f"{label}: f", f, f_ref, ctx.tolerances.value_rel))
        outcomes = [check_close(f"{label}: d{name}", g, c, ctx.tolerances.gradient_rel_error)
                    for (name, g), c in zip(flat, flat_ref)]
        if not all(o.passed for o in outcomes):  # a mistake must reproduce every gradient of the call
            models = {mid: [tuple(_flatten(v)) for v in vs] for mid, vs in _function_mistakes(exercise, args).items()}
            _name_mistake(result, outcomes, explaining_misconception(
                tuple(g for _, g in flat), models, tuple(flat_ref), _model_close))
        for o in outcomes:
            result.add(o)
    return result


def _function_cases(exercise_id, ctx):
    rng = ctx.rng
    ints = lambda n: tuple(float(v) for v in rng.integers(-9, 10, size=n) + rng.choice([0.25, 0.5, 0.75], n))
    if exercise_id == "simple_with_gates":
        return [("random inputs", ints(3)), ("more random inputs", ints(3))]
    if exercise_id == "branch_with_gates":
        return [("random inputs", ints(2)), ("more random inputs", ints(2))]
    if exercise_id == "neuron_with_gates":
        return [("the lecture's neuron", ((2.0, -3.0, -3.0), (-1.0, -2.0))),
                ("random weights", (tuple(rng.uniform(-2, 2, 3)), tuple(rng.uniform(-2, 2, 2))))]
    if exercise_id == "l2_with_gates":
        return [("a vector x", (rng.normal(size=(3, 5)), rng.normal(size=5))),
                ("a batch x of 4 columns", (rng.normal(size=(3, 5)), rng.normal(size=(5, 4))))]
    raise KeyError(exercise_id)


def _flatten(structure):
    if isinstance(structure, tuple):
        return [leaf for s in structure for leaf in _flatten(s)]
    return [structure]


def _decode_structure(encoded, reference, names):
    """Decode a nested tuple of gradients shaped like `reference` into [(name, value), ...]."""
    out = []

    def walk(enc, ref, name):
        if isinstance(ref, tuple):
            items = enc.get("seq") if isinstance(enc, dict) else None
            if items is None and isinstance(enc, dict) and "array" in enc:  # an array in place of a tuple of scalars
                arr = decode(enc, expect_shape=(len(ref),))
                items = [{"float": float(v)} for v in arr]
            if not isinstance(items, list) or len(items) != len(ref):
                raise InvalidAnswer(f"the gradients must be a tuple of {len(ref)} entries")
            for e, r, n in zip(items, ref, name):
                walk(e, r, n)
        else:
            out.append((name, decode(enc, expect_shape=np.shape(ref))))

    walk(encoded, reference, names)
    return out


def _function_mistakes(exercise, args):
    from ..exercises import mistaken_gates
    from solutions.misconceptions import CATALOG, overwrite

    found = {}
    for m in CATALOG:
        try:
            if m.id == "branch-overwrite":
                found[m.id] = [exercise.correct(args, combine=overwrite)[1]]
            else:
                found[m.id] = [exercise.correct(args, gates=mistaken_gates(m, k))[1] for k in range(2)]
        except (ValueError, TypeError):
            continue  # a mistake that cannot even run on these shapes (e.g. a transposed dW)
    return found
