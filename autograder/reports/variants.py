"""Pass rates per drawn graph (course.yaml graphs: per-student): for each exercise on a family of
graphs, how many students drew each graph and how many of them got full marks, and after the
term a test that the graphs were equally hard (a chi-square test across the variants, its
p-value and the variant that stands out), so an instructor sees whether one variant is harder
than the rest. The generator proves the variants equal before the term (solutions/variants.py);
this is the check on a real class."""

import math
from dataclasses import dataclass

import numpy as np

from solutions import graphs as described

from ..bpkit import problems
from ..exercises import BY_ID as HAND_EXERCISES
from ..exercises import FUNCTIONS_BY_ID
from ..words import _


@dataclass(frozen=True)
class Variant:
    title: str  # the graph's formula
    n: int  # students graded on it
    full: int  # of them, with full marks

    @property
    def pass_rate(self):
        return self.full / self.n if self.n else 0.0


def exercise_of(grade_id):
    """The hand exercise whose graph a graded cell is on (a function's: its hand exercise's), or None."""
    name = grade_id.removeprefix("test_")
    if name in FUNCTIONS_BY_ID:
        name = FUNCTIONS_BY_ID[name].exercise.id
    return HAND_EXERCISES.get(name)


def pass_rates_by_graph(results, course):
    """{grade_id: [Variant, ...]} for the graded cells on a graph drawn per student; {} otherwise."""
    if course.graphs != described.PER_STUDENT:
        return {}
    out = {}
    for notebook, grade_id in results.cells:
        exercise = exercise_of(grade_id)
        if exercise is None or len(exercise.shape(course.graphs).graphs) < 2:
            continue
        counts = {g: [0, 0] for g in exercise.shape(course.graphs).graphs}
        for r in results.rows_of_cell(notebook, grade_id):
            graph = problems.graph_of(
                course.seed,
                course.course_id,
                results.assignment,
                course.randomization,
                r.student_id,
                course.graphs,
                exercise.id,
            )
            counts[graph][0] += 1
            counts[graph][1] += int(r.max_score > 0 and r.score >= r.max_score)
        out[grade_id] = [Variant(g.title, n, full) for g, (n, full) in counts.items()]
    return out


# ---------------------------------------------------------------- equal difficulty, after the term

ALPHA = 0.05  # shared by the cells tested in one report (Bonferroni): a false alarm in 1 report of 20
MIN_EXPECTED = 5  # below this many expected passes or fails in a variant the chi-square curve is rough
PERMUTATIONS = 10_000


@dataclass(frozen=True)
class Difficulty:
    """A chi-square test that every variant of one cell is passed as often (a 2 × k table: full
    marks or not, per variant drawn), the variant furthest from the rest, and the verdict."""

    statistic: float
    df: int
    p_value: float
    exact: bool  # False: p from PERMUTATIONS reshufflings of the class (few students per variant)
    stands_out: Variant
    rest_rate: float  # the pass rate of the other variants together
    beyond_chance: bool  # p below ALPHA shared by the cells tested


def chi2_sf(x, df):
    """P(X ≥ x) for X chi-square with `df` degrees of freedom: the regularized upper incomplete
    gamma Q(df/2, x/2), exact for whole and half-whole df (Q(1/2, y) = erfc(√y),
    Q(a + 1, y) = Q(a, y) + y^a e^-y / Γ(a + 1)); each term summed in logs so a large x stays finite."""
    if df < 1:
        raise ValueError(f"a chi-square test needs at least 1 degree of freedom, found {df}")
    if x <= 0:
        return 1.0
    y = x / 2
    if df % 2 == 0:
        q, a = 0.0, 0.0  # Q(1, y) = e^-y is the first term (a = 0)
    else:
        q, a = math.erfc(math.sqrt(y)), 0.5
    while a < df / 2 - 1e-9:
        q += math.exp(a * math.log(y) - y - math.lgamma(a + 1))
        a += 1
    return min(1.0, q)


