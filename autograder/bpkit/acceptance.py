"""Which draws of an exercise's numbers are accepted: one rule for every exercise.

A draw is accepted when every catalogued mistake that applies to its graph changes at least
one of the student's answers by more than CLEAR_ABS + CLEAR_REL · |answer| (five times the
default hand-answer tolerance: a kit constant, not course.yaml's tolerance, which a TA may
change after release). The mistakes: a forgotten upstream factor at any gate below the output,
a sign flip at any gate (of every input at once: Misconception.ways_drawn; a flip of one input
only is named wherever it shows, and cannot show on an input whose gradient is 0, the loser of
a max), the gate-specific mistakes of the gate table, and a branch kept alone
(either one) where a node feeds several gates. A hand exercise's draw also keeps every two of these
mistakes (at different nodes, or different mistakes) apart by the same margin, so that the answers of
a student who made one are never the answers of another: feedback can name the one made, alone.
Nothing sits on a kink (a max tie, a ReLU at 0) or near the edge of an operation's domain (a
divisor within 0.5 of 0, a log's input below 0.5: gate_kinds.DOMAIN_MARGIN), and the exercise's own rules (solutions/graphs.py: Rule) hold.

The graph is evaluated generically: each operation's forward (its row of the operation table,
bpkit/table.py: its definition, as the notebook states it) and, for the backward pass, each
gate's local gradient by centered differences
(the vector-Jacobian product is linear in the upstream gradient, so one Jacobian per gate).
No backward formula of any gate is written here, no answer is stored, nothing is printed.

Shipped to students as bpkit/acceptance.py (the draw runs on their laptops too).
"""

import numpy as np

from . import gate_kinds, misconceptions, table
from .gradcheck import KINK_DISTANCE

# "Clearly different": beyond five times course.yaml's default hand-answer tolerance (0.005 + 0.005·|x|).
CLEAR_ABS, CLEAR_REL = 0.025, 0.025
GRADIENT_ROUNDING = 1e-6  # a rule on a gradient allows this much for the centered differences
STEP = 1e-6


# The rule a draw is accepted by, numbered: 1, every applicable mistake moves some answer clearly;
# 2 (issue 33), every two of them also give answers clearly apart. A course draws by the rule it was
# first released with (its release's course.json: draw_rule; a release without one was made under
# rule 1), so a newer kit gives its students the numbers they saw, with no re-release.
DRAW_RULES = (1, 2)
DRAW_RULE = 2  # a course released from now on

GENERIC_MISTAKES = ("upstream-ignored", "sign-flip")  # at any gate (upstream-ignored: below the output)


def forward(row, args, constants):
    """An operation's forward (its row's: the definition the notebook states) on the values of a
    draw. Python numbers stay Python numbers, as a student writing them down by hand has them."""
    out = row.forward(*args, *constants)
    if isinstance(out, np.generic) and all(_scalar(a) for a in args):
        return out.item()
    return out


