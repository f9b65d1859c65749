"""The data that crosses between the grader and student code, and the calls the grader makes.

Written once, used on both sides: the grader imports it, and the sandboxed worker loads a
copy of this very file (standard library and numpy only). On the student side
`perform_call` runs one call against the namespace the student's cells defined and
`encode`s what comes back. Student code may monkeypatch all of that in its own process,
so on the grader side `decode` trusts nothing: exact types only, every size and depth
bounded, no recursion on untrusted nesting, plain finite numbers of the expected shape.

Calls (results[i] answers calls[i]):
  {"op": "gate", "class": C, "steps": [[method, [arg, ...], instance?], ...]}
      the steps in order, each on the live C() instance it names (one instance when none is
      named; two names keep two instances alive side by side, so state shared between
      instances shows) -> [encoded return, ...]; an exception gives {"error": "Type:
      message"} for that step and for every later step of the same instance.
  {"op": "nudged_forwards", "class": C, "args": [arg, ...], "h": h, "fixed": [index, ...]}
      C().forward on a fresh instance for every input moved by +h and by -h in one entry
      (`nudged_inputs`' order) -> [encoded return | {"error": ...}, ...]: the forwards of a
      numeric gradient, sent as one copy of the inputs instead of one call each.
  {"op": "variables", "names": [...]}           -> {name: encoded | {"missing": true}}
      the student's hand answers: each converted here, on the student's side, to what the
      student plainly means (bpkit/forms.py: `plain`; a Fraction, a list of lists...) before
      it is encoded, or refused with forms' reason.
  {"op": "call", "function": f, "args": [...]}  -> encoded f(*args)
  {"op": "call", "function": f, "args": [...], "through": {"classes": [C, ...], "scale": [a, b, s]}}
      f(*args) with the forward and backward of each class C the namespace defines wrapped for
      this call only: each instance's backward returns its results times
      `backward_factor(its latest forward's inputs, [a, b, s])` (every number and array of
      what it returns; 1 where s is 0). Every call of a function exercise carries it, the
      plain ones with s = 0, so that the grader's scaled calls look like any other call:
      whether f's gradients come from the gates' backward (checks.py: the function's method).

Encoded values:
  {"float": x}    an exact int or float, or a numpy integer/floating scalar; bool and
                  np.bool_ are not numbers, and neither are subclasses of anything;
  {"array": nested lists, "shape": [...], "dtype": "..."}  exactly np.ndarray of a real
                  numeric dtype, sent as float64 values (dtype: the original, informative);
  {"seq": [...]}  an exact tuple or list;   {"unsupported": "type name"} anything else;
  {"unsupported": key, "fields": {field: text}}  a number, array or sequence that cannot be sent
                  (UNSUPPORTED: too large, a complex dtype...);
  {"refused": reason, "fields": {field: text}}  a hand answer that bpkit/forms.py refuses
                  (REASONS: text, a complex number...), with the fields of its words;
  {"error": "Type: message (cell, line)"};  {"missing": true}.
NaN and infinities travel as they are: the grader's `decode` rejects them. Arguments from
the grader are decoded into fresh objects for every call, so mutating them changes nothing.
"""

import functools
import math
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

try:  # the grader's process: the student-side package's own copy
    from ..bpkit import forms
except ImportError:  # the sandboxed worker: the copy beside this file (worker.load_protocol)
    import forms  # type: ignore[no-redef]

# What crosses the boundary is JSON: an encoded value and a call are JSON objects, whatever a
# (possibly monkeypatched) worker put in them; the grader's side checks every field's type.
Encoded = dict[str, Any]
Call = dict[str, Any]

MAX_ENTRIES = 1_000_000  # numbers in one array: far more than any check sends or expects
MAX_SEQ_ITEMS = 256
MAX_DEPTH = 8

_SCALAR_NAMES = (
    "float16",
    "float32",
    "float64",
    "longdouble",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "intc",
    "uintc",
    "longlong",
    "ulonglong",
)
NUMBER_TYPES = frozenset([int, float] + [getattr(np, n) for n in _SCALAR_NAMES if hasattr(np, n)])


