"""Pictures of computational graphs like the cs231n slides, drawn offline as SVG.

    from bpkit import pictures
    pictures.simple(-2, 5, -4, q=3, f=-12, grads={"x": -4, "y": -4, "z": 3, "q": -4, "f": 1})

The last expression of a notebook cell displays inline (`Picture._repr_svg_`), and
nbconvert keeps the SVG in the saved notebook and in HTML feedback. Nothing is
downloaded or run: numpy and the standard library only.

How a picture reads, as on the slides:
  * inputs are names on the left, gates are circles (pills for long labels) with the
    operation inside and the node's name in grey underneath;
  * every wire carries the value of the node it leaves, in green above the wire, and
    the gradient of the output with respect to that value, in red below it;
  * the output leaves the last gate with a wire to the right, ending in an arrow and
    its name, carrying its value and its gradient (1 once backward has started);
  * a node that feeds several gates has one stem (its value and its *total* gradient)
    that splits at a dot into one branch per gate; a branch may carry the gradient that
    comes back along it alone, so the picture shows the sum being formed.

Values are shown by `format_value`: None is not shown; a string is shown as it is
("?" marks what the student must compute); integers and integral floats without
decimals (-4 -> "-4", with an ASCII hyphen-minus, as Python prints it); other numbers
to 3 significant digits in fixed notation, trailing zeros dropped (0.7310585 -> "0.731",
1.3678794 -> "1.37", -0.5344466 -> "-0.534", 12.3456 -> "12.3", 1234.56 -> "1235");
magnitudes below 1e-3 or from 1e6 up in short scientific form (1e-9 -> "1e-9",
-2.5e-7 -> "-2.5e-7", 3.2e7 -> "3.2e7"); vectors and matrices as "[a, b]" and "[[a, b], [c, d]]",
at most 4 entries along an axis ("[1, 2, 3, …]"), higher ranks as "[2×3×4 array]".
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

import numpy as np

from . import graphs as described
from .i18n import STUDENT_WORDS

_ = STUDENT_WORDS.gettext

GRAPHS = described.GRAPHS

__all__ = [
    "Box",
    "Edge",
    "Node",
    "Picture",
    "Wire",
    "branch",
    "draw",
    "format_value",
    "graph_picture",
    "l2_of_matmul",
    "lecture_graph",
    "neuron",
    "simple",
    "your_graph",
]

# --- values ---------------------------------------------------------------------------

MAX_ITEMS = 4  # entries shown along one axis of a vector or matrix
MAX_CHARS = 40  # longest label before it is cut with "…"


def format_value(value):
    """The text a picture shows for `value`, or None when nothing is shown.

    >>> [format_value(v) for v in (None, "?", -4, 3.0, 0.7310585, 1e-9, [0.22, 0.26])]
    [None, '?', '-4', '3', '0.731', '1e-9', '[0.22, 0.26]']
    """
    if value is None:
        return None
    return _clip(_format(value, depth=0))


def _format(value, depth):
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, numbers.Integral):
        value = int(value)
        return str(value) if abs(value) < 10**6 else _scientific(float(value))
    if isinstance(value, numbers.Real):
        return _format_real(float(value))
    if isinstance(value, (list, tuple, np.ndarray)):
        if depth >= 2:
            return "…"
        if depth == 0:
            try:
                shape = np.shape(value)
            except ValueError:  # ragged nesting
                shape = ()
            if len(shape) > 2:
                return "[" + "×".join(str(n) for n in shape) + " array]"
        items = list(value)
        shown = items if len(items) <= MAX_ITEMS else items[: MAX_ITEMS - 1]
        parts = [_format(v, depth + 1) if v is not None else "None" for v in shown]
        if len(shown) < len(items):
            parts.append("…")
        return "[" + ", ".join(parts) + "]"
    return str(value)


def _format_real(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if abs(v) >= 1e6 or abs(v) < 1e-3:
        return _scientific(v)
    if v == int(v):
        return str(int(v))
    decimals = max(0, 2 - math.floor(math.log10(abs(v))))
    text = f"{v:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def _scientific(v):
    mantissa, _, exponent = f"{v:.3g}".partition("e")
    if not exponent:  # %.3g chose fixed notation after rounding (0.0009996 -> 0.001)
        return mantissa
    return f"{mantissa}e{int(exponent)}"


def _clip(text):
    text = " ".join(str(text).split())  # one line
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


# --- text metrics and escaping ---------------------------------------------------------

FONT_FAMILY = "'Helvetica Neue', Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"
_EM = {}  # per-character width in em, generous (DejaVu Sans is the widest of the list)
for _chars, _w in (
    (" .,:;'|!ijlI·", 0.34),
    ("-()[]/\\ft", 0.42),
    ("r*²‖", 0.5),
    ('?"', 0.56),
    ("abcdeghknopqsuvxyzσ0123456789", 0.65),
    ("ABCDEFGHJKLNOPQRSTUVXYZ#$", 0.76),
    ("+=<>~−×÷", 0.84),
    ("mwMW%@…", 1.0),
):
    _EM.update(dict.fromkeys(_chars, _w))


def text_width(text, size, bold=False):
    """A generous estimate of the rendered width of `text` in px."""
    em = sum(_EM.get(ch, 0.66 if ord(ch) < 0x2E80 else 1.0) for ch in text)
    return em * size * (1.08 if bold else 1.0) + 1


_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _esc(text):
    """Text safe inside an SVG element or a double-quoted attribute."""
    text = _XML_INVALID.sub("\ufffd", str(text))
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _num(v):
    return f"{v:.1f}".rstrip("0").rstrip(".")


# --- the model ---------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """An input or a gate. `label` is what is drawn (defaults to the name). `value` and
    `grad` label the node's output wire where no edge gives one: the stem of a node that
    fans out, and the output wire of the last gate."""

    name: str
    label: str | None = None
    value: object = None
    grad: object = None


@dataclass(eq=False)
class Edge:
    """A wire from node `src` into gate `dst`; `dst=None` is the output wire to the right."""

    src: str
    dst: str | None
    value: object = None
    grad: object = None


@dataclass(frozen=True)
class Box:
    """A drawn thing's bounding box in SVG user units (y grows downward).

    kind: "input", "gate", "output" (the output's name), "name" (a gate's name),
    "value", "grad", "title". `owner` is the node (or "src->dst" for a branch label)."""

    kind: str
    owner: str
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other, margin=0.0):
        return (
            self.x0 < other.x1 + margin
            and other.x0 < self.x1 + margin
            and self.y0 < other.y1 + margin
            and other.y0 < self.y1 + margin
        )


@dataclass(frozen=True)
class Wire:
    """One drawn wire: from node `src` to gate `dst` (None: the output wire), as points
    sampled along its path."""

    src: str
    dst: str | None
    points: tuple


class Picture:
    """An SVG picture. Displays itself in Jupyter; `.svg` is the text, `.save(path)`
    writes it. `boxes`, `wires`, `columns` and `centers` record the geometry."""

    def __init__(
        self, svg, width, height, display_width, display_height, boxes, wires, columns, centers, title=None
    ):
        self.svg, self.width, self.height = svg, width, height
        self.display_width, self.display_height = display_width, display_height
        self.boxes, self.wires, self.columns, self.centers = boxes, wires, columns, centers
        self.title = title

    def _repr_svg_(self):
        return self.svg

    def save(self, path):
        """Write the SVG text to `path` (UTF-8) and return the path."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)
        return path

    def __str__(self):
        return self.svg

    def __repr__(self):
        return (
            f"<Picture {self.display_width}x{self.display_height}{': ' + self.title if self.title else ''}>"
        )


