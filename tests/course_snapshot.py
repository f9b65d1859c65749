"""What a built course gives its students, as data that can be compared across versions of the kit.

Run as a script with a checkout of the kit (this one, or an older commit's, unpacked anywhere):

    python tests/course_snapshot.py CHECKOUT OUT.json

It imports `autograder` from CHECKOUT, renders the kit's own course the way `backprop-kit init`
does (the source notebooks with course.yaml's points and bpkit/ beside them, which is what
nbgrader's generate_assignment turns into the release and what its SaveCells puts in the
gradebook), and writes, for each configuration in CONFIGS:

- every cell in order: its type, and for a cell nbgrader knows its grade id, flags and points;
- for each student, what running the notebook's code cells (all but the graded test cells,
  which only the grader runs) gives: their values (P), the numbers each setup cell prints, the
  picture each display cell draws, the reference answers of each hand exercise's cell (the
  names its stub sets to ...) and what each function built from gates returns on their values.

tests/test_kit_exercises_generated.py compares this one's snapshot with one made by the code
from before the kit's exercises were generated from their descriptions.
"""

import contextlib
import hashlib
import io
import json
import re
import sys
import tempfile
from pathlib import Path

# (name, course.yaml lines replaced or added, student ids): the kit's course as shipped (the
# lecture's graphs, numbers per student), the same numbers for everyone, and graphs per student.
CONFIGS = (
    ("lecture, per student", {"randomization": "per-student"}, ("s001", "kim.minji")),
    ("lecture, per course", {"randomization": "per-course"}, ("",)),
    ("graphs per student", {"randomization": "per-student", "graphs": "per-student"}, ("s001", "kim.minji")),
)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
UNANSWERED = re.compile(r"^(\w+) = \.\.\.$", re.M)


def course_yaml(checkout, settings):
    text = (checkout / "course.yaml").read_text()
    # The first assignment's notebook, the one the reference was made of (a checkout from before
    # the `network` assignment has no entry to remove): tests/kit_course.py's NETWORK_ENTRY.
    text = re.sub(r"(?ms)^  # The lecture's second half.*?^    notebooks: \[network\]\n", "", text)
    for key, value in settings.items():
        line = f"{key}: {value}"
        text, found = re.subn(rf"(?m)^{key}:.*$", line, text)
        if not found:
            text += f"\n{line}\n"
    return text


def plain(value):
    """A drawn value or an answer as JSON: numbers as floats, arrays and tuples as lists."""
    import numpy as np

    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return float(value)
    if isinstance(value, (tuple, list, np.ndarray)):
        return [plain(v) for v in value]
    return float(value)


def cell_facts(cell):
    meta = cell.metadata.get("nbgrader", {})
    facts = {"type": cell.cell_type}
    if meta:
        facts.update({k: meta.get(k) for k in ("grade_id", "grade", "solution", "locked", "points")})
    return facts


def run_as(notebook, folder, student):
    """Run a source notebook's code cells (not its graded test cells) as `student`, in its folder."""
    for name in [m for m in sys.modules if m == "bpkit" or m.startswith("bpkit.")]:
        del sys.modules[name]  # each configuration's bpkit/ reads its own course.json
    sys.path.insert(0, str(folder))
    namespace, seen = {}, {"setup": {}, "pictures": {}, "answers": {}, "functions": {}}
    try:
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or meta.get("grade"):
                continue
            source = f'STUDENT_ID = "{student}"' if cell.source.startswith("STUDENT_ID") else cell.source
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                shown = _run(source, namespace)
            kind, grade_id = cell.metadata.get("bpkit", {}).get("kind"), meta.get("grade_id")
            if kind == "setup" and grade_id != "setup":
                seen["setup"][grade_id] = NUMBER.findall(printed.getvalue())
            if kind == "display" and shown is not None:
                seen["pictures"][grade_id] = hashlib.sha256(shown._repr_svg_().encode()).hexdigest()
            if meta.get("solution") and UNANSWERED.search(cell.source):
                seen["answers"][grade_id] = {n: plain(namespace[n]) for n in UNANSWERED.findall(cell.source)}
        problems = namespace["P"]
        seen["values"] = plain(problems.values)
        functions = json.loads((folder / "bpkit" / "exercise_table.json").read_text())
        for name, function in functions.items():
            if name in namespace:
                f, grads = namespace[name](*problems.values[function["problem"]].values())
                seen["functions"][name] = plain((f, grads))
    finally:
        sys.path.remove(str(folder))
    return seen


def _run(source, namespace):
    """Execute a cell; the value of its last line when that is an expression (what Jupyter shows)."""
    import ast

    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is not None:
        return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
    return None


def snapshot(checkout):
    checkout = Path(checkout).resolve()
    sys.path.insert(0, str(checkout))
    import autograder
    from autograder.config import load_course
    from autograder.course import build_sources, write_sources

    assert Path(autograder.__file__).resolve().is_relative_to(checkout), autograder.__file__
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, settings, students in CONFIGS:
            root = Path(tmp) / re.sub(r"\W+", "-", name)
            root.mkdir()
            (root / "course.yaml").write_text(course_yaml(checkout, settings))
            course = load_course(root / "course.yaml")
            built = build_sources(course)
            write_sources(root / "course", course, built)
            notebooks = {}
            for assignment, rendered in built:
                for notebook_name, notebook in rendered.items():
                    folder = root / "course" / "source" / assignment.name
                    notebooks[f"{assignment.name}/{notebook_name}"] = {
                        "cells": [cell_facts(c) for c in notebook.cells],
                        "students": {s: run_as(notebook, folder, s) for s in students},
                    }
            out[name] = notebooks
    return out


if __name__ == "__main__":
    checkout, target = sys.argv[1:3]
    Path(target).write_text(json.dumps(snapshot(checkout), indent=1, sort_keys=True) + "\n")