class Evaluation:
    """One graph on one draw: every node's value, each gate's local Jacobians, and backward passes
    with or without a mistake at one node.

    `local_gradients` ({gate class name: its row's backward, (dout, out, *inputs, *constants) ->
    each input's gradient}) replaces the centered differences of those gates with the exact local
    gradient: the instructor's source notebook writes its rows' backward in its reference answers
    (autograder/notebooks.py), which must be exact; a release's rows have no backward to give.
    `decimals`: every value computed rounded to so many decimals, as someone computing by hand
    writes each one down before the next gate (None: as computed)."""

    def __init__(self, graph, inputs, local_gradients=None, decimals=None):
        self.graph = graph
        self.local_gradients = dict(local_gradients or {})
        self.values = dict(inputs)
        self.gates = []  # (node, operation's row, constants, parents)
        self.outside = None  # the first node whose inputs leave its operation's domain (a divisor near 0)
        for node, operation, parents in graph.gates:
            row, constants = table.operation_of(operation)
            args = [self.values[p] for p in parents]
            domain = row.kind_of.domain
            if self.outside is not None or (domain is not None and gate_kinds.outside(domain, tuple(args))):
                # not computed (1 / 0 raises on Python floats): the draw is refused, nothing reads it
                self.outside = self.outside or node
                self.values[node] = float("nan")
            else:
                self.values[node] = _rounded(forward(row, args, constants), decimals)
            self.gates.append((node, row, constants, parents))
        self._jacobians = {}

    def at_kink(self):
        return any(
            np.min(row.kind_of.kink.distance(tuple(self.values[p] for p in parents))) < KINK_DISTANCE
            for _, row, _, parents in self.gates
            if row.kind_of.kink is not None
        )

    def jacobians(self, node, row, constants, parents):
        """d(node)/d(each parent), as arrays of shape node's + parent's (floats for scalars)."""
        if node not in self._jacobians:
            args = [self.values[p] for p in parents]
            out = []
            for i, a in enumerate(args):
                if _scalar(a) or np.ndim(a) == 0:
                    hi, lo = list(args), list(args)
                    hi[i], lo[i] = a + STEP, a - STEP
                    d = (forward(row, hi, constants) - forward(row, lo, constants)) / (2 * STEP)
                    out.append(float(d) if _scalar(d) or np.ndim(d) == 0 else np.asarray(d, float))
                    continue
                a = np.asarray(a, float)
                columns = []
                for k in range(a.size):
                    step = np.zeros(a.size)
                    step[k] = STEP
                    hi, lo = list(args), list(args)
                    hi[i], lo[i] = a + step.reshape(a.shape), a - step.reshape(a.shape)
                    columns.append(
                        (
                            np.asarray(forward(row, hi, constants), float)
                            - np.asarray(forward(row, lo, constants), float)
                        )
                        / (2 * STEP)
                    )
                out_shape = np.shape(self.values[node])
                out.append(np.stack(columns, axis=-1).reshape(out_shape + a.shape))
            self._jacobians[node] = out
        return self._jacobians[node]

    def local(self, gate, dout):
        """The correct gradients of one gate's inputs for an upstream gradient."""
        node, row, constants, parents = gate
        if row.name in self.local_gradients:
            args = [self.values[p] for p in parents]
            sent = self.local_gradients[row.name](dout, self.values[node], *args, *constants)
            # a row returns one gradient for one input; a scalar's comes back as a Python number,
            # as the centered differences give it (np.where makes a max's a 0-d array)
            scalars = _scalar(dout) and all(_scalar(a) for a in args)
            return tuple(
                float(g) if scalars and np.ndim(g) == 0 else g
                for g in (sent if len(parents) > 1 else (sent,))
            )
        jacobians = self.jacobians(*gate)
        if _scalar(dout) and all(_scalar(J) for J in jacobians):
            return tuple(dout * J for J in jacobians)
        out_ndim = np.ndim(self.values[node])
        grads = []
        for J in jacobians:
            if out_ndim == 0 and np.ndim(J) == 0:
                grads.append(float(dout) * J if np.ndim(dout) == 0 else dout * J)
            else:
                grads.append(
                    np.tensordot(np.asarray(dout, float), J, axes=out_ndim) if out_ndim else float(dout) * J
                )
        return tuple(grads)

    def backward(self, mistake=None, at=None, variant=0, keep=None, decimals=None):
        """{node: gradient of the output}. `mistake` (a Misconception) changes the gate at node `at`;
        `keep` ("first" | "last") keeps only one branch's gradient at every branching node;
        `decimals`: every gradient sent down rounded to so many decimals (by hand)."""
        out = self.values[self.graph.output]
        grads = {self.graph.output: 1.0 if _scalar(out) or np.ndim(out) == 0 else np.ones(np.shape(out))}
        for gate in reversed(self.gates):
            node, _, _, parents = gate
            if node not in grads:
                continue
            dout = grads[node]
            sent = self.local(gate, dout)
            if mistake is not None and node == at:
                seen = misconceptions.Seen(
                    tuple(self.values[p] for p in parents),
                    self.values[node],
                    dout,
                    sent,
                    lambda d, g=gate: self.local(g, d),
                )
                variants = mistake.variants(seen)
                if not variants:
                    return None  # the mistake cannot be made here (no batch to sum over)
                sent = variants[min(variant, len(variants) - 1)]
            sent = tuple(_rounded(g, decimals) for g in sent)
            for p, g in zip(parents, sent):
                if p not in grads:
                    grads[p] = g
                elif keep == "first":
                    pass
                elif keep == "last":
                    grads[p] = g
                else:
                    grads[p] = grads[p] + g
        return grads

    def answers(self, answers, grads):
        return {
            name: (self.values if kind == "value" else grads)[node] for name, (kind, node) in answers.items()
        }


def _rounded(value, decimals):
    if decimals is None:
        return value
    return round(value, decimals) if _scalar(value) else np.round(value, decimals)


def _scalar(v):
    return isinstance(v, (int, float))  # numpy's float64 is a float: scalars take the fast path


def clearly_differ(answers, correct):
    """Some answer differs from the correct one in shape, or by more than the clear margin."""
    for name, c in correct.items():
        a = answers.get(name)
        if _scalar(a) and _scalar(c):
            if abs(a - c) > CLEAR_ABS + CLEAR_REL * abs(c):
                return True
            continue
        if a is None or np.shape(a) != np.shape(c):
            return True
        if np.any(np.abs(np.asarray(a, float) - np.asarray(c, float)) > CLEAR_ABS + CLEAR_REL * np.abs(c)):
            return True
    return False


