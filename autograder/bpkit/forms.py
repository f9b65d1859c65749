"""The rules the student's checks and the grader must share, each written once.

- The form of an answer (`plain`, `fit_shape`, `answer`): which Python and numpy values
  count as a number, a vector or a matrix, and the words for those that do not.
- How close a result must be to a mistake's model to be put down to it (`matches_model`), and
  which catalogued mistakes reproduce a result (`reproducing_ways`).
- How close a hand answer must be to count as right (`hand_close`), with the course's
  tolerance (`hand_tolerance`: course.yaml's, through the release's course.json).
- How a structure of gradients is flattened into the order they are named in (`flatten`).

Used on both sides of the trust boundary. The self-check and Validate import it from bpkit.
The sandboxed worker loads a copy beside protocol.py, and a hand answer is converted there,
on the student's side, by `plain` before it is encoded: the grader's decoding stays strict
(exact types only) and never sees a Fraction or a list of lists. The grader then fits the
decoded value to the shape asked with `fit_shape`, as the self-check does. So Validate cannot
pass an answer the grader refuses, and the two refuse it in the same words.

What a student plainly means by a number: int, float, `Fraction`, `Decimal`, a numpy integer
or floating scalar of any dtype, and bool and np.bool_ as 0 and 1, as Python and numpy count
them (True == 1; the gradient to a max's losing input is 0, and `x > y` is the mask of its
winner). Arrays of them are numpy arrays (an `np.matrix` too) or nested lists and tuples of
equal lengths; where a single number is asked, a 0-d or one-element array is that number.
Refused, with words saying what was found: text, complex numbers, anything else (None, a
dict, a function), rows of different lengths, NaN and infinity, and a shape other than the
one asked (a transposed matrix names both shapes).

STANDALONE: standard library and numpy only, and nothing else of bpkit (the sandbox loads
this file alone). Its words are messages of the student's catalog (bpkit): `Refused.words`
takes the gettext to speak in.
"""

import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np


def N_(message):
    """Marks a message for the student's catalog (autograder/catalogs.py finds it by this name):
    this file cannot import bpkit's i18n, so `Refused.words` translates with the caller's gettext."""
    return message


# What an answer variable holds until the student replaces it: not answered yet, on every side
# (the released stub writes `name = ...`; None is a student's "nothing yet").
UNANSWERED = (..., None)


def unanswered(value):
    return any(value is u for u in UNANSWERED)


# Why an answer is refused: reason -> message (str.format fields: name, and the reason's own).
REASONS = {
    # said of one answer by the grader, of every unanswered name at once (name: "q, f") by the
    # self-check and Validate: the same words on all three sides
    "unanswered": N_("Not answered yet: {name} (replace each ... in the exercise's cell, then run it)."),
    "text": N_("{name} is text ({found}), not a number: write the number itself, without quotes."),
    "complex": N_("{name} is a complex number ({found}); the answer is a real number."),
    "type": N_("{name} is a {type}, not a number or an array of numbers."),
    "ragged": N_("{name} has rows of different lengths: it is not a vector or a matrix of numbers."),
    "large": N_("{name} has too many entries or is nested too deeply."),
    "overflow": N_("{name} is too large to be a number (larger than 1e308)."),
    "nonfinite": N_("{name} contains NaN or infinity."),
    "shape": N_("{name} has shape {got}; it should have shape {want}."),
    "number": N_("{name} should be a single number, not shape {got}."),
    # a gate's output or gradient (gate_value): name is forward(...) or the gradient's name, dW
    "returned a sequence": N_(
        "{name} is a list or tuple: a gate returns a number or a numpy array (wrap it in np.array), "
        "which the next gate computes with."
    ),
}
FIELDS = {  # the fields of each reason, besides name: what the grader accepts from the sandbox
    "unanswered": (),
    "returned a sequence": (),
    "text": ("found",),
    "complex": ("found",),
    "type": ("type",),
    "ragged": (),
    "large": (),
    "overflow": (),
    "nonfinite": (),
    "shape": ("got", "want"),
    "number": ("got",),
}
FIELD_CHARS = 60  # a field's text is cut to this: it may be anything the student wrote

