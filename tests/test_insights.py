"""Insights: every kind on a small demo, with reasoning and evidence; no leakage past as_of; scopes; CLI shape.

The demo fixture (20 people, 2 years, ingested and materialized) is built once for the module.
Fast unit tests on hand-made data come first.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from twin_assets.errors import TwinError
from twin_assets.insights import KINDS, compute_insights, default_as_of, parse_as_of
from twin_assets.insights.base import Logit
from twin_assets.insights.patterns import Pattern, classify_period
from twin_assets.processing.resolution import Entity, EntityMention
from twin_assets.records import Document
from twin_assets.stores import HIGH, LOW, MEDIUM
from twin_assets.tiers import Tier

runner = CliRunner()
PUBLIC_KEYS = {"kind", "subject", "statement", "score", "reasoning", "evidence", "tier"}
AHEAD = {"next_contacts", "upcoming_commitments"}
NEW_PERSON = "Zebedee Quartermaine"


# ---- fast unit tests ----------------------------------------------------------------------------------


def test_parse_as_of():
    assert parse_as_of("2025-06-01") == datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_as_of("2025-06-01T12:00:00Z") == datetime(2025, 6, 1, 12, tzinfo=UTC)
    assert parse_as_of(None) is None
    with pytest.raises(ValueError, match="as_of must be a date"):
        parse_as_of("June")


def test_patterns_project_monthly_and_weekly():
    first_wednesdays = [datetime(2025, m, d, 17, tzinfo=UTC) for m, d in ((1, 1), (2, 5), (3, 5), (4, 2), (5, 7))]
    period, share = classify_period(first_wednesdays)
    assert period == "monthly" and share == 1.0
    p = Pattern(
        "k", "meeting", "Book club", period, first_wednesdays, [], [], [], share, details={"nth_weekday": (2, 0)}
    )
    assert [
        t.date().isoformat() for t in p.project(datetime(2025, 5, 8, tzinfo=UTC), datetime(2025, 8, 1, tzinfo=UTC))
    ] == ["2025-06-04", "2025-07-02"]
    weekly = [datetime(2025, 1, 2, tzinfo=UTC) + timedelta(days=7 * k) for k in range(6) if k != 3]  # one skipped
    assert classify_period(weekly)[0] == "weekly"
    assert (
        classify_period(
            [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 20, tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC)]
        )
        is None
    )


def test_logit_explains_and_falls_back_to_priors():
    model = Logit(["a", "b"], {"a": 1.0, "b": -1.0}).fit([[1, 0], [0, 1]], [1, 0])
    assert not model.fitted and "too few" in model.provenance()
    rows = [[i % 7, (i * 3) % 5] for i in range(200)]
    labels = [int(r[0] > 3) for r in rows]
    model = Logit(["a", "b"], {}).fit(rows, labels)
    assert model.fitted and model.predict([[6, 0]])[0] > 0.8 > 0.2 > model.predict([[0, 0]])[0]
    assert model.explain([6, 0])[0].startswith("a 6 → +")


def _toy(n_weeks: int = 40):
    """The owner writes with Anna weekly and pays rent monthly, for ``n_weeks`` weeks."""
    from twin_assets.processing.resolution import ResolveOptions, resolve

    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    me = {"role": "from", "name": "Me Owner", "email": "me@home.example"}
    anna = {"name": "Anna Kovacs", "email": "anna@x.example"}
    docs = []
    for k in range(n_weeks):
        t = start + timedelta(days=7 * k)
        docs.append(
            Document(
                f"s{k}",
                "email",
                "message",
                HIGH,
                t,
                f"Plans {k}",
                "See you soon, lovely day.",
                {"parties": [me, {"role": "to", **anna}]},
            )
        )
        docs.append(
            Document(
                f"r{k}",
                "email",
                "message",
                HIGH,
                t + timedelta(hours=5),
                f"Re: Plans {k}",
                "Great, thanks!",
                {"parties": [{"role": "from", **anna}, {**me, "role": "to"}]},
            )
        )
    for m in range(n_weeks * 7 // 30):
        t = datetime(2024, 1 + m % 12, 1, 8, tzinfo=UTC).replace(year=2024 + m // 12)
        docs.append(
            Document(
                f"t{m}",
                "bank_csv",
                "transaction",
                HIGH,
                t,
                "Hausverwaltung",
                "Miete",
                {
                    "parties": [{"role": "merchant", "name": "Hausverwaltung Kranich"}],
                    "attributes": {"amount": -1180.0},
                },
            )
        )
    return docs, resolve(docs, options=ResolveOptions(text=False))


def _plant(docs, res, as_of):
    """A brand-new person writing after as_of, and a huge payment after as_of."""
    later = as_of + timedelta(days=2)
    new = [
        Document(
            "planted-msg",
            "email",
            "message",
            HIGH,
            later,
            "Hello from a stranger",
            "Awful, terrible news.",
            {
                "parties": [
                    {"role": "from", "name": NEW_PERSON, "email": "zq@new.example"},
                    {"role": "to", "name": "Me Owner", "email": "me@home.example"},
                ]
            },
        ),
        Document(
            "planted-tx",
            "ofx",
            "transaction",
            HIGH,
            later,
            "JUWELIER",
            "Ring",
            {"parties": [{"role": "merchant", "name": "JUWELIER PLANTED"}], "attributes": {"amount": -99999.0}},
        ),
    ]
    ent = Entity(
        "per_planted",
        "person",
        NEW_PERSON,
        {"names": [NEW_PERSON], "emails": ["zq@new.example"]},
        1.0,
        [],
        HIGH,
        ["planted-msg"],
    )
    mentions = [
        EntityMention("planted-msg", "per_planted", "from", None, None, 1.0, HIGH),
        EntityMention("planted-msg", res.self_id, "to", None, None, 1.0, HIGH),
    ]
    res2 = replace(res, entities=[*res.entities, ent], mentions=[*res.mentions, *mentions])
    return [*docs, *new], res2


def test_no_leakage_on_toy_data():
    docs, res = _toy()
    as_of = datetime(2024, 8, 1, tzinfo=UTC)
    before = [i.public() for i in compute_insights(docs, res, as_of)]
    docs2, res2 = _plant(docs, res, as_of)
    after = [i.public() for i in compute_insights(docs2, res2, as_of)]
    assert after == before
    text = json.dumps(after)
    assert NEW_PERSON not in text and "planted" not in text and "99,999" not in text
    kinds = {i["kind"] for i in before}
    assert {"next_contacts", "upcoming_commitments", "spending"} <= kinds
    anna = [i for i in before if i["kind"] == "next_contacts" and i["horizon_days"] == 7]
    assert anna and anna[0]["subject"] == "Anna Kovacs <anna@x.example>" and anna[0]["score"] > 0.5
    rent = [i for i in before if i["kind"] == "upcoming_commitments"]
    assert rent and "2024-08-01" in rent[0]["statement"] and "1,180" in rent[0]["statement"]


def test_default_as_of_ignores_calendar_plans():
    docs = [
        Document("a", "email", "message", LOW, datetime(2025, 3, 4, 15, tzinfo=UTC), "x", "y"),
        Document("b", "calendar", "event", LOW, datetime(2026, 1, 1, tzinfo=UTC), "later plan", ""),
    ]
    assert default_as_of(docs, now=datetime(2030, 1, 1, tzinfo=UTC)) == datetime(2025, 3, 5, tzinfo=UTC)


# ---- the demo -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    from twin_assets.demo import generate
    from twin_assets.run import materialize
    from twin_assets.settings import get_settings
    from twin_query.demo_cmd import EXPORTS
    from twin_query.ingest import ingest_paths
    from twin_query.setup import init_home

    base = tmp_path_factory.mktemp("insights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_HOME", str(base / "home"))
        mp.setenv("DAGSTER_HOME", str(base / "dagster"))
        settings = get_settings()
        init_home(settings)
        generate(base / "demo", seed=7, people=20, years=2)
        paths = [base / "demo" / p for p in EXPORTS if (base / "demo" / p).exists()]
        ingest_paths(settings, paths, source=None, dry_run=False, show_progress=False)
        from twin_assets.twin import open_twin

        twin = open_twin(settings)
        stored = twin.derived(HIGH).count("insight")
        twin.close()
        if not stored:  # ingest materializes everything downstream of the sources; make sure of insights
            outcome = materialize(settings, "key:insights")
            assert outcome.success, outcome.failures
    return base


@pytest.fixture
def demo(demo_home, monkeypatch):
    monkeypatch.setenv("TWIN_HOME", str(demo_home / "home"))
    monkeypatch.setenv("DAGSTER_HOME", str(demo_home / "dagster"))
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin

    settings = get_settings()
    twin = open_twin(settings)
    yield settings, twin
    twin.close()


def _client(start_api, settings, twin, scopes):
    from twin_query.api.app import create_app
    from twin_query.tokens import create_token

    token = create_token(twin, scopes)
    return start_api(create_app(settings), headers={"Authorization": f"Bearer {token}"})


def _record_tiers(twin) -> dict[str, str]:
    from twin_assets.db.models import RecordRow

    with twin.session() as s:
        return dict(s.query(RecordRow.id, RecordRow.tier).all())


@pytest.mark.slow
def test_every_kind_on_the_demo_with_reasoning_and_evidence(demo, start_api):
    settings, twin = demo
    client = _client(start_api, settings, twin, ["low", "medium", "high"])
    body = client.get("/v1/insights").json()
    assert body["source"] == "stored"
    items = body["insights"]
    assert {i["kind"] for i in items} == set(KINDS)
    tiers = _record_tiers(twin)
    for i in items:
        assert PUBLIC_KEYS <= set(i) <= PUBLIC_KEYS | {"horizon_days"}
        assert 0.0 <= i["score"] <= 1.0
        assert i["reasoning"] and all(isinstance(r, str) and r for r in i["reasoning"])
        assert i["evidence"] and all(e in tiers for e in i["evidence"]), i["kind"]
        assert Tier.parse(i["tier"]) == Tier.max_of(i["tier"], *(tiers[e] for e in i["evidence"]))
        if i["kind"] in AHEAD:
            assert i["horizon_days"] >= 1
    contacts = [i for i in items if i["kind"] == "next_contacts"]
    assert {i["horizon_days"] for i in contacts} == {7, 30}
    assert any("<" in i["subject"] and "@" in i["subject"] for i in contacts)
    assert any(any(ch.isdigit() for ch in r) for i in items for r in i["reasoning"])
    # Filtering by kind, and a past as_of computed on the fly.
    spending = client.get("/v1/insights", params={"kind": "spending"}).json()["insights"]
    assert spending and {i["kind"] for i in spending} == {"spending"}
    as_of = (datetime.fromisoformat(body["as_of"]) - timedelta(days=120)).date().isoformat()
    past = client.get("/v1/insights", params={"as_of": as_of, "kind": "next_contacts"}).json()
    assert past["source"] == "computed" and past["as_of"].startswith(as_of) and past["insights"]
    assert client.get("/v1/insights", params={"kind": "nope"}).status_code == 422
    assert client.get("/v1/insights", params={"as_of": "yesterday"}).status_code == 422
    assert TestClient(client.app).get("/v1/insights").status_code == 401


@pytest.mark.slow
def test_no_leakage_from_records_after_as_of(demo, start_api):
    """A later message from a brand-new person and a huge later payment change nothing before as_of."""
    from twin_assets.insights.store import load_view

    settings, twin = demo
    docs, res, sentiment = load_view(twin, HIGH)
    as_of = default_as_of(docs) - timedelta(days=90)
    before = [i.public() for i in compute_insights(docs, res, as_of, sentiment=sentiment)]
    docs2, res2 = _plant(docs, res, as_of)
    after = [i.public() for i in compute_insights(docs2, res2, as_of, sentiment=sentiment)]
    assert after == before
    assert NEW_PERSON not in json.dumps(after) and "planted-" not in json.dumps(after)
    # End to end through the API: the planted records sit in the store while as_of is asked for.
    client = _client(start_api, settings, twin, ["high"])
    params = {"as_of": as_of.isoformat()}
    api_before = client.get("/v1/insights", params=params).json()["insights"]
    store = twin.store(HIGH)
    store.put_many(d for d in docs2 if d.id.startswith("planted-"))
    try:
        api_after = client.get("/v1/insights", params=params).json()["insights"]
    finally:
        store.delete(["planted-msg", "planted-tx"])
    assert api_after == api_before
    assert NEW_PERSON not in json.dumps(api_after)


@pytest.mark.slow
def test_low_token_sees_nothing_derived_from_higher_tiers(demo, start_api):
    from twin_assets.pipeline.model import load_resolution

    settings, twin = demo
    tiers = _record_tiers(twin)
    low_names = {e.name for e in load_resolution(twin, LOW).entities}
    higher_only = {e.name for e in load_resolution(twin, HIGH).entities if e.kind == "person"} - low_names
    higher_only = {n for n in higher_only if len(n) > 5}
    assert higher_only
    for scopes, allowed in ((["low"], {LOW}), (["medium"], {LOW, MEDIUM})):
        client = _client(start_api, settings, twin, scopes)
        for params in ({}, {"as_of": "2025-01-01"}):
            items = client.get("/v1/insights", params=params).json()["insights"]
            for i in items:
                assert i["tier"] in allowed
                assert all(tiers.get(e) in allowed for e in i["evidence"])
            if allowed == {LOW}:
                text = json.dumps(items, ensure_ascii=False)
                assert not [n for n in higher_only if n in text]


@pytest.mark.slow
def test_cli_json_shape(demo):
    from twin_query.cli import app

    result = runner.invoke(app, ["insights", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert items and {i["kind"] for i in items} == set(KINDS)
    for i in items:
        assert PUBLIC_KEYS <= set(i) <= PUBLIC_KEYS | {"horizon_days"}
        assert isinstance(i["reasoning"], list) and isinstance(i["evidence"], list)
    result = runner.invoke(app, ["insights", "--kind", "upcoming_commitments", "--as-of", "2025-06-01", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert items and all(i["kind"] == "upcoming_commitments" and i["horizon_days"] >= 1 for i in items)
    table = runner.invoke(app, ["insights", "--kind", "spending"])
    assert table.exit_code == 0 and "spending" in table.stdout
    bad = runner.invoke(app, ["insights", "--kind", "horoscope"])
    assert isinstance(bad.exception, TwinError) and "unknown --kind" in str(bad.exception)


def test_cli_main_prints_one_line_for_a_bad_as_of(home, capsys, monkeypatch):
    import sys

    from twin_query.cli import main

    monkeypatch.setattr(sys, "argv", ["twin", "insights", "--as-of", "not-a-date"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "error: --as-of must be a date (YYYY-MM-DD) or an ISO 8601 date-time"


@pytest.mark.slow
def test_stored_normalisations_and_topic_texts_give_the_insights_computed_from_scratch(demo):
    """The insights step reuses the view's stored normalisations and topic texts; the answer is the same."""
    from twin_assets.insights.store import compute_for_view, load_view

    _, twin = demo
    for view in (LOW, HIGH):
        as_of, reused = compute_for_view(twin, view)
        docs, resolution, sentiment = load_view(twin, view)
        fresh = compute_insights(docs, resolution, as_of, sentiment=sentiment)  # normalises everything itself
        assert [i.public() for i in reused] == [i.public() for i in fresh], view
