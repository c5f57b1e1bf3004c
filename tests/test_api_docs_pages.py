"""``/docs`` and ``/redoc`` work offline: their HTML points only at this server, and every asset it points at is
served here with the right content type (FastAPI's defaults load them from a CDN and Google Fonts)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from twin_assets.settings import TwinSettings
    from twin_query.api.app import create_app

    # No lifespan: the pages and their assets need no home, store or token.
    return TestClient(create_app(TwinSettings(home=tmp_path_factory.mktemp("docs") / "home")))


def _urls(html: str) -> list[str]:
    attrs = re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", html)
    return attrs + re.findall(r"url:\s*'([^']+)'", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_this_server(client, page):
    r = client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "http://" not in html and "https://" not in html and "//" not in re.sub(r"<!--.*?-->", "", html, flags=re.S)
    assert "fonts.googleapis" not in html
    urls = _urls(html)
    assert "/openapi.json" in urls
    assets = [u for u in urls if u != "/openapi.json"]
    assert assets, html
    for url in assets:
        assert url.startswith("/"), url
        got = client.get(url)
        assert got.status_code == 200, url
        expected = CONTENT_TYPES[url[url.rfind(".") :]]
        assert expected in got.headers["content-type"], (url, got.headers["content-type"])
        assert len(got.content) > 1000, url


def test_swagger_ui_does_not_call_the_online_validator(client):
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_bundles_load_no_google_fonts(client):
    for url in ("/docs-assets/redoc.standalone.js", "/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        assert "fonts.googleapis" not in client.get(url).text, url


def test_docs_pages_are_not_in_the_openapi_description(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/redoc"} & set(paths)
    assert not [p for p in paths if p.startswith("/docs-assets")]
