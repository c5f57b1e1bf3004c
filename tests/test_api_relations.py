"""/v1/entities/{id} shows who the entity is to the owner: the relation, the records that say so, and contact
frequency and tone per month — within the token's view, so a LOW token's relation rests on LOW records only."""

from __future__ import annotations

import pytest

from tests.test_api_scopes import api_home, auth, client, leaks  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

RELATIONS = {"partner", "mother", "father", "sibling", "family", "manager", "colleague", "friend", "service", "other"}


def _profiles(client, api_home, scope: str) -> list[dict]:  # noqa: F811
    got = client.get("/v1/entities", params={"limit": 200}, headers=auth(api_home, scope)).json()["entities"]
    out = []
    for e in got:
        r = client.get(f"/v1/entities/{e['id']}", headers=auth(api_home, scope))
        assert r.status_code == 200
        out.append(r.json())
    return out


def test_a_profile_shows_the_relation_its_evidence_and_the_contact_series(client, api_home):  # noqa: F811
    profiles = [p for p in _profiles(client, api_home, "high") if p.get("relation")]
    assert profiles, "the HIGH view has people the owner is in touch with"
    for p in profiles:
        rel = p["relation"]
        assert rel["relation"] in RELATIONS and 0 <= rel["confidence"] <= 1
        assert rel["reasons"] and set(rel["evidence_ids"]) == {i for r in rel["reasons"] for i in r["evidence_ids"]}
        months = [m["month"] for m in rel["months"]]
        assert months == sorted(months) and len(set(months)) == len(months)
        assert all(m["sent"] >= 0 and m["received"] >= 0 and m["met"] >= 0 for m in rel["months"])
    # The weekly 1:1 makes its attendee the owner's most-met person; the meetings are counted as contact.
    basil = next(p for p in profiles if p["name"].startswith("Basil"))
    assert sum(m["met"] for m in basil["relation"]["months"]) >= 1
    # Every evidence id is a record the token may open.
    some = {i for p in profiles for i in p["relation"]["evidence_ids"]}
    for record_id in list(some)[:10]:
        assert client.get(f"/v1/records/{record_id}", headers=auth(api_home, "high")).status_code == 200


def test_a_low_tokens_relations_rest_on_low_records_only(client, api_home):  # noqa: F811
    low = [p for p in _profiles(client, api_home, "low") if p.get("relation")]
    for p in low:
        assert not leaks(str(p["relation"]))
        for record_id in p["relation"]["evidence_ids"]:
            r = client.get(f"/v1/records/{record_id}", headers=auth(api_home, "low"))
            assert r.status_code == 200 and r.json()["tier"] == "LOW"
