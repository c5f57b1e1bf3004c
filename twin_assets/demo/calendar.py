"""calendar/calendar.ics: the persona's calendar as one iCalendar file (CRLF, folded lines).

Recurring 1:1s (RRULE with EXDATE and a moved occurrence via RECURRENCE-ID), events in
Europe/Berlin and America/New_York with their VTIMEZONE blocks, all-day birthdays and trips,
meetings with ORGANIZER/ATTENDEE. Events are written as they are generated.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, YEARLY, rrule

from twin_assets.demo import text
from twin_assets.demo.fmt import fold, ics_date, ics_dt, ics_escape, ics_param, month_key, poisson
from twin_assets.demo.truth import Truth, loc_calendar
from twin_assets.demo.world import FAMILY, FRIEND, WORK, Person, World
from twin_assets.tiers import MEDIUM

VTIMEZONES = {
    "Europe/Berlin": (
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "X-LIC-LOCATION:Europe/Berlin",
        "BEGIN:DAYLIGHT",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "TZNAME:CEST",
        "DTSTART:19700329T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "TZNAME:CET",
        "DTSTART:19701025T030000",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "END:STANDARD",
        "END:VTIMEZONE",
    ),
    "America/New_York": (
        "BEGIN:VTIMEZONE",
        "TZID:America/New_York",
        "X-LIC-LOCATION:America/New_York",
        "BEGIN:DAYLIGHT",
        "TZOFFSETFROM:-0500",
        "TZOFFSETTO:-0400",
        "TZNAME:EDT",
        "DTSTART:19700308T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "TZOFFSETFROM:-0400",
        "TZOFFSETTO:-0500",
        "TZNAME:EST",
        "DTSTART:19701101T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
        "END:STANDARD",
        "END:VTIMEZONE",
    ),
}
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class CalendarWriter:
    def __init__(self, world: World, truth: Truth, path: Path) -> None:
        self.world = world
        self.truth = truth
        self.rng = random.Random(f"{world.seed}:calendar")
        self.count = 0
        self.fh = path.open("w", encoding="utf-8", newline="")
        self.stamp = f"{world.end:%Y%m%d}T000000Z"
        header = [
            "BEGIN:VCALENDAR",
            "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            f"X-WR-CALNAME:{world.persona['personal_email']}",
            "X-WR-TIMEZONE:Europe/Berlin",
        ]
        for tz in sorted(VTIMEZONES):
            header.extend(VTIMEZONES[tz])
        self._lines(header)

    def _lines(self, lines: list[str] | tuple[str, ...]) -> None:
        self.fh.write("".join(fold(line) + "\r\n" for line in lines))

    def uid(self) -> str:
        return f"{self.rng.getrandbits(100):025x}@google.com"

    def _who(self, person: Person) -> tuple[str, str]:
        email = person.emails[0] if person.group == WORK else person.email_on(self.world.start)
        return person.calendar_cn or person.name, email

    def event(
        self,
        *,
        uid: str,
        summary: str,
        start: datetime | date,
        end: datetime | date,
        tz: str = "Europe/Berlin",
        organizer: tuple[str, str] | None = None,
        attendees: Sequence[tuple[str, str]] = (),
        location: str = "",
        description: str = "",
        extra: Sequence[str] = (),
        sequence: int = 0,
        recurrence_id: datetime | None = None,
    ) -> None:
        lines = ["BEGIN:VEVENT"]
        if isinstance(start, datetime):
            lines.append(f"DTSTART;TZID={tz}:{ics_dt(start)}")
            lines.append(f"DTEND;TZID={tz}:{ics_dt(end)}")  # type: ignore[arg-type]
        else:
            lines.append(f"DTSTART;VALUE=DATE:{ics_date(start)}")
            lines.append(f"DTEND;VALUE=DATE:{ics_date(end)}")
        lines.extend(extra)
        if recurrence_id is not None:
            lines.append(f"RECURRENCE-ID;TZID={tz}:{ics_dt(recurrence_id)}")
        lines += [f"DTSTAMP:{self.stamp}"]
        if organizer:
            lines.append(f"ORGANIZER;CN={ics_param(organizer[0])}:mailto:{organizer[1]}")
        lines.append(f"UID:{uid}")
        for cn, email in attendees:
            status = "ACCEPTED" if self.rng.random() < 0.8 else "NEEDS-ACTION"
            lines.append(
                f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={status};"
                f"CN={ics_param(cn)};X-NUM-GUESTS=0:mailto:{email}"
            )
        if description:
            lines.append(f"DESCRIPTION:{ics_escape(description)}")
        if location:
            lines.append(f"LOCATION:{ics_escape(location)}")
        lines += [
            f"SEQUENCE:{sequence}",
            "STATUS:CONFIRMED",
            f"SUMMARY:{ics_escape(summary)}",
            "TRANSP:" + ("TRANSPARENT" if not isinstance(start, datetime) else "OPAQUE"),
            "END:VEVENT",
        ]
        self._lines(lines)
        self.count += 1

    # --- recurring and planted ------------------------------------------------------------------

    def recurring(self) -> dict:
        """Both 1:1s, the book club and birthdays; returns the ground-truth pattern entries."""
        w, rng = self.world, self.rng
        berlin = ZoneInfo("Europe/Berlin")
        me = (w.persona["name"], w.persona_email(w.start, work=True))
        out: dict = {"recurring": []}

        # 1:1 at the old job: weekly until the job change.
        boss = w.by_role["manager_a"]
        first = _next_weekday(w.start, 1)
        start = datetime.combine(first, time(10, 0), berlin)
        until = datetime.combine(w.job_change - timedelta(days=1), time(23, 59), berlin).astimezone(UTC)
        uid_a = self.uid()
        self.event(
            uid=uid_a,
            summary=f"1:1 {w.persona['first']} / {boss.short}",
            start=start,
            end=start + timedelta(minutes=30),
            organizer=self._who(boss),
            attendees=[self._who(boss), me],
            location="Nordwind HQ, room Elbe",
            extra=[f"RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL={until:%Y%m%dT%H%M%SZ}"],
        )
        out["recurring"].append(
            {
                "uid": uid_a,
                "what": "weekly 1:1 (previous job)",
                "person": boss.id,
                "weekday": "Tuesday",
                "until": w.job_change.isoformat(),
            }
        )

        # 1:1 at the new job: open-ended, two EXDATEs, one occurrence moved.
        boss = w.by_role["manager_b"]
        me_b = (w.persona["name"], w.persona_email(w.job_change, work=True))
        first = _next_weekday(w.job_change + timedelta(days=7), 3)
        start = datetime.combine(first, time(11, 0), berlin)
        occurrences = list(
            rrule(WEEKLY, dtstart=start.replace(tzinfo=None), until=datetime.combine(w.end, time(23, 59)))
        )
        skipped = [o for o in occurrences if w.in_trip(o.date())][:2]
        spare = [o for o in occurrences if o not in skipped]
        if len(skipped) < 2 and len(spare) > 4:
            skipped.append(spare[len(spare) // 3])
        skipped.sort()
        moved_from = next((o for o in spare[len(spare) // 2 :] if o not in skipped), spare[-1] if spare else None)
        uid_b = self.uid()
        exdate = ",".join(ics_dt(o) for o in skipped)
        extra = ["RRULE:FREQ=WEEKLY;BYDAY=TH"] + ([f"EXDATE;TZID=Europe/Berlin:{exdate}"] if skipped else [])
        summary = f"1:1 {w.persona['first']} <> {boss.short}"
        self.event(
            uid=uid_b,
            summary=summary,
            start=start,
            end=start + timedelta(minutes=30),
            organizer=self._who(boss),
            attendees=[self._who(boss), me_b],
            location="Helio, Raum 3.01",
            description="Weekly check-in. Agenda in the shared doc.",
            extra=extra,
        )
        moved = None
        if moved_from is not None:
            moved = datetime.combine(moved_from.date() + timedelta(days=1), time(14, 30), berlin)
            self.event(
                uid=uid_b,
                summary=summary + " (moved)",
                start=moved,
                end=moved + timedelta(minutes=30),
                organizer=self._who(boss),
                attendees=[self._who(boss), me_b],
                location="Helio, Raum 3.01",
                recurrence_id=moved_from.replace(tzinfo=berlin),
                sequence=1,
            )
        next_dates = [
            o.date().isoformat()
            for o in rrule(WEEKLY, dtstart=start.replace(tzinfo=None), count=2000)
            if o.date() > w.end
        ][:3]
        out["weekly_one_on_one"] = {
            "uid": uid_b,
            "weekday": "Thursday",
            "time": "11:00",
            "tz": "Europe/Berlin",
            "person": boss.id,
            "first": first.isoformat(),
            "exdates": [o.date().isoformat() for o in skipped],
            "moved": {"recurrence_id": moved_from.date().isoformat(), "to": moved.isoformat()}
            if moved_from is not None and moved is not None
            else None,
            "next_occurrences": next_dates,
        }

        # Book club with friends, first Wednesday of the month.
        friends = [p for p in w.people if p.group == FRIEND][:5]
        first = w.start.replace(day=1)
        start = datetime.combine(first, time(19, 30), berlin)
        first_wed = next(o for o in rrule(MONTHLY, byweekday=2, bysetpos=1, dtstart=start.replace(tzinfo=None)))
        start = first_wed.replace(tzinfo=berlin)
        uid = self.uid()
        self.event(
            uid=uid,
            summary="Book club",
            start=start,
            end=start + timedelta(hours=2),
            organizer=self._who(friends[0]),
            attendees=[self._who(p) for p in friends] + [me],
            location="Buchhandlung am Kanal",
            extra=["RRULE:FREQ=MONTHLY;BYDAY=1WE"],
        )
        nxt = [
            o.date().isoformat()
            for o in rrule(MONTHLY, byweekday=2, bysetpos=1, dtstart=first_wed, count=2000)
            if o.date() > w.end
        ][:3]
        out["recurring"].append(
            {"uid": uid, "what": "monthly book club", "weekday": "Wednesday", "next_occurrences": nxt}
        )

        # Birthdays of family and friends: yearly all-day events.
        out["birthdays"] = []
        for person in w.people:
            if person.group not in (FAMILY, FRIEND):
                continue
            uid = f"birthday-{person.id}-{rng.getrandbits(32):08x}@contacts.google.com"
            self.event(
                uid=uid,
                summary=f"{person.name}'s birthday",
                start=person.birthday,
                end=person.birthday + timedelta(days=1),
                extra=["RRULE:FREQ=YEARLY"],
            )
            upcoming = next(
                o.date() for o in rrule(YEARLY, dtstart=datetime.combine(person.birthday, time())) if o.date() > w.end
            )
            out["birthdays"].append({"uid": uid, "person": person.id, "next": upcoming.isoformat()})

        # Trips and the sibling's wedding: all-day, multi-day.
        for trip in w.trips:
            self.event(
                uid=trip.uid,
                summary=f"Trip: {trip.city}",
                start=trip.start,
                end=trip.end + timedelta(days=1),
                location=f"{trip.city}, {trip.country}",
                description=f"Flight BER-{trip.airport}. Hotel: {trip.hotel}.",
            )
        sibling = w.by_role["sibling"]
        uid = self.uid()
        self.event(
            uid=uid,
            summary=f"{sibling.first}'s wedding 💍",
            start=w.wedding_day,
            end=w.wedding_day + timedelta(days=2),
            location="Gut Seeblick, Brandenburg",
        )
        out["wedding"] = {"uid": uid, "date": w.wedding_day.isoformat(), "person": sibling.id}
        return out

    def plant(self) -> None:
        """MEDIUM items: appointments whose descriptions are personal but not secrets."""
        w, truth = self.world, self.truth
        berlin = ZoneInfo("Europe/Berlin")
        items = [
            (
                w.start + timedelta(days=50),
                "Dentist check-up",
                "medical",
                "Zahnarztpraxis Kiefer: Kontrolle und Zahnreinigung. Bring the bonus booklet. Patient no. {c} .",
            ),
            (
                w.job_change + timedelta(days=min(150, (w.end - w.job_change).days - 5)),
                "Salary review",
                "salary",
                "Compensation review with {boss}: proposal to move to EUR 84,000 base. Reference {c} .",
            ),
            (
                w.start + timedelta(days=int(w.span_days() * 0.3)),
                "Physio: knee",
                "medical",
                "Physiotherapie Patellasehne rechts, 6 of 8 sessions. Prescription {c} .",
            ),
        ]
        for day, summary, category, template in items:
            day = _next_weekday(day, day.weekday() if day.weekday() < 5 else 0)
            secret = truth.canary()
            start = datetime.combine(day, time(8, 30), berlin)
            uid = self.uid()
            description = template.format(c=secret, boss=w.by_role["manager_b"].name)
            self.event(uid=uid, summary=summary, start=start, end=start + timedelta(hours=1), description=description)
            truth.add_sensitive(loc_calendar(uid), category, MEDIUM, secret)

    # --- the day loop ---------------------------------------------------------------------------

    def day(self, day: date) -> None:
        w, rng = self.world, self.rng
        if day.weekday() < 5 and not w.in_trip(day):
            for _ in range(poisson(rng, 0.22 * w.volume)):
                self.meeting(day)
        for _ in range(poisson(rng, 0.035 * w.volume)):
            self.personal(day)

    def meeting(self, day: date) -> None:
        w, rng = self.world, self.rng
        org = "A" if day < w.job_change else "B"
        mates = [p for p in w.people if p.org == org and w.activity(p, day) > 0]
        if not mates:
            return
        group = rng.sample(mates, min(len(mates), rng.randint(1, 4)))
        topic = None
        if org == "B" and rng.random() < w.lighthouse_share(day):
            topic = "lighthouse"
            summary = rng.choice(("Lighthouse sync", "Lighthouse reindex review", "Vector search recall deep-dive"))
        elif org == "A" and rng.random() < 0.3:
            topic = "harbor"
            summary = rng.choice(("Harbor pipeline review", "Harbor dashboard walkthrough"))
        else:
            summary = rng.choice(
                (
                    "Sprint planning",
                    "Retro",
                    "Design review",
                    "Interview debrief",
                    "Roadmap",
                    "Coffee chat",
                    "Incident review",
                )
            )
        tz = "Europe/Berlin"
        hour = rng.randint(9, 16)
        if any("ny" in p.flags for p in group):
            tz, hour = "America/New_York", rng.choice((9, 10, 11))  # mornings in New York overlap Berlin
        start = datetime.combine(day, time(hour, rng.choice((0, 15, 30))), ZoneInfo(tz))
        me = (w.persona["name"], w.persona_email(day, work=True))
        organizer = self._who(group[0]) if rng.random() < 0.7 else me
        uid = self.uid()
        description = (
            text.fill(rng, rng.choice(text.TOPICS[topic]["sentences"]))
            if topic
            else text.fill(
                rng,
                rng.choice(
                    (
                        "Agenda in the doc.",
                        "Join: https://meet.{org}.example/{n}",
                        "Let's keep it short, {n} minutes max.",
                    )
                ),
                org="heliolabs" if org == "B" else "nordwind-analytics",
            )
        )
        self.event(
            uid=uid,
            summary=summary,
            start=start,
            end=start + timedelta(minutes=rng.choice((30, 45, 60))),
            tz=tz,
            organizer=organizer,
            attendees=[self._who(p) for p in group] + [me],
            location=rng.choice(("", "Room 2.14", "Video call")),
            description=description,
        )
        if topic:
            self.truth.topic_hit(topic, month_key(day), loc_calendar(uid))

    def personal(self, day: date) -> None:
        w, rng = self.world, self.rng
        people = [p for p in w.people if p.group != WORK and w.activity(p, day) > 0.2]
        if not people:
            return
        person = rng.choice(people)
        start = datetime.combine(
            day, time(rng.choice((12, 18, 19, 20)), rng.choice((0, 30))), ZoneInfo("Europe/Berlin")
        )
        topic = None
        if "strengthening" in person.flags and day >= w.strengthen_start and rng.random() < 0.6:
            summary, topic = "Long run with " + person.short, "marathon"
        else:
            summary = rng.choice(("Dinner with {n}", "Coffee with {n}", "Cinema with {n}", "Call {n}")).format(
                n=person.short
            )
        uid = self.uid()
        self.event(
            uid=uid,
            summary=summary,
            start=start,
            end=start + timedelta(hours=2),
            attendees=[self._who(person)] if rng.random() < 0.5 else [],
            location=rng.choice(text.PLACES),
        )
        if topic:
            self.truth.topic_hit(topic, month_key(day), loc_calendar(uid))

    def close(self) -> None:
        self.fh.write("END:VCALENDAR\r\n")
        self.fh.close()


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)
