"""Per-student variants of one exercise's graph, generated from the graph an author wrote.

A variant keeps the graph's inputs, its node names (so the answers asked are the same), the
multiset of its operations, its depth and its branch count. It may differ in which inputs feed
which gate (the gates reading gates stay as written, which keeps the depth) and, within a class
of operations the author names (`vary`: classes of the table's symbols; solutions/graphs.py's
DEFAULT_VARY, + and max, where the author names none), in the operation at a node.
Graphs that are one exercise written two ways (a commutative gate's arguments swapped, two
symmetric nodes exchanged) count once: the first one found is kept, so the order is stable.

A variant is kept only where the structure lets every applicable mistake show; which draws then
show them all is bpkit/acceptance.py's one rule, applied to every draw. The structural checks
(once the hand-chosen families' design rules):

- No gate below the output gets an upstream gradient of ±1 or 0 whatever the values (every way
  from it to the output runs through gates passing their gradient on as ±1 or 0: +, max, ×-1):
  a forgotten upstream factor there changes nothing, or looks like a sign flip. (Why the kit's
  families multiply at the output.)
- A max's loser feeds nothing else: it is an input read by that max alone. A losing gate would
  send 0 to every mistake below it; a losing input that also feeds another gate hides a branch
  kept alone. Where only one argument may lose, the other is written first and must win: a
  "wins" rule on that node holds for every variant of the family, so that every variant is
  drawn under the same rules.

Operations are probed through their rows' forward (solutions/table.py): whether a gate is
commutative, whether it passes ±1 or 0, whether it routes (a two-input kind with a kink). No
operation is named here. Shipped to students as bpkit/variants.py (bpkit/graphs.py builds the
kit's families with it): numpy and the standard library only.
"""

import functools
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from .gate_kinds import N_  # words an instructor reads, translated where shown (FamilyRefused.said)
from .table import Operation, operation_of

MIN_VARIANTS = 4  # fewer and a variant's pass rate says little, and neighbours share their graph
MAX_WIRINGS = 100_000  # input fillings tried before the graph is called too large to vary

# Points where the forward of an elementwise operation is probed: away from 0, ±1, each other
# and any kink, so that a product or a sum is never ±1 by chance.
_PROBES = ((0.7318, -1.4142), (2.2361, 0.5774), (-1.7321, -0.3162), (1.3161, 2.6458))
_STEP = 1e-6


class FamilyRefused(ValueError):
    """The graph gives fewer than MIN_VARIANTS variants, or its `vary` cannot be used. The words
    are a message id of the student catalog (bpkit) and its fields, so that check-config says
    them in the course's language (`said(translate)`); str() is the English."""

    def __init__(self, words: str, **fields: Any):
        self.words, self.fields = words, fields
        super().__init__(self.said())

    def said(self, translate: Callable[[str], str] = lambda text: text) -> str:
        fields = dict(self.fields)
        if "refused" in fields:  # {why a candidate was left out (a message id): how many}
            fields["refused"] = "; ".join(
                translate(N_("{n} with {reason}")).format(n=n, reason=translate(reason))
                for reason, n in fields["refused"].items()
            ) or translate(N_("no other wiring or operation keeps its shape"))
        return translate(self.words).format(**fields)


class Generated(NamedTuple):
    graphs: tuple  # the variants (GraphDescription), in a stable order
    winners: tuple[str, ...]  # nodes whose first input must win its max on every draw (rule "wins")
    refused: dict[str, int]  # why candidates were left out -> how many


# ---------------------------------------------------------------- what a row does, probed


def _row(symbol: str) -> tuple[Operation, tuple[float, ...]]:
    return operation_of(symbol)


def _forward(symbol: str, args: Sequence[float]) -> float:
    row, constants = _row(symbol)
    if row.forward is None:  # a layer's, removed from releases: no graph of an exercise uses a layer
        raise ValueError(f"{symbol}: its forward is an answer, not shipped")
    with np.errstate(all="ignore"):
        return float(row.forward(*args, *constants))


def _elementwise(symbol: str) -> bool:
    return _row(symbol)[0].kind_of.elementwise


@functools.cache  # probed once per symbol: graphs.py generates at import
def commutative(symbol: str) -> bool:
    """Swapping its two inputs never changes the output (+, ·, max; not -, /, W·x)."""
    row, _ = _row(symbol)
    if len(row.inputs) != 2 or not _elementwise(symbol):
        return False
    return all(np.isclose(_forward(symbol, (a, b)), _forward(symbol, (b, a))) for a, b in _PROBES)


