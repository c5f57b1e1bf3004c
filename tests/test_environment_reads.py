"""Only the settings module reads or writes the process environment: every TWIN_* variable is a typed, validated
field there, and the few variables of other programs go through its named helpers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "twin_assets" / "settings.py"


def environment_uses(source: str) -> list[int]:
    """Lines that touch ``os.environ``/``os.getenv``/``os.putenv`` (or import them by name)."""
    names = {"environ", "environb", "getenv", "putenv", "unsetenv"}
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Attribute) and node.attr in names) or (
            isinstance(node, ast.ImportFrom) and node.module == "os" and any(a.name in names for a in node.names)
        ):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("snippet", "found"),
    [
        ("import os\nx = os.environ.get('TWIN_X')", True),
        ("import os\nos.environ['A'] = '1'", True),
        ("import os\nx = os.getenv('A')", True),
        ("from os import environ\n", True),
        ("from twin_assets.settings import get_settings\nx = get_settings().home", False),
    ],
)
def test_the_scan_finds_environment_uses(snippet: str, found: bool) -> None:
    assert bool(environment_uses(snippet)) is found


def test_only_settings_touches_the_environment() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("twin_assets", "twin_query")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != SETTINGS
        for line in environment_uses(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"read settings (twin_assets.settings) instead of the environment: {offenders}"
