"""bpkit.pictures: SVG pictures of the lecture's computational graphs."""

import ast
import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from autograder.bpkit import pictures
from autograder.bpkit.pictures import Edge, Node, draw, format_value
from solutions import lecture

SVG = "{http://www.w3.org/2000/svg}"
MODULE = Path(pictures.__file__)
GREEN, RED = pictures.COLORS["value"], pictures.COLORS["grad"]

W, X = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
W3, X3 = np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4])


def example1():
    return pictures.simple(-2, 5, -4, q=3, f=-12, grads={"x": -4, "y": -4, "z": 3, "q": -4, "f": 1})


def reference(builder, *args):
    r = lecture.gradients(builder, *args)
    return r.values, r.grads


def lecture_pictures():
    """Every lecture graph, fully labelled and with question marks."""
    v2, g2 = reference(lecture.neuron_staged, W, X)
    v2s, g2s = reference(lecture.neuron_shortcut, W, X)
    vb, gb = reference(lecture.branch, 3.0, -1.0)
    v3, g3 = reference(lecture.l2_of_matmul, W3, X3)
    return {
        "example1": example1(),
        "example1-unknowns": pictures.simple(-2, 5, -4, q="?", f="?", grads={"f": 1, "q": "?", "x": "?"}),
        "example1-bare": pictures.simple(-2, 5, -4),
        "neuron-staged": pictures.neuron(W, X, values=v2, grads=g2),
        "neuron-staged-unknowns": pictures.neuron(
            W, X, values={k: "?" for k in v2}, grads={k: "?" for k in g2}
        ),
        "neuron-sigmoid": pictures.neuron(W, X, values=v2s, grads=g2s, staged=False),
        "branch": pictures.branch(3.0, -1.0, values=vb, grads=gb),
        "branch-per-branch": pictures.branch(
            3.0, -1.0, values=vb, grads={**gb, "x": "?", "x->q": 3.0, "x->f": 2.0}
        ),
        "l2": pictures.l2_of_matmul(W3, X3, values=v3, grads=g3),
        "l2-unknowns": pictures.l2_of_matmul(W3, X3, values={"q": "?", "f": "?"}, grads={"W": "?", "x": "?"}),
    }


@pytest.fixture(scope="module")
def pics():
    return lecture_pictures()


def texts(pic, fill=None):
    root = ET.fromstring(pic.svg)
    return [t.text for t in root.iter(SVG + "text") if fill is None or t.get("fill") == fill]


