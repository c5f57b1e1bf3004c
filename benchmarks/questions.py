"""Questions a person asks about their own life, in their own words, graded against the demo's ground truth.

Issue 17's benchmark for ``twin ask``. For each seed it generates the demo persona, ingests and materializes it
into a temporary home, writes several hundred natural questions with an as-of date each, computes the
expected answer **by code** (from ``ground_truth.json`` and, where the truth file lacks the fact, from the
exported records themselves: last contact, reply debt, next week's calendar, spending and income), asks
``twin_query.ask.ask`` in process and grades the answer's ``fact`` (issue 17's answer contract: ``fact``,
``refused``, ``confidence``; answers without them are graded on their text, see below).

    python -m benchmarks.questions                          # dev split, seeds 7 11 23, 40 people, 3 years
    python -m benchmarks.questions --seeds 7 --split dev    # one seed
    python -m benchmarks.questions --keep /tmp/qhomes       # reuse generated+materialized homes between runs
    python -m benchmarks.questions --split dev --kind birthday --show-failures   # iterate on one kind
    python -m benchmarks.questions --split dev --show-passes                     # audit what passes
    python -m benchmarks.questions --people 12 --years 1    # a small world, fast
    python -m benchmarks.questions --split all --json out.json
    python -m benchmarks.questions --questions-only --keep /tmp/q --split all   # count the questions, no twin

``--keep DIR`` keeps each seed's home and exports in ``DIR/s<seed>-p<people>-y<years>``; the next run only
materializes what is stale (new or changed model steps), so answer helpers can iterate in minutes.

Splits: ``dev`` phrasings live in this file (answer helpers may read and tune on them); ``heldout``
phrasings live in ``benchmarks/questions_heldout.py``, which answer helpers must never open. Held-out
questions also use other as-of dates (odd day ordinals; dev uses even ones). ``--show-failures`` only
prints dev questions.

Definitions the expected answers use (the answerer is graded against these):

* *contact* with a person: an e-mail between them and the owner (not a mailing-list post), a chat message
  (WhatsApp, Slack) they wrote, or a calendar event they attend that started at or before as-of. *Seeing*
  someone: a calendar event they attend. Recurring events count only for occurrences at or before as-of.
* *lately* = the 90 days up to as-of; *last month* = the previous calendar month; *this year* = 1 January to
  as-of; *in March* = the latest March that has begun by as-of (this year's, when past); *the last two weeks*
  = as-of's day and the 13 before it; *next week* = the calendar week (Monday-Sunday) after as-of's week.
* *reply debt*: people whose latest e-mail addressed to the owner (in To) within the 14 days before as-of was
  not followed (before as-of) by an e-mail from the owner to them.
* *income*: money in, excluding transfers between the owner's own accounts (OFX ``XFER``, or a counterparty
  named after the owner).
* *spend* per category: the generator's own merchant lists (``benchmarks.retrieval.gold_category``).
* *trips*: the truth's planned trips (a sibling's wedding at a venue is not one); the *next trip* is the first
  starting after as-of that was booked (its flight paid) by then; *trip count* in a year counts trips started
  in that year by as-of. *Drifting apart*: the truth's fading friend, asked six to twelve months into the
  fade (later the contact is low but no longer falling). *How are things with X*: ``strained`` in the 20 days
  after the conflict burst, ``fading`` for the fading friend (same window), ``strengthening`` for the new
  friend 5 to 14 months into the tie, ``steady`` for the partner.
* *relation* ("how do I know X"): partner, mother (also family), sibling (also family), family (cousins),
  friend, manager (also colleague), colleague with the organisation; asked only after the relation began and
  the owner was in contact. *Manager* and *employer* at a date: the truth's relationships and job change.

Grading, by the expected fact's kind (``fact.kind`` of the answer contract; a missing ``fact`` falls back to
"the expected value appears in the answer's first sentence"):

* person: the fact's entity resolves to the person (its id maps to them via their e-mails in the view) or its
  name matches one of their aliases. people_top: one of the answer's first three people is the expected top
  person (ties within 5% count). people_set: precision and recall of the answer's people both >= 0.5.
* date: exact (the ISO date in UTC or in the owner's zone; datetime/range/event facts give their start's date).
* amount: within 0.01, and the currency when given. count: exact. place / organisation: case- and
  accent-insensitive (an organisation may leave out "GmbH"). relation: the relation is among the accepted
  ones and the organisation, when given, matches. trend: exact.
* events: every required item (e.g. a trip's destination) is among the events, and at least half of next
  week's expected event titles are.
* topic / busy with: a keyword of a topic planted in that period appears among the first three items of the
  fact's text (or of the answer), items separated by ";" or new lines. timeline: the month's planted life event
  (a trip's destination, the wedding, the new employer) appears anywhere in the fact's text or the answer.
* unanswerable: ``refused`` is true, or the answer starts with "I don't know".

Also reported: refusal rate on unanswerables, false refusals on answerables, the share of answers whose cited
evidence is all dated at or before as-of (records looked up by id in the home; for questions about the future,
scheduled calendar events after as-of are allowed), and p50/p95 ask latency. Prints only synthetic data.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BERLIN = ZoneInfo("Europe/Berlin")
LATELY_DAYS = 90
REPLY_WINDOW_DAYS = 14
GENERIC_TOPIC_WORDS = frozenset({"recall", "pace", "search", "training", "pipeline", "dashboard", "speech"})
FUTURE_KINDS = frozenset({"next_trip", "upcoming", "meet_next_week", "birthday"})

# ---- dev phrasings ---------------------------------------------------------------------------------------
# Hand-written surface forms per kind. Placeholders: {p} a person reference (full name, first name, nickname,
# e-mail, lower case...), {pp} its possessive, {win} a time window, {period} a spending period, {cat} a
# spending category, {place}, {year}, {yearword}, {monthyear}, {org_now}, {org_old}, {fam} a family/role term.
DEV_PHRASES: dict[str, list[str]] = {
    "most_contacted": [
        "who have I talked to most {win}?",
        "who've i been talking to the most {win}",
        "who do I talk to the most {win}",
        "{win} who was I in contact with most",
        "my most contacted person {win}?",
        "who have i been chatting with most {win}",
    ],
    "most_contacted_work": [
        "which colleague have I talked to most {win}?",
        "who at work did i talk to the most {win}",
        "{win}, which coworker was I in touch with most",
        "most contacted colleague {win}",
    ],
    "most_contacted_friends": [
        "which friend have I talked to most {win}?",
        "who among my friends have i been talking to most {win}",
        "{win} which friend did I chat with the most",
        "my closest friend by contact {win}?",
    ],
    "drifting": [
        "who am I drifting apart from?",
        "who am i losing touch with",
        "which friends have I not talked to much lately",
        "am I drifting away from anyone?",
        "who do I talk to less and less",
    ],
    "next_trip_place": [
        "where is my next trip?",
        "where am I going next",
        "wheres my next trip to",
        "next trip destination?",
        "where's the next holiday",
    ],
    "next_trip_date": [
        "when is my next trip?",
        "whens my next trip",
        "when do I leave on my next trip",
        "next trip - when does it start?",
        "when am i going away next",
    ],
    "trip_companions": [
        "who came with me to {place}?",
        "who was with me in {place}",
        "who did i travel to {place} with",
        "{place} trip, who came along?",
        "did someone come to {place} with me? who",
    ],
    "trip_count": [
        "how many trips did I take in {year}?",
        "how many times did I travel in {year}",
        "number of trips {yearword}?",
        "how many trips {yearword}",
        "{year} - how many trips did i do",
    ],
    "employer_before": [
        "where did I work before?",
        "where did i work before {org_now}",
        "what was my previous job",
        "which company was I at before this one?",
        "my last employer?",
    ],
    "employer_now": [
        "where do I work?",
        "who is my employer",
        "which company do i work at",
        "where am I working now?",
    ],
    "manager_now": [
        "who is my manager?",
        "who's my boss",
        "whos my manager now",
        "who do I report to?",
        "my boss?",
    ],
    "manager_past": [
        "who was my manager in {monthyear}?",
        "who was my boss back in {monthyear}",
        "who did i report to at {org_old}",
        "my manager at {org_old}?",
    ],
    "reply_debt": [
        "who is waiting for a reply from me?",
        "who did i forget to reply to",
        "any mails I still need to answer?",
        "who should I get back to?",
        "who am i waiting to reply to",
        "which emails haven't I answered",
        "anyone I owe a reply?",
    ],
    "busy_with": [
        "what have I been busy with lately?",
        "what have i been doing recently",
        "what's been keeping me busy lately",
        "what's taken up most of my time recently?",
        "what have I been working on these days",
    ],
    "relation": [
        "how do I know {p}?",
        "how do i know {p}",
        "who is {p} to me?",
        "what's my relationship to {p}",
        "how am I related to {p}?",
        "where do I know {p} from",
        "{p}... how do i know them?",
        "whats {p} to me",
    ],
    "last_contact": [
        "when did I last talk to {p}?",
        "when did i last speak with {p}",
        "last time I talked to {p}?",
        "when was the last time i heard from {p}",
        "when did I last hear from {p}",
        "{p} - when did we last talk?",
        "{p}: when did I last talk to them?",
        "how long ago did i last talk to {p}? which day",
    ],
    "last_seen": [
        "when did I last see {p}?",
        "when was i last with {p}",
        "last time I saw {p}?",
        "when did i last meet up with {p}",
        "{p} - when did I last see them in person",
    ],
    "upcoming": [
        "what's coming up next week?",
        "what's on my plate next week",
        "whats on next week",
        "what do I have next week?",
        "anything happening next week?",
        "next week plans?",
    ],
    "meet_next_week": [
        "who will I meet next week?",
        "who'll i see next week",
        "who am i meeting next week",
        "who do I see next week?",
        "anyone I'm meeting next week",
    ],
    "birthday": [
        "when is {pp} birthday?",
        "whens {pp} bday",
        "{pp} birthday?",
        "when's {pp} next birthday",
        "when does {p} turn a year older",
        "what date is {pp} birthday",
        "remind me when {pp} birthday is",
        "{p} bday?",
    ],
    "relationship_state": [
        "how are things with {p}?",
        "how are things between me and {p}",
        "how's it going with {p}",
        "are {p} and i ok?",
        "how am I doing with {p} lately",
        "me and {p}, everything alright?",
        "how is {p} and me these days",
    ],
    "rent": [
        "how much is my monthly rent?",
        "how much is my rent",
        "whats my rent",
        "monthly rent?",
        "what do I pay in rent each month",
    ],
    "income": [
        "what was my income {period}?",
        "how much money came in {period}, not counting my own transfers",
        "my income {period}",
        "how much money did i receive {period} (excluding transfers between my accounts)",
    ],
    "family": [
        "who is {fam}?",
        "whos {fam}",
        "what's {fam}'s name",
        "{fam}?",
    ],
    "spend": [
        "how much did I spend on {cat} {period}?",
        "what did i spend on {cat} {period}",
        "{cat} spending {period}?",
        "how much was {cat} {period}",
        "total spent on {cat} {period}",
    ],
    "timeline": [
        "what happened in {monthyear}?",
        "what did I do in {monthyear}",
        "what was going on in {monthyear}?",
        "remind me what happened in {monthyear}",
    ],
    "profile": [
        "who is {p}?",
        "who's {p} again",
        "tell me about {p}",
        "{p}",
    ],
    "topics": [
        "what topics did I talk about in {monthyear}?",
        "what was I talking about in {monthyear}",
        "what came up in {monthyear}?",
        "themes in {monthyear}",
    ],
    "unanswerable": [
        "when did I last talk to Gandalf Stormcrow?",
        "who is Thaddeus Wimbleworth",
        "when was my trip to Tokyo?",
        "what's my dog's name",
        "how many trips did I take in 2017?",
        "when is Ignatius Plonk's birthday",
        "who came with me to Marrakesh?",
        "what's my blood pressure these days",
        "how do I know Cornelius Fairweather-Ng?",
        "what's Katja's favourite colour",
        "how much did I pay for my car",
        "where did I work in 2012",
        "when is my next trip to Sydney?",
    ],
}

HELDOUT_WARNING = "benchmarks/questions_heldout.py holds the held-out phrasings; answer helpers must not open it"


# ---- data --------------------------------------------------------------------------------------------------
@dataclass
class Contact:
    when: datetime
    person: str  # ground-truth person id
    channel: str  # email, chat, meeting
    outgoing: bool = False  # an e-mail from the owner
    direct: bool = True  # an e-mail: the owner (or, outgoing, this person) is in To, not only in Cc


@dataclass
class Event:
    start: datetime
    end: datetime | None
    title: str
    place: str | None
    people: set[str]  # ground-truth person ids attending
    all_day: bool


@dataclass
class Txn:
    day: date
    amount: float
    currency: str
    title: str
    own_transfer: bool
    categories: set[str]


@dataclass
class World:
    """The ground truth plus the facts computed from the exported records."""

    truth: dict
    people: dict[str, dict]
    contacts: list[Contact]
    events: list[Event]
    txns: list[Txn]
    start: date
    end: date

    @property
    def patterns(self) -> dict:
        return self.truth["patterns"]

    def person(self, pid: str) -> dict:
        return self.people[pid]

    def related_since(self, pid: str) -> date:
        """When the person's relation to the owner began (the truth's ``since``; the data's start if none)."""
        since = [
            date.fromisoformat(r["since"])
            for r in self.truth["relationships"]
            if r["person"] == "self" and r["other"] == pid and r.get("since")
        ]
        return min(since) if since else self.start

    def known_at(self, pid: str, when: date) -> bool:
        """The owner had been in contact with the person by ``when`` (the twin cannot know them earlier)."""
        return any(c.person == pid and c.when.date() <= when for c in self.contacts)


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.casefold())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return s.replace("ł", "l").replace("ø", "o").replace("æ", "ae").replace("ß", "ss")


