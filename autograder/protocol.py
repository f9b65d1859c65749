"""The data that crosses between the grader and student code, and the calls the grader makes.

Runs on both sides: the sandboxed worker copies this file next to itself (standard
library and numpy only), and the grader imports it. On the student side `perform_call`
runs one call against the namespace the student's cells defined and `encode`s what comes
back; student code may have monkeypatched all of it, so on the grader side `decode` trusts
nothing: it accepts plain numbers and float arrays of the expected shape, nothing else.

Encoded values: {"float": x}, {"array": nested lists, "shape": [...]}, {"seq": [...]},
{"unsupported": "type name"}, {"error": "Type: message"}, {"missing": true}.
"""
import math
import numbers
import traceback

import numpy as np

MAX_ENTRIES = 1_000_000  # more numbers than any check sends or expects
MAX_DEPTH = 8


class InvalidAnswer(ValueError):
    """A result that cannot be graded as numbers; the message is for the student."""


# ---------------------------------------------------------------- student side

def encode(value, depth=0):
    if depth > MAX_DEPTH:
        return {"unsupported": "nesting too deep"}
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return {"unsupported": "bool"}
    if type(value) in (int, float) or isinstance(value, (np.floating, np.integer)) and type(value).__module__ == "numpy":
        return {"float": float(value)}
    if type(value) is np.ndarray:
        if value.dtype.kind not in "fiu" or value.size > MAX_ENTRIES:
            return {"unsupported": f"array of {value.dtype} with {value.size} entries"}
        return {"array": value.astype(float).tolist(), "shape": list(value.shape)}
    if type(value) in (tuple, list):
        return {"seq": [encode(v, depth + 1) for v in value[:64]]}
    return {"unsupported": type(value).__name__}


def decode_argument(encoded):
    """The grader's own arguments, as fresh objects for student code (a copy per call)."""
    if "float" in encoded:
        return float(encoded["float"])
    if "array" in encoded:
        return np.array(encoded["array"], dtype=float).reshape(encoded["shape"])
    if "seq" in encoded:
        return tuple(decode_argument(e) for e in encoded["seq"])
    raise ValueError(f"cannot decode argument {encoded!r}")


def _error(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f"{f.filename}, line {f.lineno}" for f in reversed(frames) if f.filename.startswith("<")), "")
    return {"error": f"{type(exc).__name__}: {exc}"[:500] + (f" ({where})" if where else "")}


def perform_call(namespace, call):
    """One grader call against the student's namespace; never raises."""
    try:
        op = call["op"]
        if op == "variables":
            return {name: (encode(namespace[name]) if name in namespace else {"missing": True})
                    for name in call["names"]}
        if op == "call":
            fn = namespace.get(call["function"])
            if fn is None:
                return {"error": f"NameError: {call['function']} is not defined"}
            return encode(fn(*[decode_argument(a) for a in call["args"]]))
        if op == "gate":
            cls = namespace.get(call["class"])
            if cls is None:
                return [{"error": f"NameError: {call['class']} is not defined (did its cell run?)"}]
            instance, results = cls(), []
            for method, args in call["steps"]:
                try:
                    results.append(encode(getattr(instance, method)(*[decode_argument(a) for a in args])))
                except Exception as e:  # the student's code failed: report it, stop this call
                    results.append(_error(e))
                    break
            return results
        return {"error": f"unknown op {op!r}"}
    except Exception as e:
        return _error(e)


# ---------------------------------------------------------------- grader side

def _number(x):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise InvalidAnswer(f"expected a number, found {type(x).__name__}")
    x = float(x)
    if math.isnan(x):
        raise InvalidAnswer("your result contains NaN")
    if math.isinf(x):
        raise InvalidAnswer("your result contains infinity")
    return x


def _check_nested(data, shape, depth=0):
    """Validate nested lists against a shape without trusting either."""
    if depth > MAX_DEPTH:
        raise InvalidAnswer("your result is nested too deeply")
    if not shape:
        return _number(data)
    if not isinstance(data, list) or len(data) != shape[0]:
        raise InvalidAnswer("your array's entries do not match its shape")
    return [_check_nested(d, shape[1:], depth + 1) for d in data]


def decode(encoded, expect_shape=None):
    """A plain float or float64 array from an encoded result, or InvalidAnswer saying why not.
    With expect_shape, a float and a 0-d array both fit ()."""
    if not isinstance(encoded, dict) or len(encoded) > 4:
        raise InvalidAnswer("no usable result came back")
    if encoded.get("missing"):
        raise InvalidAnswer("it is not defined")
    if "error" in encoded:
        raise InvalidAnswer(f"your code raised {str(encoded['error'])[:500]}")
    if "unsupported" in encoded:
        kind = str(encoded["unsupported"])[:100]
        hint = " (use numbers or plain numpy arrays)" if kind != "ellipsis" else ": replace ... with your answer"
        raise InvalidAnswer(f"your result is a {kind}, not a number or a plain numpy array{hint}")
    if "float" in encoded:
        value = _number(encoded["float"])
        if expect_shape not in (None, ()):
            raise InvalidAnswer(f"your result is a single number, expected shape {tuple(expect_shape)}")
        return value
    if "array" in encoded:
        shape = encoded.get("shape")
        if (not isinstance(shape, list) or len(shape) > MAX_DEPTH
                or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_ENTRIES for s in shape)
                or math.prod(shape) > MAX_ENTRIES):
            raise InvalidAnswer("your array's shape is not usable")
        if expect_shape is not None and tuple(shape) != tuple(expect_shape):
            raise InvalidAnswer(f"your result has shape {tuple(shape)}, expected shape {tuple(expect_shape)}")
        return np.array(_check_nested(encoded["array"], shape), dtype=float).reshape(shape)
    if "seq" in encoded:
        raise InvalidAnswer("your result is a tuple or list where a number or an array was expected")
    raise InvalidAnswer("no usable result came back")
