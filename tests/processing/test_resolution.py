from __future__ import annotations

import pytest

from tests.processing.helpers import make_doc, party
from twin_assets.processing.entities import ORG, PERSON, PLACE, extract
from twin_assets.processing.names import (
    NameEquivalence,
    local_part_matches,
    normalise_email,
    normalise_phone,
    parse_name,
)
from twin_assets.processing.resolution import ResolveOptions, resolve
from twin_assets.processing.text import normalise

ME = party("to", "Lena Brandt", "lena@home.example")


def mail(
    doc_id,
    sender,
    *,
    to=ME,
    body="Hello,\n\nsee you soon.",
    tier="HIGH",
    when="2024-03-01T10:00:00",
    thread=None,
    extra=None,
    **kw,
):
    return make_doc(
        doc_id,
        title="Hi",
        body=body,
        parties=[sender, to, *(extra or [])],
        tier=tier,
        when=when,
        thread_id=thread or doc_id,
        **kw,
    )


def card(doc_id, name, *, emails=(), phones=(), uid=None, nicknames=(), org=None):
    return make_doc(
        doc_id,
        source="contacts",
        kind="contact",
        title=name,
        tier="MEDIUM",
        parties=[party("contact", name, emails[0] if emails else None, phone=phones[0] if phones else None)],
        attributes={
            "emails": list(emails),
            "phones": list(phones),
            "uid": uid or f"uid-{doc_id}",
            "nicknames": list(nicknames),
            "org": org,
        },
    )


def chat(doc_id, author, body="see you at noon", tier="HIGH"):
    return make_doc(
        doc_id,
        source="whatsapp",
        kind="chat_message",
        body=body,
        parties=[party("from", author)],
        tier=tier,
        when="2024-04-01T18:00:00",
        attributes={"system": False},
    )


def people(res):
    return {e.name: e for e in res.of_kind(PERSON)}


def entity_of(res, key):
    e = res.lookup(key)
    assert e is not None, key
    return e


# ---- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bob.Smith@ACME.example", "bob.smith@acme.example"),
        ("<mailto:bob@acme.example>", "bob@acme.example"),
        ("'bob@acme.example'", "bob@acme.example"),
        ("B.O.B+news@googlemail.com", "bob@gmail.com"),  # Gmail ignores dots and +tags
        ("bob+news@acme.example", "bob+news@acme.example"),  # elsewhere a + may be real
        ("/O=ENRON/OU=NA/CN=RECIPIENTS/CN=BSMITH", None),
        ("not an address", None),
        ("", None),
    ],
)
def test_email_normalisation(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+49 176 5550 1842", None, "+4917655501842"),
        ("tel:+49-176-5550-1842", None, "+4917655501842"),
        ("0049 (0)176 55501842", None, "+4917655501842"),
        ("0176 55501842", "49", "+4917655501842"),
        ("0176 55501842", None, "017655501842"),
        ("+1 (212) 555-0145 ext. 12", None, "+12125550145"),
        ("12 34", None, None),
    ],
)
def test_phone_normalisation(raw, country, expected):
    assert normalise_phone(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "first", "last"),
    [
        ("Smith, Bob", "bob", "smith"),
        ("Dr. Robert J. Smith", "robert", "smith"),
        ("brandt, jules", "jules", "brandt"),
        ("Łukasz Nguyen", "lukasz", "nguyen"),
        ("Anna de Vries", "anna", "de vries"),
        ("Will (Cousin)", "will", None),
        ("Katja ❤️", "katja", None),
    ],
)
def test_parse_name(raw, first, last):
    parts = parse_name(raw)
    assert parts is not None and parts.first == first and parts.last == last


