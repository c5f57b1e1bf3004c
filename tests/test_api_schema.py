"""Property-based: Schemathesis generates requests from our OpenAPI schema and runs them against the ASGI app
(in process, offline) on a small built home, with valid tokens. No request may get a 500, and every answer must
match the schema (status code documented, body valid, content type right)."""

from __future__ import annotations

import contextlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.test_api_scopes import api_home, auth  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}


@pytest.fixture
def api_schema(api_home, monkeypatch):  # noqa: F811
    from twin_assets.settings import get_settings
    from twin_query.api.app import create_app

    monkeypatch.setenv("TWIN_HOME", str(api_home["home"]))
    monkeypatch.setenv("TWIN_API_RATE", "0")
    monkeypatch.setenv("TWIN_ACCESS_LOG", "off")
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(get_settings()))


def _fuzz(op, mode: GenerationMode, n: int, headers: list[dict[str, str]], failures: list[str], calls: list[str]):
    label = f"{op.method.upper()} {op.path} [{mode.value}]"

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def run(case) -> None:
        calls.append(label)
        for h in headers:
            try:
                case.call_and_validate(headers=h, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # collect: one run reports every failing operation
                detail = " | ".join(str(e).splitlines()[0][:200] for e in getattr(exc, "exceptions", [exc]))
                failures.append(f"{label}: {type(exc).__name__}: {detail}")
                return

    return run


def test_api_conforms_and_never_500s(api_schema, api_home):  # noqa: F811
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/v1/ask",
        "/v1/entities",
        "/v1/entities/{entity_id}",
        "/v1/entities/{entity_id}/neighbors",
        "/v1/graph/path",
        "/v1/graph/central",
        "/v1/graph/communities",
        "/v1/timeline",
        "/v1/search",
        "/metrics",
    }
    headers = [auth(api_home, "high"), auth(api_home, "low")]
    failures: list[str] = []
    calls: list[str] = []
    for op in operations:
        for mode, n in EXAMPLES.items():
            with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters, no body)
                _fuzz(op, mode, n, headers, failures, calls)()
    assert not failures, "\n".join(dict.fromkeys(failures))
    assert len(calls) > 8 * len(operations), len(calls)  # it really generated cases for every operation
