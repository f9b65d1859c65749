"""Small named checks, each returning an Outcome: passed or not, and words a student can act on.

Values here are already decoded by `autograder.sandbox.protocol.decode` (plain floats and float64
arrays); the comparisons run in the grader's process only. Messages describe the
student's own result and how far off it is, never the expected value.
"""

from dataclasses import dataclass, field

import numpy as np

from solutions.table import CATALOG_BY_ID as MISCONCEPTIONS

from ..bpkit import forms
from ..bpkit.gradcheck import rel_error as relative_error  # the cs231n relative error, written once
from ..words import N_, _, student_words

# The lines of a graded cell's feedback that feedback.py reads back into the page's parts, in
# whatever language they were written ("[ok ] " and "[FAIL] " are marks, the same in every one).
SCORE_LINE = N_("{title}: {earned} / {points} points")
LOOKS_LIKE = N_(" (looks like '{id}')")  # after a failed check's line; the page shows the id once
MISTAKE_LINE = N_("This looks like '{id}': {explanation}")
HINT_LINE = N_("  Hint: {hint}")


@dataclass
class Outcome:
    name: str  # what was checked, e.g. "backward, vector input: dx"
    passed: bool
    message: str = ""
    misconception: str = ""  # a catalog id when the wrong result matches a known mistake

    def text(self):
        """One line: passed or not, what, and the mistake it looks like (explained once per
        exercise, by CheckResult.feedback)."""
        mark = "ok " if self.passed else "FAIL"
        line = f"[{mark}] {self.name}" + (f": {self.message}" if self.message else "")
        if not self.misconception:
            return line
        return line + _(LOOKS_LIKE).format(id=self.misconception)


@dataclass
class CheckResult:
    outcomes: list = field(default_factory=list)
    error: str = ""  # the whole check could not run (crash, timeout, missing cell...)
    error_kind: str = ""  # why: the runner's status ("timeout", "error", "crashed", ...) or "missing"
    answers: dict = field(default_factory=dict)  # hand answers as decoded {variable: value}, for reports
    by_hand: bool = False  # answers computed by hand: hints speak of the graph, not of code
    # How the result was computed, judged apart from the numbers (a function's gradients from the
    # gates' backward), and the share of the points a wrong method loses (course.yaml's
    # grading.method_points): whatever the numbers earn, so a right method changes no score.
    method: "Outcome | None" = None
    method_share: float = 0.0

    @property
    def fraction(self):
        if self.error or not self.outcomes:
            return 0.0
        numbers = sum(o.passed for o in self.outcomes) / len(self.outcomes)
        if self.method is None or self.method.passed:
            return numbers
        return numbers * (1 - self.method_share)

    @property
    def misconceptions(self):
        return sorted({o.misconception for o in self.outcomes if o.misconception})

    def add(self, outcome):
        self.outcomes.append(outcome)
        return outcome

    def feedback(self, title, points):
        """The words a student reads for one graded cell: the score, one line per sub-check, then
        each mistake recognised, once, with its hint (feedback.py renders this for HTML)."""
        earned = round(points * self.fraction, 3)
        lines = [_(SCORE_LINE).format(title=title, earned=f"{earned:g}", points=f"{points:g}")]
        if self.error:
            lines.append(f"[FAIL] {self.error}")
        # outcomes that say the same thing are said once, listing what they cover
        groups: dict[tuple, list[str]] = {}
        for o in self.outcomes:
            groups.setdefault((o.passed, o.message, o.misconception), []).append(o.name)
        lines += [Outcome(group_label(names), *key).text() for key, names in groups.items()]
        if self.method is not None and not self.error:
            lines.append(self.method.text())
        for mid in dict.fromkeys(o.misconception for o in self.outcomes if o.misconception):
            m = MISCONCEPTIONS[mid]
            lines += [
                _(MISTAKE_LINE).format(id=m.id, explanation=student_words(m.explanation)),
                _(HINT_LINE).format(hint=student_words(m.hint_for(self.by_hand))),
            ]
        return "\n".join(lines)


