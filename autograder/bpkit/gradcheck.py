"""Gradient checking: is an analytic gradient the slope of its function?

Used by the students' self-checks (shipped as bpkit/gradcheck.py: numpy and the standard
library only) and by the grader.

* random_upstream: the upstream gradient every check uses, grader and self-checks alike.
* numeric_gradient: centered differences of L = sum(dout * f(inputs)) entry by entry.
* rel_error: the cs231n relative error, max |a - n| / max(1e-8, |a| + |n|).
* difference_noise and slope_errors: the rule, for grader and self-checks alike, by which an
  analytic gradient is the slope of f: the cs231n relative error, counting only what exceeds
  the rounding noise centered differences of f cannot resolve.
* directional_check: for inputs too large to perturb entry by entry, compares the slope
  along random directions v, (L(x + h v) - L(x - h v)) / 2h, with <analytic, v>.
* check_gradients: picks the method by size and reports, in words, where a gradient is
  wrong and by how much.

The upstream gradient is random unless given: with all ones, a backward that forgets to
multiply by the upstream gradient would still pass.
"""

from dataclasses import dataclass, field

import numpy as np

from .i18n import STUDENT_WORDS

_ = STUDENT_WORDS.gettext

# float64 centered differences with h = 1e-5 have truncation error ~h^2 and rounding
# error ~1e-16 / h, so a correct gradient of a smooth gate shows relative errors of
# 1e-10 to 1e-8; 1e-6 leaves room for values near zero, and any real mistake (a missing
# factor, a swapped input, a wrong sign) gives relative errors of 1e-2 and above.
REL_ERROR_OK = 1e-6
REL_ERROR_SUSPICIOUS = 1e-3  # between the two: probably a kink (max) or a numerically poor formula
ELEMENTWISE_LIMIT = 2_000  # entries in all; beyond this, random directions instead
DIRECTIONS = 3  # Rademacher directions move every entry by +-1, so one wrong entry shows in each
H = 1e-5  # the step of every centered difference, grader and self-checks alike

# Each value of L = sum(dout * f) is rounded to within a few ulps of the size of its terms,
# and a centered difference divides that by 2h: a slope error below ~eps * sum|dout * f| / h
# is rounding, not a mistake. Relative error alone fails correct code wherever a gradient is
# tiny (a factor near 0, a saturated sigmoid), so only the error beyond NOISE_ULPS such ulps
# counts. Correct gates and functions, in every style of the simulated class, never needed
# more than 0.5 of them over thousands of random draws (tests/test_selfcheck_draws.py keeps
# watch); a catalogued mistake errs by a share of the gradient itself, which within
# INPUT_RANGE stays far above 10 of them.
NOISE_ULPS = 10

# Random inputs of the functions built from gates are drawn uniformly from +-INPUT_RANGE (the
# self-checks' for every function, the hidden check's for the neuron). There the neuron's
# pre-activation w0*x0 + w1*x1 + w2 stays within +-10, where the sigmoid's slope is at least
# 4.5e-5: its gradients stay far above the noise, and a sigmoid gradient written as s or as
# 1 - s instead of s(1 - s) stays more than 2e-5 (relatively) away from the slope, 20 times
# REL_ERROR_OK. (Drawn from +-4, a correct neuron was called wrong in 5% of runs, and s for
# s(1 - s) passed in 4%.)
INPUT_RANGE = 2.0
# Random inputs stay this far from a gate's kinks (max(x, y) at x == y, max(0, x) at x == 0),
# so that no centered difference straddles one: the slope is defined there.
KINK_DISTANCE = 0.1


def random_upstream(rng, shape):
    """A random upstream gradient whose entries are never close to ±1: a 1 would hide a
    forgotten upstream factor. Magnitudes in [0.5, 0.8] or [1.25, 2], either sign."""
    magnitude = rng.uniform(0.5, 0.8, size=shape)
    magnitude = np.where(rng.random(size=shape) < 0.5, magnitude, 1 / magnitude)
    g = magnitude * rng.choice([-1.0, 1.0], size=shape)
    return float(g) if shape == () else g


def _floats(value):
    return np.array(value, dtype=float, copy=True)


def _like(value, template):
    """value shaped like template, and a Python float when template is one."""
    return float(value) if isinstance(template, (int, float)) and not isinstance(template, bool) else value


def _copies(inputs):
    # f gets copies: a forward that modifies its inputs in place must not move our points.
    return [np.copy(a) if isinstance(a, np.ndarray) else a for a in inputs]


