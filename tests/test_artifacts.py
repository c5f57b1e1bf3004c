"""Each artifact kind is defined once: what the model writes reads back as the same object, the stored bytes are
those the steps wrote before the kinds were typed (so digests and existing homes are unchanged), and rows of older
code (a field fewer, a key more) still read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from twin_assets.artifacts import DOC_SENTIMENT, ENTITY, EVENT, KINDS, LIFE_EVENT, RELATIONSHIP, SERIES, TOPIC
from twin_assets.processing.relations import Employment, Reason, Relation
from twin_assets.processing.resolution import Entity, Merge
from twin_assets.processing.sentiment import DocSentiment, MonthStat, RelationshipSentiment
from twin_assets.processing.timeline import LifeEvent, Series, TimelineEvent
from twin_assets.processing.topics import Topic
from twin_assets.stores import HIGH, LOW
from twin_assets.stores.derived import Artifact, ArtifactKind, plain
from twin_assets.stores.documents import dumps, loads

T0 = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)

SAMPLES: dict[str, Any] = {
    "entity": Entity(
        id="ent_1",
        kind="person",
        name="Ada Lovelace",
        aliases={"names": ["Ada"], "emails": ["ada@example.org"], "phones": ["+4915112345678"], "uids": ["u-7"]},
        confidence=0.9,
        merges=[Merge("Ada", "same email", ["d1"])],
        tier="MEDIUM",
        evidence=["d1", "d2"],
        is_self=False,
    ),
    "event": TimelineEvent(
        doc_id="d1",
        time=T0,
        end=T0 + timedelta(hours=1),
        original_tz="Europe/Berlin",
        local_time="2025-03-04T10:30:00+01:00",
        kind="event",
        source="calendar",
        title="Standup",
        entity_ids=["ent_1"],
        series_id="s1",
        tier="LOW",
    ),
    "series": Series("s1", "Standup", 3, T0, T0 + timedelta(days=14), "FREQ=WEEKLY", ["ent_1"], "LOW", ["d1"]),
    "life_event": LifeEvent("trip", T0, None, 0.8, "HIGH", ["d1", "d2"], {"destination": "Lisbon"}),
    "doc_sentiment": DocSentiment("d1", 0.5, 0.4, 0.0, 0.6, "positive", "en", True, "LOW", ["d1"]),
    "topic": Topic("t1", "travel", ["train", "hotel"], 12, {"2025-03": 0.25}, "rising", 0.5, "LOW", ["d1", "d2"]),
    "relationship": RelationshipSentiment(
        "ent_1", [MonthStat("2025-03", 0.25, 2, 1, ["d1"])], 0.25, 0.0, 0.1, "2025-03", 2, 1, "MEDIUM", ["d1"]
    ),
    "relation": Relation(
        "ent_1",
        "colleague",
        "Helio Labs GmbH",
        0.9,
        [Reason("card-org", "contact card: works at Helio Labs GmbH", ["d2"])],
        {"t": [1741080600], "doc": ["d1"], "dir": ["sent"], "tone": [0.25], "direct": [False]},
        [{"month": "2025-03", "sent": 1, "received": 0, "met": 0, "tone": 0.25}],
        "2024-09-01",
        None,
        "MEDIUM",
        ["d2", "d1"],
    ),
    "employment": Employment(
        "Helio Labs GmbH", "heliolabs.example", T0, T0 + timedelta(days=90), ["salary"], "HIGH", ["d1"]
    ),
}


def test_every_kind_has_a_sample() -> None:
    assert set(KINDS) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_kind_round_trips_through_the_stored_json(name: str) -> None:
    kind: ArtifactKind[Any] = KINDS[name]
    item = SAMPLES[name]
    row = kind.to_row(item)
    assert dumps(row.data) == dumps(plain(item))  # the bytes the model wrote before: digests unchanged
    back = kind.from_row(loads(dumps(row.data)))
    assert back == item
    assert dumps(kind.to_row(back).data) == dumps(row.data)
    assert kind.to_row(back).id == row.id and kind.to_row(back).evidence == row.evidence


@pytest.mark.parametrize("tier", [HIGH, LOW])
def test_the_store_reads_typed_artifacts(twin, tier: str) -> None:
    derived = twin.derived(tier)
    assert derived.replace(ENTITY, [SAMPLES["entity"]]) == 1
    assert derived.upsert(EVENT, [SAMPLES["event"]]) == 1
    assert list(derived.read_all(ENTITY)) == [SAMPLES["entity"]]
    assert derived.read(EVENT, "d1") == SAMPLES["event"]
    assert derived.read(EVENT, "missing") is None
    assert derived.read_many(ENTITY, ["ent_1", "nope"]) == {"ent_1": SAMPLES["entity"]}
    assert derived.derived_from(["d2"]) == {("entity", "ent_1")}


def test_rows_of_older_code_still_read(twin) -> None:
    derived = twin.derived(LOW)
    old = plain(SAMPLES["event"])
    del old["evidence"]  # a field with a default, not written yet
    old["retired_field"] = 1  # a key this code no longer has
    derived.upsert_many("event", [Artifact("event", "d1", old, ["d1"])])
    event = derived.read(EVENT, "d1")
    assert event is not None and event.evidence == [] and event.time == T0


@pytest.mark.parametrize("kind", [SERIES, LIFE_EVENT, DOC_SENTIMENT, RELATIONSHIP, TOPIC])
def test_ids_are_what_the_model_used(kind: ArtifactKind[Any]) -> None:
    expected = {
        "series": "s1",
        "life_event": f"trip:{T0.isoformat()}",
        "doc_sentiment": "d1",
        "relationship": "ent_1",
        "topic": "t1",
    }
    assert kind.to_row(SAMPLES[kind.name]).id == expected[kind.name]
