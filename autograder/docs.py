"""README sections generated from the single sources (the gate table, the checks, the
catalog, the course.yaml schema), so the docs cannot drift: `python -m autograder.docs`
rewrites them, a test checks them."""

import functools
import re
import sys
from pathlib import Path

from solutions.misconceptions import CATALOG
from solutions.table import GATES, gates_named_by

README = Path(__file__).resolve().parent.parent / "README.md"


def gates_markdown():
    from .grading.registry import gate_checks

    rows = ["| gate | class cell | graded cells |", "|---|---|---|"]
    for g in GATES:
        cells = ", ".join(f"`test_{g.grade_id}_{check}`" for check, _ in gate_checks(g))
        rows.append(f"| `{g.name}` | `{g.grade_id}` | {cells} |")
    return "\n".join(rows)


@functools.lru_cache(maxsize=1)
def kit_exercises():
    """The ids the kit's own assignment grades: solutions/graphs.py may describe more exercises
    (max_sigmoid_by_hand) than the kit's notebook uses."""
    from .course import KIT_ASSIGNMENTS
    from .notebooks import graded_exercises, render

    return set(graded_exercises(render(KIT_ASSIGNMENTS / "backprop.py")))


def kit_tables():
    """(the hand exercises, the functions) of the kit's assignment, in the tables' order."""
    from .exercises import FUNCTIONS, HAND_ANSWERS

    used = kit_exercises()
    return [e for e in HAND_ANSWERS if e in used], [e for e in FUNCTIONS if e.id in used]


def graded_cell_counts():
    """{what: how many graded cells} of the kit's assignment, from the tables."""
    from .grading.registry import gate_checks

    answers, functions = kit_tables()
    return {
        "gates": sum(len(gate_checks(g)) for g in GATES),
        "answers": len(answers),
        "functions": len(functions),
    }


def exercises_markdown():
    counts = graded_cell_counts()
    hand, functions = kit_tables()
    answers = ", ".join(f"`{e}`" for e in hand)
    functions = ", ".join(f"`{e.id}`" for e in functions)
    return (
        f"The other exercises follow the same pattern: answer cells {answers}, functions {functions}, each "
        f"graded by `test_<id>`. In all, {len(GATES)} gates ({counts['gates']} graded cells), "
        f"{counts['answers']} answer cells and {counts['functions']} functions: {sum(counts.values())} graded "
        "cells."
    )


def misconceptions_markdown():
    rows = [
        "| ID | applies to | what went wrong | at the node, feedback says | hint (shown to students) |",
        "|---|---|---|---|---|",
    ]
    for m in CATALOG:
        gates = (
            "the backward loop of a graph"
            if m.scope == "graph"
            else ", ".join(f"`{g}`" for g in gates_named_by(m.id))
        )
        said = " / ".join(dict.fromkeys(f"“{m.said_at(way, ('x', 'y'))}”" for way in range(m.ways)))
        hint = m.hint + (f" By hand: {m.hint_by_hand}" if m.hint_by_hand else "")
        rows.append(f"| `{m.id}` | {gates} | {m.explanation} | {said} | {hint} |")
    return "\n".join(rows)


def sections():
    from .config import keys_markdown

    return {
        "gates": gates_markdown(),
        "exercises": exercises_markdown(),
        "misconceptions": misconceptions_markdown(),
        "course-yaml-keys": keys_markdown(),
    }


def between(text, name):
    match = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    return match.group(1).strip() if match else None


def refreshed(text):
    for name, body in sections().items():
        text = re.sub(
            rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
            lambda m: m.group(1) + body.strip() + "\n" + m.group(2),  # noqa: B023
            text,
            flags=re.S,
        )
    return text


if __name__ == "__main__":
    README.write_text(refreshed(README.read_text()))
    sys.exit(0)
