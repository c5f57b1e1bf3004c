"""Source knowledge lives in the connectors: no code outside them branches on a source's name.

Processing, classification, insights and the query side ask ``traits_for(record.source)``
instead, so a plugin connector's records are treated by what it declares, not by whether
someone remembered to add its name to a table.

Run ``python -m tests.test_source_branches`` to list what the scan finds.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator

from tests.conftest import REPO

PACKAGES = ("twin_assets", "twin_query")
#: Where source names belong: the connectors themselves, and the demo generator, which writes
#: sample exports and the ground truth that names their sources (it reads no records).
OWNERS = ("twin_assets/connectors/", "twin_assets/demo/")


def source_names() -> frozenset[str]:
    from twin_assets.connectors.registry import connectors
    from twin_assets.connectors.rest_api import RestApiConnector
    from twin_assets.connectors.webhook import WEBHOOK_SOURCE

    return frozenset(connectors()) | {WEBHOOK_SOURCE, RestApiConnector.kind}


def _is_source_expr(node: ast.AST) -> bool:
    """``x.source``, ``source``, ``src`` or ``x.get("source")``: the left side of a branch on a source."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr == "source":
            return True
        if isinstance(sub, ast.Name) and sub.id in ("source", "src"):
            return True
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr == "get"
            and any(isinstance(a, ast.Constant) and a.value == "source" for a in sub.args)
        ):
            return True
    return False


def _constants(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("frozenset", "set"):
        return [s for a in node.args for s in _constants(a)]
    return []


def branches(names: frozenset[str]) -> Iterator[tuple[str, int, str]]:
    """``(path, line, what)`` for every comparison with, table of, or key prefixed by a source name."""
    # "email:" is the e-mail address key namespace, not the email source; chat handles are "slack:U1".
    prefix = re.compile(r"^(?:handle:)?(" + "|".join(sorted(names - {"email"})) + r"):")
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith(OWNERS):
                continue
            counted: set[int] = set()  # literals inside a branch already reported
            for node in ast.walk(ast.parse(path.read_text(), rel)):
                if id(node) in counted:
                    continue
                if isinstance(node, ast.Compare):
                    sides = [node.left, *node.comparators]
                    hits = [s for side in sides for s in _constants(side) if s in names]
                    if hits and any(_is_source_expr(side) for side in sides):
                        counted.update(id(sub) for side in sides for sub in ast.walk(side))
                        yield rel, node.lineno, f"compares a source with {hits}"
                elif isinstance(node, ast.Dict | ast.Set | ast.Tuple | ast.List) or (
                    isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "frozenset"
                ):
                    keys = [k for k in node.keys if k is not None] if isinstance(node, ast.Dict) else [node]
                    hits = [s for k in keys for s in _constants(k) if s in names]
                    if len(hits) >= 2:
                        counted.update(id(sub) for sub in ast.walk(node))
                        yield rel, node.lineno, f"table of sources {hits}"
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and prefix.match(node.value):
                    yield rel, node.lineno, f"source-named key {node.value!r}"


def test_no_source_name_branches_outside_connectors():
    found = list(branches(source_names()))
    assert found == [], "\n".join(f"{p}:{n}: {w}" for p, n, w in found)


def test_the_scan_sees_each_kind_of_branch(tmp_path, monkeypatch):
    """The scan is only worth its silence if it finds what it looks for."""
    pkg = tmp_path / "twin_assets"
    pkg.mkdir()
    (pkg / "sample.py").write_text(
        "DEFAULTS = {'email': 1, 'slack': 2}\n"
        "def f(doc, e):\n"
        "    if doc.source == 'whatsapp':\n"
        "        return 'whatsapp:' + doc.id\n"
        "    return e.get('source') in ('notes',) or 'handle:telegram:1'\n"
        "PARTY = {'role': 'from', 'email': None}\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("twin_assets",))
    found = sorted((n, w.split()[0]) for _, n, w in branches(source_names()))
    assert found == [(1, "table"), (3, "compares"), (4, "source-named"), (5, "compares"), (5, "source-named")]


if __name__ == "__main__":
    rows = list(branches(source_names()))
    for p, n, w in rows:
        print(f"{p}:{n}: {w}")
    print(f"{len(rows)} source-name branches in {len({p for p, _, _ in rows})} modules outside the connectors")
