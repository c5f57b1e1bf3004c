"""A view's entities are :class:`Entity` objects read through the entity artifact kind, and every alias
``Entity.all_aliases`` lists (names, e-mails, phones, handles, uids) finds its entity."""

from __future__ import annotations

import pytest

from twin_assets.artifacts import ENTITY
from twin_assets.processing.resolution import Entity, Merge
from twin_query import views

ADA = Entity(
    id="ent_ada",
    kind="person",
    name="Ada Lovelace",
    aliases={
        "names": ["Ada King"],
        "emails": ["ada@example.org"],
        "phones": ["+4915112345678"],
        "handles": ["slack:U0ADA"],
        "uids": ["contact-uid-42"],
    },
    confidence=0.9,
    merges=[Merge("Ada King", "same email", ["d1"])],
    tier="HIGH",
    evidence=["d1", "d2", "d3"],
)
ACME = Entity("ent_acme", "organisation", "Acme GmbH", {"names": []}, 0.8, [], "HIGH", ["d2"])


@pytest.fixture
def vd(twin) -> views.ViewData:
    twin.derived("HIGH").replace(ENTITY, [ADA, ACME])
    return views.ViewCache().data(twin, "HIGH")


def test_entities_are_objects(vd: views.ViewData) -> None:
    assert vd.entity("ent_ada") == ADA
    assert vd.weight("ent_ada") == 3
    assert views.brief(ADA) == {"id": "ent_ada", "kind": "person", "name": "Ada Lovelace", "is_self": False}


@pytest.mark.parametrize(
    "ref",
    [
        "ent_ada",
        "Ada Lovelace",
        "ada king",
        "ADA@example.org",
        "+4915112345678",
        "+49 151 1234 5678",
        "slack:U0ADA",
        "U0ADA",
        "contact-uid-42",
    ],
)
def test_every_alias_resolves(vd: views.ViewData, ref: str) -> None:
    found = vd.resolve(ref)
    assert found is not None and found.id == "ent_ada"


def test_every_alias_is_searchable(vd: views.ViewData) -> None:
    for alias in ADA.all_aliases:
        assert [e.id for e in vd.find(alias)] == ["ent_ada"], alias
    assert [e.id for e in vd.find("acme")] == ["ent_acme"]
    assert vd.find("acme", kind="person") == []
    assert vd.resolve("+49 30 000000") is None