def detail(key: str, **fields: object) -> dict[str, Any]:
    """The reply's fields for a run's detail: its key and plain fields ("words"), which the grader
    words for the student in the course's language (grading/problems.py), and a plain form of both
    ("detail") for logs. The sandbox writes no sentences for students."""
    plain = ", ".join(f"{name}={value}" for name, value in fields.items())
    return {"detail": f"{key} ({plain})" if plain else key, "words": {"key": key, "fields": fields}}


# What `encode` could not send, by key: the fields it sends with it. Sent as
# {"unsupported": key, "fields": {...}}; the grader words it (grading/problems.py: UNSUPPORTED).
UNSUPPORTED = {
    "too large": ("type",),
    "dtype": ("dtype",),
    "too many entries": ("size",),
    "too deep": (),
    "too many items": ("type", "count"),
}
FIELD_CHARS = 100  # a field of an unsupported value's, as the grader takes it (student code may forge it)


class Unsupported(NamedTuple):
    """A value `encode` could not send, as decode read it back: a key of UNSUPPORTED with its fields,
    or a type's name (key "type", field "name")."""

    key: str
    fields: dict[str, str]


class InvalidAnswer(ValueError):
    """A result that cannot be graded as numbers: why, as a key and plain fields (REFUSALS), which the
    grader words for the student (grading/problems.py: refusal_of); str() is a plain form for logs.
    `refused`: the bpkit/forms.Refused it came from, for a hand answer the student's side refused
    (its words are the student catalog's, said by the check that shows them)."""

    def __init__(self, key: str, refused: "forms.Refused | None" = None, **fields: object):
        self.key, self.fields, self.refused = key, fields, refused
        plain = ", ".join(f"{name}={value}" for name, value in fields.items())
        super().__init__(f"{key} ({plain})" if plain else key)


# Why decode refused a result: the keys InvalidAnswer carries here, with their fields.
REFUSALS = {
    "no usable result": (),
    "not defined": (),
    "undefined": ("name",),  # a class or function the notebook did not define
    "raised": (),
    "raised this": ("error",),
    "still ...": (),
    "unsupported": ("kind",),  # kind: an Unsupported
    "unknown type": (),
    "sequence": (),
    "refused": (),  # a hand answer the student's side refused: InvalidAnswer.refused says why
    "single number": ("expected",),
    "too large": (),
    "bool": (),
    "not a number": (),
    "nan": (),
    "infinity": (),
    "shape unusable": (),
    "shape": ("shape", "expected"),
    "entries": (),
}


# ---------------------------------------------------------------- student side


def _type_name(value: object) -> str:
    try:
        t = type(value)
        return str(t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}")[:100]
    except Exception:
        return "object"


_DTYPE_NAMES: dict[
    np.dtype, str
] = {}  # dtype -> str(dtype): numpy builds the name in Python each time (a tenth of the grader's encoding)


def _dtype_name(dtype: np.dtype) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)[:100]
    return name


def encode(value: Any, depth: int = 0) -> Encoded:
    t = type(value)
    if t in NUMBER_TYPES:
        try:
            return {"float": float(value)}
        except (OverflowError, ValueError, TypeError):
            return _unsupported("too large", type=_type_name(value))
    if t is np.ndarray:
        if value.dtype.kind not in "iuf":
            return _unsupported("dtype", dtype=_dtype_name(value.dtype))
        if value.size > MAX_ENTRIES:
            return _unsupported("too many entries", size=str(value.size))
        return {
            "array": value.astype(np.float64).tolist(),
            "shape": list(value.shape),
            "dtype": _dtype_name(value.dtype),
        }
    if t is tuple or t is list:
        if depth >= MAX_DEPTH:
            return _unsupported("too deep")
        if len(value) > MAX_SEQ_ITEMS:
            return _unsupported("too many items", type=t.__name__, count=str(len(value)))
        return {"seq": [encode(v, depth + 1) for v in value]}
    return {"unsupported": _type_name(value)}


def _unsupported(key: str, **fields: str) -> Encoded:
    return {"unsupported": key, "fields": fields}


