"""The privacy boundary has one home: ``twin_assets.tiers``.

The tests below check the ``Tier``/``Scope``/``Grant`` rules, and scan ``twin_assets/`` and ``twin_query/`` so
that no other module ranks tiers, orders them, spells their names or maps scopes to tiers itself. A copy of such a
rule elsewhere is how a LOW token ends up reading MEDIUM data when the copies disagree.

``python tests/test_tier_rules.py [ROOT]`` lists the places the scan finds (in ROOT, default this checkout).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from twin_assets.errors import TwinError
from twin_assets.tiers import HIGH, LOW, MEDIUM, TIERS, Grant, Scope, Tier, UnknownTierError, view_for

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("twin_assets", "twin_query")
HOME = Path("twin_assets/tiers.py")

NAMES = {"HIGH", "MEDIUM", "LOW", "high", "medium", "low"}
# The old homes of tier rules: a rank table, a scope table, a scope list, a view's tiers.
BANNED = {"TIER_RANK", "SCOPE_TIERS", "SCOPES", "view_tiers"}
# An expression that is (or holds) tiers: ordering it, taking its min/max, indexing it or reversing it relies on an
# order only the Tier type should know (str orders "HIGH" < "LOW").
TIERISH = re.compile(r"(?i:tier)|\b(HIGH|MEDIUM|LOW)\b")
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _prose(tree: ast.AST) -> set[int]:
    """Docstrings and ``__all__`` entries: they name tiers without deciding anything."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            out.update(id(n) for n in ast.walk(node.value))
    return out


def _tierish(source: str, node: ast.AST) -> bool:
    return bool(TIERISH.search(ast.get_source_segment(source, node) or ""))


