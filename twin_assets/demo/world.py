"""The persona's life: people, organisations, relationships and the patterns planted in it.

Everything is decided here, up front, from one seeded RNG, so the writers only render it. Nothing
here grows with the number of messages: per-person state and a few dozen planted events.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from twin_assets.demo import names
from twin_assets.demo.fmt import ascii_fold, month_key

FAMILY, WORK, FRIEND = "family", "work", "friend"
MIN_PEOPLE = 12


@dataclass
class Person:
    id: str
    first: str
    last: str
    nick: str | None
    group: str
    role: str  # partner, parent, sibling, relative, manager, colleague, friend
    org: str | None  # "A" or "B" for work people
    tz: str
    emails: list[str]
    display_names: list[str]
    birthday: date
    phone: str
    title: str | None = None
    weight: float = 1.0  # tie strength, scales every message rate
    flags: tuple[str, ...] = ()
    slack_id: str | None = None
    slack_name: str | None = None
    whatsapp_name: str | None = None
    contact_uid: str | None = None
    card_version: str = "3.0"
    calendar_cn: str | None = None
    old_email: str | None = None  # a personal address abandoned at email_switch
    email_switch: date | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def short(self) -> str:
        return self.nick or self.first

    def email_on(self, day: date) -> str:
        if self.old_email and self.email_switch and day < self.email_switch:
            return self.old_email
        return self.emails[0]


@dataclass
class Trip:
    start: date
    end: date  # last night away; the all-day event ends the day after
    city: str
    country: str
    tz: str
    airport: str
    hotel: str
    with_partner: bool
    uid: str = ""
    booked: date = field(default_factory=lambda: date(2000, 1, 1))
    message_ids: list[str] = field(default_factory=list)
    fitids: list[str] = field(default_factory=list)


@dataclass
class World:
    seed: int
    start: date
    end: date
    volume: float
    persona: dict
    people: list[Person]
    job_change: date
    fade_start: date
    strengthen_start: date
    burst_start: date
    burst_end: date
    anomaly_day: date
    lighthouse_start: date
    renovation: tuple[date, date]
    wedding_day: date
    trips: list[Trip]
    by_role: dict[str, Person]
    relationships: list[dict]

    def span_days(self) -> int:
        return (self.end - self.start).days + 1

    def days(self):
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    def in_trip(self, day: date) -> Trip | None:
        for trip in self.trips:
            if trip.start <= day <= trip.end:
                return trip
        return None

    def persona_email(self, day: date, work: bool) -> str:
        if not work:
            return self.persona["personal_email"]
        return names.ORGS["A" if day < self.job_change else "B"]["persona_email"]

    def activity(self, person: Person, day: date) -> float:
        """How much this person is in the persona's life on ``day``, relative to their weight."""
        level = person.weight
        if person.org == "A":
            if day >= self.job_change + timedelta(days=21):
                return 0.0
            if day >= self.job_change:
                level *= 0.15  # farewell drinks and hand-over questions, then silence
        elif person.org == "B":
            if day < self.job_change:
                return 0.0
            level *= min(1.0, 0.3 + (day - self.job_change).days / 20)
        if "fading" in person.flags and day >= self.fade_start:
            months = (day - self.fade_start).days / 30.4
            level *= max(0.04, 1.0 - months / 4.0)
        if "strengthening" in person.flags:
            if day < self.strengthen_start:
                level *= 0.12
            else:
                months = (day - self.strengthen_start).days / 30.4
                level *= min(1.8, 0.3 + months / 3.0)
        if "conflict" in person.flags:
            if self.burst_start <= day <= self.burst_end:
                level *= 14.0
            elif self.burst_end < day <= self.burst_end + timedelta(days=50):
                level *= 0.2
        return level

    def lighthouse_share(self, day: date) -> float:
        """Share of Helio work talk about the rising project topic: zero before, then growing."""
        if day < self.lighthouse_start:
            return 0.0
        months = (day - self.lighthouse_start).days / 30.4
        return min(0.65, 0.08 + 0.09 * months)


def _span_point(start: date, end: date, fraction: float) -> date:
    return start + timedelta(days=int((end - start).days * fraction))


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + relativedelta(months=1)) if day.day != 1 else day


def _phone(rng: random.Random, tz: str) -> str:
    if tz == "America/New_York":
        return f"+1 212 555 01{rng.randrange(100):02d}"
    if tz == "Europe/London":
        return f"+44 7700 900{rng.randrange(1000):03d}"
    return f"+49 1{rng.choice('567')}{rng.randrange(10)} 555{rng.randrange(10000):04d}"


def _birthday(rng: random.Random, oldest: int, youngest: int) -> date:
    year = rng.randint(oldest, youngest)
    return date(year, rng.randint(1, 12), rng.randint(1, 28))