def _statistic(full, n):
    """Pearson's chi-square of the 2 × k table (full marks, not) and its pooled pass rate."""
    rate = full.sum() / n.sum()
    if rate in (0.0, 1.0):
        return 0.0, rate
    return float(np.sum((full - n * rate) ** 2 / (n * rate * (1 - rate)))), rate


def equal_difficulty(variants, tested=1, seed=0):
    """The test across the variants drawn by at least one student, or None where fewer than two
    were drawn. `tested`: how many cells the report tests (ALPHA is shared among them)."""
    drawn = [v for v in variants if v.n > 0]
    if len(drawn) < 2:
        return None
    full = np.array([v.full for v in drawn], float)
    n = np.array([v.n for v in drawn], float)
    statistic, rate = _statistic(full, n)
    expected = np.concatenate([n * rate, n * (1 - rate)])
    exact = bool(np.all(expected >= MIN_EXPECTED))
    if exact:
        p = chi2_sf(statistic, len(drawn) - 1)
    else:  # the same statistic's distribution when the class's passes fall on the variants at random
        rng = np.random.default_rng(seed)
        passed = np.repeat([1.0, 0.0], [int(full.sum()), int(n.sum() - full.sum())])
        starts = np.concatenate([[0], np.cumsum(n.astype(int))[:-1]])
        shuffled = rng.permuted(np.tile(passed, (PERMUTATIONS, 1)), axis=1)
        by_variant = np.add.reduceat(shuffled, starts, axis=1)  # passes per variant, per reshuffle
        statistics = np.sum((by_variant - n * rate) ** 2 / (n * rate * (1 - rate)), axis=1)
        higher = int(np.sum(statistics >= statistic - 1e-9))
        p = (higher + 1) / (PERMUTATIONS + 1)
    # The variant furthest from the rest: the largest adjusted residual (its own share of the error).
    residual = (full - n * rate) / np.sqrt(np.maximum(n * rate * (1 - rate) * (1 - n / n.sum()), 1e-12))
    worst = int(np.argmax(np.abs(residual)))
    rest_n = n.sum() - n[worst]
    rest_rate = float((full.sum() - full[worst]) / rest_n) if rest_n else 0.0
    return Difficulty(
        statistic, len(drawn) - 1, p, exact, drawn[worst], rest_rate, p < ALPHA / max(tested, 1)
    )


def difficulty_by_cell(variants_by_cell):
    """{grade_id: Difficulty} for the cells of pass_rates_by_graph that can be tested."""
    tests = {g: equal_difficulty(v) for g, v in variants_by_cell.items()}
    tested = sum(t is not None for t in tests.values())
    return {g: equal_difficulty(variants_by_cell[g], tested) for g, t in tests.items() if t is not None}


def difficulty_warning(grade_id, d):
    """What `backprop-kit report` and class.html say of a cell whose variants differ beyond chance."""
    return _(
        "{cell}: its graphs are not equally hard (chi-square, {p}): {title} got full marks from "
        "{rate} of the {n} students who drew it, the other graphs from {rest}. Look at what that graph "
        "asks before it is drawn again."
    ).format(
        cell=grade_id,
        p=_p_text(d.p_value),
        title=d.stands_out.title,
        rate=f"{100 * d.stands_out.pass_rate:.0f}%",
        n=d.stands_out.n,
        rest=f"{100 * d.rest_rate:.0f}%",
    )


def difficulty_line(d):
    """The test's figures, for class.html under the cell's rates."""
    words = (
        _("Equal difficulty: chi-square {statistic} with {df} degrees of freedom, {p}.")
        if d.exact
        else _(
            "Equal difficulty: chi-square {statistic} with {df} degrees of freedom, {p} "
            "(from {permutations} reshufflings of the class: few students drew some graphs)."
        )
    )
    return words.format(
        statistic=f"{d.statistic:.2f}", df=d.df, p=_p_text(d.p_value), permutations=f"{PERMUTATIONS:,}"
    )


def _p_text(p):
    """'p < 0.0001', 'p = 0.0032', 'p = 0.41': as precise as a reader needs."""
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}" if p < 0.01 else f"p = {p:.2f}"
