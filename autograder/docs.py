"""The documentation's generated sections and its link check.

Five tables of the docs site (docs/) are generated from the single sources (the operation table,
the checks, the catalog, the course.yaml schema), so the docs cannot drift: `python -m
autograder.docs` rewrites them, a test checks them. `python -m autograder.docs --check` checks
the links of the README (mkdocs build --strict checks the site's own) and lists the external
links of both, which are not fetched: the machines the suite runs on have no network."""

import functools
import re
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from solutions.table import BY_NAME, CATALOG, GATES, gates_named_by

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CHANGELOG = ROOT / "CHANGELOG.md"

# The page that carries each generated section (between <!-- NAME:start --> and <!-- NAME:end -->).
HOMES = {
    "operations": DOCS / "instructors.md",
    "gates": DOCS / "instructors.md",
    "exercises": DOCS / "instructors.md",
    "misconceptions": DOCS / "misconceptions.md",
    "course-yaml-keys": DOCS / "configuration.md",
}


def operations_markdown():
    """The operation table (solutions/table.py), one line per row: what a description writes."""
    from solutions.table import OPERATIONS

    rows = [
        "| operation | written | gate class | inputs | kind | catalogued mistakes | graded cell |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in OPERATIONS:
        written = op.write(list(op.inputs), op.constants)
        mistakes = ", ".join(f"`{m}`" for m in op.misconceptions)
        cell = f"`{op.grade_id}`" if op.graded else "(in graphs only)"
        rows.append(
            f"| `{op.symbol}` | {written} | `{op.name}` | {', '.join(op.inputs)} | {op.kind} | {mistakes} | {cell} |"
        )
    return "\n".join(rows)


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
        "| ID | applies to | what went wrong | at the node, feedback says | hint (shown to students) | prior |",
        "|---|---|---|---|---|---|",
    ]
    for m in CATALOG:
        gates = (
            "the backward loop of a graph"
            if m.scope == "graph"
            else ", ".join(f"`{g}`" for g in gates_named_by(m.id))
        )
        # Its words at a gate of inputs x, y, then at each layer of more inputs (x, W, b) it applies to.
        layers = [
            BY_NAME[g].differentiable for g in gates_named_by(m.id) if len(BY_NAME[g].differentiable) > 2
        ]
        pairs = m.scope == "graph" or any(len(BY_NAME[g].differentiable) <= 2 for g in gates_named_by(m.id))
        said = " / ".join(
            dict.fromkeys(
                [f"“{m.said_at(way, ('x', 'y'))}”" for way in range(m.ways if pairs else 0)]
                + [f"“{m.said_at(way, names)}”" for names in layers for way in range(m.ways_at(len(names)))]
            )
        )
        hint = m.hint + (f" By hand: {m.hint_by_hand}" if m.hint_by_hand else "")
        rows.append(f"| `{m.id}` | {gates} | {m.explanation} | {said} | {hint} | {m.prior:g} |")
    return "\n".join(rows)


def sections():
    from .config import keys_markdown

    return {
        "operations": operations_markdown(),
        "gates": gates_markdown(),
        "exercises": exercises_markdown(),
        "misconceptions": misconceptions_markdown(),
        "course-yaml-keys": keys_markdown(),
    }


def between(text, name):
    match = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    return match.group(1).strip() if match else None


def documented(name: str) -> str | None:
    """The generated section `name` as its page carries it today (None: the page lost it)."""
    return between(HOMES[name].read_text(encoding="utf-8"), name)


def refreshed(text):
    for name, body in sections().items():
        text = re.sub(
            rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
            lambda m: m.group(1) + body.strip() + "\n" + m.group(2),  # noqa: B023
            text,
            flags=re.S,
        )
    return text


def refresh_pages() -> list[Path]:
    """Rewrite every generated section in its page; the pages that changed."""
    changed = []
    for page in dict.fromkeys(HOMES.values()):
        text = page.read_text(encoding="utf-8")
        if refreshed(text) != text:
            page.write_text(refreshed(text), encoding="utf-8")
            changed.append(page)
    return changed


# ---- links ------------------------------------------------------------------------------
# A Markdown link or image, [text](target) or ![alt](target); a target has no spaces here.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(text: str, code: bool = False) -> Iterator[str]:
    """The lines of a Markdown page outside its front matter and fenced code blocks: a `# comment`
    in a shell block is no heading. Inline code is removed (a `[x](y)` in code is no link), or
    with `code` kept as text without its backticks (a heading's anchor is made from its words)."""
    lines = text.splitlines()
    if lines and lines[0] == "---":  # YAML front matter (mkdocs' page settings) up to the next ---
        lines = lines[lines.index("---", 1) + 1 :] if "---" in lines[1:] else lines
    fenced = False
    for line in lines:
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield line.replace("`", "") if code else re.sub(r"`[^`]*`", "", line)


def slug(heading: str) -> str:
    """The anchor a heading gets: Python-Markdown's toc slugify (what mkdocs uses), which GitHub's
    agrees with for the headings written here (ASCII words, punctuation dropped)."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    headings = (re.match(r"#{1,6}\s+(.*?)\s*#*$", line) for line in prose_lines(text, code=True))
    return {slug(m.group(1)) for m in headings if m}


def links(page: Path) -> list[str]:
    return [m.group(1) for line in prose_lines(page.read_text(encoding="utf-8")) for m in LINK.finditer(line)]


def is_external(target: str) -> bool:
    return re.match(r"[a-z][a-z0-9+.-]*:", target) is not None


def shown(path: Path) -> str:
    """A path as a message names it: from the checkout's top when it is inside."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def broken_links(page: Path) -> list[str]:
    """Each relative link of `page` whose file does not exist, or whose #anchor is no heading of
    its page, as `page: target: why`."""
    problems = []
    for target in links(page):
        if is_external(target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{shown(page)}: {target}: there is no {shown(file)}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            problems.append(f"{shown(page)}: {target}: no heading of {shown(file)} makes #{anchor}")
    return problems


def external_links(pages: list[Path]) -> dict[str, list[Path]]:
    """Every external link of `pages`, with the pages that hold it."""
    found: dict[str, list[Path]] = {}
    for page in pages:
        for target in links(page):
            if is_external(target):
                found.setdefault(target, []).append(page)
    return found


def check_links() -> int:
    """Print the README's broken links (exit 1 when any) and every external link, unfetched."""
    problems = broken_links(README) + broken_links(CHANGELOG)
    for problem in problems:
        print(problem, file=sys.stderr)
    pages = [README, CHANGELOG, *sorted(DOCS.glob("*.md"))]
    external = external_links(pages)
    print(f"{len(external)} external links, listed and not fetched (no network here):")
    for target, where in sorted(external.items()):
        print(f"  {target}  ({', '.join(sorted({shown(p) for p in where}))})")
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check_links())
    for page in refresh_pages():
        print(f"rewrote {page.relative_to(ROOT)}")
    sys.exit(0)