def test_nickname_equivalence_and_local_parts():
    eq = NameEquivalence()
    assert eq.compatible("bob", "robert") and eq.compatible("liz", "elizabeth") and eq.compatible("bill", "william")
    assert not eq.compatible("anna", "hanna")
    assert not eq.compatible("mara", "jekaterina")
    eq.learn("Jekaterina", "Mara")
    assert eq.compatible("mara", "jekaterina")
    assert local_part_matches("thomaseriksen7@mail.example", parse_name("Thomas Eriksen"))
    assert local_part_matches("t.eriksen@mail.example", parse_name("Eriksen, Thomas"))
    assert not local_part_matches("thomas@mail.example", parse_name("Thomas Eriksen"))


# ---- extraction ----------------------------------------------------------------------------------


def test_structured_mentions_by_kind():
    doc = make_doc(
        "e1",
        source="calendar",
        kind="event",
        title="Offsite",
        tier="MEDIUM",
        parties=[party("organizer", "Huber, Omar", "omar@acme.example"), party("attendee", None, "x@acme.example")],
        attributes={"location": "Lisbon, Portugal", "all_day": False},
    )
    kinds = [(m.kind, m.role) for m in extract(doc)]
    assert kinds == [(PERSON, "organizer"), (PERSON, "attendee"), (PLACE, "location")]
    news = make_doc(
        "e2",
        parties=[party("from", "The Weekly Byte", "newsletter@byte.example"), ME],
        attributes={"list_id": "<weekly.byte.example>", "precedence": "bulk"},
    )
    assert extract(news)[0].kind == ORG
    pay = make_doc(
        "e3", source="bank_csv", kind="transaction", title="REWE MARKT", parties=[party("merchant", "REWE MARKT")]
    )
    assert [(m.kind, m.role) for m in extract(pay)] == [("named", "merchant")]


# ---- resolution ----------------------------------------------------------------------------------