# --- layout constants (SVG user units) ------------------------------------------------------

LABEL_SIZE, GATE_SIZE, INPUT_SIZE, NAME_SIZE, TITLE_SIZE = 13, 15, 15, 11, 15
GATE_H, GATE_MIN_W, GATE_PAD = 34, 34, 9
LABEL_GAP = 3  # between a wire and its label box
LABEL_H = LABEL_SIZE  # a label box's height
STEM_PAD, MIN_STEM = 7, 30
DIVERGE = 22  # horizontal room for a fan-out's branches to part
LEAF_PITCH, SEP = 56, 8
CURVE_MIN, CURVE_MAX, STRAIGHT_MIN = 22, 60, 8
MIN_NATURAL_WIDTH = 440  # narrower graphs get longer wires
ARROW = 16
MARGIN = 12
MAX_DISPLAY_WIDTH, MAX_SCALE = 800, 1.4  # display px per unit at most
COLORS = {
    "wire": "#333",
    "value": "#1b7f2a",
    "grad": "#c62828",
    "name": "#777",
    "gate": "#222",
    "text": "#111",
}


def _as_node(spec):
    if isinstance(spec, Node):
        return spec
    if isinstance(spec, str):
        return Node(spec)
    if isinstance(spec, dict):
        return Node(**spec)
    return Node(*spec)


def _as_edge(spec):
    if isinstance(spec, Edge):
        return spec
    if isinstance(spec, dict):
        return Edge(**spec)
    return Edge(*spec)


def _gate_of(edge: Edge) -> str:
    """The gate a wire of preds/succs enters (an output wire enters none: those are out_edge's)."""
    assert edge.dst is not None, f"the output wire from {edge.src!r} has no gate"
    return edge.dst