def load_records(data: Path) -> list:
    """The exports' records, parsed by the project's own connectors (only to locate records)."""
    from twin_assets.connectors.registry import detect_each
    from twin_assets.records import Record
    from twin_query.demo_cmd import EXPORTS

    out = []
    for export in EXPORTS:
        for path, conn in detect_each(data / export):
            if conn is None:
                continue
            out += [r for r in conn.parse(path) if isinstance(r, Record)]
    return out


def build_world(data: Path) -> World:
    from benchmarks.retrieval import gold_category

    truth = json.loads((data / "ground_truth.json").read_text(encoding="utf-8"))
    people = {p["id"]: p for p in truth["people"]}
    me = truth["persona"]
    own_emails = {e.lower() for e in me["emails"]}
    by_email = {e.lower(): pid for pid, p in people.items() for e in p["aliases"]["emails"]}
    by_chat: dict[str, str] = {}
    for pid, p in people.items():
        a = p["aliases"]
        if a.get("whatsapp_name"):
            by_chat[a["whatsapp_name"]] = pid
        if a.get("slack"):
            by_chat[a["slack"]["user_id"]] = pid
    contacts: list[Contact] = []
    events: list[Event] = []
    txns: list[Txn] = []
    owner_name = _fold(me["name"])
    for r in load_records(data):
        attrs = r.attributes
        if r.kind == "message" and r.event_time:
            if attrs.get("list_id"):
                continue
            senders = [p.email.lower() for p in r.parties if p.role == "from" and p.email]
            rcpts = [p.email.lower() for p in r.parties if p.role in ("to", "cc") and p.email]
            to = {p.email.lower() for p in r.parties if p.role == "to" and p.email}
            if any(s in own_emails for s in senders):
                for e in rcpts:
                    if e in by_email:
                        contacts.append(Contact(r.event_time, by_email[e], "email", True, e in to))
            elif any(e in own_emails for e in rcpts):
                for s in senders:
                    if s in by_email:
                        contacts.append(Contact(r.event_time, by_email[s], "email", False, bool(to & own_emails)))
        elif r.kind == "chat_message" and r.event_time and not attrs.get("system"):
            for p in r.parties:
                if p.role != "from":
                    continue
                pid = by_chat.get(p.handle or "") or by_chat.get(p.name or "")
                if pid is None and p.email:
                    pid = by_email.get(p.email.lower())
                if pid:
                    contacts.append(Contact(r.event_time, pid, "chat"))
        elif r.kind == "event" and r.event_time:
            if str(attrs.get("status") or "").upper() == "CANCELLED":
                continue
            attendees = {
                by_email[p.email.lower()]
                for p in r.parties
                if p.role in ("attendee", "organizer") and p.email and p.email.lower() in by_email
            }
            events.append(
                Event(r.event_time, r.end_time, r.title, attrs.get("location"), attendees, bool(attrs.get("all_day")))
            )
            for pid in attendees:
                contacts.append(Contact(r.event_time, pid, "meeting"))
        elif r.kind == "transaction" and r.event_time:
            amount = attrs.get("amount")
            if not isinstance(amount, int | float):
                continue
            own = attrs.get("trntype") == "XFER" or _fold(r.title).startswith(owner_name)
            txns.append(
                Txn(
                    r.event_time.date(),
                    float(amount),
                    attrs.get("currency") or "EUR",
                    r.title,
                    own,
                    gold_category(r),
                )
            )
    contacts.sort(key=lambda c: c.when)
    events.sort(key=lambda e: e.start)
    g = truth["generator"]
    return World(truth, people, contacts, events, txns, date.fromisoformat(g["start"]), date.fromisoformat(g["end"]))