def group_label(names):
    """One label for sub-checks with the same verdict: "backward, vectors: dx" and
    "backward, matrices: dy"... become "backward dx and dy, on vectors and matrices" when
    every combination is there; otherwise the names are listed."""
    if len(names) == 1:
        return names[0]
    pairs = [tuple(n.rsplit(": ", 1)) if ": " in n else (n, "") for n in names]
    wheres, whats = list(dict.fromkeys(w for w, _ in pairs)), list(dict.fromkeys(x for _, x in pairs))
    if len(set(pairs)) != len(wheres) * len(whats):
        return "; ".join(names)
    common = _common_head(wheres)
    rest = [w[len(common) :] for w in wheres]
    what = _and([x for x in whats if x])
    if not common:
        return _("{what}, on {where}").format(what=what, where=_and(rest)) if what else ", ".join(rest)
    return _("{common}{what}, on {where}").format(
        common=common.rstrip(", "), what=" " + what if what else "", where=_and(rest)
    )


def _common_head(labels):
    """The words all labels start with, up to a comma ("backward, " of "backward, vectors")."""
    if len(labels) < 2:
        return ""
    prefix = labels[0]
    for label in labels[1:]:
        while not label.startswith(prefix):
            prefix = prefix[:-1]
    return prefix[: prefix.rfind(", ") + 2] if ", " in prefix else ""


def _and(items):
    if len(items) < 2:
        return "".join(items)
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])


def shapes_match(value, expected):
    return np.shape(value) == np.shape(expected)


def check_close(name, value, expected, rel_tol, atol=1e-9):
    """Same shape and every entry within rel_tol relative error (or atol absolutely)."""
    if not shapes_match(value, expected):
        return Outcome(
            name,
            False,
            _("your result has shape {shape}, expected shape {expected}").format(
                shape=np.shape(value), expected=np.shape(expected)
            ),
        )
    diff = np.abs(np.asarray(value, float) - np.asarray(expected, float))
    if np.all((diff <= atol) | (diff <= rel_tol * (np.abs(value) + np.abs(expected)))):
        return Outcome(name, True)
    return Outcome(
        name,
        False,
        _("off by a relative error of {error}").format(error=f"{relative_error(value, expected):.2g}"),
    )


def check_hand_answer(name, value, expected, abs_tol, rel_tol):
    """A hand answer against the correct one, by the rule the student's self-check uses
    (bpkit/forms.py); its shape is the answer's form, refused in forms' words."""
    try:
        forms.fit_shape(value, np.shape(expected))
    except forms.Refused as refused:
        return Outcome(name, False, refused.words(student_words, name))
    if forms.hand_close(value, expected, abs_tol, rel_tol):
        return Outcome(name, True)
    return Outcome(name, False, _("not right"))


def explaining_misconception(results, candidates, correct, close):
    """The first misconception id one of whose models reproduces every one of `results` at
    once (same shapes, `close`) while differing somewhere from the `correct` ones; "" when no
    model does: a partial match is no explanation. candidates: {id: [results it produces, ...]}."""
    found = explaining_way(results, candidates, correct, close)
    return found[0] if found else ""


def explaining_way(results, candidates, correct, close):
    """As explaining_misconception, with the way it was made: (id, index of the reproducing
    variant in its list, the model's order of ways), or None."""
    found = explaining_ways(results, candidates, correct, close)
    return found[0] if found else None


def explaining_ways(results, candidates, correct, close):
    """Every (id, way) whose model reproduces `results` (see explaining_misconception), in order:
    the self-check's enumeration (bpkit/forms.py), with `close` checking shapes too."""
    return forms.reproducing_ways(
        results, candidates, correct, lambda a, b: shapes_match(a, b) and bool(close(a, b))
    )