class _Label:
    def __init__(self, text, kind, owner):
        self.text, self.kind, self.owner = text, kind, owner
        self.w = text_width(text, LABEL_SIZE, bold=text == "?") if text is not None else 0.0

    @property
    def h(self):  # room taken above/below the wire, 0 if not shown
        return LABEL_GAP + LABEL_H if self.text is not None else 0.0


def draw(nodes, edges, title=None, *, show_names=True, width=None):
    """Draw a computational graph; returns a Picture.

    nodes: Node objects, names, (name, label[, value[, grad]]) tuples or dicts. Nodes
        that no edge enters are inputs (drawn as text on the left); the others are gates.
    edges: Edge objects, (src, dst[, value[, grad]]) tuples or dicts, in the order of
        the gate's inputs. `dst=None` gives the output wire of a last gate its labels
        (otherwise the node's own value/grad are used).
    A node's column is its longest path from the inputs. When a node feeds one gate, its
    wire shows the edge's value and grad (the node's where the edge gives None); when it
    feeds several, its stem shows the node's value (or the edges' common value) and grad,
    and each branch the edge's grad (and value, if not the common one).
    `width` overrides the displayed width in px (default: natural size, enlarged up to
    1.4x, at most 800 px).

    Drawn in stages, each working out one thing from what the earlier ones did: the
    graph's structure, the labels on its wires, the size of everything, heights, widths,
    then the drawing itself and the SVG.
    """
    nodes = [_as_node(n) for n in nodes]
    edges = [_as_edge(e) for e in edges]
    title = " ".join(str(title).split()) if title is not None else None
    g = _structure(nodes, edges)
    _wire_labels(g)
    _measure(g, show_names)
    _place_vertically(g, title)
    _place_horizontally(g)
    scene = _render(g)
    return _picture(g, scene, title, width)


# A node's two labels on its stem (value above, gradient below), and each branch's by id(edge).
_Labels = tuple[tuple["_Label", "_Label"], dict[int, tuple["_Label", "_Label"]]]


class _Layout:
    """What the stages of `draw` have worked out so far about one graph: each stage sets its
    own fields (an attribute read before its stage ran is an AttributeError, a bug in `draw`)."""

    # _structure: the graph itself
    nodes: list[Node]
    by_name: dict[str, Node]
    preds: dict[str, list[Edge]]  # the edges into each node
    succs: dict[str, list[Edge]]  # the edges out of each node into gates
    out_edge: dict[str, Edge]  # a node's output wire to the right (dst None), where it has one
    order: list[str]  # topological
    col: dict[str, int]
    ncols: int
    is_input: dict[str, bool]
    sinks: list[str]
    by_col: list[list[str]]
    # _wire_labels
    L: dict[str, _Labels]
    # _measure: (label, width, height) of each node; gates showing their name; branch spacing;
    # room (above, below) each node's centre line
    size: dict[str, tuple[str, float, float]]
    named: set[str]
    lane_pitch: dict[str, float]
    ext: dict[str, tuple[float, float]]
    # _place_vertically: inputs top to bottom, each node's height, each branch's offset by id(edge)
    leaves: list[str]
    y: dict[str, float]
    lane: dict[int, float]
    # _place_horizontally
    colw: list[float]
    cx: dict[str, float]
    outport: dict[str, float]
    stem_len: dict[str, float]
    base_stem: dict[str, float]
    lane_len: dict[str, float]
    xl: list[float]
    zone: list[float]
    curve: list[float]
    width_natural: float


def _structure(nodes, edges):
    """Nodes by name, the edges into and out of each, columns: refuses graphs that make no sense."""
    g = _Layout()
    g.nodes, g.by_name = nodes, {}
    for n in nodes:
        if not isinstance(n.name, str) or not n.name:
            raise ValueError(f"node names must be non-empty strings, not {n.name!r}")
        if n.name in g.by_name:
            raise ValueError(f"two nodes are named {n.name!r}")
        g.by_name[n.name] = n
    if not nodes:
        raise ValueError("nothing to draw: no nodes")
    g.preds = {n.name: [] for n in nodes}
    g.succs = {n.name: [] for n in nodes}
    g.out_edge = {}
    for e in edges:
        if e.src not in g.by_name or (e.dst is not None and e.dst not in g.by_name):
            raise ValueError(f"edge {e.src!r} -> {e.dst!r} names an unknown node")
        if e.dst is None:
            if e.src in g.out_edge:
                raise ValueError(f"two output wires from {e.src!r}")
            g.out_edge[e.src] = e
        else:
            g.succs[e.src].append(e)
            g.preds[e.dst].append(e)
    for name in g.out_edge:
        if g.succs[name]:
            raise ValueError(f"{name!r} feeds a gate, so it cannot have an output wire")
    g.order = _topological(nodes, g.preds, g.succs)
    g.col = {}
    for name in g.order:
        g.col[name] = 1 + max((g.col[e.src] for e in g.preds[name]), default=-1)
    g.ncols = max(g.col.values()) + 1
    g.is_input = {n: not g.preds[n] for n in g.by_name}
    g.sinks = [n for n in g.order if not g.succs[n]]
    g.by_col = [[n for n in g.order if g.col[n] == c] for c in range(g.ncols)]
    return g