@functools.cache  # probed once per symbol: graphs.py generates at import
def passes_unit(symbol: str, i: int) -> bool:
    """Its gradient to input i is -1, 0 or 1 wherever it is probed (+, max, relu, ×-1, +c)."""
    if not _elementwise(symbol):
        return False
    arity = len(_row(symbol)[0].inputs)
    for probe in _PROBES:
        hi, lo = list(probe[:arity]), list(probe[:arity])
        hi[i] += _STEP
        lo[i] -= _STEP
        slope = (_forward(symbol, hi) - _forward(symbol, lo)) / (2 * _STEP)
        if not min(abs(slope - u) for u in (-1.0, 0.0, 1.0)) <= 1e-4:  # nan (outside its domain): not
            return False
    return True


@functools.cache  # probed once per symbol: graphs.py generates at import
def routes(symbol: str) -> bool:
    """It sends the whole gradient to one of its two inputs, 0 to the other (a max)."""
    row, _ = _row(symbol)
    return len(row.inputs) == 2 and row.kind_of.kink is not None and row.kind_of.kink.shares_add_up


# ---------------------------------------------------------------- the generator


def _check_vary(graph: Any, vary: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    classes = tuple(tuple(c) for c in vary)
    seen: set[str] = set()
    for c in classes:
        for symbol in c:
            try:
                _row(symbol)
            except ValueError:
                raise FamilyRefused(
                    N_("{title}: vary: no operation is written {symbol!r}"), title=graph.title, symbol=symbol
                ) from None
            if symbol in seen:
                raise FamilyRefused(
                    N_("{title}: vary names {symbol!r} in two classes"), title=graph.title, symbol=symbol
                )
            seen.add(symbol)
        arities = {len(_row(s)[0].inputs) for s in c}
        if len(arities) > 1:
            raise FamilyRefused(
                N_(
                    "{title}: vary: the operations of one class must take as many inputs each; "
                    "{operations} take {counts}"
                ),
                title=graph.title,
                operations=", ".join(c),
                counts=", ".join(map(str, sorted(arities))),
            )
    return classes


def _fillings(inputs: tuple[str, ...], used: list[str]) -> Iterator[tuple[str, ...]]:
    """Every way to fill the input slots with the inputs so that each is used as often as some
    input is in `used` (the same profile of uses: the same branch count), in lexicographic order
    of the inputs as declared."""
    uses = Counter(used)
    target = sorted((uses[n] for n in inputs), reverse=True)
    slots = len(used)
    counts = dict.fromkeys(inputs, 0)
    filled: list[str] = []

    def feasible() -> bool:
        # the counts so far fit under the profile (largest under largest) and add up
        return all(c <= t for c, t in zip(sorted(counts.values(), reverse=True), target))

    def fill() -> Iterator[tuple[str, ...]]:
        if len(filled) == slots:
            if sorted(counts.values(), reverse=True) == target:
                yield tuple(filled)
            return
        for n in inputs:
            counts[n] += 1
            filled.append(n)
            if feasible():
                yield from fill()
            filled.pop()
            counts[n] -= 1

    yield from fill()


def _distinct_orders(items: Sequence[str]) -> list[tuple[str, ...]]:
    return list(dict.fromkeys(itertools.permutations(items)))


def _fan_out(gates: Sequence[tuple]) -> Counter:
    return Counter(p for _, _, parents in gates for p in parents)


def _arranged(graph: Any, gates: list[tuple]) -> tuple[tuple, set[str]] | str:
    """The gates with each commutative gate's arguments in the kit's order (a max's sure winner
    first, else the nodes feeding more gates first, else as declared), and the maxes whose first
    input must win; or why the variant cannot be kept."""
    fan_out = _fan_out(gates)
    position = {n: i for i, n in enumerate(graph.inputs + tuple(g[0] for g in gates))}
    out, winners = [], set()
    for node, op, parents in gates:
        if routes(op):
            may_lose = [p in graph.inputs and fan_out[p] == 1 for p in parents]
            if not any(may_lose):
                return N_("a max whose loser would feed more than that max")
            if not all(may_lose):
                winners.add(node)
                parents = tuple(sorted(parents, key=lambda p: p in graph.inputs and fan_out[p] == 1))
                out.append((node, op, parents))
                continue
        if commutative(op):
            parents = tuple(sorted(parents, key=lambda p: (-fan_out[p], position[p])))
        out.append((node, op, tuple(parents)))
    return tuple(out), winners


def _hidden_upstream(graph: Any) -> str | None:
    """A gate below the output whose upstream gradient is ±1 or 0 on every draw, or None."""
    unit = {graph.output: True}  # the output's own upstream is 1
    for node, _, _ in reversed(graph.gates[:-1]):
        readers = [(n, op, ps) for n, op, ps in graph.gates if node in ps]
        unit[node] = bool(readers) and all(
            unit[n] and passes_unit(op, i) for n, op, ps in readers for i, p in enumerate(ps) if p == node
        )
        if unit[node]:
            return node
    return None


def _key(gates: Sequence[tuple], node: str, inputs: tuple[str, ...]) -> str:
    """The graph below a node written out with commutative arguments sorted: equal for two
    writings of one exercise (node names below the output do not count)."""
    if node in inputs:
        return node
    _, op, parents = next(g for g in gates if g[0] == node)
    args = [_key(gates, p, inputs) for p in parents]
    return f"{op}({', '.join(sorted(args) if commutative(op) else args)})"


def generate(graph: Any, vary: Sequence[Sequence[str]]) -> Generated:
    """The variants of `graph` (a solutions/graphs.py GraphDescription) and the maxes each must
    win; FamilyRefused, with the reasons, where fewer than MIN_VARIANTS remain."""
    classes = _check_vary(graph, vary)
    nodes = [n for n, _, _ in graph.gates]
    slots = [
        (g, k) for g, (_, _, ps) in enumerate(graph.gates) for k, p in enumerate(ps) if p in graph.inputs
    ]
    used = [graph.gates[g][2][k] for g, k in slots]
    # The operation orders: each class's operations permuted over the nodes that carry one.
    at = [[i for i, (_, op, _) in enumerate(graph.gates) if op in c] for c in classes]
    orders = list(itertools.product(*(_distinct_orders([graph.gates[i][1] for i in idx]) for idx in at)))
    distinct = [len(set(ps)) for _, _, ps in graph.gates]
    depth, branches = graph.depth(), len(graph.branching())

    kept, keys, winners = [], set(), set()
    refused: Counter = Counter()
    for tried, filling in enumerate(_fillings(graph.inputs, used)):
        if tried >= MAX_WIRINGS:
            raise FamilyRefused(
                N_("{title}: more than {most} ways to wire its inputs; vary a smaller graph"),
                title=graph.title,
                most=MAX_WIRINGS,
            )
        wired = [[n, op, list(ps)] for n, op, ps in graph.gates]
        for (g, k), name in zip(slots, filling):
            wired[g][2][k] = name
        if [len(set(ps)) for _, _, ps in wired] != distinct:
            continue  # a gate reading one input twice is another shape of graph
        for order in orders:
            gates = [list(g) for g in wired]
            for idx, ops in zip(at, order):
                for i, op in zip(idx, ops):
                    gates[i][1] = op
            candidate = [(n, op, tuple(ps)) for n, op, ps in gates]
            key = _key(candidate, graph.output, graph.inputs)
            if key in keys:
                continue
            keys.add(key)
            arranged = _arranged(graph, candidate)
            if isinstance(arranged, str):
                refused[arranged] += 1  # a message id (N_), said in the course's language
                continue
            variant = graph._replace(title="", gates=arranged[0])
            variant = variant._replace(title=f"f({', '.join(graph.inputs)}) = {variant.formula()}")
            hidden = _hidden_upstream(variant)
            if hidden is not None:
                refused[N_("a gate whose upstream gradient is ±1 or 0 on every draw")] += 1
                continue
            if (variant.depth(), len(variant.branching())) != (depth, branches):
                refused[N_("another depth or branch count")] += 1
                continue
            assert [n for n, _, _ in variant.gates] == nodes
            kept.append(variant)
            winners |= arranged[1]
    if len(kept) < MIN_VARIANTS:
        raise FamilyRefused(
            N_(
                "{title}: {kept} variant(s), at least {needed} needed (left out: {refused}); "
                "vary more operations or give the graph more inputs"
            ),
            title=graph.title,
            kept=len(kept),
            needed=MIN_VARIANTS,
            refused=dict(refused),
        )
    return Generated(tuple(kept), tuple(n for n in nodes if n in winners), dict(refused))


def variants(graph: Any, vary: Sequence[Sequence[str]]) -> tuple:
    """The per-student variants of `graph`, in a stable order (see generate)."""
    return generate(graph, vary).graphs
