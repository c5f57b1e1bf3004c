"""Ask about people on a small home built from real export formats (mbox, vCard, iCalendar, bank CSV): the
relation with its evidence, the last contact before as-of, most contacted, drifting apart, reply debt, employers,
the manager then and now, how things are with someone, "my mom" and misspelt names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ME = ("Lena Brandt", "lena@acme-labs.example")
ME_HOME = ("Lena Brandt", "lena.brandt@post.example")
OLD_JOB = ("Lena Brandt", "lena@oldco-systems.example")
MOM = ("Susanne Brandt", "susanne.brandt@post.example")
BOB = ("Bob Stone", "bob@acme-labs.example")
BOSS = ("Carla Wendt", "carla@acme-labs.example")
OLD_BOSS = ("Otto Ferris", "otto@oldco-systems.example")
PACO = ("Paco Krause", "paco@mail.example")
ANNA = ("Anna Eriksen", "anna.eriksen@mail.example")
T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)
AS_OF = datetime(2025, 1, 10, 12, tzinfo=UTC)
JOB_CHANGE = datetime(2024, 5, 1, tzinfo=UTC)

VCF = """BEGIN:VCARD
VERSION:3.0
FN:Lena Brandt
EMAIL;type=HOME:lena.brandt@post.example
EMAIL;type=WORK:lena@acme-labs.example
BDAY:1990-04-01
UID:me-1
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Susanne Brandt
NICKNAME:Mama
EMAIL:susanne.brandt@post.example
BDAY:1958-02-02
UID:mom-1
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Carla Wendt
ORG:ACME Labs GmbH;
TITLE:Head of Engineering
EMAIL:carla@acme-labs.example
UID:boss-1
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Otto Ferris
ORG:Oldco Systems AG;
TITLE:Engineering Manager
EMAIL:otto@oldco-systems.example
UID:oldboss-1
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Bob Stone
ORG:ACME Labs GmbH;
TITLE:Data Engineer
EMAIL:bob@acme-labs.example
UID:bob-1
END:VCARD
"""


def _mail(n: int, when: datetime, sender: tuple[str, str], to: tuple[str, str], subject: str, body: str) -> str:
    date = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        f"From {sender[1]} {when:%a %b %d %H:%M:%S %Y}\n"
        f"From: {sender[0]} <{sender[1]}>\nTo: {to[0]} <{to[1]}>\nSubject: {subject}\nDate: {date}\n"
        f"Message-ID: <m{n}@test.example>\nContent-Type: text/plain; charset=utf-8\n\n{body}\n\n"
    )


def _mbox() -> str:
    out: list[str] = []

    def add(when, sender, to, subject, body):
        out.append(_mail(len(out), when, sender, to, subject, body))

    for week in range(54):
        t = T0 + timedelta(days=7 * week)
        work, boss = (OLD_JOB, OLD_BOSS) if t < JOB_CHANGE else (ME, BOSS)
        add(t, boss, work, f"Status week {week}", "Hi Lena,\n\nthanks for the update, looks good.\n\nBest")
        add(t + timedelta(hours=1), work, boss, f"Re: Status week {week}", "Thanks!\n\nLena")
        if t >= JOB_CHANGE:
            add(t + timedelta(hours=2), BOB, ME, f"Pipeline {week}", "Hi Lena,\n\nthe pipeline run finished.\n\nBob")
            add(t + timedelta(hours=3), ME, BOB, f"Re: Pipeline {week}", "Great, thanks Bob.\n\nLena")
        add(t + timedelta(hours=4), MOM, ME_HOME, f"Sonntag {week}", "Hallo Lena,\n\nwie geht es dir?\n\nKuss, Mama")
        add(t + timedelta(hours=5), ME_HOME, MOM, f"Re: Sonntag {week}", "Hi Mom,\n\nall good, love you.\n\nLena")
        # Anna: weekly until the autumn, then hardly at all.
        if t < datetime(2024, 9, 1, tzinfo=UTC) or week % 6 == 0:
            add(t + timedelta(hours=6), ANNA, ME_HOME, f"Climbing {week}", "Hey Lena,\n\nclimbing on Thursday?\n\nAnna")
            add(t + timedelta(hours=7), ME_HOME, ANNA, f"Re: Climbing {week}", "Sure, see you there!\n\nLena")
        # Paco: friendly every other week, then an angry burst in the last weeks.
        angry = t >= AS_OF - timedelta(days=30)
        if week % 2 == 0 or angry:
            body = (
                "Hi Lena,\n\nI am furious and hurt. That was awful, unfair and disrespectful. I hate this.\n\nPaco"
                if angry
                else "Hi Lena,\n\nwhat a wonderful evening, thank you so much, it was great!\n\nPaco"
            )
            add(t + timedelta(hours=8), PACO, ME_HOME, f"Evening {week}", body)
            if not angry:
                add(t + timedelta(hours=9), ME_HOME, PACO, f"Re: Evening {week}", "Lovely, thank you!\n\nLena")
    return "".join(out)


def _ics() -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:one-on-one@test\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240506T100000Z\r\nDTEND:20240506T103000Z\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=80\r\nSUMMARY:1:1 Lena / Carla\r\n"
        "ORGANIZER;CN=Carla Wendt:mailto:carla@acme-labs.example\r\n"
        "ATTENDEE;CN=Lena Brandt:mailto:lena@acme-labs.example\r\n"
        "ATTENDEE;CN=Carla Wendt:mailto:carla@acme-labs.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _csv() -> str:
    rows = ["Date,Payee,Description,Amount,Currency"]
    for m in range(1, 13):
        payer = "OLDCO SYSTEMS AG" if m < 5 else "ACME LABS GMBH"
        rows.append(f"2024-{m:02d}-27,{payer},Gehalt,3000.00,EUR")
        rows.append(f"2024-{m:02d}-28,Umbuchung Tagesgeld,Transfer,500.00,EUR")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def people_home(tmp_path_factory) -> Path:
    from twin_assets.pipeline import model
    from twin_assets.pipeline.documents import build_documents
    from twin_assets.pipeline.inputs import register_input
    from twin_assets.pipeline.sync import sync_source
    from twin_assets.settings import get_settings
    from twin_assets.twin import open_twin
    from twin_query.setup import init_home

    base = tmp_path_factory.mktemp("people")
    home = base / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_HOME", str(home))
        mp.delenv("DAGSTER_HOME", raising=False)
        settings = get_settings()
        init_home(settings)
        twin = open_twin(settings)
        for name, text, source in (
            ("mail.mbox", _mbox(), "email"),
            ("contacts.vcf", VCF, "contacts"),
            ("cal.ics", _ics(), "calendar"),
            ("bank.csv", _csv(), "bank_csv"),
        ):
            (base / name).write_text(text, newline="")
            register_input(twin, base / name, source, "ingest")
            sync_source(twin, source)
        build_documents(twin)
        for view in ("LOW", "MEDIUM", "HIGH"):
            for step in (model.build_entities, model.build_sentiment, model.build_timeline, model.build_relations):
                step(twin, view)
        twin.close()
    return home


@pytest.fixture
def asker(people_home, monkeypatch):
    from twin_assets.settings import get_settings
    from twin_query.ask import ask
    from twin_query.service import QueryService

    monkeypatch.setenv("TWIN_HOME", str(people_home))
    service = QueryService(get_settings())

    def run(question: str, as_of: datetime = AS_OF) -> dict:
        return ask(service, question, as_of=as_of, use_llm=False)

    yield run
    service.close()


def _name(r: dict) -> str | None:
    v = (r.get("fact") or {}).get("value")
    return v.get("name") if isinstance(v, dict) else None


def _names(r: dict) -> list[str]:
    v = (r.get("fact") or {}).get("value")
    return [x["name"] for x in v] if isinstance(v, list) else []


def _no_late_evidence(r: dict, as_of: datetime = AS_OF) -> bool:
    return all(e["timestamp"] is None or datetime.fromisoformat(e["timestamp"]) <= as_of for e in r["evidence"])


def test_how_do_i_know_gives_the_relation_and_its_evidence(asker):
    r = asker("how do I know Carla Wendt?")
    assert r["intent"] == "how_know" and not r["refused"]
    assert r["fact"]["value"] == {"relation": "manager", "organisation": "ACME Labs GmbH"}
    assert r["evidence"] and _no_late_evidence(r)
    r = asker("who is Bob to me")
    assert r["fact"]["value"]["relation"] == "colleague"
    assert asker("how do i know susanne.brandt@post.example")["fact"]["value"]["relation"] == "mother"


def test_family_and_role_words_resolve_in_any_question(asker):
    assert _name(asker("who is my mom?")) == "Susanne Brandt"
    r = asker("when did I last talk to my mother?")
    assert r["intent"] == "last_contact" and r["fact"]["kind"] == "datetime"
    assert datetime.fromisoformat(r["fact"]["value"]) <= AS_OF
    assert _name(asker("who is my boss?")) == "Carla Wendt"


def test_manager_now_and_then_and_employers(asker):
    assert _name(asker("who was my manager in March 2024?")) == "Otto Ferris"
    assert _name(asker("who is my manager?")) == "Carla Wendt"
    assert _name(asker("who is my manager?", as_of=datetime(2024, 3, 1, tzinfo=UTC))) == "Otto Ferris"
    r = asker("where did I work before?")
    assert r["intent"] == "employer_history" and "Oldco" in r["fact"]["value"]
    assert "ACME" in asker("where do I work?")["fact"]["value"]
    # A transfer between the owner's own accounts is no employer.
    assert "Umbuchung" not in str(asker("where have I worked?")["answer"])


def test_last_contact_is_the_last_one_before_as_of(asker):
    as_of = datetime(2024, 6, 1, tzinfo=UTC)
    r = asker("when did I last hear from Anna Eriksen?", as_of=as_of)
    got = datetime.fromisoformat(r["fact"]["value"])
    assert as_of - timedelta(days=8) < got <= as_of and _no_late_evidence(r, as_of)
    # A name with a typo still finds the person, with a little less confidence.
    r2 = asker("when did I last hear from Ana Eriksen?", as_of=as_of)
    assert r2["fact"]["value"] == r["fact"]["value"] and r2["confidence"] <= r["confidence"]


def test_most_contacted_drifting_reply_debt_and_state(asker):
    assert _names(asker("which colleague have I talked to most lately?"))[0] in ("Bob Stone", "Carla Wendt")
    assert "Anna Eriksen" in _names(asker("who am I drifting apart from?"))[:3]
    assert "Paco Krause" in _names(asker("who is waiting for a reply from me?"))
    r = asker("how are things with Paco?")
    assert r["intent"] == "relationship_state" and r["fact"]["value"] == "strained"
    assert asker("how are things with Paco?", as_of=datetime(2024, 10, 1, tzinfo=UTC))["fact"]["value"] == "steady"