def _wire_labels(g: _Layout):
    """g.L[name] = ((value, grad) labels of the node's stem, {id(edge): (value, grad)} of its branches)."""
    stem: dict[str, tuple[str | None, str | None]] = {}  # a node's stem: (value, grad) as written
    branches: dict[str, dict[int, tuple[str | None, str | None]]] = {}  # by id(edge), likewise
    for n in g.nodes:
        outs = g.succs[n.name]
        if not outs:
            e = g.out_edge.get(n.name)
            v = e.value if e is not None and e.value is not None else n.value
            gr = e.grad if e is not None and e.grad is not None else n.grad
            stem[n.name], branches[n.name] = (format_value(v), format_value(gr)), {}
        elif len(outs) == 1:
            e = outs[0]
            v = e.value if e.value is not None else n.value
            gr = e.grad if e.grad is not None else n.grad
            stem[n.name], branches[n.name] = (format_value(v), format_value(gr)), {}
        else:
            edge_vals = [format_value(e.value) for e in outs]
            common = format_value(n.value)
            hoist = common is None and edge_vals[0] is not None and len(set(edge_vals)) == 1
            if hoist:
                common = edge_vals[0]
            stem[n.name] = (common, format_value(n.grad))
            branches[n.name] = {
                id(e): (None if hoist or ev == common else ev, format_value(e.grad))
                for e, ev in zip(outs, edge_vals)
            }
    g.L = {}
    for name in g.by_name:
        v, gr = stem[name]
        g.L[name] = (
            (_Label(v, "value", name), _Label(gr, "grad", name)),
            {
                k: (
                    _Label(bv, "value", name + "->" + _dst_of(g.succs[name], k)),
                    _Label(bg, "grad", name + "->" + _dst_of(g.succs[name], k)),
                )
                for k, (bv, bg) in branches[name].items()
            },
        )


def _measure(g: _Layout, show_names):
    """Sizes of nodes, which gates show their name, branch spacing, room above and below each node."""
    g.size = {}
    for n in g.nodes:
        label = _clip(n.label if n.label is not None else n.name)
        if g.is_input[n.name]:
            g.size[n.name] = (label, text_width(label, INPUT_SIZE, bold=True), INPUT_SIZE)
        else:
            g.size[n.name] = (label, max(GATE_MIN_W, text_width(label, GATE_SIZE) + 2 * GATE_PAD), GATE_H)
    g.named = {
        name
        for name in g.by_name
        if show_names and not g.is_input[name] and g.succs[name] and (g.by_name[name].label or name) != name
    }
    g.lane_pitch = {}
    for name in g.by_name:
        bl = list(g.L[name][1].values())
        if bl:
            g.lane_pitch[name] = max(26.0, max(b.h for _, b in bl) + max(v.h for v, _ in bl) + 4)
    g.ext = {name: _extent(g, name) for name in g.by_name}


def _extent(g: _Layout, name):
    """Room above and below the node's centre line that it and its labels take."""
    (v, gr), bl = g.L[name]
    half = g.size[name][2] / 2
    above, below = max(half, v.h), max(half + (NAME_SIZE + 3 if name in g.named else 0), gr.h)
    if bl:
        spread = g.lane_pitch[name] * (len(bl) - 1) / 2
        above = max(above, spread + max(b.h for b, _ in bl.values()), spread + 3)
        below = max(below, spread + max(b.h for _, b in bl.values()), spread + 3)
    return above, below


def _place_vertically(g: _Layout, title):
    """g.y: inputs in the order a walk back from the output meets them, each gate at the mean
    height of the wires entering it, columns pushed apart; g.lane: each branch's offset."""
    g.leaves, seen = [], set()

    def walk(name):
        if name in seen:
            return
        seen.add(name)
        if g.is_input[name]:
            g.leaves.append(name)
        for e in g.preds[name]:
            walk(e.src)

    for s in g.sinks:
        walk(s)
    g.leaves += [n for n in g.order if g.is_input[n] and n not in seen]
    y = _heights(g, lambda e: 0.0)
    g.lane = {}  # id(edge) -> offset of its branch from the stem
    for name in g.by_name:
        outs = g.succs[name]
        if len(outs) > 1:
            ranked = sorted(
                outs, key=lambda e: (y[_gate_of(e)], -g.col[_gate_of(e)], g.order.index(_gate_of(e)))
            )
            for i, e in enumerate(ranked):
                g.lane[id(e)] = (i - (len(outs) - 1) / 2) * g.lane_pitch[name]
    y = _heights(g, lambda e: g.lane.get(id(e), 0.0))
    title_h = TITLE_SIZE + 10 if title else 0
    top = min(y[n] - g.ext[n][0] for n in g.by_name)
    g.y = {n: v - top + MARGIN + title_h for n, v in y.items()}