# ---- facts, computed by code --------------------------------------------------------------------------------
def next_birthday(birthday: date, after: date) -> date:
    """The first occurrence of ``birthday`` on or after ``after`` (29 February falls on 1 March off leap years)."""
    for year in (after.year, after.year + 1):
        try:
            d = birthday.replace(year=year)
        except ValueError:
            d = date(year, 3, 1)
        if d >= after:
            return d
    raise AssertionError("unreachable")


def trips(world: World) -> list[dict]:
    return world.patterns["trips"]


def trip_count(world: World, year: int, as_of: datetime) -> int:
    return sum(
        1 for t in trips(world) if int(t["start"][:4]) == year and date.fromisoformat(t["start"]) <= as_of.date()
    )


def booked_on(trip: dict) -> date:
    """The trip's booking day: the date its first card transaction (the flight) carries in its FITID."""
    return datetime.strptime(trip["fitids"][0][:8], "%Y%m%d").date()


def next_trip(world: World, as_of: datetime) -> dict | None:
    """The next trip starting after as-of that was booked by then (an unbooked trip is not known yet)."""
    future = [t for t in trips(world) if date.fromisoformat(t["start"]) > as_of.date() and booked_on(t) < as_of.date()]
    return min(future, key=lambda t: t["start"]) if future else None


def last_contact(world: World, pid: str, as_of: datetime, channels: Iterable[str] | None = None) -> datetime | None:
    chosen = set(channels) if channels else None
    best = None
    for c in world.contacts:
        if c.when > as_of:
            break
        if c.person == pid and (chosen is None or c.channel in chosen):
            best = c.when
    return best


def contact_counts(world: World, since: datetime, until: datetime) -> Counter:
    return Counter(c.person for c in world.contacts if since < c.when <= until)


def reply_debt(world: World, as_of: datetime, window_days: int = REPLY_WINDOW_DAYS) -> set[str]:
    last_in: dict[str, datetime] = {}
    last_out: dict[str, datetime] = {}
    for c in world.contacts:
        if c.when > as_of:
            break
        if c.channel != "email":
            continue
        if c.outgoing:
            last_out[c.person] = c.when
        elif c.direct:
            last_in[c.person] = c.when
    since = as_of - timedelta(days=window_days)
    return {pid for pid, t in last_in.items() if t > since and last_out.get(pid, datetime.min.replace(tzinfo=UTC)) < t}


def relation_at(world: World, pid: str, when: date) -> tuple[str, str | None]:
    """(relation, organisation) of a person to the owner at ``when``, in the contract's relation vocabulary."""
    p = world.person(pid)
    role = p["role"]
    org = p["organisations"][0] if p["organisations"] else None
    if role == "partner":
        return "partner", None
    if role == "parent":
        return "mother", None
    if role == "sibling":
        return "sibling", None
    if role == "relative":
        return "family", None
    if role == "friend":
        return "friend", None
    if p["group"] == "work":
        for r in world.truth["relationships"]:
            if r["person"] == "self" and r["other"] == pid and r["type"] == "manager":
                return "manager", org
        return "colleague", org
    return "other", org


ACCEPTED_RELATIONS = {
    "partner": {"partner"},
    "mother": {"mother", "family"},
    "sibling": {"sibling", "family"},
    "family": {"family", "other"},
    "friend": {"friend"},
    "manager": {"manager", "colleague"},
    "colleague": {"colleague"},
}
RELATION_WORDS = {
    "partner": ["partner", "girlfriend", "boyfriend", "wife", "husband"],
    "mother": ["mother", "mom", "mum", "parent"],
    "sibling": ["sibling", "sister", "brother"],
    "family": ["cousin", "relative", "family"],
    "friend": ["friend"],
    "manager": ["manager", "boss"],
    "colleague": ["colleague", "coworker", "co-worker", "works with you", "worked with you"],
}


def manager_at(world: World, when: date) -> str | None:
    for r in world.truth["relationships"]:
        if r["person"] != "self" or r["type"] != "manager":
            continue
        since = date.fromisoformat(r["since"]) if r.get("since") else date.min
        until = date.fromisoformat(r["until"]) if r.get("until") else date.max
        if since <= when < until:
            return str(r["other"])
    return None


def employer_at(world: World, when: date) -> str:
    jc = world.patterns["job_change"]
    return str(jc["to_org"] if when >= date.fromisoformat(jc["date"]) else jc["from_org"])


def week_after(as_of: datetime) -> tuple[datetime, datetime]:
    d = as_of.astimezone(BERLIN).date()
    monday = d - timedelta(days=d.weekday()) + timedelta(days=7)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=BERLIN).astimezone(UTC)
    return start, start + timedelta(days=7)


def events_between(world: World, since: datetime, until: datetime) -> list[Event]:
    return [e for e in world.events if since <= e.start < until or (e.end and e.start < since < e.end)]


def month_range(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)


def spend(world: World, cat: str, first: date, last: date, as_of: datetime) -> float:
    last = min(last, as_of.date())
    return round(
        sum(-t.amount for t in world.txns if t.amount < 0 and cat in t.categories and first <= t.day <= last), 2
    )


def income(world: World, first: date, last: date, as_of: datetime) -> float:
    last = min(last, as_of.date())
    return round(sum(t.amount for t in world.txns if t.amount > 0 and not t.own_transfer and first <= t.day <= last), 2)


def rent_at(world: World, as_of: datetime) -> float | None:
    payee = _fold(world.patterns["monthly_rent"]["payee"])
    paid = [t for t in world.txns if _fold(t.title) == payee and t.amount < 0 and t.day <= as_of.date()]
    return -max(paid, key=lambda t: t.day).amount if paid else None


def topic_counts(world: World, months: list[str]) -> dict[str, int]:
    return {t["label"]: sum(t["counts_per_month"].get(m, 0) for m in months) for t in world.truth["topics"]}


def topic_keywords(world: World, label: str) -> list[str]:
    t = next(t for t in world.truth["topics"] if t["label"] == label)
    # the topic's own word and its two most specific keywords; generic ones ("recall", "pace") would match
    # answers about anything
    return sorted({t["label"], *(k for k in t["keywords"][:3] if k not in GENERIC_TOPIC_WORDS)})


# ---- questions -----------------------------------------------------------------------------------------------
@dataclass
class Expect:
    type: str  # person, people_top, people_set, date, amount, count, place, organisation, relation, trend, events,
    # keywords, refuse
    value: Any = None
    extra: dict = field(default_factory=dict)


@dataclass
class Question:
    qid: str
    seed: int
    split: str
    kind: str
    question: str
    as_of: datetime
    expect: Expect


MONTH_NAMES = list(calendar.month_name)


def _as_of(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 19, 30, tzinfo=UTC)