def decode_argument(encoded: Any, depth: int = 0) -> float | np.ndarray | tuple:
    """One of the grader's own arguments, as a fresh object (a new copy for every call)."""
    if depth > MAX_DEPTH or type(encoded) is not dict:
        raise ValueError("malformed argument")
    if "float" in encoded:
        return float(encoded["float"])
    if "array" in encoded:
        # Integer arrays (a loss's labels, used as indices) stay integers; everything else is float64.
        dtype = np.int64 if str(encoded.get("dtype", "")).startswith(("int", "uint")) else np.float64
        return np.array(encoded["array"], dtype=dtype).reshape(encoded["shape"])
    if "seq" in encoded:
        return tuple(decode_argument(e, depth + 1) for e in encoded["seq"])
    raise ValueError("malformed argument")


def describe_error(e: BaseException, cell: str | None = None) -> dict[str, Any]:
    """Type, message, the innermost student line, and a traceback of the student's own
    frames only (cells are compiled as "<cell NAME>"; the grader's frames are left out)."""
    try:
        message = str(e)[:1000]
    except BaseException:
        message = "<the exception's message could not be printed>"
    try:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith("<")]
        where = f"{frames[-1].filename.strip('<>')}, line {frames[-1].lineno}" if frames else ""
        lines = "".join(traceback.format_list(frames[-8:]))
        text = (
            "Traceback (most recent call last):\n" + lines if lines else ""
        ) + f"{type(e).__name__}: {message}"
    except BaseException:
        where, text = "", f"{type(e).__name__}: {message}"
    return {
        "type": type(e).__name__[:100],
        "message": message,
        "cell": cell,
        "where": where,
        "traceback": text[-3000:],
    }


def error_result(e: BaseException) -> Encoded:
    info = describe_error(e)
    where = f" ({info['where']})" if info["where"] else ""
    return {"error": f"{info['type']}: {info['message']}"[:600] + where}


def guarded(thunk: Callable[[], object], encoding: Callable[[object], Encoded] = encode) -> Encoded:
    """encoding(thunk()), or {"error": ...}: student code may raise anything, SystemExit too."""
    try:
        return encoding(thunk())
    except BaseException as e:
        return error_result(e)


def encode_answer(value: object) -> Encoded:
    """A hand answer, encoded as what the student plainly means (forms.plain: a float or a float64
    array), or its refusal; an answer not given yet (forms.unanswered: ... or None) is refused as
    such, in the words the self-check and Validate say it with."""
    if forms.unanswered(value):
        return {"refused": "unanswered", "fields": {}}
    try:
        return encode(forms.plain(value))
    except forms.Refused as refused:
        return {"refused": refused.reason, "fields": refused.fields}


def perform_call(namespace: dict[str, Any], call: Call) -> list[Encoded] | Encoded:
    """One grader call against the student's namespace; never raises."""
    try:
        op = call.get("op")
        if op == "gate":
            return _gate(namespace, call)
        if op == "nudged_forwards":
            return _nudged_forwards(namespace, call)
        if op == "variables":
            return {str(n): _variable(namespace, n) for n in call["names"]}
        if op == "call":
            fn = namespace.get(call["function"])
            if not callable(fn):
                return _not_defined(call["function"])
            args = [decode_argument(a) for a in call["args"]]
            if "through" in call:
                return _through_gates(namespace, call["through"], lambda: fn(*args))
            return guarded(lambda: fn(*args))
        return {"error": f"unknown op {op!r}"}
    except BaseException as e:
        return error_result(e)


def _scaled(result: Any, factor: float) -> Any:
    """What a backward returned, each number and array in it times `factor`; anything else as it was."""
    if type(result) in (tuple, list):
        return type(result)(_scaled(item, factor) for item in result)
    if type(result) in NUMBER_TYPES or isinstance(result, np.ndarray):
        return result * factor
    return result


