"""No import circles: the kit's modules (autograder/, solutions/) import each other as a tree
that can be read bottom up, and the packages too (the reference in solutions/ imports nothing
from autograder/, which builds on it). The imports are read from the source with ast, function
level ones included (a deferred import only hides a circle); imports under `if TYPE_CHECKING:`
are left out, as they never run."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("autograder", "solutions")


def module_files() -> dict[str, Path]:
    """{dotted module name: file} for every module of PACKAGES (files in folders without an
    __init__.py, such as templates/, are data, not modules)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if not all(
                (REPO / folder / "__init__.py").exists()
                for folder in path.relative_to(REPO).parents
                if folder != Path(".")
            ):
                continue  # not importable: a template that only looks like Python (templates/)
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(module: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of `modules` that `module` imports. `from a import b` imports the module
    a.b when there is one, else the name b of a (which needs a itself)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()

    def visit(node):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.update(
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
            )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return {name for name in names if name in modules and name != module}


def import_graph() -> dict[str, set[str]]:
    """{module: the kit's modules it imports}."""
    files = module_files()
    return {module: imported_modules(module, path, set(files)) for module, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each as one circle
    through its members, sorted: empty when the graph is a tree read bottom up."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(circle(graph, sorted(component)))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


def circle(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """One path from the first member back to itself, inside the component (breadth first)."""
    inside, start = set(members), members[0]
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for target in sorted(graph[path[-1]] & inside):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                paths.append([*path, target])
    raise AssertionError(f"{members} is not a strongly connected component")


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The top-level packages' imports of each other, from the modules'."""
    top = {}
    for module, targets in graph.items():
        top.setdefault(module.split(".")[0], set()).update(t.split(".")[0] for t in targets)
    return {package: targets - {package} for package, targets in top.items()}


def describe(found: list[list[str]]) -> str:
    return "; ".join(" -> ".join(c) for c in found)


def test_no_module_imports_itself_in_a_circle():
    found = cycles(import_graph())
    assert not found, f"import circles: {describe(found)}"


def test_the_packages_import_each_other_in_one_direction_only():
    graph = import_graph()
    found = cycles(package_graph(graph))
    assert not found, (
        f"import circles between packages: {describe(found)}; the fewer imports: {fewer_way(graph, found)}"
    )


def fewer_way(graph: dict[str, set[str]], found: list[list[str]]) -> str:
    """For each circle of packages, the module imports of its thinnest step (likely the wrong way)."""
    steps = {}
    for module, targets in graph.items():
        for target in targets:
            step = (module.split(".")[0], target.split(".")[0])
            if step[0] != step[1]:
                steps.setdefault(step, []).append(f"{module} imports {target}")
    thinnest = [min((steps[a, b] for a, b in zip(c, c[1:])), key=len) for c in found]  # noqa: RUF007
    return "; ".join(line for lines in thinnest for line in sorted(lines))


@pytest.mark.parametrize(
    "graph, expected",
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c", "a"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b", "a"], ["c", "d", "c"]]),
    ],
)
def test_the_cycle_finder_finds_circles_and_only_them(graph, expected):
    assert cycles(graph) == expected


def test_relative_and_from_imports_are_resolved(tmp_path):
    source = tmp_path / "run.py"
    source.write_text(
        "from . import cluster\nfrom ..grading.checks import x\nimport numpy\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .types import T\n"
        "def later():\n    from autograder.config import schema\n"
    )
    modules = {
        "autograder.batch",
        "autograder.batch.run",
        "autograder.batch.cluster",
        "autograder.batch.types",
        "autograder.grading.checks",
        "autograder.config",
        "autograder.config.schema",
    }
    assert imported_modules("autograder.batch.run", source, modules) == {
        "autograder.batch.cluster",
        "autograder.grading.checks",
        "autograder.config.schema",
    }