class _NamePool:
    """Draws unique full names; first names may repeat (as they do in life)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[tuple[str, str]] = {(names.PERSONA["first"], names.PERSONA["last"])}

    def draw(
        self, *, first: tuple[str, str | None] | None = None, last: str | None = None, non_ascii: bool = False
    ) -> tuple[str, str | None, str]:
        for _ in range(10_000):
            f = first or self.rng.choice(names.FIRST_NAMES)
            surname = last or self.rng.choice(names.LAST_NAMES)
            if non_ascii and (f[0] + surname).isascii():
                continue
            if f[0] == names.SHARED_FIRST_NAME and first is None:
                continue  # only the planted pair carries the shared first name
            if (f[0], surname) not in self.used:
                self.used.add((f[0], surname))
                return f[0], f[1], surname
        raise RuntimeError("name pool exhausted")


def _email_local(first: str, last: str, style: str) -> str:
    f, s = ascii_fold(first).lower().replace("-", ""), ascii_fold(last).lower()
    return {
        "first.last": f"{f}.{s}",
        "first": f,
        "f.last": f"{f[0]}.{s}",
        "firstlast": f"{f}{s}",
        "last.first": f"{s}.{f}",
    }[style]


def build_world(seed: int, *, people: int, years: int, end: date, volume: float) -> World:
    if people < MIN_PEOPLE:
        raise ValueError(f"people must be at least {MIN_PEOPLE} (the planted cast needs that many)")
    if years < 1:
        raise ValueError("years must be at least 1")
    if volume <= 0:
        raise ValueError("volume must be positive")
    rng = random.Random(f"{seed}:world")
    start = end - relativedelta(years=years) + timedelta(days=1)
    pool = _NamePool(rng)
    persona: dict[str, Any] = dict(names.PERSONA)  # grows the derived fields below
    persona["name"] = f"{persona['first']} {persona['last']}"
    persona["birthday"] = date(*persona["birthday"])
    persona["contact_uid"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))

    # The cast every pattern needs, then filler in the proportions of a real address book.
    cast: list[tuple[str, str, str | None, tuple[str, ...]]] = [
        ("partner", FAMILY, None, ()),
        ("mother", FAMILY, None, ()),
        ("sibling", FAMILY, None, ()),
        ("manager_a", WORK, "A", ()),
        ("anna_work", WORK, "A", ()),
        ("manager_b", WORK, "B", ()),
        ("ny_colleague", WORK, "B", ("ny",)),
        ("colleague_b", WORK, "B", ()),
        ("anna_friend", FRIEND, None, ()),
        ("fading_friend", FRIEND, None, ("fading",)),
        ("new_friend", FRIEND, None, ("strengthening",)),
        ("conflict_friend", FRIEND, None, ("conflict",)),
    ]
    extra = people - len(cast)
    n_family = max(0, round(people * 0.14) - 3)
    n_a = max(0, round(people * 0.27) - 2)
    n_b = max(0, round(people * 0.25) - 3)
    while n_family + n_a + n_b > extra:
        if n_a >= max(n_b, n_family):
            n_a -= 1
        elif n_b >= n_family:
            n_b -= 1
        else:
            n_family -= 1
    n_friend = extra - n_family - n_a - n_b
    cast += [(f"relative_{i}", FAMILY, None, ()) for i in range(n_family)]
    cast += [(f"colleague_a_{i}", WORK, "A", ()) for i in range(n_a)]
    cast += [(f"colleague_b_{i}", WORK, "B", ()) for i in range(n_b)]
    cast += [(f"friend_{i}", FRIEND, None, ()) for i in range(n_friend)]

    result: list[Person] = []
    by_role: dict[str, Person] = {}
    used_emails: set[str] = {persona["personal_email"]}
    used_slack: set[str] = {persona["slack_handle"]}
    for index, (role_key, group, org, flags) in enumerate(cast):
        if role_key == "mother":
            first, nick, last = pool.draw(first=rng.choice(names.MOTHER_FIRST_NAMES), last=persona["last"])
        elif role_key == "sibling" or (role_key.startswith("relative") and rng.random() < 0.5):
            first, nick, last = pool.draw(last=persona["last"])
        elif role_key in ("anna_work", "anna_friend"):
            first, nick, last = pool.draw(first=(names.SHARED_FIRST_NAME, None))
        else:
            first, nick, last = pool.draw(non_ascii=role_key in ("fading_friend", "colleague_b", "relative_0"))
        tz = "America/New_York" if "ny" in flags else ("Europe/London" if rng.random() < 0.06 else "Europe/Berlin")
        role = {"partner": "partner", "mother": "parent", "sibling": "sibling"}.get(role_key, "")
        if not role:
            role = (
                "manager"
                if role_key.startswith("manager")
                else "colleague"
                if group == WORK
                else "relative"
                if group == FAMILY
                else "friend"
            )
        if group == WORK:
            spec = names.ORGS[org]  # type: ignore[index]
            local = _email_local(first, last, spec["email_style"])
            if local in {e.split("@")[0] for e in used_emails if e.endswith(spec["domain"])}:
                local = _email_local(first, last, "f.last" if spec["email_style"] == "first" else "firstlast")
            emails = [f"{local}@{spec['domain']}"]
            if rng.random() < 0.45:  # colleagues who also write from a private address
                emails.append(f"{_email_local(first, last, 'firstlast')}@{rng.choice(names.PERSONAL_DOMAINS)}")
        else:
            style = rng.choice(("first.last", "firstlast", "f.last", "last.first"))
            emails = [f"{_email_local(first, last, style)}@{rng.choice(names.PERSONAL_DOMAINS)}"]
        emails = [e if e not in used_emails else e.replace("@", f"{index}@") for e in emails]
        used_emails.update(emails)

        display = [f"{first} {last}"]
        if nick:
            display.append(f"{nick} {last}")
        display.append(f"{last.lower()}, {(nick or first).lower()}")
        if group == WORK:
            display.append(f"{last}, {first}")
        oldest, youngest = (1950, 1965) if role_key == "mother" else (1960, 2000)
        person = Person(
            id=f"p{index + 1:03d}",
            first=first,
            last=last,
            nick=nick,
            group=group,
            role=role,
            org=org,
            tz=tz,
            emails=emails,
            display_names=display,
            birthday=_birthday(rng, oldest, youngest),
            phone=_phone(rng, tz),
            title=rng.choice(names.WORK_TITLES) if group == WORK else None,
            weight=round(rng.uniform(0.5, 1.4), 2),
            flags=flags,
        )
        if role_key.startswith("manager"):
            person.title = "Engineering Manager" if org == "A" else "Head of Data Platform"
        if role_key in ("fading_friend", "new_friend", "conflict_friend"):
            # Close ties, so their planted trends stand out from day-to-day noise.
            person.weight = {"fading_friend": 3.0, "new_friend": 1.6, "conflict_friend": 1.3}[role_key]
        if role_key in ("partner", "sibling", "mother"):
            person.weight = {"partner": 2.2, "sibling": 1.4, "mother": 1.2}[role_key]
        if role_key in ("manager_a", "manager_b", "anna_work", "colleague_b", "ny_colleague"):
            person.weight = max(person.weight, 1.2)
        if group == FRIEND and rng.random() < 0.25 and "fading" not in flags:
            # Moved to a new provider part-way through; both addresses belong to one person.
            person.old_email = person.emails[0]
            new = f"{_email_local(first, last, 'first.last')}{index}@{rng.choice(names.PERSONAL_DOMAINS)}"
            person.emails = [new, person.old_email]
            used_emails.add(new)
            person.email_switch = _span_point(start, end, rng.uniform(0.3, 0.7))
        if org == "B":
            handle = _email_local(first, last, "first.last" if rng.random() < 0.5 else "firstlast")
            while handle in used_slack:
                handle += str(index)
            used_slack.add(handle)
            person.slack_name = handle
            person.slack_id = "U0" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))
        if group in (FAMILY, FRIEND):
            person.whatsapp_name = _whatsapp_name(rng, person, role_key)
        if group != WORK or rng.random() < 0.8 or role_key in ("manager_a", "manager_b", "anna_work"):
            person.contact_uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            person.card_version = "4.0" if rng.random() < 0.4 else "3.0"
        person.calendar_cn = f"{last}, {first}" if (group == WORK and rng.random() < 0.5) else person.name
        result.append(person)
        by_role[role_key] = person

    persona["slack_id"] = "U0" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))
    persona["whatsapp_name"] = persona["name"]

    job_change = _first_of_next_month(_span_point(start, end, 0.55))
    lighthouse_start = _first_of_next_month(job_change + timedelta(days=min(95, (end - job_change).days // 3)))
    burst_start = _span_point(start, end, 0.62 + rng.uniform(-0.03, 0.03))
    renovation_start = _first_of_next_month(_span_point(start, end, 0.18))
    world = World(
        seed=seed,
        start=start,
        end=end,
        volume=volume,
        persona=persona,
        people=result,
        job_change=job_change,
        fade_start=_first_of_next_month(_span_point(start, end, 0.33)),
        strengthen_start=_first_of_next_month(_span_point(start, end, 0.38)),
        burst_start=burst_start,
        burst_end=burst_start + timedelta(days=3),
        anomaly_day=_span_point(start, end, 0.74 + rng.uniform(-0.02, 0.02)),
        lighthouse_start=lighthouse_start,
        renovation=(renovation_start, renovation_start + relativedelta(months=4)),
        wedding_day=_span_point(start, end, 0.7).replace(day=1) + timedelta(days=12),
        trips=[],
        by_role=by_role,
        relationships=[],
    )
    world.trips = _plan_trips(rng, world)
    world.relationships = _relationships(world)
    return world


def _whatsapp_name(rng: random.Random, person: Person, role_key: str) -> str:
    if role_key == "mother":
        return "Mama"
    if role_key == "partner":
        return f"{person.short} ❤️"
    if role_key == "sibling":
        return person.first
    if person.group == FAMILY:
        return f"{person.short} (Cousin)"
    choice = rng.random()
    if choice < 0.5:
        return person.name
    if choice < 0.8:
        return f"{person.short} {person.last[0]}."
    return f"{person.short} {rng.choice(('🧗', '🎸', '🚲', '📷', '⛵'))}"


def _plan_trips(rng: random.Random, world: World) -> list[Trip]:
    trips: list[Trip] = []
    destinations = list(names.DESTINATIONS)
    rng.shuffle(destinations)
    ny = next(d for d in destinations if d[1] == "USA")
    month = world.start.replace(day=1)
    index = 0
    while True:
        month += relativedelta(months=rng.choice((4, 5, 6)))
        start = month + timedelta(days=rng.randrange(3, 20))
        length = rng.randint(3, 8)
        if start + timedelta(days=length) > world.end - timedelta(days=10):
            break
        dest = destinations[index % len(destinations)]
        if dest == ny and start < world.job_change:
            dest = destinations[(index + 1) % len(destinations)]
        if abs((start - world.burst_start).days) < 12 or abs((start - world.anomaly_day).days) < 10:
            start += timedelta(days=24)
        if start + timedelta(days=length) > world.end - timedelta(days=10):
            break
        trip = Trip(
            start=start,
            end=start + timedelta(days=length - 1),
            city=dest[0],
            country=dest[1],
            tz=dest[2],
            airport=dest[3],
            hotel=dest[4],
            with_partner=dest != ny,
        )
        trip.uid = f"trip-{start:%Y%m%d}-{ascii_fold(dest[0]).lower()}@demo.twin.example"
        trip.booked = start - timedelta(days=rng.randint(20, 45))
        if trip.booked < world.start:
            trip.booked = world.start
        trips.append(trip)
        index += 1
    if not any(t.city == "New York" for t in trips) and world.end - world.job_change > timedelta(days=60):
        # The New York office visit gives the America/New_York calendar entries a reason to exist.
        start = world.job_change + timedelta(days=(world.end - world.job_change).days // 2)
        start = start + timedelta(days=(0 - start.weekday()) % 7)
        if not any(t.start - timedelta(days=10) <= start <= t.end + timedelta(days=10) for t in trips):
            trip = Trip(
                start=start,
                end=start + timedelta(days=4),
                city=ny[0],
                country=ny[1],
                tz=ny[2],
                airport=ny[3],
                hotel=ny[4],
                with_partner=False,
            )
            trip.uid = f"trip-{start:%Y%m%d}-newyork@demo.twin.example"
            trip.booked = max(world.start, start - timedelta(days=30))
            trips.append(trip)
            trips.sort(key=lambda t: t.start)
    return trips


def _relationships(world: World) -> list[dict]:
    """What ``other`` is to ``person`` (e.g. person=self, other=p004, type=manager)."""
    rels: list[dict] = []
    r = world.by_role
    rels.append({"person": "self", "other": r["partner"].id, "type": "partner"})
    rels.append({"person": "self", "other": r["mother"].id, "type": "parent"})
    rels.append({"person": "self", "other": r["sibling"].id, "type": "sibling"})
    rels.append({"person": r["sibling"].id, "other": r["mother"].id, "type": "parent"})
    job = world.job_change.isoformat()
    rels.append({"person": "self", "other": r["manager_a"].id, "type": "manager", "until": job})
    rels.append({"person": "self", "other": r["manager_b"].id, "type": "manager", "since": job})
    for p in world.people:
        if p.group == FAMILY and p.role == "relative":
            rels.append({"person": "self", "other": p.id, "type": "relative"})
        elif p.group == FRIEND:
            rels.append({"person": "self", "other": p.id, "type": "friend"})
        elif p.group == WORK and p.role != "manager":
            span = {"until": job} if p.org == "A" else {"since": job}
            rels.append({"person": "self", "other": p.id, "type": "colleague", **span})
            boss = r["manager_a"] if p.org == "A" else r["manager_b"]
            rels.append({"person": p.id, "other": boss.id, "type": "manager"})
    return rels


def months(world: World) -> list[str]:
    out, day = [], world.start.replace(day=1)
    while day <= world.end:
        out.append(month_key(day))
        day += relativedelta(months=1)
    return out