class Builder:
    """Writes one split's questions for one world; as-of dates of the split have its day-ordinal parity."""

    def __init__(self, world: World, seed: int, split: str, phrases: dict[str, list[str]]) -> None:
        self.w = world
        self.seed = seed
        self.split = split
        self.phrases = phrases
        self.rng = random.Random(f"{seed}:{split}:questions")
        self.parity = 0 if split == "dev" else 1
        self.out: list[Question] = []
        self._used: Counter = Counter()
        self._seen: set[tuple[str, datetime]] = set()
        firsts = Counter(_fold(p["first_name"]) for p in world.people.values())
        nicks = Counter(_fold(p["aliases"]["nickname"] or "") for p in world.people.values())
        self.unique_first = {pid for pid, p in world.people.items() if firsts[_fold(p["first_name"])] == 1}
        self.unique_nick = {
            pid
            for pid, p in world.people.items()
            if p["aliases"]["nickname"] and nicks[_fold(p["aliases"]["nickname"])] == 1
        }

    # as-of dates: any day in [lo, hi] with this split's parity
    def day_in(self, lo: date, hi: date) -> date | None:
        lo, hi = max(lo, self.w.start + timedelta(days=30)), min(hi, self.w.end)
        days = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
        days = [d for d in days if d.toordinal() % 2 == self.parity]
        return self.rng.choice(days) if days else None

    def phrase(self, kind: str, **slots: str) -> str:
        forms = self.phrases[kind]
        i = self._used[kind]
        self._used[kind] += 1
        if i % len(forms) == 0:
            self.rng.shuffle(forms)
        return forms[i % len(forms)].format(**slots)

    def add(self, kind: str, text: str, as_of: date | datetime, expect: Expect, phrase_kind: str | None = None) -> None:
        when = as_of if isinstance(as_of, datetime) else _as_of(as_of)
        if (text, when) in self._seen:
            return  # the same words on the same day would be asked twice
        self._seen.add((text, when))
        qid = f"{self.split[0]}{self.seed}-{len(self.out):03d}"
        self.out.append(Question(qid, self.seed, self.split, kind, text, when, expect))

    def ref(self, pid: str, possessive: bool = False, when: date | None = None) -> tuple[str, str]:
        """A way a person would name someone, and its possessive (sometimes without the apostrophe); with
        ``when``, family and role terms too ("my mom", "my boss" for the manager at that date)."""
        p = self.w.person(pid)
        forms = [p["name"], p["name"].lower()]
        if when is not None:
            terms = {
                "partner": ["my partner", "my partner"],
                "parent": ["my mom", "my mum", "my mother", "mom"],
                "sibling": ["my sibling"],
            }.get(p["role"], [])
            if manager_at(self.w, when) == pid:
                terms = ["my boss", "my manager"]
            if terms and self.rng.random() < 0.5:
                forms = terms
        if pid in self.unique_first:
            forms += [p["first_name"], p["first_name"], p["first_name"].lower()]
        if pid in self.unique_nick:
            forms += [p["aliases"]["nickname"], p["aliases"]["nickname"]]
        if not possessive:
            forms.append(p["aliases"]["emails"][0])
        form = self.rng.choice(forms)
        if "@" in form:
            return form, form + "'s"
        if form == "mom":  # "mom's birthday", not "mom birthday"
            return form, "mom's"
        poss = form + ("'" if form.endswith("s") else "'s")
        if self.rng.random() < 0.25:
            poss = form + ("" if form.endswith("s") else "s")  # "katjas", no apostrophe
        return form, poss

    # ---- per kind ----
    def most_contacted(self, n: int) -> None:
        groups = {"most_contacted": None, "most_contacted_work": "work", "most_contacted_friends": "friend"}
        for i in range(n):
            kind = list(groups)[i % 3]
            d = self.day_in(self.w.start + timedelta(days=120), self.w.end)
            if d is None:
                continue
            as_of = _as_of(d)
            win = self.rng.choice(["lately", "recently", "last month", "these days", "over the last 3 months"])
            if win == "last month":
                first = date(d.year, d.month, 1)
                prev_last = first - timedelta(days=1)
                since = datetime(prev_last.year, prev_last.month, 1, tzinfo=BERLIN).astimezone(UTC)
                until = datetime(first.year, first.month, first.day, tzinfo=BERLIN).astimezone(UTC)
            else:
                since, until = as_of - timedelta(days=LATELY_DAYS), as_of
            counts = contact_counts(self.w, since, until)
            grp = groups[kind]
            if grp:
                counts = Counter({p: c for p, c in counts.items() if self.w.person(p)["group"] == grp})
            if not counts:
                continue
            top = max(counts.values())
            accepted = sorted(p for p, c in counts.items() if c >= 0.95 * top)
            self.add(kind, self.phrase(kind, win=win), as_of, Expect("people_top", accepted))

    def drifting(self, n: int) -> None:
        fade = self.w.patterns["fading_friendship"]
        # while the fall is recent: in the demo, contact drops for about half a year and then stays low, and
        # a friendship that faded two years ago is no longer "drifting"
        lo = date.fromisoformat(fade["decline_starts"] + "-01") + timedelta(days=183)
        for _ in range(n):
            d = self.day_in(lo, lo + timedelta(days=182))
            if d:
                self.add("drifting", self.phrase("drifting"), d, Expect("people_top", [fade["person"]]))

    def trip_questions(self, n: int) -> None:
        ts = trips(self.w)
        for i in range(n):
            t = ts[i % len(ts)]
            start = date.fromisoformat(t["start"])
            d = self.day_in(booked_on(t) + timedelta(days=1), start - timedelta(days=1))
            if d is None:
                continue
            nt = next_trip(self.w, _as_of(d))
            if nt is None:
                continue
            if i % 2 == 0:
                self.add("next_trip", self.phrase("next_trip_place"), d, Expect("place", nt["destination"]))
            else:
                self.add("next_trip", self.phrase("next_trip_date"), d, Expect("date", nt["start"]))
        with_partner = [t for t in ts if t["with_partner"]]
        for i in range(n):
            t = with_partner[i % len(with_partner)]
            d = self.day_in(date.fromisoformat(t["end"]) + timedelta(days=2), self.w.end)
            if d:
                q = self.phrase("trip_companions", place=t["destination"] if i % 3 else t["destination"].lower())
                self.add("trip_companions", q, d, Expect("person", t["with_partner"]))
        years = sorted({int(t["start"][:4]) for t in ts})
        for i in range(n):
            year = years[i % len(years)]
            if i % 2:  # a past year, named or as "last year"
                d = self.day_in(date(year + 1, 1, 1), date(year + 1, 12, 31))
                yearword = "last year"
            else:  # this year, up to as-of
                d = self.day_in(date(year, 2, 1), date(year, 12, 31))
                yearword = "this year"
            if d is None:
                continue
            q = self.phrase("trip_count", year=str(year), yearword=yearword)
            if str(year) not in q and yearword not in q:
                continue
            self.add("trip_count", q, d, Expect("count", trip_count(self.w, year, _as_of(d))))

    def work_questions(self, n: int) -> None:
        jc = self.w.patterns["job_change"]
        change = date.fromisoformat(jc["date"])
        short_now = jc["to_org"].replace(" GmbH", "").split()[0]
        short_old = jc["from_org"].replace(" GmbH", "").split()[0]
        for _ in range(n):
            d = self.day_in(change + timedelta(days=14), self.w.end)
            if d:
                q = self.phrase("employer_before", org_now=self.rng.choice([short_now, jc["to_org"]]))
                self.add("employer_before", q, d, Expect("organisation", jc["from_org"]))
        for i in range(n):
            d = self.day_in(self.w.start, self.w.end) if i % 2 else self.day_in(change, self.w.end)
            if d:
                self.add("employer_now", self.phrase("employer_now"), d, Expect("organisation", employer_at(self.w, d)))
        for _ in range(n):
            d = self.day_in(self.w.start, self.w.end)
            if d and (m := manager_at(self.w, d)):
                self.add("manager_now", self.phrase("manager_now"), d, Expect("person", m))
        for i in range(n):
            d = self.day_in(change + timedelta(days=30), self.w.end)
            if d is None:
                continue
            form = self.phrases["manager_past"][i % len(self.phrases["manager_past"])]
            if "{org_old}" in form:
                q = form.format(org_old=self.rng.choice([short_old, jc["from_org"]]))
                self.add("manager_past", q, d, Expect("person", manager_at(self.w, change - timedelta(days=1))))
            else:
                past = self.day_in(self.w.start, change - timedelta(days=20))
                if past is None:
                    continue
                q = form.format(monthyear=f"{MONTH_NAMES[past.month]} {past.year}")
                self.add("manager_past", q, d, Expect("person", manager_at(self.w, past.replace(day=15))))

    def reply_debt(self, n: int) -> None:
        tries = 0
        made = 0
        while made < n and tries < 20 * n:
            tries += 1
            d = self.day_in(self.w.start + timedelta(days=60), self.w.end)
            if d is None:
                break
            owed = reply_debt(self.w, _as_of(d))
            if owed:
                self.add("reply_debt", self.phrase("reply_debt"), d, Expect("people_set", sorted(owed)))
                made += 1

    def busy_and_topics(self, n: int) -> None:
        made = 0
        for _ in range(n * 4):
            if made >= n:
                break
            d = self.day_in(self.w.start + timedelta(days=90), self.w.end)
            if d is None:
                break
            months = []
            y, m = d.year, d.month
            for _k in range(3):
                months.append(f"{y}-{m:02d}")
                y, m = (y - (m == 1), 12 if m == 1 else m - 1)
            counts = topic_counts(self.w, months)
            top = max(counts.values())
            if top < 5:
                continue
            labels = [lbl for lbl, c in counts.items() if c >= 0.5 * top]
            words = sorted({w for lbl in labels for w in topic_keywords(self.w, lbl)})
            self.add("busy_with", self.phrase("busy_with"), d, Expect("keywords", words, {"top_items": 3}))
            made += 1
        made = 0
        months_all = sorted({m for t in self.w.truth["topics"] for m in t["counts_per_month"]})
        self.rng.shuffle(months_all)
        for mk in months_all:
            if made >= n:
                break
            counts = topic_counts(self.w, [mk])
            top = max(counts.values())
            if top < 5:
                continue
            y, m = int(mk[:4]), int(mk[5:])
            d = self.day_in(month_range(y, m)[1] + timedelta(days=10), self.w.end)
            if d is None:
                continue
            labels = [lbl for lbl, c in counts.items() if c >= 0.5 * top]
            words = sorted({w for lbl in labels for w in topic_keywords(self.w, lbl)})
            q = self.phrase("topics", monthyear=self._monthyear(y, m, d))
            self.add("topics", q, d, Expect("keywords", words, {"top_items": 3}))
            made += 1

    def _monthyear(self, y: int, m: int, as_of: date) -> str:
        forms = [f"{MONTH_NAMES[m]} {y}", f"{MONTH_NAMES[m][:3]} {y}", f"{MONTH_NAMES[m].lower()} {y}"]
        if as_of.year == y and as_of.month > m:  # "in March" means this year's March when it is past
            forms.append(MONTH_NAMES[m])
        return self.rng.choice(forms)

    def people_questions(self, n: int) -> None:
        pids = sorted(self.w.people)
        self.rng.shuffle(pids)
        family = sorted(pid for pid in pids if self.w.person(pid)["role"] in ("partner", "parent", "sibling"))
        # relation
        made = 0
        for i in range(n * 3):
            if made >= n:
                break
            pid = pids[i % len(pids)]
            d = self.day_in(self.w.start + timedelta(days=60), self.w.end)
            if d is None:
                continue
            if d is None or not self.w.known_at(pid, d) or d < self.w.related_since(pid):
                continue  # e.g. the new employer's recruiter before the owner joined: not yet a colleague
            rel, org = relation_at(self.w, pid, d)
            p, _ = self.ref(pid)
            self.add("relation", self.phrase("relation", p=p), d, Expect("relation", rel, {"organisation": org}))
            made += 1
        # last contact / last seen
        made = 0
        for i in range(n * 3):
            if made >= n:
                break
            pid = pids[(i + 7) % len(pids)] if i % 4 else family[(i // 4) % len(family)]
            d = self.day_in(self.w.start + timedelta(days=60), self.w.end)
            if d is None:
                continue
            last = last_contact(self.w, pid, _as_of(d))
            if last is None:
                continue
            p, _ = self.ref(pid, when=d)
            self.add("last_contact", self.phrase("last_contact", p=p), d, Expect("date", _dates_of(last)))
            made += 1
        made = 0
        for i in range(n * 4):
            if made >= n:
                break
            pid = pids[(i + 3) % len(pids)]
            d = self.day_in(self.w.start + timedelta(days=60), self.w.end)
            if d is None:
                continue
            last = last_contact(self.w, pid, _as_of(d), ["meeting"])
            if last is None or (_as_of(d) - last).days > 365:
                continue
            p, _ = self.ref(pid, when=d)
            self.add("last_seen", self.phrase("last_seen", p=p), d, Expect("date", _dates_of(last)))
            made += 1
        # birthdays: half of them with an as-of in November/December and a birthday early next year
        early = [pid for pid in pids if self.w.person(pid)["birthday"][5:7] in ("01", "02", "03")]
        for i in range(n):
            if i % 2 == 0 and early:
                pid = early[i % len(early)]
                years = sorted({y for y in range(self.w.start.year, self.w.end.year)})
                y = years[i % len(years)]
                d = self.day_in(date(y, 11, 1), date(y, 12, 31))
            else:
                pid = pids[(i + 11) % len(pids)] if i % 3 != 1 else family[(i // 3) % len(family)]
                d = self.day_in(self.w.start + timedelta(days=30), self.w.end)
            if d is None:
                continue
            bday = date.fromisoformat(self.w.person(pid)["birthday"])
            if (bday.month, bday.day) == (d.month, d.day) or (bday.month, bday.day) == (2, 29):
                continue
            if not self.w.known_at(pid, d):
                continue
            p, pp = self.ref(pid, possessive=True, when=d)
            self.add(
                "birthday", self.phrase("birthday", p=p, pp=pp), d, Expect("date", [next_birthday(bday, d).isoformat()])
            )
        # profile
        for i in range(n):
            pid = pids[(i + 5) % len(pids)]
            d = self.day_in(self.w.start + timedelta(days=60), self.w.end)
            if d is None or not self.w.known_at(pid, d):
                continue
            p, _ = self.ref(pid)
            self.add("profile", self.phrase("profile", p=p), d, Expect("person", pid))

    def relationship_state(self, n: int) -> None:
        pats = self.w.patterns
        anomaly = pats["communication_anomaly"]
        fade = pats["fading_friendship"]
        strong = pats["strengthening_tie"]
        partner = next(pid for pid, p in self.w.people.items() if p["role"] == "partner")
        burst_end = date.fromisoformat(anomaly["end"])
        cases = [
            (anomaly["person"], "strained", burst_end + timedelta(days=1), burst_end + timedelta(days=20)),
            (
                fade["person"],
                "fading",
                date.fromisoformat(fade["decline_starts"] + "-01") + timedelta(days=183),
                date.fromisoformat(fade["decline_starts"] + "-01") + timedelta(days=365),
            ),
            (
                strong["person"],
                "strengthening",
                date.fromisoformat(strong["starts"] + "-01") + timedelta(days=150),
                date.fromisoformat(strong["starts"] + "-01") + timedelta(days=425),
            ),
            (partner, "steady", self.w.start + timedelta(days=120), self.w.end),
        ]
        for i in range(n):
            pid, trend, lo, hi = cases[i % len(cases)]
            d = self.day_in(lo, hi)
            if d is None or not self.w.known_at(pid, d):
                continue
            p, _ = self.ref(pid, when=d)
            self.add("relationship_state", self.phrase("relationship_state", p=p), d, Expect("trend", trend))

    def calendar_questions(self, n: int) -> None:
        # next week: mostly weeks in which a trip falls, so a trip (an event with nobody else) must be listed
        ts = trips(self.w)
        made = 0
        for i in range(n * 3):
            if made >= n:
                break
            if i % 3 != 2:
                t = ts[i % len(ts)]
                start = date.fromisoformat(t["start"])
                monday = start - timedelta(days=start.weekday())
                d = self.day_in(
                    max(monday - timedelta(days=7), booked_on(t) + timedelta(days=1)), monday - timedelta(days=1)
                )
            else:
                d = self.day_in(self.w.start + timedelta(days=30), self.w.end - timedelta(days=14))
            if d is None:
                continue
            since, until = week_after(_as_of(d))
            evs = events_between(self.w, since, until)
            if not evs:
                continue
            required = [
                t["destination"]
                for t in ts
                if date.fromisoformat(t["start"]) < until.date() and date.fromisoformat(t["end"]) >= since.date()
            ]
            titles = sorted({e.title for e in evs})
            self.add("upcoming", self.phrase("upcoming"), d, Expect("events", titles, {"required": required}))
            made += 1
        made = 0
        for _ in range(n * 4):
            if made >= n:
                break
            d = self.day_in(self.w.start + timedelta(days=30), self.w.end - timedelta(days=14))
            if d is None:
                continue
            since, until = week_after(_as_of(d))
            people = sorted({pid for e in events_between(self.w, since, until) if not e.all_day for pid in e.people})
            if not people:
                continue
            self.add("meet_next_week", self.phrase("meet_next_week"), d, Expect("people_set", people))
            made += 1

    def money_questions(self, n: int) -> None:
        for _ in range(n):
            d = self.day_in(self.w.start + timedelta(days=40), self.w.end)
            if d and (rent := rent_at(self.w, _as_of(d))):
                self.add("rent", self.phrase("rent"), d, Expect("amount", rent, {"currency": "EUR"}))
        cats = {
            "groceries": ["groceries", "food shopping", "supermarket"],
            "restaurants": ["eating out", "restaurants"],
            "transport": ["transport", "getting around"],
            "subscriptions": ["subscriptions", "streaming and subscriptions"],
            "travel": ["travel"],
            "utilities": ["utilities", "utility bills"],
            "flights": ["flights"],
        }
        keys = list(cats)
        made = 0
        for i in range(n * 3):
            if made >= n:
                break
            d = self.day_in(self.w.start + timedelta(days=100), self.w.end)
            if d is None:
                continue
            text, first, last = self._period(d)
            cat = keys[i % len(keys)]
            total = spend(self.w, cat, first, last, _as_of(d))
            if total <= 0:
                continue
            q = self.phrase("spend", cat=self.rng.choice(cats[cat]), period=text)
            self.add("spend", q, d, Expect("amount", total, {"currency": "EUR"}))
            made += 1
        made = 0
        for _ in range(n * 3):
            if made >= n:
                break
            d = self.day_in(self.w.start + timedelta(days=100), self.w.end)
            if d is None:
                continue
            text, first, last = self._period(d)
            total = income(self.w, first, last, _as_of(d))
            if total <= 0:
                continue  # "nothing came in" is a fair answer to grade another time, not a number
            self.add("income", self.phrase("income", period=text), d, Expect("amount", total, {"currency": "EUR"}))
            made += 1

    def _period(self, d: date) -> tuple[str, date, date]:
        """A period said relative to as-of, or by name, and its first and last day."""
        choice = self.rng.randrange(6)
        first_this = date(d.year, d.month, 1)
        if choice == 5:
            return self.rng.choice(["in the last two weeks", "over the past 2 weeks"]), d - timedelta(days=13), d
        if choice == 0:
            last = first_this - timedelta(days=1)
            return "last month", date(last.year, last.month, 1), last
        if choice == 1:
            return "this year", date(d.year, 1, 1), d
        if choice == 2 and d.month > 2:
            m = self.rng.randrange(1, d.month)
            return f"in {MONTH_NAMES[m]}", *month_range(d.year, m)
        if choice == 3 and d.year - 1 >= self.w.start.year + 1:
            return f"in {d.year - 1}", date(d.year - 1, 1, 1), date(d.year - 1, 12, 31)
        y, m = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
        y2, m2 = (y, m - 1) if m > 1 else (y - 1, 12)
        return f"in {MONTH_NAMES[m2]} {y2}", *month_range(y2, m2)

    def family(self, n: int) -> None:
        by_role = {p["role"]: pid for pid, p in self.w.people.items() if p["role"] in ("partner", "parent", "sibling")}
        terms = [
            ("my mom", "parent"),
            ("my mum", "parent"),
            ("my mother", "parent"),
            ("my partner", "partner"),
            ("my sibling", "sibling"),
            ("my boss", "boss"),
            ("my manager", "boss"),
        ]
        for i in range(n):
            term, role = terms[i % len(terms)]
            d = self.day_in(self.w.start + timedelta(days=30), self.w.end)
            if d is None:
                continue
            pid = manager_at(self.w, d) if role == "boss" else by_role.get(role)
            if pid is None:
                continue
            self.add("family", self.phrase("family", fam=term), d, Expect("person", pid))

    def timeline(self, n: int) -> None:
        pats = self.w.patterns
        marks: list[tuple[date, list[str]]] = [
            (date.fromisoformat(t["start"]), [t["destination"]]) for t in trips(self.w)
        ]
        marks.append((date.fromisoformat(pats["sibling_wedding"]["date"]), ["wedding"]))
        jc = pats["job_change"]
        marks.append(
            (date.fromisoformat(jc["date"]), [jc["to_org"].split()[0], jc["from_org"].split()[0], "job", "farewell"])
        )
        self.rng.shuffle(marks)
        for i in range(n):
            day, words = marks[i % len(marks)]
            d = self.day_in(month_range(day.year, day.month)[1] + timedelta(days=5), self.w.end)
            if d is None:
                continue
            q = self.phrase("timeline", monthyear=self._monthyear(day.year, day.month, d))
            self.add("timeline", q, d, Expect("keywords", words))

    def unanswerable(self, n: int) -> None:
        forms = list(self.phrases["unanswerable"])
        known = {_fold(w) for p in self.w.people.values() for a in p["all_aliases"] for w in re.findall(r"\w+", a)}
        known |= {_fold(t["destination"]) for t in trips(self.w)}
        made = 0
        for q in forms:
            if made >= n:
                break
            caps = [w for w in re.findall(r"\b[A-Z][\w-]+", q) if w not in {"I", "Katja"}]
            if any(_fold(w) in known for w in caps):
                continue  # a name this world happens to have is no longer unanswerable
            d = self.day_in(self.w.start + timedelta(days=60), self.w.end)
            if d:
                self.add("unanswerable", q, d, Expect("refuse"))
                made += 1
        # facts before the data begins: where did I work before my first employer in the data
        jc = self.w.patterns["job_change"]
        d = self.day_in(self.w.start + timedelta(days=40), date.fromisoformat(jc["date"]) - timedelta(days=10))
        if d:
            q = (
                "where did I work before Nordwind?"
                if self.split == "dev"
                else "which company employed me before Nordwind"
            )
            self.add("unanswerable", q, d, Expect("refuse"))


def _dates_of(when: datetime) -> list[str]:
    """A timestamp's date in UTC and in the owner's zone (either is the exact answer)."""
    return sorted({when.astimezone(UTC).date().isoformat(), when.astimezone(BERLIN).date().isoformat()})


def build_questions(world: World, seed: int, split: str, per_kind: int = 10) -> list[Question]:
    if split == "dev":
        phrases = {k: list(v) for k, v in DEV_PHRASES.items()}
    else:
        from benchmarks.questions_heldout import PHRASES

        phrases = {k: list(v) for k, v in PHRASES.items()}
    b = Builder(world, seed, split, phrases)
    n = per_kind
    b.most_contacted(3 * (n // 2 + 1))
    b.drifting(max(4, n // 2))
    b.trip_questions(n)
    b.work_questions(max(4, n // 2))
    b.reply_debt(n)
    b.busy_and_topics(max(5, n // 2))
    b.people_questions(n)
    b.relationship_state(n)
    b.calendar_questions(n)
    b.money_questions(n)
    b.family(max(6, n // 2 + 1))
    b.timeline(max(6, n // 2 + 1))
    b.unanswerable(12)
    return b.out


# ---- grading -------------------------------------------------------------------------------------------------
def first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", text.strip(), flags=re.S)
    return (m[1] if m else text).strip()


def _date_forms(iso: str) -> list[str]:
    d = date.fromisoformat(iso)
    month, mon = MONTH_NAMES[d.month], MONTH_NAMES[d.month][:3]
    return [
        iso,
        f"{d.day} {month} {d.year}",
        f"{d.day} {mon} {d.year}",
        f"{month} {d.day}, {d.year}",
        f"{mon} {d.day}, {d.year}",
        f"{d.day:02d}.{d.month:02d}.{d.year}",
    ]


def _date_in(text: str, iso: str) -> bool:
    """The date in a usual written form, also as the start of a range ("17–20 Jun 2025"); a form without a
    year counts only when no other year follows it."""
    if any(f in text for f in _date_forms(iso)):
        return True
    d = date.fromisoformat(iso)
    mon = MONTH_NAMES[d.month][:3]
    if re.search(rf"(?<!\d){d.day}\s*[–-]\s*\d{{1,2}}\s+{mon}\w*\.?\s+{d.year}", text):
        return True
    no_year = r"(?!,?\s*\d{4})"
    return bool(
        re.search(rf"(?<!\d){d.day}(?:st|nd|rd|th)?\s+(?:of\s+)?{mon}[a-z]*\b\.?(?!\s*\d)", text)
        or re.search(rf"\b{mon}\w*\.?\s+{d.day}(?:st|nd|rd|th)?(?!\d){no_year}", text)
    )


def _leading_items(text: str, n: int | None) -> str:
    """The first ``n`` items of a list answer ("a; b; c" or one per line), or all of it."""
    if not n:
        return text
    return "; ".join(re.split(r";|\n", text)[:n])


def _contains(text: str, needle: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(_fold(needle)) + r"(?!\w)", _fold(text)) is not None


class Grader:
    def __init__(self, world: World, entity_person: dict[str, str]) -> None:
        self.w = world
        self.entity_person = entity_person  # twin entity id -> ground-truth person id

    def person_of(self, item: Any) -> str | None:
        if not isinstance(item, dict):
            return None
        if item.get("id") in self.entity_person:
            return self.entity_person[item["id"]]
        name = _fold(str(item.get("name") or ""))
        for pid, p in self.w.people.items():
            if name and name in {_fold(a) for a in [p["name"], *p["all_aliases"]]}:
                return pid
        return None

    def names_in(self, text: str, pids: Iterable[str]) -> set[str]:
        out = set()
        for pid in pids:
            p = self.w.person(pid)
            forms = [p["name"], *p["aliases"]["display_names"], p["first_name"] if len(p["first_name"]) > 2 else ""]
            if any(f and "," not in f and _contains(text, f) for f in forms):
                out.add(pid)
        return out

    def grade(self, q: Question, r: dict[str, Any]) -> bool:
        e = q.expect
        refused = bool(r.get("refused")) or str(r.get("answer", "")).strip().lower().startswith("i don't know")
        if e.type == "refuse":
            return refused
        if refused:
            return False
        fact = r.get("fact")
        if isinstance(fact, dict) and fact.get("value") is not None:
            return self._grade_fact(e, fact, str(r.get("answer") or ""))
        return self._grade_text(e, str(r.get("answer") or ""))

    def _grade_fact(self, e: Expect, fact: dict[str, Any], answer: str = "") -> bool:
        kind, v = fact.get("kind"), fact.get("value")
        if e.type == "person":
            item = v[0] if kind == "people" and isinstance(v, list) and v else v
            return self.person_of(item) == e.value
        if e.type in ("people_top", "people_set"):
            items = v if isinstance(v, list) else [v]
            got = [self.person_of(x) for x in items]
            if e.type == "people_top":
                return any(p in e.value for p in got[:3])
            gs, want = {p for p in got if p}, set(e.value)
            if not gs:
                return False
            return len(gs & want) / len(gs) >= 0.5 and len(gs & want) / len(want) >= 0.5
        if e.type == "date":
            want = set(e.value) if isinstance(e.value, list) else {e.value}
            if (kind == "range" and isinstance(v, dict)) or (kind == "event" and isinstance(v, dict)):
                v = v.get("start")
            elif kind == "events" and isinstance(v, list) and v:
                v = v[0].get("start")
            s = str(v or "")
            if "T" in s:
                try:
                    dt = datetime.fromisoformat(s)
                    days = {dt.date().isoformat()}
                    if dt.tzinfo:
                        days |= {dt.astimezone(UTC).date().isoformat(), dt.astimezone(BERLIN).date().isoformat()}
                    return bool(days & want)
                except ValueError:
                    return False
            return s[:10] in want
        if e.type == "amount":
            if isinstance(v, dict):
                cur = v.get("currency")
                try:
                    amount = abs(float(v.get("amount")))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    return False
                return abs(amount - abs(float(e.value))) < 0.01 and (not cur or cur == e.extra.get("currency"))
            return isinstance(v, int | float) and abs(abs(float(v)) - abs(float(e.value))) < 0.01
        if e.type == "count":
            return isinstance(v, int | float) and int(v) == e.value
        if e.type == "place":
            if isinstance(v, dict):  # an event
                return any(_contains(str(v.get(k) or ""), e.value) for k in ("place", "title"))
            return _fold(str(v)).strip() == _fold(e.value) or _contains(str(v), e.value)
        if e.type == "organisation":
            core = _fold(e.value.replace(" GmbH", ""))
            return core.split()[0] in _fold(str(v if not isinstance(v, dict) else v.get("organisation")))
        if e.type == "relation":
            if not isinstance(v, dict):
                return False
            if v.get("relation") not in ACCEPTED_RELATIONS.get(e.value, {e.value}):
                return False
            org, want_org = v.get("organisation"), e.extra.get("organisation")
            return not org or not want_org or _fold(str(want_org).split()[0]) in _fold(str(org))
        if e.type == "trend":
            return bool(v == e.value)
        if e.type == "events":
            items = v if isinstance(v, list) else [v]
            blob = " | ".join(f"{x.get('title', '')} {x.get('place') or ''}" for x in items if isinstance(x, dict))
            return self._events_ok(e, blob)
        if e.type == "keywords":
            if isinstance(v, list):  # a list of topics or events: their texts, in order
                v = "; ".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in v)
            blob = str(fact.get("text") or v)
            if any(_contains(_leading_items(blob, e.extra.get("top_items")), w) for w in e.value):
                return True
            return self._grade_text(e, answer)  # a list answer may name it in its text, not in the fact
        return False

    def _events_ok(self, e: Expect, blob: str) -> bool:
        if not all(_contains(blob, req) for req in e.extra.get("required", [])):
            return False
        titles = e.value
        return not titles or sum(_contains(blob, t) for t in titles) / len(titles) >= 0.5

    def _grade_text(self, e: Expect, answer: str) -> bool:
        first = first_sentence(answer)
        if e.type == "person":
            return bool(self.names_in(first, [e.value]))
        if e.type == "people_top":
            return bool(self.names_in(first, e.value))
        if e.type == "people_set":
            return len(self.names_in(first, e.value)) / len(e.value) >= 0.5
        if e.type == "date":
            want = e.value if isinstance(e.value, list) else [e.value]
            return any(_date_in(first, iso) for iso in want)
        if e.type == "amount":
            x = abs(float(e.value))
            forms = [f"{x:.2f}", f"{x:,.2f}"] + ([f"{x:.0f}", f"{x:,.0f}"] if x == round(x) else [])
            return any(re.search(r"(?<![\d.,])" + re.escape(f) + r"(?![\d]|[.,]\d)", first) for f in forms)
        if e.type == "count":
            words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
            forms = [str(e.value)] + ([words[e.value]] if 0 <= e.value < len(words) else [])
            return any(_contains(first, f) for f in forms)
        if e.type == "place":
            return _contains(first, e.value)
        if e.type == "organisation":
            return _contains(first, e.value.replace(" GmbH", "").split()[0])
        if e.type == "relation":
            return any(_contains(first, w) for w in RELATION_WORDS.get(e.value, [e.value]))
        if e.type == "trend":
            words = {
                "fading": ["fading", "drifting", "less often", "less and less"],
                "strengthening": ["strengthening", "closer", "more often", "growing"],
                "strained": ["strained", "conflict", "fight", "argument", "tension"],
                "steady": ["steady", "stable", "as usual"],
            }[e.value]
            return any(_contains(first, w) for w in words)
        if e.type == "events":
            return self._events_ok(e, answer)
        if e.type == "keywords":
            return any(_contains(_leading_items(answer, e.extra.get("top_items")), w) for w in e.value)
        return False


def entity_map(vd: Any, world: World) -> dict[str, str]:
    """Twin entity id -> ground-truth person id, through each person's e-mail addresses in the view."""
    out: dict[str, str] = {}
    for pid, p in world.people.items():
        for email in p["aliases"]["emails"]:
            for eid in vd.alias_index.get(email.lower(), ()):
                out.setdefault(eid, pid)
    return out


def evidence_in_time(twin: Any, q: Question, r: dict[str, Any]) -> bool:
    """Every cited record is dated at or before as-of (a scheduled event may be later for future questions)."""
    from twin_assets.stores import TIERS

    ids = [e["id"] for e in r.get("evidence") or [] if e.get("id")]
    if not ids:
        return True
    docs: dict = {}
    for tier in TIERS:
        docs.update(twin.store(tier).get_many([i for i in ids if i not in docs]))
    for i in ids:
        d = docs.get(i)
        when = d.event_time if d is not None else None
        if when is None:
            item = next(e for e in r["evidence"] if e.get("id") == i)
            when = datetime.fromisoformat(item["timestamp"]) if item.get("timestamp") else None
        if when is None or when <= q.as_of:
            continue
        if q.kind in FUTURE_KINDS and d is not None and d.source == "calendar":
            continue
        return False
    return True


# ---- homes ---------------------------------------------------------------------------------------------------
def prepare_home(base: Path, seed: int, people: int, years: int, reuse: bool) -> tuple[Path, Path]:
    """Generate, ingest and materialize a demo home under ``base``; a kept home is only brought up to date
    (materialize skips every asset whose inputs and code did not change, so new model steps are picked up).

    A failing asset does not stop the benchmark (other work may be half done in the tree): its step names are
    printed and the questions are asked against what did materialize."""
    home, data = base / "home", base / "data"
    from twin_assets.run import materialize
    from twin_assets.settings import get_settings

    os.environ["TWIN_HOME"] = str(home)
    os.environ.pop("DAGSTER_HOME", None)
    settings = get_settings()
    done = base / ".ingested"
    t0 = time.monotonic()
    if reuse and done.exists() and (data / "ground_truth.json").exists():
        what = f"reused {base}, re-materialized stale assets"
    else:
        if base.exists():
            shutil.rmtree(base)
        base.mkdir(parents=True)
        from twin_assets.demo import generate
        from twin_query.demo_cmd import EXPORTS, _keep_truth_encrypted
        from twin_query.ingest import ingest_paths
        from twin_query.setup import init_home

        init_home(settings)
        generate(data, seed=seed, people=people, years=years)
        _keep_truth_encrypted(settings, data)
        ingest_paths(settings, [data / p for p in EXPORTS if (data / p).exists()], source=None, dry_run=False)
        done.write_text("ok\n")
        what = f"built a demo home ({people} people, {years} years)"
    outcome = materialize(settings, None)
    if not outcome.success:
        steps = sorted({f.split(":", 1)[0] for f in outcome.failures})
        print(f"WARNING seed {seed}: assets failed to materialize ({', '.join(steps)}); asking anyway", flush=True)
    print(f"seed {seed}: {what} in {time.monotonic() - t0:.0f}s", flush=True)
    return home, data


# ---- run -----------------------------------------------------------------------------------------------------
def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, list[bool]] = defaultdict(list)
    late: Counter = Counter()
    for r in rows:
        by_kind[r["kind"]].append(r["ok"])
        late[r["kind"]] += not r["in_time"]
    answerable = [r for r in rows if r["kind"] != "unanswerable"]
    unans = [r for r in rows if r["kind"] == "unanswerable"]
    ms = [r["ms"] for r in rows]
    return {
        "n": len(rows),
        "accuracy": sum(r["ok"] for r in rows) / len(rows) if rows else float("nan"),
        "answerable_accuracy": sum(r["ok"] for r in answerable) / len(answerable) if answerable else float("nan"),
        "per_kind": {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in sorted(by_kind.items())},
        "refusal_rate_unanswerable": sum(r["refused"] for r in unans) / len(unans) if unans else float("nan"),
        "false_refusal_rate": sum(r["refused"] for r in answerable) / len(answerable) if answerable else float("nan"),
        "evidence_before_as_of": sum(r["in_time"] for r in rows) / len(rows) if rows else float("nan"),
        "answers_citing_after_as_of_by_kind": dict(sorted((k, v) for k, v in late.items() if v)),
        "with_fact": sum(r["has_fact"] for r in rows) / len(rows) if rows else float("nan"),
        "latency_ms": {"p50": _pct(ms, 0.5), "p95": _pct(ms, 0.95)},
    }


def print_table(title: str, per_seed: dict[int, dict[str, Any]], pooled: dict[str, Any]) -> None:
    seeds = sorted(per_seed)
    print(f"\n== {title} ==")
    head = f"{'kind':24s}" + "".join(f"{'seed ' + str(s):>14s}" for s in seeds) + f"{'pooled':>14s}"
    print(head)
    for kind in pooled["per_kind"]:
        cells = []
        for s in seeds:
            k = per_seed[s]["per_kind"].get(kind)
            cells.append(f"{k['accuracy']:.2f} ({k['n']:3d})" if k else "-")
        k = pooled["per_kind"][kind]
        print(f"{kind:24s}" + "".join(f"{c:>14s}" for c in cells) + f"{k['accuracy']:>8.2f} ({k['n']:3d})")
    for key, label in (
        ("accuracy", "overall accuracy"),
        ("answerable_accuracy", "answerable accuracy"),
        ("refusal_rate_unanswerable", "refused (unanswerable)"),
        ("false_refusal_rate", "false refusals"),
        ("evidence_before_as_of", "evidence <= as-of"),
        ("with_fact", "answers with a fact"),
    ):
        cells = [f"{per_seed[s][key]:.3f}" for s in seeds]
        print(f"{label:24s}" + "".join(f"{c:>14s}" for c in cells) + f"{pooled[key]:>14.3f}")
    cells = [f"{per_seed[s]['latency_ms']['p50']:.0f}/{per_seed[s]['latency_ms']['p95']:.0f}" for s in seeds]
    lat = pooled["latency_ms"]
    print(f"{'ask ms p50/p95':24s}" + "".join(f"{c:>14s}" for c in cells) + f"{lat['p50']:>8.0f}/{lat['p95']:.0f}")
    print(f"{'questions':24s}" + "".join(f"{per_seed[s]['n']:>14d}" for s in seeds) + f"{pooled['n']:>14d}")
    if pooled["answers_citing_after_as_of_by_kind"]:
        print("answers citing a record after as-of, by kind:", pooled["answers_citing_after_as_of_by_kind"])


def _show(q: Question, r: dict[str, Any], world: World, ok: bool = False) -> None:
    e = q.expect
    val = e.value
    if e.type in ("person",):
        val = world.person(val)["name"]
    elif e.type in ("people_top", "people_set"):
        val = [world.person(p)["name"] for p in val]
    got = r.get("fact")
    print(f"  {'PASS' if ok else 'MISS'} {q.qid} [{q.kind}] as-of {q.as_of.date()} {q.question!r}")
    print(f"       expected {e.type}: {val}{' ' + json.dumps(e.extra, ensure_ascii=False) if e.extra else ''}")
    print(f"       got intent={r.get('intent')} fact={json.dumps(got, ensure_ascii=False)[:300]}")
    print(f"       answer: {str(r.get('answer', ''))[:240]!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    ap.add_argument("--split", choices=("dev", "heldout", "all"), default="dev")
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--per-kind", type=int, default=10, help="Questions per kind and split (about).")
    ap.add_argument("--kind", action="append", help="Only these kinds (repeatable).")
    ap.add_argument("--limit", type=int, help="At most this many questions per seed and split.")
    ap.add_argument("--keep", help="Keep generated+materialized homes here and reuse them on the next run.")
    ap.add_argument("--show-failures", action="store_true", help="Print each missed dev question (synthetic data).")
    ap.add_argument("--show-passes", action="store_true", help="Print each passed dev question too (to audit).")
    ap.add_argument("--json", help="Write the figures to this file.")
    ap.add_argument("--questions-only", action="store_true", help="Print the question counts and stop (no twin).")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    splits = ["dev", "heldout"] if args.split == "all" else [args.split]

    results: dict[str, dict[int, list[dict]]] = {s: {} for s in splits}
    scratch = None if args.keep else Path(tempfile.mkdtemp(prefix="twin-questions-"))
    try:
        for seed in args.seeds:
            root = Path(args.keep) if args.keep else scratch
            assert root is not None
            base = root / f"s{seed}-p{args.people}-y{args.years}"
            if args.questions_only:
                data = base / "data"
                from twin_assets.demo import generate

                generate(data, seed=seed, people=args.people, years=args.years)
                world = build_world(data)
                for split in splits:
                    qs = build_questions(world, seed, split, args.per_kind)
                    print(f"seed {seed} {split}: {len(qs)} questions; " + json.dumps(Counter(q.kind for q in qs)))
                continue
            _home, data = prepare_home(base, seed, args.people, args.years, reuse=bool(args.keep))
            world = build_world(data)
            from twin_assets.settings import get_settings
            from twin_query.ask import ask
            from twin_query.service import QueryService

            service = QueryService(get_settings())
            try:
                twin = service.twin()
                grader = Grader(world, entity_map(service.view_data("HIGH"), world))
                for split in splits:
                    qs = build_questions(world, seed, split, args.per_kind)
                    if args.kind:
                        qs = [q for q in qs if q.kind in args.kind]
                    if args.limit:
                        qs = qs[: args.limit]
                    rows = []
                    for q in qs:
                        t0 = time.perf_counter()
                        try:
                            r = ask(service, q.question, as_of=q.as_of, k=10)
                        except Exception as exc:  # a crash is a wrong answer, and worth seeing
                            r = {"answer": f"(error: {type(exc).__name__})", "evidence": []}
                        ms = (time.perf_counter() - t0) * 1000
                        ok = grader.grade(q, r)
                        refused = bool(r.get("refused")) or str(r.get("answer", "")).lower().startswith("i don't know")
                        rows.append(
                            {
                                "qid": q.qid,
                                "kind": q.kind,
                                "ok": ok,
                                "refused": refused,
                                "in_time": evidence_in_time(twin, q, r),
                                "has_fact": isinstance(r.get("fact"), dict),
                                "ms": ms,
                            }
                        )
                        if split == "dev" and ((args.show_failures and not ok) or (args.show_passes and ok)):
                            _show(q, r, world, ok)
                    results[split][seed] = rows
                    print(f"seed {seed} {split}: {len(rows)} questions asked", flush=True)
            finally:
                service.close()
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.questions_only:
        return 0
    figures: dict[str, Any] = {"seeds": args.seeds, "people": args.people, "years": args.years}
    for split in splits:
        per_seed = {s: summarize(rows) for s, rows in results[split].items()}
        pooled = summarize([r for rows in results[split].values() for r in rows])
        print_table(f"{split} split", per_seed, pooled)
        figures[split] = {"per_seed": {str(s): v for s, v in per_seed.items()}, "pooled": pooled}
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