def backward_factor(inputs: Sequence[Any], scale: Sequence[float]) -> float:
    """What a gate's backward results are multiplied by in the grader's scaled call of a
    function exercise, from the inputs its instance's forward was given: 1 + s(2 + sin(a·S + b))
    with S the sum of every input's entries and of their squares (the same whatever the inputs'
    order or types, and smooth, so a gate computed another way to the last bit gets the same
    factor). Drawn per node, not per class: a spare gate probed on inputs of one's own choice
    tells nothing about the factor at the graph's nodes. Used by the worker and by the grader's
    reference (exercises.keyed_gates) alike."""
    a, b, s = (float(v) for v in scale)
    if s == 0:
        return 1.0
    total = 0.0
    for value in inputs:
        try:
            entries = np.asarray(value, dtype=float)
            total += float(np.sum(entries) + np.sum(entries * entries))
        except (TypeError, ValueError, OverflowError):
            continue  # not numbers: counts as nothing, on both sides
    if not math.isfinite(total):
        total = 0.0
    return 1.0 + s * (2.0 + math.sin(a * math.fmod(total, 1e6) + b))


def _through_gates(
    namespace: dict[str, Any], through: dict[str, Any], thunk: Callable[[], object]
) -> Encoded:
    """guarded(thunk) while every named gate class of the namespace has its forward and backward
    wrapped: forward notes each instance's backward_factor of its inputs (held here, keyed by the
    instance's id, never on the instance), backward returns its results times the latest. Set on
    the class itself, so instances made before (in a cell, at module level) and subclasses go
    through it too; looking like the student's own methods (functools.wraps); put back
    afterwards, so calls of other exercises see the student's own classes."""
    scale = [float(v) for v in through["scale"]]
    seen: dict[
        int, tuple[Any, list[float]]
    ] = {}  # id -> (the instance, kept alive: no id reused; its forwards' factors)
    originals = []
    for name in through["classes"]:
        cls = namespace.get(str(name))
        if not isinstance(cls, type) or not callable(getattr(cls, "backward", None)):
            continue
        # Both looked up before any class is wrapped: a subclass's inherited methods are its
        # base's own, not the base's wrappers (which would scale twice).
        originals.append((cls, getattr(cls, "forward", None), getattr(cls, "backward")))  # noqa: B009
    patched = []
    for cls, forward, backward in originals:
        wrapped = {"backward": _scaling(backward, seen, scale)}
        if callable(forward):
            wrapped["forward"] = _noting(forward, seen, scale)
        for attribute, method in wrapped.items():
            patched.append((cls, attribute, cls.__dict__.get(attribute, _MISSING)))
            type.__setattr__(cls, attribute, method)
    try:
        return guarded(thunk)
    finally:
        for cls, attribute, own in reversed(patched):
            if own is _MISSING:
                type.__delattr__(cls, attribute)
            else:
                type.__setattr__(cls, attribute, own)
        seen.clear()