def _heights(g: _Layout, offset):
    y: dict[str, float] = {}
    prev = None
    for leaf in g.leaves:
        room = g.ext[leaf][0]
        y[leaf] = room if prev is None else max(y[prev] + LEAF_PITCH, y[prev] + g.ext[prev][1] + room + SEP)
        prev = leaf
    for c in range(1, g.ncols):
        for n in g.by_col[c]:
            y[n] = sum(y[e.src] + offset(e) for e in g.preds[n]) / len(g.preds[n])
        column = sorted(g.by_col[c], key=lambda n: (y[n], g.order.index(n)))
        for a, b in zip(column, column[1:]):  # noqa: RUF007
            y[b] = max(y[b], y[a] + g.ext[a][1] + g.ext[b][0] + SEP)
    return y


def _place_horizontally(g: _Layout):
    """Columns, node centres, output ports and stem lengths; small graphs get longer wires."""
    g.colw = [max(g.size[n][1] for n in g.by_col[c]) for c in range(g.ncols)]
    g.cx, g.outport, g.stem_len, g.base_stem, g.lane_len = {}, {}, {}, {}, {}
    for name in g.by_name:
        (v, gr), bl = g.L[name]
        g.base_stem[name] = max(MIN_STEM, v.w + 2 * STEM_PAD, gr.w + 2 * STEM_PAD)
        if bl:
            g.lane_len[name] = max(MIN_STEM, *(max(a.w, b.w) + 2 * STEM_PAD for a, b in bl.values()))
    g.xl, g.zone, g.curve, g.width_natural = _columns_x(g, 0.0)
    if g.width_natural < MIN_NATURAL_WIDTH:
        g.xl, g.zone, g.curve, g.width_natural = _columns_x(
            g, (MIN_NATURAL_WIDTH - g.width_natural) / g.ncols
        )


def _columns_x(g: _Layout, stretch):
    """Left edges, stem zones and curve widths of the columns; `stretch` lengthens
    every gap (small graphs get longer wires rather than bigger letters)."""
    xl, zone, curve = [0.0] * g.ncols, [0.0] * g.ncols, [0.0] * g.ncols
    x: float = MARGIN
    for c in range(g.ncols):
        xl[c] = x
        xr = x + g.colw[c]
        far = 0.0
        for n in g.by_col[c]:
            w = g.size[n][1]
            if g.is_input[n]:
                g.cx[n], g.outport[n] = xr - w / 2, xr + 4
            else:
                g.cx[n] = x + g.colw[c] / 2
                g.outport[n] = g.cx[n] + w / 2
            g.stem_len[n] = g.base_stem[n] + (0.4 * stretch if c + 1 < g.ncols else stretch)
            reach = g.outport[n] + g.stem_len[n] - xr
            if n in g.lane_len:
                reach += DIVERGE + g.lane_len[n]
            if not g.succs[n]:
                reach += ARROW + 4 + text_width(n, INPUT_SIZE, bold=True)
            far = max(far, reach)
        zone[c] = far
        x = xr + far
        if c + 1 < g.ncols:  # wires entering column c+1 curve in the rest of this gap
            dys = [
                abs(g.y[_gate_of(e)] - g.y[e.src] - g.lane.get(id(e), 0.0))
                for d in g.by_col[c + 1]
                for e in g.preds[d]
            ]
            bend = max(dys, default=0.0)
            curve[c] = min(CURVE_MAX, max(CURVE_MIN if bend > 1 else STRAIGHT_MIN, 0.45 * bend))
            curve[c] += 0.6 * stretch
            x += curve[c]
    return xl, zone, curve, x + MARGIN


class _Scene:
    """What is drawn: bounding boxes, wires, SVG parts by layer, node centres."""

    def __init__(self):
        self.boxes, self.wires, self.centers = [], [], {}
        self.parts: dict[str, list[str]] = {"wire": [], "dot": [], "node": [], "text": []}  # SVG by layer

    def labels(self, lab_v, lab_g, xm, wy):
        for lab, below in ((lab_v, False), (lab_g, True)):
            if lab.text is None:
                continue
            y0 = wy + LABEL_GAP if below else wy - LABEL_GAP - LABEL_H
            box = Box(lab.kind, lab.owner, lab.text, xm - lab.w / 2, y0, xm + lab.w / 2, y0 + LABEL_H)
            self.boxes.append(box)
            weight = ' font-weight="bold"' if lab.text == "?" else ""
            self.parts["text"].append(
                f'<text x="{_num(xm)}" y="{_num(y0 + 0.78 * LABEL_H)}" fill="{COLORS[lab.kind]}" '
                f'font-size="{LABEL_SIZE}" text-anchor="middle"{weight}>{_esc(lab.text)}</text>'
            )