MAX_ENTRIES = 1_000_000  # as the wire format's: far more than any answer has
MAX_DEPTH = 8

# A wrong result is put down to a catalogued mistake when the mistake's model reproduces it to
# this relative error (or this absolute error near 0): models differ from students' code only by
# rounding, even where a student writes an equivalent formula, far below what two mistakes differ by.
MODEL_MATCH_REL = 1e-4
MODEL_MATCH_ABS = 1e-9

# course.yaml's defaults for the hand tolerance (autograder/config/schema.py reads them here):
# a hand answer passes when |answer - correct| <= abs + rel * |correct|.
HAND_ANSWER_ABS = 0.005
HAND_ANSWER_REL = 0.005


class Refused(ValueError):
    """An answer not in a form that counts as numbers: `reason` (a key of REASONS) and its fields."""

    def __init__(self, reason, **fields):
        self.reason = reason
        self.fields = {key: str(value)[:FIELD_CHARS] for key, value in fields.items()}
        super().__init__(self.words(name="the answer"))

    def words(self, gettext=None, name="the answer"):
        """The reason in words, in the language of `gettext` (English without one)."""
        message = REASONS[self.reason]
        return (gettext(message) if gettext else message).format(name=name, **self.fields)


def _type_name(value):
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


# Numbers as a student plainly means them: checked with isinstance, since on the student's side
# a float subclass (np.float64 is one) is still a number; the grader never sees them.
_REAL = (bool, int, float, Fraction, Decimal, np.bool_, np.integer, np.floating)
_COMPLEX = (complex, np.complexfloating)
_TEXT = (str, bytes, np.str_, np.bytes_)


def _number(value):
    if isinstance(value, _TEXT):
        raise Refused("text", found=repr(value))
    if isinstance(value, _COMPLEX):
        raise Refused("complex", found=complex(value))  # (1+2j), as Python writes it, for numpy's too
    if isinstance(value, _REAL):
        try:
            return float(value)
        except OverflowError:
            raise Refused("overflow") from None
        except (ValueError, ArithmeticError):  # a signalling NaN Decimal
            raise Refused("nonfinite") from None
    raise Refused("type", type=_type_name(value))


def _array(value):
    if value.dtype.kind in "biuf":
        if value.size > MAX_ENTRIES:
            raise Refused("large")
        return np.array(value, dtype=np.float64)  # np.matrix and other subclasses become plain arrays
    if value.dtype.kind in "cUS" and value.size:  # found: its first entry, in words of no language
        _number(value.flat[0].item())
    if value.dtype.kind == "O" and value.size <= MAX_ENTRIES:  # e.g. an array of Fractions
        return np.array([_number(v) for v in value.flat], dtype=np.float64).reshape(value.shape)
    raise Refused("type", type=f"numpy.ndarray[{value.dtype}]")


def _nested(value, depth, budget):
    """A float or a float64 array from nested lists and tuples of numbers and arrays."""
    if depth > MAX_DEPTH:
        raise Refused("large")
    if isinstance(value, np.ndarray):
        return _array(value)
    if not isinstance(value, (list, tuple)):
        return _number(value)
    if len(value) > budget[0]:
        raise Refused("large")
    budget[0] -= len(value)
    items = [_nested(item, depth + 1, budget) for item in value]
    if len({np.shape(item) for item in items}) > 1:
        raise Refused("ragged")
    return np.array(items, dtype=np.float64).reshape((len(items), *(np.shape(items[0]) if items else ())))


def plain(value):
    """A Python float or a plain float64 ndarray holding what the student means by `value`, or
    Refused saying why it is not numbers. Run on the student's side: the grader decodes the result."""
    converted = _nested(value, 0, [MAX_ENTRIES])
    if not np.all(np.isfinite(converted)):
        raise Refused("nonfinite")
    return converted


def fit_shape(value, want):
    """`value` (plain's result) as the shape asked: a 0-d or one-element array where a single number
    is asked (want == ()) is that number; any other shape than `want` is Refused, naming both."""
    want = tuple(want)
    got = tuple(np.shape(value))
    if want == ():
        if math.prod(got) == 1:
            return float(np.asarray(value).reshape(()))
        raise Refused("number", got=got)
    if got != want:
        raise Refused("shape", got=got, want=want)
    return value


