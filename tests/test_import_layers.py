"""The import layers hold: no cycle between packages (nor between modules), and ``twin_assets`` never imports
``twin_query``.

The graph is read from the source, so it needs nothing imported: every ``import`` that runs, function-level ones
included (a lazy import is still a dependency), but not those under ``if TYPE_CHECKING:``, which only name types.
Units are the first-level packages (``twin_assets.pipeline``) and the top-level modules (``twin_assets.run``).
Run as a script to print the cycles between modules and between units: ``python tests/test_import_layers.py``.
"""

from __future__ import annotations

import ast
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("twin_assets", "twin_query")


def module_files() -> dict[str, Path]:
    """Module name to file, for every module of :data:`PACKAGES`."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` except the bodies of ``if TYPE_CHECKING:`` (their ``else`` runs)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            for orelse in child.orelse:
                yield orelse
                yield from _runtime_nodes(orelse)
            continue
        yield child
        yield from _runtime_nodes(child)


def _imported(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The modules of ours that ``module`` imports at run time, relative imports resolved."""
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            # ``from pkg import name`` depends on ``pkg.name`` when that is a module, else on ``pkg``.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # ``import pkg.mod.attr`` and the like: the longest module of ours
                name = name.rpartition(".")[0]
            if name:
                yield name


def module_graph() -> nx.DiGraph[str]:
    files = module_files()
    known = set(files)
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(known)
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target in _imported(tree, module, path.name == "__init__.py", known):
            if target != module:
                graph.add_edge(module, target)
    return graph


def unit(module: str) -> str:
    """The package-level unit a module belongs to: ``twin_assets.pipeline.model`` -> ``twin_assets.pipeline``."""
    return ".".join(module.split(".")[:2])


def package_graph(modules: nx.DiGraph[str]) -> nx.DiGraph[str]:
    graph: nx.DiGraph[str] = nx.DiGraph()
    for source, target in modules.edges:
        # A package's __init__ and a top package importing its own parts is not a dependency between units.
        if unit(source) != unit(target) and target not in PACKAGES:
            graph.add_edge(unit(source), unit(target))
    return graph


def cycles(graph: nx.DiGraph[str]) -> list[list[str]]:
    """Each strongly connected group of more than one node, with one cycle through it, sorted."""
    found = []
    for group in nx.strongly_connected_components(graph):
        if len(group) > 1:
            found.append(sorted(group))
    return sorted(found)


def cycle_path(graph: nx.DiGraph[str], group: list[str]) -> list[str]:
    cycle = nx.find_cycle(graph.subgraph(group))
    return [edge[0] for edge in cycle] + [cycle[0][0]]


def witnesses(modules: nx.DiGraph[str], source_unit: str, target_unit: str) -> list[str]:
    return sorted(f"{s} -> {t}" for s, t in modules.edges if unit(s) == source_unit and unit(t) == target_unit)


@pytest.fixture(scope="module")
def modules() -> nx.DiGraph[str]:
    return module_graph()


def test_the_graph_sees_the_packages_and_their_imports(modules: nx.DiGraph[str]) -> None:
    # A guard for the checker itself: an empty or disconnected graph would pass every other test.
    assert "twin_assets.pipeline.model" in modules
    assert modules.has_edge("twin_query.api.app", "twin_assets.settings")
    assert package_graph(modules).has_edge("twin_query.api", "twin_assets.settings")


def test_no_cycle_between_packages(modules: nx.DiGraph[str]) -> None:
    packages = package_graph(modules)
    explained = []
    for group in cycles(packages):
        path = cycle_path(packages, group)
        explained.append(" -> ".join(path))
        explained += [f"    {w}" for a, b in itertools.pairwise(path) for w in witnesses(modules, a, b)]
    assert not explained, "import cycles between packages:\n" + "\n".join(explained)


def test_no_cycle_between_modules(modules: nx.DiGraph[str]) -> None:
    # Inside a package too: a lazy import that closes a loop hides an ordering nobody chose.
    assert [" -> ".join(cycle_path(modules, group)) for group in cycles(modules)] == []


def test_twin_assets_never_imports_twin_query(modules: nx.DiGraph[str]) -> None:
    top = {(s, t): (s.split(".")[0], t.split(".")[0]) for s, t in modules.edges}
    assert sorted(f"{s} -> {t}" for (s, t), tops in top.items() if tops == ("twin_assets", "twin_query")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from . import model", "pkg.sub.model"),
        ("from .model import build", "pkg.sub.model"),
        ("from .. import other", "pkg.other"),
        ("from ..other import thing", "pkg.other"),
        ("import pkg.sub.model as m", "pkg.sub.model"),
        ("from pkg.sub import model", "pkg.sub.model"),
        ("from pkg.sub import not_a_module", "pkg.sub"),
        ("if TYPE_CHECKING:\n    from pkg import other\nelse:\n    from pkg.sub import model", "pkg.sub.model"),
        ("def f():\n    if typing.TYPE_CHECKING:\n        import pkg.other\n    import pkg.sub.model", "pkg.sub.model"),
    ],
)
def test_imports_are_resolved_to_our_modules(source: str, expected: str) -> None:
    known = {"pkg", "pkg.other", "pkg.sub", "pkg.sub.model", "pkg.sub.here"}
    assert list(_imported(ast.parse(source), "pkg.sub.here", False, known)) == [expected]


def test_a_cycle_between_packages_is_found() -> None:
    modules: nx.DiGraph[str] = nx.DiGraph([("a.x.one", "a.y.two"), ("a.y.three", "a.x.four")])
    assert cycles(package_graph(modules)) == [["a.x", "a.y"]]


if __name__ == "__main__":
    graph = module_graph()
    packages = package_graph(graph)
    for level, g in (("module", graph), ("package", packages)):
        found = cycles(g)
        print(f"{level} cycles: {len(found)}")
        for group in found:
            print("  " + " -> ".join(cycle_path(g, group)))
    sys.exit(1 if cycles(packages) else 0)
