"""`twin forget`: a forgotten record, source or entity is gone from every store, view and snapshot.

The canary assertions look twice: every byte under TWIN_HOME (tests/privacy_scan.py), and every
item the stores hold once unlocked (decrypted rows, archives, snapshots, keyword-index segments),
which is where a forgotten record would otherwise survive. Each scan is first shown to find the
canary before the forget, so a scan that sees nothing cannot pass.
"""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from tests.privacy_scan import scan
from tests.test_slice import HIGH_CANARY, HIGH_NAME, ICS, LOW_CANARY, MBOX, MEDIUM_CANARY
from twin_query.cli import app

runner = CliRunner()
VIEWS = ("LOW", "MEDIUM", "HIGH")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A home with both fixtures ingested and every asset materialized, views and graphs included (built once,
    copied with its Dagster instance)."""
    from twin_assets.pipeline.inputs import register_input
    from twin_assets.run import materialize
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin
    from twin_query.setup import init_home

    base = tmp_path_factory.mktemp("forget")
    (base / "m.mbox").write_text(MBOX)
    (base / "c.ics").write_text(ICS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_HOME", str(base / "home"))
        mp.setenv("DAGSTER_HOME", str(base / "home" / "dagster"))  # undone when the template is built
        settings = get_settings()
        init_home(settings)
        twin = open_twin(settings)
        register_input(twin, base / "m.mbox", "email", "ingest")
        register_input(twin, base / "c.ics", "calendar", "ingest")
        twin.close()
        assert materialize(settings).success
    return base / "home"


@pytest.fixture
def built(template, settings):
    shutil.copytree(template, settings.home_path)
    from twin_assets.twin import open_twin

    twin = open_twin(settings)
    yield twin
    twin.close()


def deep_hits(twin, needle: str) -> list[str]:
    from twin_assets.lifecycle.rotate import iter_plaintext

    variants = {needle.encode(), needle.lower().encode()}
    return sorted({loc for loc, data in iter_plaintext(twin, all_values=True) if any(v in data for v in variants)})


def doc_id_with(twin, tier: str, text: str) -> str:
    store = twin.store(tier)
    (doc_id,) = [d.id for d in store.get_many(store.ids()).values() if text in d.body or text in d.title]
    return doc_id


def graph_nodes(twin) -> list[tuple[str, int, str, dict]]:
    out = []
    for view in VIEWS:
        graphs = twin.graphs(view)
        for version in graphs.versions():
            _, g = graphs.load(version)
            out += [(view, version, n, a) for n, a in g.nodes(data=True)]
    return out


def all_entities(twin):
    return [(view, eid, data) for view in VIEWS for eid, data in twin.derived(view).iter("entity")]


@pytest.mark.slow
def test_forget_high_record_leaves_nothing(built, settings):
    from twin_query.search import search

    twin = built
    rid = doc_id_with(twin, "HIGH", HIGH_CANARY)
    assert deep_hits(twin, HIGH_CANARY), "the deep scan must see the canary before, or it proves nothing"
    assert any(n == rid for _, _, n, _ in graph_nodes(twin))
    assert any(d["name"] == HIGH_NAME for _, _, d in all_entities(twin))
    twin.close()

    result = runner.invoke(app, ["forget", "--record", rid, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["removed"]["documents"] == {"HIGH": 1}
    assert report["removed"]["records"] == 1 and report["removed"]["raw_archives"] == 1
    assert "HIGH" in report["views_rebuilt"]
    assert HIGH_CANARY not in result.stdout and HIGH_NAME not in result.stdout

    from twin_assets.twin import open_twin

    twin = open_twin(settings)
    try:
        raw = scan([settings.home_path], [HIGH_CANARY, HIGH_NAME, "ottoline@example.net"])
        assert not any(raw.values()), raw
        assert deep_hits(twin, HIGH_CANARY) == []
        assert deep_hits(twin, HIGH_NAME) == []  # she was seen only in that message
        assert deep_hits(twin, "ottoline@example.net") == []
        hits = search(twin, "wifi password share", k=20)
        assert rid not in {h.id for h in hits}
        assert all(h.title != "the wifi" for h in hits)
        assert any(h.tier == "LOW" for h in search(twin, "tomato blight", k=5))  # the rest is intact
        for view, version, node, attrs in graph_nodes(twin):
            assert node != rid, (view, version)
            assert attrs.get("name") != HIGH_NAME, (view, version)
        for view in VIEWS:
            assert rid not in {eid for eid, _ in twin.derived(view).iter("event")}
            for _, data in twin.derived(view).iter("entity"):
                assert rid not in data["evidence"] and data["name"] != HIGH_NAME
            for _, data in twin.derived(view).iter("mentions"):
                assert rid not in data["doc_id"]  # mentions are stored as columns
        from twin_assets.db.models import Lineage, RecordRow

        with twin.session() as s:
            assert s.get(RecordRow, rid) is None
            assert s.query(Lineage).filter_by(record_id=rid).count() == 0
        from twin_assets.pipeline import checks

        for view in VIEWS:  # the rebuilt views are consistent
            assert checks.orphan_mentions(twin, view).passed
    finally:
        twin.close()
    # once is enough: the id is unknown now, with a one-line error
    again = runner.invoke(app, ["forget", "--record", rid])
    assert again.exit_code != 0 and "no record" in str(again.exception)


@pytest.mark.slow
def test_forget_source_calendar(built, settings):
    from twin_assets.db.models import Input, RecordRow, Source
    from twin_query.search import search

    twin = built
    cid = doc_id_with(twin, "MEDIUM", MEDIUM_CANARY)
    assert deep_hits(twin, MEDIUM_CANARY)
    with twin.vectors() as vectors:
        assert vectors.count("MEDIUM") == 1
    twin.close()

    result = runner.invoke(app, ["forget", "--source", "calendar", "--json"])
    assert result.exit_code == 0, result.output
    removed = json.loads(result.stdout)["removed"]
    assert removed["documents"] == {"MEDIUM": 1} and removed["vectors"] == {"MEDIUM": 1}
    assert removed["inputs"] == 1 and removed["sources"] == 1

    from twin_assets.twin import open_twin

    twin = open_twin(settings)
    try:
        assert not any(scan([settings.home_path], [MEDIUM_CANARY, "Dentist"]).values())
        assert deep_hits(twin, MEDIUM_CANARY) == []
        assert deep_hits(twin, "Dentist appointment") == []
        with twin.vectors() as vectors:
            assert vectors.count("MEDIUM") == 0
        assert cid not in {h.id for h in search(twin, "dentist appointment form", k=20)}
        for view, version, node, attrs in graph_nodes(twin):
            assert node != cid and attrs.get("source") != "calendar", (view, version)
        for view in VIEWS:
            assert cid not in {eid for eid, _ in twin.derived(view).iter("event")}
        with twin.session() as s:
            assert s.query(RecordRow).filter_by(source="calendar").count() == 0
            assert s.query(Input).filter_by(source="calendar").count() == 0
            assert s.get(Source, "calendar") is None
            assert s.query(RecordRow).filter_by(source="email").count() == 3  # others untouched
        assert list((settings.raw_dir).glob("*.fenc"))  # the mailbox archive stays
    finally:
        twin.close()
    # A source it has never seen is an error, not a silent no-op.
    assert runner.invoke(app, ["forget", "--source", "nosuchsource"]).exit_code != 0


@pytest.mark.slow
def test_forget_entity_removes_person_everywhere_but_keeps_records(built, settings):
    from twin_assets.lifecycle.forget import rebuild_views
    from twin_query.search import search

    twin = built
    (eid,) = [eid for view, eid, d in all_entities(twin) if view == "HIGH" and d["name"] == HIGH_NAME]
    assert any(a.get("name") == HIGH_NAME for *_, a in graph_nodes(twin))
    twin.close()

    result = runner.invoke(app, ["forget", "--entity", eid])
    assert result.exit_code == 0, result.output
    assert HIGH_NAME not in result.stdout

    from twin_assets.twin import open_twin

    twin = open_twin(settings)
    try:

        def assert_gone():
            for view, version, node, attrs in graph_nodes(twin):
                assert node != eid and attrs.get("name") != HIGH_NAME, (view, version)
            for view in VIEWS:
                derived = twin.derived(view)
                assert HIGH_NAME not in {d["name"] for _, d in derived.iter("entity")}
                assert eid not in {i for i, _ in derived.iter("mentions")}
                assert eid not in {i for i, _ in derived.iter("relationship")}
                assert eid not in {i for i, _ in derived.iter("centrality")}
                meta = derived.get("resolution", "meta") or {}
                assert eid not in set(meta.get("key_index", {}).values())
                assert "email:ottoline@example.net" not in meta.get("key_index", {})
                for _, data in derived.iter("event"):
                    assert eid not in data.get("entity_ids", [])

        assert_gone()
        # The record itself stays (forgetting a person is not deleting your mail) ...
        assert any(h.title == "the wifi" for h in search(twin, "wifi password", k=5))
        # ... and a rebuild does not bring the person back.
        assert rebuild_views(twin, VIEWS) == ["LOW", "MEDIUM", "HIGH"]
        assert_gone()
        graph_files = list((settings.stores_dir / "graph").rglob("*.fenc"))
        assert graph_files and not any(scan(graph_files, [HIGH_NAME]).values())
    finally:
        twin.close()


def test_forget_needs_exactly_one_target(home):
    for args in (["forget"], ["forget", "--record", "r1", "--source", "email"]):
        result = runner.invoke(app, args)
        assert result.exit_code != 0
        assert "exactly one" in str(result.exception)
    result = runner.invoke(app, ["forget", "--entity", "per_nope"])
    assert result.exit_code != 0 and "no entity" in str(result.exception)


@pytest.mark.slow
def test_low_canary_still_there_after_unrelated_forget(built, settings):
    """Forgetting one record must not take others with it (the scan sees LOW content)."""
    twin = built
    rid = doc_id_with(twin, "HIGH", HIGH_CANARY)
    twin.close()
    assert runner.invoke(app, ["forget", "--record", rid]).exit_code == 0
    assert scan([settings.home_path], [LOW_CANARY])[LOW_CANARY]


def test_forget_webhook_sender_and_api_source(home, tmp_path):
    """A webhook sender's events and the records made from them; an API source's cursor and tokens."""
    from tests.test_rotate import make_home
    from twin_assets.db.models import ApiState, RecordRow, WebhookEvent
    from twin_assets.pipeline.documents import build_documents
    from twin_assets.pipeline.webhooks import process_webhooks
    from twin_assets.twin import open_twin

    twin = open_twin(home)
    make_home(twin, tmp_path)
    process_webhooks(twin)
    build_documents(twin)
    with twin.session() as s:
        assert s.query(RecordRow).filter_by(source="webhook").count() == 1
    assert deep_hits(twin, "hello from a hook") and deep_hits(twin, "cursor-1")
    twin.close()

    result = runner.invoke(app, ["forget", "--source", "hooky", "--json"])
    assert result.exit_code == 0, result.output
    removed = json.loads(result.stdout)["removed"]
    assert removed["records"] == 1 and removed["webhook_events"] >= 1
    result = runner.invoke(app, ["forget", "--source", "someapi", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["removed"]["api_state"] == 1

    twin = open_twin(home)
    try:
        assert deep_hits(twin, "hello from a hook") == [] and deep_hits(twin, "cursor-1") == []
        with twin.session() as s:
            assert s.query(RecordRow).filter_by(source="webhook").count() == 0
            assert s.query(WebhookEvent).count() == 0 and s.query(ApiState).count() == 0
            assert s.query(RecordRow).filter_by(source="email").count() == 4  # untouched
    finally:
        twin.close()


@pytest.mark.slow
def test_forget_in_a_copied_home_deletes_its_own_vectors(home, tmp_path, monkeypatch):
    """A home copied while its Chroma server runs carries that server's registration (run/chroma.json): forget in
    the copy deleted the original's vector through it, and the copy's own vector stayed once that server stopped."""
    from twin_assets.settings import get_settings
    from twin_assets.stores.chroma_client import hold_server
    from twin_assets.twin import open_twin

    (tmp_path / "c.ics").write_text(ICS)
    monkeypatch.setenv("DAGSTER_HOME", str(home.home_path / "dagster"))
    assert runner.invoke(app, ["ingest", str(tmp_path / "c.ics"), "--json"]).exit_code == 0
    with hold_server(home):  # the original's server stays up (and registered) throughout
        shutil.copytree(home.home_path, tmp_path / "copy")
        monkeypatch.setenv("TWIN_HOME", str(tmp_path / "copy"))
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "copy" / "dagster"))
        result = runner.invoke(app, ["forget", "--source", "calendar", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["removed"]["vectors"] == {"MEDIUM": 1}
        for settings, left in ((home, 1), (get_settings(), 0)):
            twin = open_twin(settings)
            try:
                with twin.vectors() as vectors:
                    assert vectors.count("MEDIUM") == left, settings.home_path
            finally:
                twin.close()


@pytest.mark.slow
@pytest.mark.parametrize("failure", ["outcome", "raise"])
def test_a_failed_rebuild_still_forgets_everything(built, settings, monkeypatch, failure):
    """The rebuild comes last: when it fails, the records, their lineage and archives are gone anyway, the error
    is one line, and the next materialization rebuilds the views."""
    from dagster import AssetKey, DagsterInstance

    import twin_assets.run
    from twin_assets.db.models import Input, Lineage, RecordRow, Source
    from twin_assets.run import RunOutcome, materialize
    from twin_assets.twin import open_twin

    twin = built
    cid = doc_id_with(twin, "MEDIUM", MEDIUM_CANARY)
    with twin.session() as s:
        assert s.query(Lineage).filter_by(record_id=cid).count()
    twin.close()
    assert len(list(settings.raw_dir.glob("*.fenc"))) == 2

    def failing(*args, **kwargs):
        if failure == "raise":
            raise RuntimeError("dagster fell over")
        return RunOutcome(False, [], [], ["timeline: tier check failed"])

    monkeypatch.setattr(twin_assets.run, "materialize", failing)
    result = runner.invoke(app, ["forget", "--source", "calendar"])
    assert result.exit_code != 0
    message = str(result.exception)
    assert "\n" not in message and "forgotten" in message and "`twin materialize`" in message, message
    assert ("RuntimeError" if failure == "raise" else "tier check failed") in message

    twin = open_twin(settings)
    try:
        with twin.session() as s:
            assert s.query(RecordRow).filter_by(source="calendar").count() == 0
            assert s.query(Lineage).filter_by(record_id=cid).count() == 0
            assert s.query(Input).filter_by(source="calendar").count() == 0
            assert s.get(Source, "calendar") is None
        assert len(list(settings.raw_dir.glob("*.fenc"))) == 1  # the mailbox's archive stays
        assert deep_hits(twin, MEDIUM_CANARY) == []
        with twin.vectors() as vectors:
            assert vectors.count("MEDIUM") == 0
    finally:
        twin.close()

    monkeypatch.setattr(twin_assets.run, "materialize", materialize)
    assert materialize(settings).success
    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(AssetKey("timeline"))
    assert event is not None and event.asset_materialization is not None
    assert event.asset_materialization.partition == "HIGH"
    assert event.asset_materialization.metadata["unchanged"].value is False  # rebuilt, not skipped