def _wraps(original: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """functools.wraps where a student's method allows it (its attributes are the student's)."""

    def wrap(wrapper: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return functools.wraps(original)(wrapper)
        except Exception:
            return wrapper

    return wrap


def _noting(
    forward: Callable[..., Any], seen: dict[int, tuple[Any, list[float]]], scale: list[float]
) -> Callable[..., Any]:
    @_wraps(forward)
    def noted(self, *args, **kwargs):
        # Reckoned before forward runs: a forward may change its inputs in place.
        seen.setdefault(id(self), (self, []))[1].append(backward_factor((*args, *kwargs.values()), scale))
        return forward(self, *args, **kwargs)

    return noted


def _scaling(
    backward: Callable[..., Any], seen: dict[int, tuple[Any, list[float]]], scale: list[float]
) -> Callable[..., Any]:
    @_wraps(backward)
    def scaled(self, *args, **kwargs):
        result = backward(self, *args, **kwargs)
        # The latest forward's factor, taken off for the next backward: one instance used at two
        # nodes (an add gate's backward needs no inputs, so that gives the right numbers) is
        # walked back in the reverse order of its forwards; the last one stays for a repeat.
        factors = seen[id(self)][1] if id(self) in seen else [backward_factor((), scale)]
        factor = factors.pop() if len(factors) > 1 else factors[0]
        return result if factor == 1.0 else _scaled(result, factor)  # a plain call: as the student's

    return scaled


_MISSING = object()


def _variable(namespace: dict[str, Any], name: str) -> Encoded:
    """A hand answer, converted here on the student's side (encode_answer)."""
    return guarded(lambda: namespace[name], encode_answer) if name in namespace else {"missing": True}


def _not_defined(name: str) -> Encoded:
    """A name the notebook's cells did not define: the name only (the grader words it, REFUSALS)."""
    return {"undefined": name}


def _gate(namespace: dict[str, Any], call: Call) -> list[Encoded]:
    cls = namespace.get(call["class"])
    if cls is None:
        return [_not_defined(call["class"])]
    instances: dict[str, Any] = {}
    failed: dict[str, Encoded] = {}
    results: list[Encoded] = []
    for step in call["steps"]:
        method, args = step[0], step[1]
        which = str(step[2]) if len(step) > 2 else ""  # which live instance (default: the only one)
        if which in failed:  # an exception ended this instance's steps; others go on
            results.append(failed[which])
            continue
        try:
            if which not in instances:
                instances[which] = cls()
            instance = instances[which]
        except BaseException as e:
            failed[which] = error_result(e)
            results.append(failed[which])
            continue
        outcome = guarded(lambda: getattr(instance, str(method))(*[decode_argument(a) for a in args]))  # noqa: B023
        results.append(outcome)
        if "error" in outcome:
            failed[which] = outcome
    return results


def nudged_inputs(inputs: Sequence[Any], h: float, fixed: Sequence[int] = ()) -> Iterator[list[np.ndarray]]:
    """The inputs of a numeric gradient of forward: each entry of each input (inputs in turn,
    entries in C order) moved by +h, then by -h; fresh copies. The grader reads the replies in
    this order (checks._own_forward_consistency pairs them entry by entry). Inputs at `fixed`
    (a loss's integer labels) are never moved."""
    for i, value in enumerate(inputs):
        if i in fixed:
            continue
        for j in range(np.size(value)):
            for sign in (1, -1):
                moved = [np.copy(a) for a in inputs]
                moved[i].flat[j] += sign * h
                yield moved


def _nudged_forwards(namespace: dict[str, Any], call: Call) -> list[Encoded]:
    cls = namespace.get(call["class"])
    if cls is None:
        return [_not_defined(call["class"])]
    fixed = [int(i) for i in call.get("fixed", [])]
    inputs = [
        np.asarray(decode_argument(a)) if i in fixed else np.asarray(decode_argument(a), dtype=np.float64)
        for i, a in enumerate(call["args"])
    ]
    results: list[Encoded] = []
    for moved in nudged_inputs(inputs, float(call["h"]), fixed):
        try:
            instance = cls()
        except BaseException as e:
            results.append(error_result(e))
            continue
        results.append(guarded(lambda: instance.forward(*moved)))  # noqa: B023
    return results


# ---------------------------------------------------------------- grader side


def bounded_text(value: object, cap: int) -> str:
    """`value` cut to `cap` characters when it is a str, else "": replies are untrusted."""
    return value[:cap] if type(value) is str else ""


def decode(encoded: object, expect_shape: Sequence[int] | None = None) -> float | np.ndarray:
    """A plain Python float or a float64 ndarray from one encoded result, or InvalidAnswer
    with a message for the student. With expect_shape, a float and a 0-d array both fit ()."""
    if type(encoded) is not dict or not all(type(k) is str for k in encoded):
        raise InvalidAnswer("no usable result")
    keys = set(encoded)
    if keys == {"missing"}:
        raise InvalidAnswer("not defined")
    refuse_undefined(encoded)
    if keys == {"error"}:
        error = bounded_text(encoded["error"], 500)
        if not error:
            raise InvalidAnswer("raised")
        raise InvalidAnswer("raised this", error=error)
    if keys == {"unsupported"}:
        name = bounded_text(encoded["unsupported"], FIELD_CHARS)
        if not name:
            raise InvalidAnswer("unknown type")
        if name == "ellipsis":
            raise InvalidAnswer("still ...")
        raise InvalidAnswer("unsupported", kind=Unsupported("type", {"name": name}))
    if keys == {"unsupported", "fields"}:
        raise InvalidAnswer("unsupported", kind=_unsupported_kind(encoded["unsupported"], encoded["fields"]))
    if keys == {"seq"}:
        raise InvalidAnswer("sequence")
    if keys == {"refused", "fields"}:
        raise InvalidAnswer("refused", _refusal(encoded["refused"], encoded["fields"]))
    if keys == {"float"}:
        if expect_shape is not None and tuple(expect_shape) != ():
            raise InvalidAnswer("single number", expected=tuple(expect_shape))
        return _finite(_number(encoded["float"]))
    if keys in ({"array", "shape"}, {"array", "shape", "dtype"}):
        return _decode_array(encoded["array"], encoded["shape"], expect_shape)
    raise InvalidAnswer("no usable result")


def refuse_undefined(reply: object) -> None:
    """InvalidAnswer("undefined") for a reply saying that the class or function asked for is not
    defined (_not_defined), naming it; nothing for any other reply."""
    if type(reply) is dict and set(reply) == {"undefined"}:
        raise InvalidAnswer("undefined", name=bounded_text(reply["undefined"], FIELD_CHARS))


def _unsupported_kind(key: object, fields: object) -> Unsupported:
    """An unsupported value's key with exactly its fields, each a str of bounded length (it is shown
    to the student, so nothing else gets through)."""
    if type(key) is not str or key not in UNSUPPORTED or type(fields) is not dict:
        raise InvalidAnswer("no usable result")
    names = UNSUPPORTED[key]
    if set(fields) != set(names) or not all(type(fields[k]) is str for k in names):
        raise InvalidAnswer("no usable result")
    return Unsupported(key, {k: fields[k][:FIELD_CHARS] for k in names})


def _refusal(reason: object, fields: object) -> "forms.Refused":
    """forms.Refused from a refusal sent by the student's side: a known reason with exactly its
    fields, each a str of bounded length (it is shown to the student, so nothing else gets through)."""
    if type(reason) is not str or reason not in forms.REASONS or type(fields) is not dict:
        raise InvalidAnswer("no usable result")
    names = forms.FIELDS[reason]
    if set(fields) != set(names) or not all(type(fields[k]) is str for k in names):
        raise InvalidAnswer("no usable result")
    return forms.Refused(reason, **{k: fields[k][: forms.FIELD_CHARS] for k in names})


def _number(x: object) -> float:
    if type(x) is float:
        return x
    if type(x) is int:  # bool is not: type(True) is bool
        try:
            return float(x)
        except OverflowError:
            raise InvalidAnswer("too large") from None
    if type(x) is bool:
        raise InvalidAnswer("bool")
    raise InvalidAnswer("not a number")


def _finite(x: float) -> float:
    if math.isnan(x):
        raise InvalidAnswer("nan")
    if math.isinf(x):
        raise InvalidAnswer("infinity")
    return x


def _decode_array(data: object, shape: object, expect_shape: Sequence[int] | None) -> np.ndarray:
    if (
        type(shape) is not list
        or len(shape) > MAX_DEPTH
        or not all(type(s) is int and 0 <= s <= MAX_ENTRIES for s in shape)
        or math.prod(shape) > MAX_ENTRIES
    ):
        raise InvalidAnswer("shape unusable")
    if expect_shape is not None and tuple(shape) != tuple(expect_shape):
        raise InvalidAnswer("shape", shape=tuple(shape), expected=tuple(expect_shape))
    level = [data]  # breadth-first, one nesting level per dimension: no recursion
    for size in shape:
        deeper = []
        for item in level:
            if type(item) is not list or len(item) != size:
                raise InvalidAnswer("entries")
            deeper.extend(item)
        level = deeper
    values = np.array([_number(x) for x in level], dtype=np.float64).reshape(shape)
    if np.isnan(values).any():
        raise InvalidAnswer("nan")
    if np.isinf(values).any():
        raise InvalidAnswer("infinity")
    return values
