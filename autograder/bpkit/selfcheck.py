"""Self-checks students run after each exercise.

They test the student's code against the numeric gradient of the student's *own*
forward, on random inputs with a random upstream gradient, and say in plain words which
input is off, by how much, and which known mistake it looks like. There is no reference
code here and nothing is compared with hidden answers: hand-computed answers are only
checked for form, and cross-checked against the student's own gates.

Shipped to students as bpkit/selfcheck.py (numpy + standard library).
"""
import json
from pathlib import Path

import numpy as np

from . import gradcheck
from .misconceptions import BY_ID as MISCONCEPTIONS, Seen

GATE_TABLE = {g["name"]: g for g in json.loads(Path(__file__).with_name("gate_table.json").read_text())}

# The gradients each function of the notebook returns, flattened, named like the hand answers.
GRADIENT_NAMES = {
    "simple_with_gates": ("dfdx", "dfdy", "dfdz"),
    "neuron_with_gates": ("dfdw0", "dfdw1", "dfdw2", "dfdx0", "dfdx1"),
    "branch_with_gates": ("dfdx", "dfdy"),
    "l2_with_gates": ("dfdW", "dfdx"),
}


def _say(lines):
    print("\n".join(lines))
    return None


def _cases(gate, rng):
    if gate["kind"] == "matmul":
        return [("a vector x", (rng.normal(size=(3, 5)), rng.normal(size=5))),
                ("a batch x", (rng.normal(size=(3, 5)), rng.normal(size=(5, 4))))]
    if gate["kind"] == "reduce":
        return [("a vector", (rng.normal(size=6),)), ("a matrix", (rng.normal(size=(3, 4)),))]
    n = len(gate["inputs"])

    def distinct(shape):
        first = rng.normal(size=shape) * 2
        return (first,) if n == 1 else (first, first + rng.uniform(0.2, 1.5, shape) * rng.choice([-1, 1], shape))
    return [("Python floats", tuple(float(v) for v in distinct(()))), ("vectors", distinct((6,))),
            ("matrices", distinct((3, 4)))]


def _upstream(rng, shape):
    g = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return float(g) if shape == () else g


def gate(cls, seed=None):
    """Check a gate class of the notebook: shapes, and backward against your forward's slope."""
    name = cls.__name__
    spec = GATE_TABLE.get(name)
    if spec is None:
        return _say([f"selfcheck: no gate called {name} in this assignment."])
    rng = np.random.default_rng(seed)
    lines, failures = [], 0
    for label, inputs in _cases(spec, rng):
        problem = _check_one(cls, spec, label, inputs, rng)
        if problem:
            failures += 1
            lines.extend(problem)
    if not failures:
        lines.insert(0, f"{name}: backward matches the slope of your forward on floats, vectors and matrices. "
                        "(The graded tests also check forward against the lecture's formulas.)")
    else:
        lines.insert(0, f"{name}: {failures} problem(s) found.")
    return _say(lines)


def _check_one(cls, spec, label, inputs, rng):
    names = spec["inputs"]
    try:
        out = cls().forward(*[np.copy(v) if isinstance(v, np.ndarray) else v for v in inputs])
    except NotImplementedError:
        return ["  forward is not implemented yet."]
    except Exception as e:  # the student's code: any error is reported, not raised
        return [f"  forward on {label} raised {type(e).__name__}: {e}"]
    dout = _upstream(rng, np.shape(out))
    try:
        g = cls()
        g.forward(*[np.copy(v) if isinstance(v, np.ndarray) else v for v in inputs])
        grads = g.backward(np.copy(dout) if isinstance(dout, np.ndarray) else dout)
    except NotImplementedError:
        return ["  backward is not implemented yet."]
    except Exception as e:
        return [f"  backward on {label} raised {type(e).__name__}: {e}"]
    if len(names) == 1 and not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if not isinstance(grads, (tuple, list)) or len(grads) != len(names):
        return [f"  backward must return {len(names)} gradient(s), one per input ({', '.join('d' + n for n in names)})."]

    def forward(*args):
        return cls().forward(*args)

    report = gradcheck.check_gradients(forward, inputs, tuple(grads), dout=dout, names=tuple("d" + n for n in names))
    if report.passed:
        return []
    lines = [f"  On {label}:"] + ["    " + line for line in report.text().splitlines()]
    mistake = _recognise(spec, inputs, out, dout, grads, forward)
    if mistake:
        m = MISCONCEPTIONS[mistake]
        lines += [f"    This looks like '{m.id}': {m.explanation}", f"    Hint: {m.hint}"]
    return lines


