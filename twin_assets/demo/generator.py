"""Generate the demo persona's exports and ``ground_truth.json``.

One pass over the days of the period; every writer renders that day's items straight to its file,
so memory stays flat however many records are asked for. Each writer draws from its own seeded
RNG stream, and nothing reads the clock, so the same arguments always give the same bytes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta

from twin_assets.demo import names, text
from twin_assets.demo.calendar import CalendarWriter
from twin_assets.demo.chat import SlackWriter, WhatsAppWriter
from twin_assets.demo.contacts import write_contacts
from twin_assets.demo.finance import SALARY_DAY, FinanceWriter
from twin_assets.demo.fmt import month_key
from twin_assets.demo.mail import DOCTOR, MailWriter, plant
from twin_assets.demo.notes import NotesWriter
from twin_assets.demo.truth import Truth
from twin_assets.demo.world import World, build_world
from twin_assets.tiers import HIGH

GROUND_TRUTH = "ground_truth.json"
OWNED = ("mail", "calendar", "contacts", "notes", "finance", "chat", GROUND_TRUTH)
FORMAT_VERSION = 1

Progress = Callable[[str, int], None]


def _prepare(out_dir: Path) -> None:
    """Write into an empty folder, or replace a previous demo; never clobber anything else."""
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / GROUND_TRUTH).is_file():
            raise FileExistsError(f"{out_dir} is not empty and holds no previous demo output ({GROUND_TRUTH})")
        for name in OWNED:
            path = out_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    for sub in ("mail", "calendar", "contacts", "notes", "finance", "chat/slack"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    people: int = 40,
    years: int = 3,
    end: date = date(2026, 6, 30),
    volume: float = 1.0,
    progress: Progress | None = None,
) -> dict:
    """Write a synthetic person's exports (mail, calendar, contacts, notes, bank, chat) under ``out_dir``.

    ``people`` (at least 12), ``years`` and ``volume`` (a multiplier on message rates) scale the
    record count from a few hundred to millions. Returns ``{"files": {path: records}, "records": n}``.
    """
    out_dir = Path(out_dir)
    report = progress or (lambda _stage, _n: None)
    world = build_world(seed, people=people, years=years, end=end, volume=volume)
    _prepare(out_dir)
    truth = Truth(seed)
    _define_topics(truth, world)
    truth.patterns["job_change"] = {
        "date": world.job_change.isoformat(),
        "from_org": names.ORGS["A"]["name"],
        "to_org": names.ORGS["B"]["name"],
    }
    report("setup", 0)

    contacts_count, card_uids = write_contacts(world, out_dir / "contacts" / "contacts.vcf")
    notes = NotesWriter(world, truth, out_dir / "notes")
    notes.static()
    notes.plant_sentiment()
    cal = CalendarWriter(world, truth, out_dir / "calendar" / "calendar.ics")
    calendar_patterns = cal.recurring()
    cal.plant()
    mail = MailWriter(world, truth, out_dir / "mail" / "mailbox.mbox")
    finance = FinanceWriter(world, truth, out_dir / "finance" / "statement.csv", out_dir / "finance" / "statement.ofx")
    finance.plan()
    slack = SlackWriter(world, truth, out_dir / "chat" / "slack")
    slack.plant()
    whatsapp = WhatsAppWriter(world, truth, out_dir / "chat" / "whatsapp.txt")
    whatsapp.plant()
    plant(mail)

    writers = (mail, cal, notes, finance, slack, whatsapp)

    def total() -> int:
        return contacts_count + sum(getattr(wr, "count", 0) for wr in writers) + finance.csv_count + finance.ofx_count

    current = month_key(world.start)
    for day in world.days():
        if month_key(day) != current:
            report(current, total())
            current = month_key(day)
        for writer in writers:
            writer.day(day)
    report(current, total())
    mail.close()
    cal.close()
    finance.close()
    whatsapp.close()

    files = {
        "mail/mailbox.mbox": mail.count,
        "calendar/calendar.ics": cal.count,
        "contacts/contacts.vcf": contacts_count,
        "notes": notes.count,
        "finance/statement.csv": finance.csv_count,
        "finance/statement.ofx": finance.ofx_count,
        "chat/slack": slack.count,
        "chat/whatsapp.txt": whatsapp.count,
    }
    records = sum(files.values())
    summary = {"files": files, "records": records}
    truth_doc = _ground_truth(world, truth, calendar_patterns, card_uids, summary, seed=seed, years=years)
    with (out_dir / GROUND_TRUTH).open("w", encoding="utf-8", newline="\n") as fh:
        json.dump(truth_doc, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
    report("done", records)
    return summary


def _define_topics(truth: Truth, world: World) -> None:
    spec = text.TOPICS
    truth.define_topic(
        "lighthouse",
        spec["lighthouse"]["keywords"],
        name=spec["lighthouse"]["label"],
        start_month=month_key(world.lighthouse_start),
        trend="rising",
        sources=["email", "slack", "calendar", "notes"],
    )
    truth.define_topic(
        "harbor",
        spec["harbor"]["keywords"],
        name=spec["harbor"]["label"],
        start_month=month_key(world.start),
        end_month=month_key(world.job_change),
        trend="ends",
        sources=["email", "calendar", "notes"],
    )
    truth.define_topic(
        "marathon",
        spec["marathon"]["keywords"],
        name=spec["marathon"]["label"],
        start_month=month_key(world.strengthen_start),
        trend="rising",
        sources=["email", "whatsapp", "calendar", "notes"],
    )
    truth.define_topic(
        "renovation",
        spec["renovation"]["keywords"],
        name=spec["renovation"]["label"],
        start_month=month_key(world.renovation[0]),
        end_month=month_key(world.renovation[1]),
        trend="burst",
        sources=["email", "whatsapp", "notes"],
    )
    truth.define_topic(
        "wedding",
        spec["wedding"]["keywords"],
        name=spec["wedding"]["label"],
        start_month=month_key(world.wedding_day - timedelta(days=180)),
        end_month=month_key(world.wedding_day),
        trend="burst",
        sources=["email", "whatsapp"],
    )


def _ground_truth(
    world: World, truth: Truth, cal: dict, card_uids: dict[str, str], summary: dict, *, seed: int, years: int
) -> dict:
    me = world.persona
    persona = {
        "name": me["name"],
        "birthday": me["birthday"].isoformat(),
        "city": me["city"],
        "timezone": me["tz"],
        "emails": [me["personal_email"], names.ORGS["A"]["persona_email"], names.ORGS["B"]["persona_email"]],
        "handles": {
            "slack_user_id": me["slack_id"],
            "slack_handle": me["slack_handle"],
            "whatsapp_name": me["whatsapp_name"],
        },
        "phone": me["phone"],
        "contact_uid": card_uids["self"],
    }
    people = []
    for p in world.people:
        orgs = [names.ORGS[p.org]["name"]] if p.org else []
        emails = sorted(set(p.emails + ([p.old_email] if p.old_email else [])))
        aliases = {
            "emails": emails,
            "display_names": p.display_names,
            "nickname": p.nick,
            "slack": {"user_id": p.slack_id, "handle": p.slack_name} if p.slack_id else None,
            "whatsapp_name": p.whatsapp_name,
            "contact_uid": card_uids.get(p.id),
            "calendar_cn": p.calendar_cn,
            "phone": p.phone,
        }
        flat = set(emails) | set(p.display_names) | {p.name}
        flat |= {v for v in (p.nick, p.slack_id, p.slack_name, p.whatsapp_name, p.calendar_cn) if v}
        person = {
            "id": p.id,
            "name": p.name,
            "first_name": p.first,
            "last_name": p.last,
            "group": p.group,
            "role": p.role,
            "organisations": orgs,
            "title": p.title,
            "timezone": p.tz,
            "birthday": p.birthday.isoformat(),
            "aliases": aliases,
            "all_aliases": sorted(flat),
        }
        if p.email_switch:
            person["email_switch"] = {
                "date": p.email_switch.isoformat(),
                "old": p.old_email,
                "new": p.emails[0],
            }
        people.append(person)

    r = world.by_role
    rent_next = (world.end.replace(day=1) + relativedelta(months=1)).replace(day=names.LANDLORD["day"])
    patterns = dict(truth.patterns)
    patterns.update(
        {
            "weekly_one_on_one": cal["weekly_one_on_one"],
            "recurring_events": cal["recurring"],
            "birthdays": cal["birthdays"],
            "sibling_wedding": cal["wedding"],
            "monthly_rent": {
                "source": "bank_csv",
                "day": names.LANDLORD["day"],
                "amount": -names.LANDLORD["rent"],
                "payee": names.LANDLORD["name"],
                "next_date": rent_next.isoformat(),
            },
            "salary": {
                "source": "bank_csv",
                "day": SALARY_DAY,
                "payers": [
                    {"payer": names.ORGS[k]["salary_payer"], "amount": names.ORGS[k]["salary"]} for k in ("A", "B")
                ],
            },
            "fading_friendship": {
                "person": r["fading_friend"].id,
                "decline_starts": month_key(world.fade_start),
                "sources": ["email", "whatsapp", "calendar"],
            },
            "strengthening_tie": {
                "person": r["new_friend"].id,
                "starts": month_key(world.strengthen_start),
                "topic": "marathon",
                "sources": ["email", "whatsapp", "calendar"],
            },
            "rising_topic": {
                "topic": "lighthouse",
                "label": text.TOPICS["lighthouse"]["label"],
                "keywords": text.TOPICS["lighthouse"]["keywords"],
                "start_month": month_key(world.lighthouse_start),
            },
            "communication_anomaly": {
                "person": r["conflict_friend"].id,
                "kind": "burst with negative sentiment",
                "start": world.burst_start.isoformat(),
                "end": world.burst_end.isoformat(),
                "sources": ["whatsapp", "email", "notes"],
                "aftermath": "contact drops to about a fifth for 50 days",
            },
            "trips": [
                {
                    "start": t.start.isoformat(),
                    "end": t.end.isoformat(),
                    "destination": t.city,
                    "country": t.country,
                    "calendar_uid": t.uid,
                    "message_ids": t.message_ids,
                    "fitids": t.fitids,
                    "with_partner": r["partner"].id if t.with_partner else None,
                }
                for t in world.trips
            ],
        }
    )
    horizon = world.end + timedelta(days=60)
    upcoming = [
        {
            "what": "weekly 1:1",
            "uid": cal["weekly_one_on_one"]["uid"],
            "person": r["manager_b"].id,
            "dates": cal["weekly_one_on_one"]["next_occurrences"],
        },
        {
            "what": "monthly rent",
            "source": "bank_csv",
            "dates": [rent_next.isoformat()],
            "amount": -names.LANDLORD["rent"],
        },
    ]
    upcoming += [
        {"what": e["what"], "uid": e["uid"], "dates": e["next_occurrences"]}
        for e in cal["recurring"]
        if "next_occurrences" in e
    ]
    upcoming += [
        {"what": "birthday", "uid": b["uid"], "person": b["person"], "dates": [b["next"]]}
        for b in cal["birthdays"]
        if date.fromisoformat(b["next"]) <= horizon
    ]
    patterns["upcoming_commitments"] = upcoming

    return {
        "generator": {
            "seed": seed,
            "people": len(world.people),
            "years": years,
            "volume": world.volume,
            "start": world.start.isoformat(),
            "end": world.end.isoformat(),
            "version": FORMAT_VERSION,
        },
        "formats": {
            "finance/statement.csv": {
                "encoding": "latin-1",
                "delimiter": ";",
                "decimal": ",",
                "date_format": "DD.MM.YYYY",
                "header_rows": 1,
                "currency": "EUR",
            },
            "finance/statement.ofx": {"version": "OFX 1.02 SGML", "charset": "cp1252", "account": "CHECKING"},
            "chat/whatsapp.txt": {
                "layout": "M/D/YY, h:mm AM - Name: text",
                "locale": "en_US (Android)",
                "timezone": "Europe/Berlin",
                "group": WhatsAppWriter.GROUP,
            },
            "chat/slack": {"workspace": names.ORGS["B"]["name"], "covers_from": world.job_change.isoformat()},
            "mail/mailbox.mbox": {"style": "Google Takeout mbox", "line_endings": "LF"},
            "calendar/calendar.ics": {
                "line_endings": "CRLF",
                "timezones": ["America/New_York", "Europe/Berlin"],
            },
            "contacts/contacts.vcf": {"versions": ["3.0", "4.0"]},
        },
        "persona": persona,
        "organisations": [{"key": k, "name": v["name"], "domain": v["domain"]} for k, v in sorted(names.ORGS.items())],
        "people": people,
        "relationships": world.relationships,
        "patterns": patterns,
        "sentiment": truth.sentiment,
        "topics": truth.topics_json(),
        "sensitive": truth.sensitive,
        "low_canaries": truth.low_canaries,
        "high_only_entities": [DOCTOR["name"]],
        "high_only_entity_details": [
            {
                "name": DOCTOR["name"],
                "kind": "person",
                "role": "doctor",
                "organisation": DOCTOR["practice"],
                "email": DOCTOR["email"],
                "appears_in": [
                    s["locator"] for s in truth.sensitive if s["category"] == "medical" and s["tier"] == HIGH
                ],
            }
        ],
        "summary": summary,
    }
