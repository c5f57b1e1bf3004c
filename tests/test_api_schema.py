"""Property-based: Schemathesis generates requests from our OpenAPI schema and runs them against the ASGI app
(in process, offline) on a small built home, with valid tokens. No request may get a 500, every answer must
match the schema (status code documented, body valid, content type right), and validation must agree with the
schema both ways: what it forbids is a 4xx, what it allows is never a 422 (every check: ``--checks all``)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTERED
from schemathesis.checks import load_all_checks

from tests.test_api_scopes import api_home, auth  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
load_all_checks()
# Every check Schemathesis has (``--checks all``): besides no 5xx and conformant responses, negative data must be
# rejected (a value the schema forbids gets 4xx) and positive data accepted (a value it allows never gets 422).
CHECKS = REGISTERED.get_all()
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 15}


@pytest.fixture
def api_schema(api_home, monkeypatch):  # noqa: F811
    from twin_assets.settings import get_settings
    from twin_query.api.app import create_app

    monkeypatch.setenv("TWIN_HOME", str(api_home["home"]))
    monkeypatch.setenv("TWIN_API_RATE", "0")
    monkeypatch.setenv("TWIN_ACCESS_LOG", "off")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(get_settings()))
    # The tokens are ours (high, then low, on every case): Schemathesis must not generate or mutate the bearer
    # header itself, or a case it counts as invalid (a mangled header) would be sent valid and look "accepted".
    schema.config.generation.update(with_security_parameters=False)
    return schema


def _fuzz(op, mode: GenerationMode, n: int, headers: list[dict[str, str]], failures: list[str], calls: list[str]):
    label = f"{op.method.upper()} {op.path} [{mode.value}]"

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=n,
        deadline=timedelta(seconds=20),  # per case, both tokens; the first search loads the embedder
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
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
    print(f"schemathesis: {len(calls)} cases x {len(headers)} tokens, {len(CHECKS)} checks, {len(failures)} failures")
    assert not failures, "\n".join(dict.fromkeys(failures))
    assert len(calls) > 8 * len(operations), len(calls)  # it really generated cases for every operation