def violations(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for every tier rule written outside the tier module."""
    tree = ast.parse(source)
    prose = _prose(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if isinstance(node, ast.alias):
            name = node.name
        if name in BANNED or (name == "rank" and isinstance(node, ast.Attribute)):
            yield line, f"uses {name}"
        elif isinstance(node, ast.Constant) and node.value in NAMES and id(node) not in prose:
            yield line, f"spells the tier or scope name {node.value!r}"
        elif isinstance(node, ast.Compare) and any(isinstance(op, ORDERING) for op in node.ops):
            if any(_tierish(source, n) for n in (node.left, *node.comparators)):
                yield line, "orders tiers"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [*node.args, *(k.value for k in node.keywords)]
            # A key the type gives (``key=Tier.parse``) orders by sensitivity: that is asking the type.
            asks = any(
                k.arg == "key" and (ast.get_source_segment(source, k.value) or "").startswith("Tier.")
                for k in node.keywords
            )
            if (
                node.func.id in ("max", "min", "sorted", "reversed")
                and not asks
                and any(_tierish(source, a) for a in args)
            ):
                yield line, f"{node.func.id}() over tiers"
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant | ast.Slice | ast.UnaryOp)
            and re.search(r"(?i:tiers)$", ast.get_source_segment(source, node.value) or "")
        ):
            yield line, "relies on the order of a tier tuple"
        elif isinstance(node, ast.Attribute) and node.attr == "index" and _tierish(source, node.value):
            yield line, "uses the index of a tier in a tuple"


def scan(root: Path = ROOT) -> list[tuple[str, int, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if rel != HOME:
                found += [(str(rel), line, what) for line, what in violations(path.read_text(encoding="utf-8"))]
    return found


# ---- the scan --------------------------------------------------------------------------------------


def test_no_tier_rules_outside_the_tier_module() -> None:
    found = scan()
    assert not found, "tier rules outside twin_assets/tiers.py:\n" + "\n".join(f"{p}:{n}: {w}" for p, n, w in found)


@pytest.mark.parametrize(
    "code",
    [
        "TIER_RANK = {LOW: 0, MEDIUM: 1, HIGH: 2}",
        "from twin_assets.stores import SCOPE_TIERS",
        "SCOPES = ('low', 'medium', 'high')",
        "ok = 'high' in scopes",
        "ok = doc.tier == 'LOW'",
        "ok = rank[tier] >= rank[view]",
        "top = max(tiers, key=rank.get)",
        "view = caller.tiers[0]",
        "for t in TIERS[::-1]: pass",
        "for t in reversed(TIERS): pass",
        "ok = view.rank > 1",
        "i = SCOPES.index(s)",
        "i = TIERS.index(t)",
        "lowest = caller.tiers[-1]",
        "top = sorted(doc_tiers)[-1]",
    ],
)
def test_the_scan_finds_a_tier_rule(code: str) -> None:
    assert list(violations(code))


@pytest.mark.parametrize(
    "code",
    [
        '"""Docstrings may say HIGH, MEDIUM and LOW."""',
        "ok = doc.tier == HIGH",
        "top = Tier.max_of(*tiers)",
        "view = caller.view",
        "for t in Tier.lowest_first(): pass",
        "ok = len(rows) > limit",
        "top = max(scores)",
        "n = len(high) < 0.2 * count",
        "tiers[entity].add(doc.tier)",
        "__all__ = ['HIGH', 'LOW']",
        "ordered = sorted(tiers, key=Tier.parse)",
    ],
)
def test_the_scan_leaves_other_code_alone(code: str) -> None:
    assert not list(violations(code))


# ---- the type --------------------------------------------------------------------------------------


def test_tiers_order_by_sensitivity_not_alphabet() -> None:
    assert LOW < MEDIUM < HIGH
    assert HIGH > "LOW"
    assert "MEDIUM" < HIGH  # noqa: SIM300 - a stored string on the left compares through the type too
    assert sorted(["HIGH", LOW, "MEDIUM"], key=Tier.parse) == [LOW, MEDIUM, HIGH]
    assert TIERS == Tier.highest_first() == (HIGH, MEDIUM, LOW)
    assert Tier.lowest_first() == (LOW, MEDIUM, HIGH)
    with pytest.raises(UnknownTierError):
        _ = HIGH < "SECRET"


@pytest.mark.parametrize(
    ("tiers", "top"),
    [((), LOW), (("LOW",), LOW), (("LOW", "HIGH", "MEDIUM"), HIGH), (("MEDIUM", "LOW"), MEDIUM), ((LOW, LOW), LOW)],
)
def test_max_of_is_the_highest_evidence(tiers: tuple[str, ...], top: Tier) -> None:
    assert Tier.max_of(*tiers) is top
    assert Tier.max_of(*(t.lower() for t in tiers)) is top  # the lenient spelling takes the slow path, same answer


@pytest.mark.parametrize("bad", ["SECRET", None, ["HIGH"]])
def test_max_of_refuses_what_is_no_tier(bad: object) -> None:
    with pytest.raises(UnknownTierError):
        Tier.max_of("LOW", bad)  # type: ignore[arg-type]


def test_stored_strings_read_unchanged() -> None:
    assert HIGH == "HIGH" and f"{MEDIUM}" == "MEDIUM" and LOW.lower() == "low"
    assert {"HIGH": 1}[HIGH] == 1 and Tier("LOW") is LOW and Scope("high") is Scope.HIGH


@pytest.mark.parametrize(("view", "reads"), [(HIGH, (HIGH, MEDIUM, LOW)), (MEDIUM, (MEDIUM, LOW)), (LOW, (LOW,))])
def test_a_view_reads_its_tier_and_those_below(view: Tier, reads: tuple[Tier, ...]) -> None:
    assert view.reads() == reads
    assert [t for t in TIERS if t.readable_by(view)] == list(reads)
    assert view.reads_any([HIGH]) is (view is HIGH)
    assert view.reads_any([LOW, HIGH]) and not view.reads_any([])


@pytest.mark.parametrize(
    ("scopes", "tiers", "view"),
    [
        (("low",), (LOW,), LOW),
        (("medium",), (MEDIUM, LOW), MEDIUM),
        (("high",), (HIGH, MEDIUM, LOW), HIGH),
        (("low", "high"), (HIGH, MEDIUM, LOW), HIGH),
        (("medium", " low "), (MEDIUM, LOW), MEDIUM),
        (("admin",), (), None),
        (("HIGH",), (), None),  # tokens store lower-case scopes; anything else grants nothing
        ((), (), None),
    ],
)
def test_scopes_grant_tiers_and_a_view(scopes: tuple[str, ...], tiers: tuple[Tier, ...], view: Tier | None) -> None:
    grant = Grant(scopes)
    assert grant.tiers == tiers
    assert grant.view is view
    assert [t for t in TIERS if grant.can_read(t)] == list(tiers)
    assert not grant.can_read(None) and not grant.can_read("SECRET")


@pytest.mark.parametrize(
    ("tiers", "view"), [([LOW, MEDIUM], MEDIUM), (("LOW",), LOW), ([HIGH, LOW], HIGH), ([], None), (["x"], None)]
)
def test_view_for_is_the_highest_readable_tier(tiers: list[str], view: Tier | None) -> None:
    assert view_for(tiers) is view


@pytest.mark.parametrize("name", ["high", " Medium ", "LOW"])
def test_tier_names_parse_in_any_case(name: str) -> None:
    assert Tier.parse(name).value == name.strip().upper()


@pytest.mark.parametrize("name", ["secret", "", "HIGHEST", None, 2])
def test_bad_tier_and_scope_names_fail_clearly(name: object) -> None:
    with pytest.raises(UnknownTierError, match="unknown tier") as exc:
        Tier.parse(name)
    assert isinstance(exc.value, TwinError) and isinstance(exc.value, ValueError)
    assert "HIGH, MEDIUM or LOW" in str(exc.value)
    with pytest.raises(UnknownTierError, match="unknown scope"):
        Scope.parse(name)


def test_scope_lists_parse_once_each_lowest_first() -> None:
    assert Scope.parse_list("high, low,high") == [Scope.LOW, Scope.HIGH]
    assert [s.tier for s in Scope] == [LOW, MEDIUM, HIGH]
    with pytest.raises(UnknownTierError, match=r"unknown scope\(s\): admin"):
        Scope.parse_list("low,admin")
    with pytest.raises(UnknownTierError, match="none given"):
        Scope.parse_list(" , ")


if __name__ == "__main__":
    found = scan(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
    for path, line, what in found:
        print(f"{path}:{line}: {what}")
    lines = {(p, n) for p, n, _ in found}
    print(f"{len(lines)} lines in {len({p for p, _ in lines})} modules")