def objective(f, inputs, dout):
    return float(np.sum(np.asarray(dout, dtype=float) * np.asarray(f(*_copies(inputs)), dtype=float)))


def numeric_gradient(f, inputs, dout, h=H):
    """The centered-difference gradient of sum(dout * f(*inputs)) for each input."""
    base = [_floats(v) for v in inputs]
    grads = []
    for i, x in enumerate(base):
        grad = np.zeros_like(x)
        for j in range(x.size):
            moved = [b.copy() for b in base]
            moved[i].flat[j] += h
            plus = objective(f, _restore(moved, inputs), dout)
            moved[i].flat[j] -= 2 * h
            minus = objective(f, _restore(moved, inputs), dout)
            grad.flat[j] = (plus - minus) / (2 * h)
        grads.append(_like(grad, inputs[i]))
    return tuple(grads)


def _restore(arrays, originals):
    """Hand f Python floats where it was given Python floats."""
    return [
        float(a) if isinstance(o, (int, float)) and not isinstance(o, bool) else a
        for a, o in zip(arrays, originals)
    ]


def rel_error(a, n):
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    return float(np.max(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n)), initial=0.0))


def difference_noise(dout, out, h=H):
    """The least error of a slope that centered differences of L = sum(dout * out) can tell from
    rounding: NOISE_ULPS ulps of the size of L's terms, over the step (see NOISE_ULPS)."""
    noise = (
        NOISE_ULPS
        * np.finfo(float).eps
        * float(np.sum(np.abs(np.asarray(dout, dtype=float) * np.asarray(out, dtype=float))))
        / h
    )
    return noise if np.isfinite(noise) else 0.0  # NaN or infinity in f: its numeric slope fails anyway


def slope_errors(analytic, numeric, noise=0.0):
    """Entry by entry, the relative error of an analytic gradient against a numeric slope,
    counting only the part of |a - n| above the slope's rounding noise (difference_noise):
    an entry is right when this is below the threshold."""
    a, n = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    return np.maximum(np.abs(a - n) - noise, 0.0) / np.maximum(1e-8, np.abs(a) + np.abs(n))


def directional_check(f, inputs, analytic, dout, rng=None, h=H, directions=DIRECTIONS, noise=0.0):
    """Relative errors of the slope along random Rademacher directions, one per direction.

    One direction moves every entry, so a gradient wrong by d in one entry shows as an
    error of d * v_j against a total slope that grows like the root of the number of
    entries: with float64 a single wrong entry of a 4096 x 4096 matrix stays visible when
    it is off by more than ~1e-6 of the gradient's typical size. The function must be
    smooth at the scale h; with h = 1e-5 the truncation error of centered differences is
    ~h^2 relative, far below the threshold, and rounding stays near 1e-10."""
    rng = rng or np.random.default_rng()
    base = [_floats(v) for v in inputs]
    errors = []
    for _ in range(directions):
        vs = [rng.integers(0, 2, size=b.shape, dtype=np.int8) * 2.0 - 1.0 for b in base]
        plus = objective(f, _restore([b + h * v for b, v in zip(base, vs)], inputs), dout)
        minus = objective(f, _restore([b - h * v for b, v in zip(base, vs)], inputs), dout)
        numeric = (plus - minus) / (2 * h)
        predicted = sum(float(np.sum(np.asarray(g, dtype=float) * v)) for g, v in zip(analytic, vs))
        errors.append(float(slope_errors(predicted, numeric, noise)))
    return errors


@dataclass
class InputReport:
    name: str
    method: str  # "elementwise", "directional" or "shape"
    rel_error: float
    passed: bool
    worst: list = field(default_factory=list)  # [(index, analytic, numeric)] for elementwise checks
    problem: str = ""
    # cs231n's relative error of the whole gradient against the numeric slope, as its notebooks
    # print it (no rounding noise taken off): what a student compares with the assignment's
    # threshold; None where it was not computed (a shape refused, a directional check)
    cs231n: float | None = None

    def text(self):
        # cs231n's figure where it was computed (what the lines above a gate's diagnosis print too)
        error = f"{self.rel_error if self.cs231n is None else self.cs231n:.1e}"
        if self.passed:
            return _("{name} is right (relative error {error}).").format(name=self.name, error=error)
        if self.problem:
            return f"{self.name}: {self.problem}"
        if self.method == "directional":
            return _(
                "{name} is wrong: along random directions its slope is off by a relative error of {error}."
            ).format(name=self.name, error=error)
        lines = [_("{name} is wrong (relative error {error}):").format(name=self.name, error=error)]
        for index, a, n in self.worst:
            at = _("at index {index}").format(index=index) if index != () else _("its value")
            lines.append(
                "  "
                + _("{at}: your backward gives {analytic}, the slope of your forward is {numeric}").format(
                    at=at, analytic=f"{a:.6g}", numeric=f"{n:.6g}"
                )
            )
        return "\n".join(lines)