def _recognise(spec, inputs, out, dout, grads, forward):
    """A catalogued mistake whose error model, fed your forward's numeric gradient as the
    correct one, reproduces your backward."""
    try:
        numeric = gradcheck.numeric_gradient(forward, inputs, dout)
        seen = Seen(tuple(inputs), out, dout, tuple(numeric))
        for mid in spec["misconceptions"]:
            for variant in MISCONCEPTIONS[mid].variants(seen):
                if all(np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-4, atol=1e-6)
                       for a, b in zip(grads, variant)):
                    if not all(np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(variant, numeric)):
                        return mid
    except Exception:
        return ""
    return ""


def answers(shapes=None, **values):
    """Hand-computed answers: checked for form only (they are graded after you submit)."""
    shapes = shapes or {}
    lines, missing = [], []
    for name, value in values.items():
        if value is ... or value is None:
            missing.append(name)
            continue
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            lines.append(f"  {name} is a {type(value).__name__}, not a number or an array of numbers.")
            continue
        if not np.all(np.isfinite(arr)):
            lines.append(f"  {name} contains NaN or infinity.")
        elif name in shapes and arr.shape != tuple(shapes[name]):
            lines.append(f"  {name} has shape {arr.shape}; it should have shape {tuple(shapes[name])}.")
        elif name not in shapes and arr.shape != ():
            lines.append(f"  {name} should be a single number.")
    if missing:
        lines.insert(0, f"  Not answered yet: {', '.join(missing)}.")
    head = ("Your answers have the right form. They are graded after you submit; once your gates work, "
            "the self-check after them compares your gates with these answers." if not lines
            else "Some answers need a look:")
    return _say([head] + lines)


def function(fn, values, answers=None, seed=None):
    """Check a function built from your gates: its gradients against the slope of its own f,
    and, when given, your hand-computed answers against what it returns for your numbers."""
    name = fn.__name__
    args = tuple(values.values())
    try:
        f, grads = fn(*args)
    except NotImplementedError:
        return _say([f"{name}: not implemented yet."])
    except Exception as e:
        return _say([f"{name} raised {type(e).__name__}: {e}"])
    flat = _flatten(grads)
    lines = []
    arrays = tuple(np.asarray(a, dtype=float) for a in args)

    def f_of(*xs):
        return fn(*xs)[0]

    report = gradcheck.check_gradients(f_of, arrays, tuple(np.asarray(g, dtype=float).reshape(np.shape(a)) if np.size(g) == np.size(a) else np.asarray(g)
                                                          for g, a in zip(_regroup(flat, arrays), arrays)),
                                       dout=1.0, names=tuple(f"d{k}" for k in values))
    if not report.passed:
        lines.append(f"{name}: its gradients do not match the slope of its own f:")
        lines += ["  " + line for line in report.text().splitlines()]
    if answers:
        given = dict(zip(GRADIENT_NAMES.get(name, ()), flat), f=f)
        off = [k for k, v in answers.items() if k in given and v is not ... and v is not None
               and not _close(v, given[k])]
        if off:
            lines.append(f"{name} and your hand answers disagree on: {', '.join(off)}. One of the two is wrong.")
        elif not lines:
            lines.append(f"{name} agrees with your hand answers.")
    if not lines:
        lines.append(f"{name}: gradients match the slope of its own f.")
    return _say(lines)


def _close(a, b):
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return a.shape == b.shape and np.allclose(a, b, rtol=0.005, atol=0.005)
    except (TypeError, ValueError):
        return False


def _flatten(structure):
    if isinstance(structure, (tuple, list)):
        return [leaf for s in structure for leaf in _flatten(s)]
    return [structure]


def _regroup(flat, arrays):
    """Match a flat list of scalar or array gradients to the function's arguments."""
    out, i = [], 0
    for a in arrays:
        if a.ndim >= 1 and i < len(flat) and np.shape(flat[i]) == a.shape:
            out.append(flat[i])
            i += 1
        elif a.ndim == 1 and i + a.size <= len(flat):
            out.append(np.array([float(np.asarray(v)) for v in flat[i:i + a.size]]))
            i += a.size
        else:
            out.append(flat[i] if i < len(flat) else np.nan)
            i += 1
    return out