def _render(g: _Layout):
    """Wires with their labels, then nodes."""
    scene = _Scene()
    inports = _inports(g)
    for name in g.order:
        _render_wires(g, scene, name, inports)
    for name in g.order:
        _render_node(g, scene, name)
    return scene


def _inports(g: _Layout):
    """Where each edge enters its gate: spread over the gate's rounded left end."""
    inports = {}
    for d in g.by_name:
        ins = sorted(g.preds[d], key=lambda e: g.y[e.src] + g.lane.get(id(e), 0.0))
        w, h = g.size[d][1], g.size[d][2]
        k = len(ins)
        for i, e in enumerate(ins):
            dy = (i - (k - 1) / 2) * min(10.0, (h - 10) / max(k - 1, 1))
            r = h / 2
            ix = g.cx[d] - w / 2 + r - math.sqrt(max(r * r - dy * dy, 0.0))
            inports[id(e)] = (ix, g.y[d] + dy)
    return inports


def _render_wires(g: _Layout, scene, name, inports):
    (lv, lg), bl = g.L[name]
    wy = g.y[name]
    x0 = g.outport[name]
    x1 = x0 + g.stem_len[name]
    scene.labels(lv, lg, (x0 + x1) / 2, wy)
    outs = g.succs[name]
    if not outs:
        tip = x1 + ARROW
        seg: list[tuple] = [("M", x0, wy), ("L", tip - 1, wy)]  # SVG path commands (_path)
        scene.wires.append(Wire(name, None, _sample(seg)))
        scene.parts["wire"].append(f'<path d="{_path(seg)}"/>')
        scene.parts["dot"].append(
            f'<path d="M{_num(tip)},{_num(wy)} l-9,-4.5 v9 z" fill="{COLORS["wire"]}" stroke="none"/>'
        )
        tw = text_width(name, INPUT_SIZE, bold=True)
        scene.boxes.append(
            Box("output", name, name, tip + 4, wy - INPUT_SIZE / 2, tip + 4 + tw, wy + INPUT_SIZE / 2)
        )
        scene.parts["text"].append(
            f'<text x="{_num(tip + 4)}" y="{_num(wy + 0.28 * INPUT_SIZE)}" font-size="{INPUT_SIZE}" '
            f'font-weight="bold" fill="{COLORS["text"]}">{_esc(name)}</text>'
        )
        return
    for e in outs:
        seg = [("M", x0, wy), ("L", x1, wy)]
        ly = wy + g.lane.get(id(e), 0.0)
        if len(outs) > 1:
            lx = x1 + DIVERGE
            seg.append(("C", x1 + DIVERGE / 2, wy, x1 + DIVERGE / 2, ly, lx, ly))
            seg.append(("L", lx + g.lane_len[name], ly))
            bv, bg = bl[id(e)]
            scene.labels(bv, bg, lx + g.lane_len[name] / 2, ly)
        tc = g.col[_gate_of(e)]
        cs = g.xl[tc - 1] + g.colw[tc - 1] + g.zone[tc - 1]
        if cs > seg[-1][-2]:
            seg.append(("L", cs, ly))
        sx = seg[-1][-2]
        ix, iy = inports[id(e)]
        dx = max(ix - sx, 1.0) / 2
        seg.append(("C", sx + dx, ly, ix - dx, iy, ix, iy))
        scene.wires.append(Wire(name, e.dst, _sample(seg)))
        scene.parts["wire"].append(f'<path d="{_path(seg)}"/>')
    if len(outs) > 1:
        scene.parts["dot"].append(
            f'<circle cx="{_num(x1)}" cy="{_num(wy)}" r="3.2" fill="{COLORS["wire"]}"/>'
        )