# ---- formatting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (None, None),
        ("?", "?"),
        (-4, "-4"),
        (-4.0, "-4"),
        (3.0, "3"),
        (0, "0"),
        (-0.0, "0"),
        (0.7310585, "0.731"),
        (1.3678794, "1.37"),
        (-0.5344466, "-0.534"),
        (0.36787944, "0.368"),
        (-0.19661193, "-0.197"),
        (0.116, "0.116"),
        (12.3456, "12.3"),
        (1234.56, "1235"),
        (1e-9, "1e-9"),
        (-2.5e-7, "-2.5e-7"),
        (3.2e7, "3.2e7"),
        (10**7, "1e7"),
        (9.9996, "10"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (np.float64(0.5), "0.5"),
        (np.int64(-7), "-7"),
        (np.array(2.5), "2.5"),
        (np.float32(0.1), "0.1"),
        ([0.22, 0.26], "[0.22, 0.26]"),
        (np.array([0.44, 0.52]), "[0.44, 0.52]"),
        (np.array([[0.088, 0.176], [0.104, 0.208]]), "[[0.088, 0.176], [0.104, 0.208]]"),
        (list(range(10)), "[0, 1, 2, …]"),
        (np.zeros((2, 3, 4)), "[2×3×4 array]"),
        (["?", 1.5], "[?, 1.5]"),
        ("x" * 100, "x" * 39 + "…"),
        ("two\nlines", "two lines"),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


# ---- the SVG document ---------------------------------------------------------------------


def test_svg_is_self_contained_xml_with_title_viewbox_and_size(pics):
    for key, pic in pics.items():
        root = ET.fromstring(pic.svg)
        assert root.tag == SVG + "svg", key
        assert root.get("viewBox") == f"0 0 {pic.width} {pic.height}"
        assert 600 <= int(root.get("width")) <= 800, (key, root.get("width"))
        assert int(root.get("height")) == pic.display_height < 500
        title = root.find(SVG + "title")
        assert title is not None and title.text, key
        assert "sans-serif" in root.get("font-family")
        assert "href" not in pic.svg and "<script" not in pic.svg and "<image" not in pic.svg
        assert pic._repr_svg_() == pic.svg == str(pic)


def test_save_writes_the_svg(tmp_path):
    pic = example1()
    path = pic.save(tmp_path / "ex1.svg")
    assert Path(path).read_text(encoding="utf-8") == pic.svg


def test_example1_shows_labels_values_in_green_and_gradients_in_red():
    pic = example1()
    assert {"x", "y", "z", "+", "*", "f", "q"} <= set(texts(pic))
    assert sorted(texts(pic, GREEN)) == sorted(["-2", "5", "-4", "3", "-12"])
    assert sorted(texts(pic, RED)) == sorted(["-4", "-4", "3", "-4", "1"])
    # values above their wire, gradients below: the output wire's pair
    (wire,) = [w for w in pic.wires if w.dst is None]
    wy = wire.points[0][1]
    (val,) = [b for b in pic.boxes if b.kind == "value" and b.owner == "f"]
    (grad,) = [b for b in pic.boxes if b.kind == "grad" and b.owner == "f"]
    assert (val.text, grad.text) == ("-12", "1")
    assert val.y1 <= wy <= grad.y0
    assert wire.points[-1][0] > max(b.x1 for b in pic.boxes if b.kind == "gate")


def test_neuron_staged_shows_the_lecture_numbers():
    values, grads = reference(lecture.neuron_staged, W, X)
    pic = pictures.neuron(W, X, values=values, grads=grads)
    shown = texts(pic)
    for label in ("*", "+", "*-1", "exp", "+1", "1/x", "w0", "x0", "w1", "x1", "w2", "f"):
        assert label in shown
    green, red = texts(pic, GREEN), texts(pic, RED)
    for v in ("2", "-1", "-3", "-2", "6", "4", "1", "0.368", "1.37", "0.731"):
        assert v in green
    for g in ("-0.197", "0.393", "-0.393", "-0.59", "0.197", "-0.534", "1"):
        assert g in red
    assert len(green) == len(red) == 13  # every node's wire, both labels
    assert "σ" not in shown


def test_neuron_shortcut_has_one_sigmoid_gate():
    pic = pictures.neuron(W, X, values={"f": 0.7310585}, grads={"f": 1, "s": "?"}, staged=False)
    gates = sorted(b.text for b in pic.boxes if b.kind == "gate")
    assert gates == sorted(["*", "*", "+", "+", "σ"])
    assert "0.731" in texts(pic, GREEN) and "?" in texts(pic, RED)


def test_question_marks_and_missing_values():
    pic = pictures.simple(-2, 5, -4, q="?", f=None, grads={"q": "?"})
    assert texts(pic, GREEN).count("?") == 1 and texts(pic, RED) == ["?"]
    root = ET.fromstring(pic.svg)
    assert all(t.get("font-weight") == "bold" for t in root.iter(SVG + "text") if t.text == "?")
    assert sorted(texts(pic, GREEN)) == sorted(["-2", "5", "-4", "?"])  # f not shown


def test_l2_shows_vectors_and_matrices():
    values, grads = reference(lecture.l2_of_matmul, W3, X3)
    pic = pictures.l2_of_matmul(W3, X3, values=values, grads=grads)
    assert {"W·x", "‖·‖²"} <= set(texts(pic))
    green, red = texts(pic, GREEN), texts(pic, RED)
    assert {"[[0.1, 0.5], [-0.3, 0.8]]", "[0.2, 0.4]", "[0.22, 0.26]", "0.116"} <= set(green)
    assert {"[[0.088, 0.176], [0.104, 0.208]]", "[-0.112, 0.636]", "[0.44, 0.52]", "1"} <= set(red)


def test_hostile_text_is_escaped():
    evil = "<script>alert('x')</script> & \"q\" \x00\x1b"
    pic = draw(
        [Node("a", evil, value=evil), Node("b", "</text><svg onload=x>", grad="]]>")],
        [("a", "b", "<b>1</b>")],
        title="<title>&amp;",
    )
    root = ET.fromstring(pic.svg)  # well-formed
    assert "<script" not in pic.svg and "<svg onload" not in pic.svg and "<b>" not in pic.svg
    assert len(list(root.iter(SVG + "script"))) == 0
    shown = texts(pic)
    assert "<b>1</b>" in shown and "</text><svg onload=x>" in shown and "]]>" in shown
    assert root.find(SVG + "title").text == "<title>&amp;"
    assert any(t.startswith("<script>alert('x')</script>") for t in shown)


# ---- geometry -----------------------------------------------------------------------------


def _inside(point, box, shrink=1.0):
    x, y = point
    return box.x0 + shrink < x < box.x1 - shrink and box.y0 + shrink < y < box.y1 - shrink


def test_no_overlaps_in_the_lecture_graphs(pics):
    for key, pic in pics.items():
        boxes = pic.boxes
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not a.overlaps(b), (key, a, b)
        labels = [b for b in boxes if b.kind in ("value", "grad", "name", "output", "title")]
        nodes = {b.owner: b for b in boxes if b.kind in ("input", "gate")}
        for wire in pic.wires:
            for p in wire.points:
                for box in labels:
                    assert not _inside(p, box), (key, wire.src, wire.dst, box)
                for name, box in nodes.items():
                    if name not in (wire.src, wire.dst):
                        assert not _inside(p, box, shrink=-2), (key, wire.src, wire.dst, name)
        # everything inside the picture
        for b in boxes:
            assert b.x0 >= 0 and b.x1 <= pic.width and b.y0 >= 0 and b.y1 <= pic.height, (key, b)


def test_columns_inputs_left_and_outputs_right(pics):
    for key, pic in pics.items():
        inputs = [b for b in pic.boxes if b.kind == "input"]
        gates = [b for b in pic.boxes if b.kind == "gate"]
        assert max(b.x1 for b in inputs) < min(b.x0 for b in gates), key
        # longest path from the inputs decides the column, columns go left to right
        for wire in pic.wires:
            if wire.dst is not None:
                assert pic.columns[wire.src] < pic.columns[wire.dst]
                assert pic.centers[wire.src][0] < pic.centers[wire.dst][0]
                assert wire.points[0][0] < wire.points[-1][0]
        by_col = {}
        for b in inputs + gates:
            by_col.setdefault(pic.columns[b.owner], []).append(b)
        for col in by_col.values():
            for i, a in enumerate(col):
                assert all(not a.overlaps(b, margin=4) for b in col[i + 1 :]), key
        outs = [w for w in pic.wires if w.dst is None]
        assert [w.src for w in outs] == ["f"], key


def test_neuron_columns_follow_the_longest_path(pics):
    cols = pics["neuron-staged"].columns
    assert [cols[k] for k in ("w0", "x0", "w1", "x1", "w2")] == [0] * 5
    assert [cols[k] for k in ("w0x0", "p", "s", "neg", "exp", "denom", "f")] == [1, 2, 3, 4, 5, 6, 7]


def test_branch_fans_out_visibly(pics):
    pic = pics["branch-per-branch"]
    out_of_x = [w for w in pic.wires if w.src == "x"]
    assert sorted(w.dst for w in out_of_x) == ["f", "q"]
    a, b = out_of_x
    assert a.points[0] == b.points[0]  # one stem...
    split = [pa for pa, pb in zip(a.points, b.points) if pa == pb]
    assert len(split) < len(a.points)  # ... that parts: the branches are drawn apart
    lane_gap = [abs(pa[1] - pb[1]) for pa, pb in zip(a.points, b.points)][len(split) : len(split) + 14]
    assert max(lane_gap) >= 20 and lane_gap == sorted(lane_gap)  # parting right after the dot
    assert "<circle" in pic.svg  # the branch point
    # stem: the value and the total gradient; branches: what comes back along each
    x_labels = {(b.kind, b.owner): b.text for b in pic.boxes if b.owner.startswith("x")}
    assert x_labels[("value", "x")] == "3" and x_labels[("grad", "x")] == "?"
    assert x_labels[("grad", "x->q")] == "3" and x_labels[("grad", "x->f")] == "2"
    assert ("value", "x->q") not in x_labels


def test_generic_draw_with_max_gate_and_edge_labels():
    pic = draw(
        ["a", "b", ("m", "max"), Node("out", "*2", value=8, grad=1)],
        [Edge("a", "m", 4, 1), Edge("b", "m", 3, 0), ("m", "out", 4, 2)],
        title="router",
    )
    assert {"max", "*2", "a", "b", "out"} <= set(texts(pic))
    assert sorted(texts(pic, GREEN)) == ["3", "4", "4", "8"]
    assert sorted(texts(pic, RED)) == ["0", "1", "1", "2"]
    assert pic.columns == {"a": 0, "b": 0, "m": 1, "out": 2}


@pytest.mark.parametrize(
    "nodes, edges",
    [
        (["a", "a"], []),
        (["a", "b"], [("a", "c")]),
        (["a", "b"], [("a", "b"), ("b", "a")]),
        (["a", "b"], [("a", "b"), ("a", None, 1, 1)]),
        ([], []),
    ],
)
def test_bad_graphs_are_refused(nodes, edges):
    with pytest.raises(ValueError):
        draw(nodes, edges)


# ---- what the module may import -------------------------------------------------------------


def test_imports_only_numpy_and_the_standard_library():
    tree = ast.parse(MODULE.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports stay inside the shipped bpkit/
                continue
            roots = [node.module.split(".")[0]]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            raise AssertionError("dynamic import")
        else:
            continue
        for root in roots:
            assert root == "numpy" or root in sys.stdlib_module_names, root
            assert root not in ("solutions", "autograder", "subprocess", "urllib", "http", "socket")


def test_module_works_as_a_standalone_copy(tmp_path):
    """The release ships the file as bpkit/pictures.py beside bpkit/graphs.py, the operation table it
    reads (bpkit/table.py, with gate_kinds.py and misconceptions.py), the family generator graphs.py builds
    its families with (bpkit/variants.py) and bpkit/i18n.py, away from autograder/."""
    package = tmp_path / "bpkit_copy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in (
        "pictures.py",
        "graphs.py",
        "variants.py",
        "table.py",
        "gate_kinds.py",
        "misconceptions.py",
        "i18n.py",
    ):
        (package / name).write_text((MODULE.parent / name).read_text(encoding="utf-8"), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        mod = importlib.import_module("bpkit_copy.pictures")
        assert mod.simple(1, 2, 3).svg.startswith("<svg")
        assert mod.GRAPHS is sys.modules["bpkit_copy.graphs"].GRAPHS  # the shipped description
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("bpkit_copy")]:
            del sys.modules[name]


def test_long_titles_fit_and_are_cut():
    pic = draw(["a", ("b", "exp")], [("a", "b")], title="t" * 200)
    (title,) = [b for b in pic.boxes if b.kind == "title"]
    assert title.x1 <= pic.width and title.text.endswith("…") and len(title.text) == 80
    wide = pictures.neuron(W, X)
    (title,) = [b for b in wide.boxes if b.kind == "title"]
    assert title.text.startswith("f(w, x) = 1 / (1 + exp(") and title.x1 <= wide.width