def gate_value(value):
    """A gate's output, or one of the gradients its backward returns, as the self-check, Validate and
    the grader take it: refused when it is a list or a tuple, which the next gate of a graph cannot
    compute with (a list + a list joins them). A gate's numbers are not converted: it is code."""
    if isinstance(value, (list, tuple)):
        raise Refused("returned a sequence")
    return value


def answer(value, want=()):
    """A hand answer in the form asked (want: its shape, () for a single number), or Refused."""
    return fit_shape(plain(value), want)


def matches_model(result, model):
    """Whether a mistake's model reproduces `result` (same shape, every entry within
    MODEL_MATCH_REL relative error or MODEL_MATCH_ABS): the one test of "this is that mistake"."""
    if np.shape(result) != np.shape(model):
        return False
    a, b = np.asarray(result, dtype=float), np.asarray(model, dtype=float)
    diff = np.abs(a - b)
    return bool(np.all((diff <= MODEL_MATCH_ABS) | (diff <= MODEL_MATCH_REL * (np.abs(a) + np.abs(b)))))


def reproducing_ways(results, models, correct, close=matches_model):
    """Every (mistake id, way) whose model reproduces all of `results` at once (`close`: same
    shape, within the model tolerance) while differing somewhere from the `correct` ones, in the
    models' order; a partial match is no explanation. models: {id: [the results of each way of
    making it, ...]}. The self-check takes the first; the grader names them across cases."""
    found = []
    for mid, ways in models.items():
        for way, made in enumerate(ways):
            if (
                len(made) == len(results)
                and all(close(r, m) for r, m in zip(results, made))
                and not all(close(m, c) for m, c in zip(made, correct))
            ):
                found.append((mid, way))
    return found


def hand_close(value, correct, abs_tol=HAND_ANSWER_ABS, rel_tol=HAND_ANSWER_REL):
    """Whether a hand answer counts as `correct`: same shape, |value - correct| <= abs_tol +
    rel_tol * |correct| in every entry (course.yaml's `tolerances`)."""
    if np.shape(value) != np.shape(correct):
        return False
    diff = np.abs(np.asarray(value, dtype=float) - np.asarray(correct, dtype=float))
    return bool(np.all(diff <= abs_tol + rel_tol * np.abs(np.asarray(correct, dtype=float))))


def hand_tolerance(course_file=None):
    """(abs, rel) of course.yaml's hand-answer tolerance, as the release's course.json carries it
    (bpkit/course.json beside this file); course.yaml's defaults where there is none (the kit's
    checkout, the grader's process: the grader reads course.yaml itself)."""
    path = Path(course_file) if course_file else Path(__file__).with_name("course.json")
    try:
        tolerances = json.loads(path.read_text(encoding="utf-8")).get("tolerances", {})
    except (OSError, ValueError, AttributeError):
        tolerances = {}
    return (
        float(tolerances.get("hand_answer_abs", HAND_ANSWER_ABS)),
        float(tolerances.get("hand_answer_rel", HAND_ANSWER_REL)),
    )


GRADIENT_REL_ERROR = 1e-6  # course.yaml's tolerances.gradient_rel_error when none is given


def gradient_rel_error(course_file=None):
    """course.yaml's tolerances.gradient_rel_error as the release's course.json carries it: the
    largest cs231n relative error, max |a - b| / max(1e-8, |a| + |b|), at which a gradient passes,
    in the grader (against the reference) and in the self-checks (against the slope of the
    student's own forward). The default where there is none (the kit's checkout)."""
    path = Path(course_file) if course_file else Path(__file__).with_name("course.json")
    try:
        tolerances = json.loads(path.read_text(encoding="utf-8")).get("tolerances", {})
        return float(tolerances.get("gradient_rel_error", GRADIENT_REL_ERROR))
    except (OSError, ValueError, AttributeError, TypeError):
        return GRADIENT_REL_ERROR


def flatten(structure):
    """The leaves of nested tuples and lists, in order: the gradients as the exercise names them."""
    if isinstance(structure, (tuple, list)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]