def _render_node(g: _Layout, scene, name):
    label, w, h = g.size[name]
    cx, cy = g.cx[name], g.y[name]
    scene.centers[name] = (cx, cy)
    if g.is_input[name]:
        scene.boxes.append(Box("input", name, label, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        scene.parts["node"].append(
            f'<text x="{_num(cx + w / 2)}" y="{_num(cy + 0.28 * INPUT_SIZE)}" font-size="{INPUT_SIZE}" '
            f'font-weight="bold" text-anchor="end" fill="{COLORS["text"]}">{_esc(label)}</text>'
        )
        return
    scene.boxes.append(Box("gate", name, label, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    scene.parts["node"].append(
        f'<rect x="{_num(cx - w / 2)}" y="{_num(cy - h / 2)}" width="{_num(w)}" height="{_num(h)}" '
        f'rx="{_num(h / 2)}" fill="#fff" stroke="{COLORS["gate"]}" stroke-width="1.6"/>'
    )
    scene.parts["node"].append(
        f'<text x="{_num(cx)}" y="{_num(cy + 0.35 * GATE_SIZE)}" font-size="{GATE_SIZE}" '
        f'text-anchor="middle" fill="{COLORS["text"]}">{_esc(label)}</text>'
    )
    if name in g.named:
        nw = text_width(name, NAME_SIZE)
        ny = cy + h / 2 + 3
        scene.boxes.append(Box("name", name, name, cx - nw / 2, ny, cx + nw / 2, ny + NAME_SIZE))
        scene.parts["node"].append(
            f'<text x="{_num(cx)}" y="{_num(ny + 0.8 * NAME_SIZE)}" font-size="{NAME_SIZE}" '
            f'font-style="italic" text-anchor="middle" fill="{COLORS["name"]}">{_esc(name)}</text>'
        )


def _picture(g: _Layout, scene, title, width):
    """The SVG text, its size and the recorded geometry."""
    width_natural = g.width_natural
    if title:
        shown_title = title if len(title) <= 80 else title[:79] + "…"
        tw = text_width(shown_title, TITLE_SIZE, bold=True)
        width_natural = max(width_natural, MARGIN * 2 + tw)
        scene.boxes.append(Box("title", "", shown_title, MARGIN, MARGIN, MARGIN + tw, MARGIN + TITLE_SIZE))
    height_natural = max(g.y[n] + g.ext[n][1] for n in g.by_name) + MARGIN
    W, H = math.ceil(width_natural), math.ceil(height_natural)
    if width is None:
        scale = min(MAX_SCALE, MAX_DISPLAY_WIDTH / W)
        dw = round(W * scale)
    else:
        dw = int(width)
    dh = round(H * dw / W)

    title_text = title if title else _("Computational graph")
    desc = _describe(g.order, g.preds, g.by_name, g.L, g.succs, g.sinks)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{dw}" height="{dh}" '
        f'role="img" aria-label="{_esc(title_text)}" font-family="{_esc(FONT_FAMILY)}">',
        f"<title>{_esc(title_text)}</title>",
        f"<desc>{_esc(desc)}</desc>",
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>',
    ]
    if title:
        out.append(
            f'<text x="{MARGIN}" y="{_num(MARGIN + 0.8 * TITLE_SIZE)}" font-size="{TITLE_SIZE}" '
            f'font-weight="bold" fill="{COLORS["text"]}">{_esc(shown_title)}</text>'
        )
    out.append(f'<g fill="none" stroke="{COLORS["wire"]}" stroke-width="1.5" stroke-linecap="round">')
    out += scene.parts["wire"]
    out.append("</g>")
    out += scene.parts["dot"] + scene.parts["node"] + scene.parts["text"]
    out.append("</svg>")
    columns = {n: g.col[n] for n in g.order}
    return Picture(
        "\n".join(out) + "\n", W, H, dw, dh, scene.boxes, scene.wires, columns, scene.centers, title=title
    )


def _dst_of(outs, key):
    return next(e.dst for e in outs if id(e) == key)


def _topological(nodes, preds, succs):
    indeg = {n.name: len(preds[n.name]) for n in nodes}
    ready = [n.name for n in nodes if indeg[n.name] == 0]
    order = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for e in succs[name]:
            indeg[e.dst] -= 1
            if indeg[e.dst] == 0:
                ready.append(e.dst)
    if len(order) != len(nodes):
        raise ValueError("the graph has a cycle")
    return order


def _describe(order, preds, by_name, L, succs, sinks):
    """A plain-text account of the picture for screen readers."""
    lines = []
    for name in order:
        (v, g), _branches = L[name]
        node = by_name[name]
        what = (
            _("input")
            if not preds[name]
            else _("gate {operation} of {inputs}").format(
                operation=node.label or name, inputs=", ".join(e.src for e in preds[name])
            )
        )
        facts = [f"{name}: {what}"]
        if v.text is not None:
            facts.append(_("value {value}").format(value=v.text))
        if g.text is not None:
            facts.append(_("gradient {gradient}").format(gradient=g.text))
        lines.append(", ".join(facts))
    return "; ".join(lines) + (_(". Output: {outputs}.").format(outputs=", ".join(sinks)) if sinks else "")


def _path(seg):
    out = []
    for s in seg:
        out.append(s[0] + " ".join(f"{_num(a)},{_num(b)}" for a, b in zip(s[1::2], s[2::2])))
    return " ".join(out)


def _sample(seg, n=12):
    pts = []
    cur: tuple[float, float] | None = None
    for s in seg:
        if s[0] in "ML":
            cur = (s[1], s[2])
            pts.append(cur)
        else:
            assert cur is not None, "a path begins with a move (M)"
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = cur, s[1:3], s[3:5], s[5:7]
            for i in range(1, n + 1):
                t = i / n
                u = 1 - t
                pts.append(
                    (
                        u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
                        u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3,
                    )
                )
            cur = (x3, y3)
    return tuple(pts)


# --- the lecture's graphs --------------------------------------------------------------------
# Drawn from the descriptions the reference engine builds (bpkit/graphs.py): one node per
# input and per gate, labelled with the gate's operation, one edge per gate input.


def lecture_graph(name, values=None, grads=None, edge_grads=None, *, title=None):
    """Picture of the lecture graph GRAPHS[name]. `values` and `grads` map node names to what
    to show above and below each wire (numbers, "?"; missing or None: nothing);
    `edge_grads` maps "src->dst" to the gradient coming back along that one branch."""
    return graph_picture(GRAPHS[name], values, grads, edge_grads, title=title)


def your_graph(P, problem, *, title=None):
    """The student's own graph of one exercise (P = bpkit.problems.load(...)) with their numbers on
    the inputs and "?" on every value and gradient the exercise asks for."""
    graph, shape = P.graphs[problem], described.shape(described.BY_PROBLEM[problem], P.graph_mode)
    values = {n: v for n, v in P.inputs(problem).items()}
    grads: dict[str, object] = {graph.output: 1}
    for kind, node in shape.answers.values():
        (values if kind == "value" else grads)[node] = "?"
    return graph_picture(graph, values, grads, title=title)


def graph_picture(description, values=None, grads=None, edge_grads=None, *, title=None):
    """Picture of a graph description (bpkit/graphs.py), with what `values`, `grads` and
    `edge_grads` say on its wires (see lecture_graph)."""
    values, grads, edge_grads = values or {}, grads or {}, edge_grads or {}
    nodes = [Node(n, n, values.get(n), grads.get(n)) for n in description.inputs]
    nodes += [Node(n, operation, values.get(n), grads.get(n)) for n, operation, _ in description.gates]
    edges = [
        Edge(src, n, grad=edge_grads.get(f"{src}->{n}"))
        for n, _, parents in description.gates
        for src in parents
    ]
    # A title is a formula, or a message of the catalog when it has words (solutions/graphs.py: N_).
    return draw(nodes, edges, title=_(description.title) if title is None else title)


def simple(x, y, z, q=None, f=None, grads=None, *, title=None):
    """Example 1, f = (x + y) · z with q = x + y. `grads` maps 'x','y','z','q','f' to
    what to show below each wire (numbers, "?"; missing or None: nothing)."""
    return lecture_graph("simple", {"x": x, "y": y, "z": z, "q": q, "f": f}, grads, title=title)


def neuron(w, x, values=None, grads=None, staged=True, *, title=None):
    """Example 2, f = σ(w0·x0 + w1·x1 + w2): staged (*, *, +, +, *-1, exp, +1, 1/x) or,
    with staged=False, one σ gate. `w` (3 entries) and `x` (2 entries) are shown on the
    input wires; `values` and `grads` map node names (w0, x0, w1, x1, w2, w0x0, w1x1, p, s,
    and neg, exp, denom, f or, unstaged, f) to what to show. A name in `values` overrides
    the entry of `w` or `x`."""
    values = {"w0": w[0], "x0": x[0], "w1": w[1], "x1": x[1], "w2": w[2], **(values or {})}
    return lecture_graph("neuron_staged" if staged else "neuron_shortcut", values, grads, title=title)


def branch(x, y, values=None, grads=None, *, title=None):
    """Gradients add at branches: f = (x + y) · x with q = x + y, where x feeds both
    gates. `values`/`grads` map 'x','y','q','f' (x and y default to the arguments); the
    stem of x shows its total gradient grads['x'], and grads['x->q'] / grads['x->f'], if
    given, the gradient coming back along each branch."""
    grads = dict(grads or {})
    edge_grads = {k: grads.pop(k) for k in [k for k in grads if "->" in k]}
    return lecture_graph("branch", {"x": x, "y": y, **(values or {})}, grads, edge_grads, title=title)


def l2_of_matmul(W, x, values=None, grads=None, *, title=None):
    """Example 3, f = ‖W·x‖² with q = W·x. `values`/`grads` map 'W','x','q','f' (W and x
    default to the arguments); arrays are shown as [a, b] and [[a, b], [c, d]]."""
    return lecture_graph("l2_of_matmul", {"W": W, "x": x, **(values or {})}, grads, title=title)