def test_contact_card_joins_addresses_and_explains_the_merge():
    docs = [
        card("c1", "Robert Smith", emails=["bob@acme.example", "bobsmith@private.example"], phones=["+1 212 555 0100"]),
        mail("m1", party("from", "Bob Smith", "bob@acme.example")),
        mail("m2", party("from", "Robert Smith", "BobSmith@private.example")),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    bob = entity_of(res, "email:bob@acme.example")
    assert res.lookup("email:bobsmith@private.example").id == bob.id
    assert res.lookup("phone:+12125550100").id == bob.id
    assert bob.name == "Robert Smith"
    assert set(bob.aliases["emails"]) == {"bob@acme.example", "bobsmith@private.example"}
    assert any("contact card" in m.reason and "c1" in m.evidence for m in bob.merges)
    assert bob.confidence == 1.0
    # the id is derived from the lowest strong key, so it survives re-running on the same data
    again = resolve(list(reversed(docs)), options=ResolveOptions(text=False))
    assert again.lookup("email:bob@acme.example").id == bob.id


def test_nickname_merge_needs_corroboration():
    same_org = [
        mail("m1", party("from", "Bob Smith", "bob@acme.example")),
        mail("m2", party("from", "Robert Smith", "robert.smith@acme.example")),
    ]
    res = resolve(same_org, options=ResolveOptions(text=False))
    merged = entity_of(res, "email:bob@acme.example")
    assert res.lookup("email:robert.smith@acme.example").id == merged.id
    assert any("nickname" in m.reason and "acme.example" in m.reason for m in merged.merges)
    assert merged.confidence < 1.0
    # the same two names at two webmail providers, never together: not enough to merge
    apart = [
        mail("m1", party("from", "Bob Smith", "bob@gmail.com")),
        mail("m2", party("from", "Robert Smith", "rsmith1@yahoo.com")),
    ]
    res2 = resolve(apart, options=ResolveOptions(text=False))
    assert res2.lookup("email:bob@gmail.com").id != res2.lookup("email:rsmith1@yahoo.com").id


def test_exact_name_and_address_spelling_it_merges_work_and_private():
    docs = [
        mail("m1", party("from", "Thomas Eriksen", "thomas@heliolabs.example")),
        mail("m2", party("from", "Eriksen, Thomas", "thomaseriksen@mail.example")),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    assert res.lookup("email:thomas@heliolabs.example").id == res.lookup("email:thomaseriksen@mail.example").id


def test_two_annas_stay_two_people():
    docs = [
        card("c1", "Anna Schmidt", emails=["anna.schmidt@acme.example"]),
        card("c2", "Anna Kovacs", emails=["anna.kovacs@acme.example"]),
        mail(
            "m1", party("from", "Anna Schmidt", "anna.schmidt@acme.example"), body="Hi,\n\nthe report.\n\nBest,\nAnna"
        ),
        mail("m2", party("from", "Anna Kovacs", "anna.kovacs@acme.example"), body="Hi,\n\nthe slides.\n\nBest,\nAnna"),
        chat("w1", "Anna"),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    schmidt, kovacs = (
        entity_of(res, "email:anna.schmidt@acme.example"),
        entity_of(res, "email:anna.kovacs@acme.example"),
    )
    assert schmidt.id != kovacs.id
    # a bare "Anna" in the chat could be either: it is not attached to one of them
    chat_links = [m for m in res.mentions if m.doc_id == "w1"]
    assert all(m.entity_id not in (schmidt.id, kovacs.id) for m in chat_links)


def test_shared_surname_alone_never_merges():
    docs = [
        mail("m1", party("from", "Tom Smith", "tom.smith@acme.example")),
        mail("m2", party("from", "Smith, Anna", "anna.smith@acme.example"), thread="m1"),
        mail("m3", party("from", "Smith", "smith@acme.example")),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    ids = {res.lookup(f"email:{a}@acme.example").id for a in ("tom.smith", "anna.smith", "smith")}
    assert len(ids) == 3


def test_two_contact_cards_are_two_people_even_with_the_same_name():
    docs = [
        card("c1", "John Miller", emails=["john@acme.example"]),
        card("c2", "John Miller", emails=["jmiller@acme.example"]),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    assert res.lookup("email:john@acme.example").id != res.lookup("email:jmiller@acme.example").id


def test_chat_names_attach_only_when_unique():
    docs = [
        card("c1", "Jekaterina Roth", emails=["jroth@mail.example"], nicknames=["Katja"]),
        card("c2", "William Brandt", emails=["wb@mail.example"]),
        card("c3", "Susanne Brandt", emails=["susanne@mail.example"]),
        mail(
            "m1", party("from", "Susanne Brandt", "susanne@mail.example"), body="Liebe Lena,\n\nbis bald.\n\nKuss, Mama"
        ),
        chat("w1", "Katja ❤️"),
        chat("w2", "Will (Cousin)"),
        chat("w3", "Mama"),
        chat("w4", "Lena Brandt"),
        chat("w5", "Unknown Person"),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    link = {m.doc_id: m.entity_id for m in res.mentions if m.doc_id.startswith("w")}
    assert link["w1"] == res.lookup("email:jroth@mail.example").id
    assert link["w2"] == res.lookup("email:wb@mail.example").id
    assert link["w3"] == res.lookup("email:susanne@mail.example").id
    stranger = res.get(link["w5"])
    assert stranger.name == "Unknown Person" and stranger.confidence <= 0.6 and not stranger.aliases["emails"]
    assert "Katja ❤️" in res.get(link["w1"]).aliases["names"]


def test_entity_tier_is_the_highest_tier_of_its_evidence():
    docs = [
        mail("m1", party("from", "Bob Smith", "bob@acme.example"), tier="LOW"),
        card("c1", "Bob Smith", emails=["bob@acme.example"]),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    assert entity_of(res, "email:bob@acme.example").tier == "MEDIUM"
    docs.append(mail("m2", party("from", "Bob Smith", "bob@acme.example"), tier="HIGH"))
    res = resolve(docs, options=ResolveOptions(text=False))
    bob = entity_of(res, "email:bob@acme.example")
    assert bob.tier == "HIGH" and set(bob.evidence) == {"m1", "m2", "c1"}


def test_orgs_projects_places_and_links():
    docs = [
        card("c1", "Omar Huber", emails=["omar@nordwind.example"], org="Nordwind Analytics GmbH"),
        make_doc(
            "n1",
            source="notes",
            kind="note",
            title="Harbor",
            body="# Harbor\nPipeline.",
            tier="MEDIUM",
            attributes={"path": "Projects/Harbor.md", "aliases": []},
        ),
        make_doc(
            "n2",
            source="notes",
            kind="note",
            title="Daily",
            body="Met [[Omar Huber]] about [[Harbor]]",
            tier="MEDIUM",
            links=["Omar Huber", "Harbor", "#harbor", "#daily", "Nobody Known"],
            attributes={"path": "Daily/2024-01-01.md"},
        ),
        make_doc(
            "t1",
            source="bank_csv",
            kind="transaction",
            title="NORDWIND ANALYTICS GMBH",
            body="Gehalt",
            parties=[party("merchant", "NORDWIND ANALYTICS GMBH")],
            when="2024-01-28T00:00:00",
        ),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    orgs = {e.name: e for e in res.of_kind(ORG)}
    nordwind = orgs["Nordwind Analytics GmbH"]
    assert "t1" in nordwind.evidence  # the salary payer is the contact's employer
    project = next(e for e in res.of_kind("project"))
    n2_links = {(m.role, m.entity_id) for m in res.mentions if m.doc_id == "n2"}
    omar = res.lookup("email:omar@nordwind.example")
    assert (
        ("wikilink", omar.id) in n2_links and ("wikilink", project.id) in n2_links and ("tag", project.id) in n2_links
    )
    assert len(n2_links) == 3  # "#daily" and an unknown link name nothing known


def test_text_mentions_carry_offsets_and_skip_quotes():
    body = "Hi,\n\nI talked to Anna Mendes about Lighthouse today.\n\n> Anna Mendes wrote this earlier"
    docs = [
        mail("m1", party("from", "Anna Mendes", "anna.mendes@acme.example")),
        make_doc(
            "n1",
            source="notes",
            kind="note",
            title="Lighthouse",
            tier="MEDIUM",
            attributes={"path": "Projects/Lighthouse.md"},
        ),
        make_doc("m2", title="Update", body=body, parties=[party("from", "Bob", "bob@acme.example"), ME]),
    ]
    res = resolve(docs)
    anna = res.lookup("email:anna.mendes@acme.example")
    hits = [m for m in res.mentions if m.doc_id == "m2" and m.role == "text"]
    spans = {(body[m.start : m.end], m.entity_id) for m in hits}
    assert ("Anna Mendes", anna.id) in spans
    assert any(text == "Lighthouse" for text, _ in spans)
    assert all(m.start < body.index(">") for m in hits)


def test_owner_is_found_and_flagged():
    docs = [mail(f"m{i}", party("from", f"Friend {i}", f"f{i}@mail.example")) for i in range(4)]
    res = resolve(docs, options=ResolveOptions(text=False))
    me = res.get(res.self_id)
    assert me is not None and me.is_self and me.aliases["emails"] == ["lena@home.example"]


def test_secret_keys_entity_ids():
    docs = [mail("m1", party("from", "Bob Smith", "bob@acme.example"))]
    plain = resolve(docs, options=ResolveOptions(text=False)).lookup("email:bob@acme.example").id
    keyed = resolve(docs, options=ResolveOptions(text=False, secret=b"k" * 32)).lookup("email:bob@acme.example").id
    assert plain != keyed and keyed.startswith("per_")


def test_normalise_then_extract_signature_mention():
    doc = mail("m1", party("from", "Robert Smith", "bob@acme.example"), body="Hi,\n\nsure.\n\nCheers,\nBob")
    mentions = extract(doc, normalise(doc))
    sig = [m for m in mentions if m.role == "signature"]
    assert len(sig) == 1 and sig[0].name == "Bob" and sig[0].signs_for == "bob@acme.example"
    assert doc.body[sig[0].start : sig[0].end] == "Bob"