def relative_errors_said(errors, threshold):
    """cs231n's lines, one per parameter: 'dW relative error: 3.1e-01' and, beside an error at or
    above the threshold (the course's gradient_rel_error), that it is too large. `errors`: {name:
    relative error}. The self-check prints them before its diagnosis; the grader's gate checks
    judge by the same relative error (grading/outcomes.py)."""
    return [
        _("{name} relative error: {error}").format(name=name, error=f"{error:.1e}")
        + ("" if error < threshold else " " + _("(above {threshold})").format(threshold=f"{threshold:.0e}"))
        for name, error in errors.items()
    ]


@dataclass
class GradCheckReport:
    inputs: list

    @property
    def passed(self):
        return all(r.passed for r in self.inputs)

    def text(self):
        lines = []
        for r in self.inputs:
            lines.extend(r.text().splitlines())
        return "\n".join(lines[:15])


def check_gradients(
    f,
    inputs,
    analytic,
    dout=None,
    names=None,
    rng=None,
    elementwise_limit=ELEMENTWISE_LIMIT,
    threshold=REL_ERROR_OK,
):
    """Compare analytic gradients (one per input) with f's numeric gradient."""
    rng = rng or np.random.default_rng()
    inputs = tuple(inputs)
    names = tuple(names or (f"d{i}" for i in range(len(inputs))))
    out = f(*_copies(inputs))
    if dout is None:
        dout = random_upstream(rng, np.shape(out))
    noise = difference_noise(dout, out)
    reports: list[InputReport | None] = []  # None: a usable gradient's report, filled in below
    usable: list = []
    for name, x, g in zip(names, inputs, analytic):
        try:
            g = np.asarray(g, dtype=float)
        except (TypeError, ValueError):
            reports.append(
                InputReport(
                    name,
                    "shape",
                    float("inf"),
                    False,
                    problem=_("is a {type}, not numbers").format(type=type(g).__name__),
                )
            )
            continue
        if g.shape != np.shape(x):
            reports.append(
                InputReport(
                    name,
                    "shape",
                    float("inf"),
                    False,
                    problem=_("has shape {got}, but its input has shape {want}").format(
                        got=g.shape, want=np.shape(x)
                    ),
                )
            )
            continue
        if not np.all(np.isfinite(g)):
            reports.append(
                InputReport(name, "shape", float("inf"), False, problem=_("contains NaN or infinity"))
            )
            continue
        usable.append((len(reports), name, g))
        reports.append(None)
    size = sum(np.size(x) for x in inputs)
    if usable and size <= elementwise_limit:
        numeric = numeric_gradient(f, inputs, dout)
        for slot, name, g in usable:
            n = np.asarray(numeric[slot], dtype=float)
            ratio = slope_errors(g, n, noise)
            err = float(np.max(ratio, initial=0.0))
            order = np.argsort(ratio, axis=None)[::-1][:3]
            worst = [
                (np.unravel_index(k, g.shape) if g.shape else (), float(g.flat[k]), float(n.flat[k]))
                for k in order
                if ratio.flat[k] > threshold
            ]
            worst = [(tuple(int(i) for i in idx), a, b) for idx, a, b in worst]
            reports[slot] = InputReport(
                name, "elementwise", err, err < threshold, worst, cs231n=rel_error(g, n)
            )
    elif usable:
        all_grads = [np.asarray(g) for g in analytic]
        if len(usable) == len(inputs):
            # Every gradient at once first: when that passes, each one does.
            errs = directional_check(f, inputs, all_grads, dout, rng, noise=noise)
            if max(errs) < threshold:
                return GradCheckReport(
                    [InputReport(name, "directional", max(errs), True) for _, name, _ in usable]
                )
        for slot, name, g in usable:  # noqa: B007
            # Move one input at a time, so the report says which gradient is wrong.
            def f_of_one(v, slot=slot):
                args = list(inputs)
                args[slot] = v
                return f(*args)

            errs = directional_check(f_of_one, (inputs[slot],), (all_grads[slot],), dout, rng, noise=noise)
            err = max(errs)
            reports[slot] = InputReport(name, "directional", err, err < threshold)
    return GradCheckReport(reports)
