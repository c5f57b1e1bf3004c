"""The stores own their SQL: no code outside ``twin_assets/stores`` and ``twin_assets/db`` runs SQL statements,
opens a store's connection or calls a store's private methods; it asks the store by a named method instead."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OWNERS = (ROOT / "twin_assets" / "stores", ROOT / "twin_assets" / "db")
STORE_TABLES = ("docs", "fts", "fts_vocab", "artifacts", "artifact_docs", "store_meta", "blind_index", "sqlite_master")
# A statement, not prose: an upper-case SQL verb at the start of the string.
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP|PRAGMA|VACUUM|WITH)\b")
TABLE = re.compile(rf"\b({'|'.join(STORE_TABLES)})\b")
OWN_FILE = ("PRAGMA", "VACUUM")  # statements on a whole store file


def _outside_files() -> list[Path]:
    files = [p for pkg in ("twin_assets", "twin_query") for p in sorted((ROOT / pkg).rglob("*.py"))]
    return [p for p in files if not any(owner in p.parents for owner in OWNERS)]


def _store_private_names() -> set[str]:
    """Private methods and attributes of the store classes."""
    names: set[str] = set()
    for path in sorted(OWNERS[0].glob("*.py")):
        for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
            for node in ast.walk(cls):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _private(node.name):
                    names.add(node.name)
                elif (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and _private(node.attr)
                ):
                    names.add(node.attr)
    return names


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }


def _leading_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, placeholders as "?"
        return "".join(v.value if isinstance(v, ast.Constant) else "?" for v in node.values)
    return None


def violations(source: str, where: str, private_names: set[str]) -> list[str]:
    """``where:line: what`` for every SQL statement on a store table, store connection or store private member."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found: list[str] = []
    for node in ast.walk(tree):
        text = _leading_text(node) if id(node) not in skip else None
        if text is not None and SQL.match(text) and (TABLE.search(text) or SQL.match(text).group(1) in OWN_FILE):
            found.append(f"{where}:{node.lineno}: SQL {text.strip()[:60]!r}")
        if isinstance(node, ast.Attribute) and not (
            isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        ):
            if node.attr == "conn":
                found.append(f"{where}:{node.lineno}: a store's connection (.conn)")
            elif node.attr in private_names:
                found.append(f"{where}:{node.lineno}: a store's private member .{node.attr}")
    return found


def test_no_store_sql_or_private_calls_outside_the_stores() -> None:
    private_names = _store_private_names()
    found = [
        v
        for path in _outside_files()
        for v in violations(path.read_text(), path.relative_to(ROOT).as_posix(), private_names)
    ]
    assert not found, "ask the store by a named method instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'rows = store.conn.execute("SELECT id FROM docs")\n',
        'twin.store(tier).secure("PRAGMA secure_delete = ON")\n',
        'x = f"DELETE FROM blind_index WHERE doc_id IN ({marks})"\n',
        "body = store._open_blob(payload)\n",
        "derived._bump_generation()\n",
    ],
)
def test_the_scan_finds_each_kind_of_violation(source: str) -> None:
    assert violations(source, "probe", _store_private_names())


def test_prose_and_own_members_are_not_flagged() -> None:
    source = (
        '"""Uses ``PRAGMA rekey`` and SELECT id FROM docs, in a docstring."""\n'
        "self._seal(b'')\n"
        'message = "select a tier from the docs list"\n'
        'query = select(RecordRow.id).where(RecordRow.status == "staged")\n'
    )
    assert violations(source, "probe", _store_private_names()) == []
