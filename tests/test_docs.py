"""The project's docs stand alone and stay true to the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Design notes kept outside the repository: a reader of a clone cannot open them.
OUTSIDE = re.compile(r"DESIGN\.md|INTERFACE\.md|\.\./shared/(?!samples)|shared/seed")


def _repo_text_files() -> list[Path]:
    files: list[Path] = []
    for folder in ("twin_assets", "twin_query", "tests", "benchmarks", "docs"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md", ".yaml", ".toml", ".txt"}]
    return [*files, ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml"]


def test_no_reference_to_files_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _repo_text_files()
        if path != Path(__file__).resolve()
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert not offenders, f"point these at docs/ instead: {offenders}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path):
    text = doc.read_text(encoding="utf-8")
    broken = [
        target
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
        if "://" not in target and not (doc.parent / target).exists()
    ]
    assert not broken, f"{doc.name} links to missing files: {broken}"


@pytest.fixture(scope="module")
def openapi(tmp_path_factory) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_HOME", str(tmp_path_factory.mktemp("docs") / "home"))
        from twin_query.api.app import create_app

        return create_app().openapi()


def test_every_endpoint_and_parameter_is_documented(openapi: dict):
    """Each operation has its own ``### `METHOD /path``` section, which names every path, query, header and body
    parameter of that operation (not merely somewhere on the page)."""
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    sections = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^### `([A-Z]+ [^`]+)`\n(.*?)(?=^#{2,3} |\Z)", page, flags=re.S | re.M)
    }
    missing = []
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            text = sections.get(f"{method.upper()} {path}")
            if text is None:
                missing.append(f"{method.upper()} {path} (no section)")
                continue
            names = [p["name"] for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in body:
                schema = openapi["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
                names += list(schema.get("properties", {}))
            missing += [f"{method.upper()} {path}: {name}" for name in names if f"`{name}`" not in text]
    assert not missing, f"docs/api.md does not describe: {missing}"


def test_websocket_message_types_are_documented():
    """Every message type the socket handles or sends appears in the protocol section."""
    source = (ROOT / "twin_query" / "api" / "routers" / "ws.py").read_text(encoding="utf-8")
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    kinds = set(re.findall(r'"type":\s*"([a-z_]+)"', source)) | set(re.findall(r'kind == "([a-z_]+)"', source))
    assert kinds, "no message types found: the pattern above no longer matches ws.py"
    missing = sorted(k for k in kinds if f'"type": "{k}"' not in text)
    assert not missing, f"docs/api.md does not describe these WebSocket messages: {missing}"