def applicable_mistakes(evaluation):
    """[(misconception, node, variant)] for every catalogued mistake this graph can show, where."""
    output = evaluation.graph.output
    found = []
    for node, row, _, _ in evaluation.gates:
        ids = dict.fromkeys(GENERIC_MISTAKES + row.misconceptions)
        for mid in ids:
            if mid == "upstream-ignored" and node == output:
                continue  # its upstream gradient is 1: nothing to forget
            m = table.CATALOG_BY_ID[mid]
            found += [(m, node, k) for k in range(m.drawn_ways)]
    return found


BRANCH = gate_kinds.N_("a branch")  # where a branch kept alone is made: no one node


def _made(evaluation, answers):
    """The correct answers, and [((mistake id, node), the answers it gives)] for every applicable
    mistake and for a branch kept alone."""
    correct = evaluation.answers(answers, evaluation.backward())
    made = []
    for m, node, k in applicable_mistakes(evaluation):
        grads = evaluation.backward(m, node, k)
        if grads is None:
            continue
        made.append(((m.id, node), evaluation.answers(answers, grads)))
    if evaluation.graph.branching():
        for keep in ("first", "last"):
            kept = evaluation.backward(keep=keep)  # either branch: one mistake, said the same way
            made.append((("branch-overwrite", BRANCH), evaluation.answers(answers, kept)))
    return correct, made


def mistakes_shown(evaluation, answers):
    """{(mistake id, node): whether it moves some answer clearly on this draw} for every applicable
    mistake (and a branch kept alone); a mistake made several ways shows only if every way does.
    The one rule of what a draw hides: the draws' acceptance (discriminates), check-config's
    reasons for a course.yaml exercise (autograder/authored.py) and for a variant no draw fits
    (problems.undrawable) all read it."""
    correct, made = _made(evaluation, answers)
    shown: dict = {}
    for key, given in made:
        shown[key] = shown.get(key, True) and clearly_differ(given, correct)
    return shown


def hidden_mistakes(evaluation, answers):
    """[(mistake id, node)] of the applicable mistakes that move no answer clearly on this draw."""
    return [key for key, shown in mistakes_shown(evaluation, answers).items() if not shown]


def discriminates(evaluation, answers, apart=False):
    """Every applicable mistake moves some answer clearly, and so does keeping one branch alone;
    with `apart`, every two of them (made at different nodes, or different mistakes) also give
    answers clearly apart from each other, so that the one a student made can be named alone."""
    if not all(mistakes_shown(evaluation, answers).values()):
        return False
    if not apart:
        return True
    correct, made = _made(evaluation, answers)
    # Two ways of one mistake at one node (σ's two factors where σ = 1/2) are the same mistake,
    # named the same: they need not be apart.
    return all(
        a == b or clearly_differ(made[i][1], made[j][1])
        for i, (a, _) in enumerate(made)
        for j, (b, _) in enumerate(made[:i])
    )


def _magnitude(evaluation, node, grads):
    if node.startswith("∂"):
        return abs(grads[node[1:]]) + GRADIENT_ROUNDING
    return abs(evaluation.values[node])


def _winner(evaluation, node):
    a, b = (evaluation.values[p] for p in evaluation.graph.parents(node))
    return np.all(np.asarray(a) > np.asarray(b))


def obeys(evaluation, rules):
    """The exercise's own rules (solutions/graphs.py: Rule) hold for this draw."""
    grads = None
    for r in rules:
        if any(str(a).startswith("∂") for a in r.args) and grads is None:
            grads = evaluation.backward()
        if r.kind == "at least":
            node, lo, *hi = r.args
            size = _magnitude(evaluation, node, grads)
            if not (np.all(size >= lo) and (not hi or np.all(size <= hi[0]))):  # entrywise for arrays
                return False
        elif r.kind == "apart":
            a, b, by = r.args
            if not np.all(np.abs(evaluation.values[a] - evaluation.values[b]) >= by):
                return False
        elif r.kind == "apart in size":
            a, b, by = r.args
            if not np.all(np.abs(abs(evaluation.values[a]) - abs(evaluation.values[b])) >= by):
                return False
        elif r.kind == "wins":
            if not _winner(evaluation, r.args[0]):
                return False
        else:
            raise ValueError(f"unknown rule {r.kind!r}")
    return True


def accepted(graph, inputs, answers, rules=(), discriminate=True, rule=DRAW_RULE):
    """Whether a draw of `inputs` ({input: value}) on `graph` is accepted (see the module);
    discriminate=False: the exercise's own rules only (the lecture's draws, kept as they were).
    Under `rule` 2 a hand exercise's draw also keeps every two mistakes apart (discriminates(apart=True))."""
    if rule not in DRAW_RULES:
        raise ValueError(f"draw_rule must be one of {', '.join(map(str, DRAW_RULES))}, found {rule!r}")
    evaluation = Evaluation(graph, inputs)
    return (
        evaluation.outside is None
        and not evaluation.at_kink()
        and obeys(evaluation, rules)
        and (not discriminate or discriminates(evaluation, answers, apart=rule >= 2))
    )
