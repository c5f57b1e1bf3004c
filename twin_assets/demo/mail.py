"""mail/mailbox.mbox: a Google-Takeout-like mbox of the persona's mail.

Threads (Message-ID / In-Reply-To / References), multipart/alternative, HTML-only and plain bodies,
a mailing list and newsletters with list headers, RFC 2047 names, and the planted items. Messages
are rendered to text and written as soon as they exist; only the current thread is in memory.
"""

from __future__ import annotations

import html
import quopri
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from twin_assets.demo import names, text
from twin_assets.demo.fmt import (
    address,
    header_text,
    mbox_escape,
    month_key,
    poisson,
    rfc2822_date,
    token,
    wrap,
)
from twin_assets.demo.truth import Truth, loc_email
from twin_assets.demo.world import FRIEND, WORK, Person, World
from twin_assets.tiers import HIGH, LOW, MEDIUM

BERLIN = ZoneInfo("Europe/Berlin")
DOCTOR = {
    "name": "Dr. Ilse Marquardt",
    "practice": "Hausarztpraxis Dr. Ilse Marquardt",
    "email": "praxis@marquardt-hausarzt.example",
}


@dataclass
class Mail:
    sender: tuple[str, str]
    to: list[tuple[str, str]]
    subject: str
    when: datetime
    plain: str | None = None
    html_body: str | None = None
    cc: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    labels: str = "Inbox"
    qp_html: bool = True
    message_id: str = ""


def _to_html(body: str) -> str:
    paras = [html.escape(p).replace("\n", "<br>\n") for p in body.split("\n\n") if p.strip()]
    inner = "\n".join(f"<p>{p}</p>" for p in paras)
    return (
        '<html><head><meta charset="utf-8"></head>\n<body style="font-family: Arial, sans-serif;">\n'
        f"{inner}\n</body></html>"
    )


class MailWriter:
    def __init__(self, world: World, truth: Truth, path: Path) -> None:
        self.world = world
        self.truth = truth
        self.rng = random.Random(f"{world.seed}:mail")
        self.path = path
        self.count = 0
        self.fh = path.open("w", encoding="utf-8", newline="\n")
        self.me = world.persona["name"]
        self.newsletter_extra: dict[tuple[int, date], tuple[str, str]] = {}

    # --- rendering --------------------------------------------------------------------------------

    def _mid(self, domain: str) -> str:
        return f"{self.rng.getrandbits(80):020x}@{domain}"

    def send(self, mail: Mail) -> str:
        rng = self.rng
        domain = mail.sender[1].split("@", 1)[1]
        mail.message_id = mail.message_id or self._mid(f"mail.{domain}")
        root = mail.references[0] if mail.references else mail.message_id
        headers = [
            ("X-GM-THRID", str(int(root[:15], 16))),
            ("X-Gmail-Labels", mail.labels),
            ("Message-ID", f"<{mail.message_id}>"),
            ("Date", rfc2822_date(mail.when)),
            ("From", address(*mail.sender)),
            ("To", ",\n ".join(address(n, a) for n, a in mail.to)),
        ]
        if mail.cc:
            headers.append(("Cc", ",\n ".join(address(n, a) for n, a in mail.cc)))
        headers.append(("Subject", header_text(mail.subject)))
        if mail.in_reply_to:
            headers.append(("In-Reply-To", f"<{mail.in_reply_to}>"))
        if mail.references:
            headers.append(("References", "\n ".join(f"<{r}>" for r in mail.references)))
        headers.extend(mail.headers)
        headers.append(("MIME-Version", "1.0"))
        plain, rich = mail.plain, mail.html_body
        if plain is not None and rich is not None:
            boundary = f"000000000000{rng.getrandbits(48):012x}"
            headers.append(("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
            body = (
                f"--{boundary}\n{self._part_headers(plain, 'plain', False)}\n\n{plain}\n"
                f"--{boundary}\n{self._part_headers(rich, 'html', mail.qp_html)}\n\n"
                f"{self._encode(rich, mail.qp_html)}\n--{boundary}--\n"
            )
        elif rich is not None:
            headers.append(("Content-Type", 'text/html; charset="utf-8"'))
            headers.append(("Content-Transfer-Encoding", "quoted-printable" if mail.qp_html else "8bit"))
            body = self._encode(rich, mail.qp_html) + "\n"
        else:
            assert plain is not None
            charset = "us-ascii" if plain.isascii() else "utf-8"
            headers.append(
                (
                    "Content-Type",
                    f"text/plain; charset={charset}; format=flowed"
                    if rng.random() < 0.3
                    else f'text/plain; charset="{charset}"',
                )
            )
            headers.append(("Content-Transfer-Encoding", "7bit" if plain.isascii() else "8bit"))
            body = plain + "\n"
        utc = mail.when.astimezone(UTC)
        envelope = f"From {mail.sender[1]} {utc:%a %b} {utc.day:2d} {utc:%H:%M:%S %Y}\n"
        head = "".join(f"{k}: {v}\n" for k, v in headers)
        self.fh.write(envelope + head + "\n" + mbox_escape(body) + "\n")
        self.count += 1
        return mail.message_id

    @staticmethod
    def _part_headers(content: str, subtype: str, qp: bool) -> str:
        cte = "quoted-printable" if qp else ("7bit" if content.isascii() else "8bit")
        return f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: {cte}'

    @staticmethod
    def _encode(content: str, qp: bool) -> str:
        if not qp:
            return content
        return quopri.encodestring(content.encode("utf-8")).decode("ascii")

    # --- helpers ----------------------------------------------------------------------------------

    def _addr(self, person: Person, day: date, *, work: bool) -> tuple[str, str]:
        """A name as this message's sender would display it: variants are the point."""
        rng = self.rng
        roll = rng.random()
        name = person.display_names[0]
        if roll < 0.22 and len(person.display_names) > 1:
            name = rng.choice(person.display_names[1:])
        if work and person.group == WORK:
            return name, person.emails[0]
        org = names.ORGS.get(person.org or "")
        personal = [e for e in person.emails if not e.endswith(org["domain"] if org else "-")]
        if person.old_email:
            return name, person.email_on(day)
        return name, (personal or person.emails)[0]

    def _me(self, day: date, *, work: bool) -> tuple[str, str]:
        return self.me, self.world.persona_email(day, work)

    def _when(self, day: date, *, work: bool, tz: str = "Europe/Berlin") -> datetime:
        rng = self.rng
        hour = rng.randint(8, 18) if work else rng.choice((7, 8, 12, 13, 18, 19, 20, 21, 22))
        return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), ZoneInfo(tz))

    def _topic_for(self, person: Person, day: date) -> str | None:
        w, rng = self.world, self.rng
        if person.org == "B" and rng.random() < w.lighthouse_share(day):
            return "lighthouse"
        if person.org == "A" and rng.random() < 0.3:
            return "harbor"
        if "strengthening" in person.flags and day >= w.strengthen_start and rng.random() < 0.5:
            return "marathon"
        if w.renovation[0] <= day <= w.renovation[1] and person.group != WORK and rng.random() < 0.3:
            return "renovation"
        if (
            person.role in ("sibling", "parent")
            and w.wedding_day - timedelta(days=180) <= day <= w.wedding_day
            and rng.random() < 0.5
        ):
            return "wedding"
        return None

    # --- the day loop -----------------------------------------------------------------------------

    def day(self, day: date) -> None:
        w, rng = self.world, self.rng
        weekday = day.weekday() < 5
        away = w.in_trip(day)
        for person in w.people:
            act = w.activity(person, day)
            if act <= 0:
                continue
            if person.group == WORK:
                if not weekday:
                    continue
                rate = (0.045 if person.org == "A" else 0.012) * act * (0.15 if away else 1.0)
            else:
                rate = 0.009 * act
            for _ in range(poisson(rng, rate * w.volume)):
                self.thread(person, day)
        for _ in range(poisson(rng, 0.07 * w.volume)):
            self.list_thread(day)
        for index, letter in enumerate(names.NEWSLETTERS):
            if (day - w.start).days % letter["period_days"] == index:
                extra = self.newsletter_extra.pop((index, day), None)
                mid = self.newsletter(letter, day, extra=extra[0] if extra else "")
                if extra:
                    self.truth.add_sensitive(loc_email(mid), "published", LOW, extra[1])
        if day.day == 3:
            self.phone_bill(day)
        for trip in w.trips:
            if day == trip.booked:
                self.flight_booking(trip)
            elif day == trip.booked + timedelta(days=1):
                self.hotel_booking(trip)

    def thread(
        self,
        person: Person,
        day: date,
        *,
        subject: str | None = None,
        bodies: list[str] | None = None,
        starter_is_me: bool | None = None,
        raw: bool = False,
    ) -> list[str]:
        w, rng = self.world, self.rng
        work = person.group == WORK
        topic = None if bodies else self._topic_for(person, day)
        pool = text.TOPICS[topic] if topic else None
        if subject is None:
            if pool:
                subject = text.fill(rng, rng.choice(pool["subjects"]))
            else:
                subject = text.fill(rng, rng.choice(text.WORK_SUBJECTS if work else text.PERSONAL_SUBJECTS))
        n = len(bodies) if bodies else rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        me_first = rng.random() < 0.45 if starter_is_me is None else starter_is_me
        cc: list[tuple[str, str]] = []
        if work and rng.random() < 0.3:
            mates = [p for p in w.people if p.org == person.org and p is not person and w.activity(p, day) > 0]
            if mates:
                cc = [self._addr(rng.choice(mates), day, work=True)]
        tz = person.tz if not me_first else "Europe/Berlin"
        when = self._when(day, work=work, tz=tz)
        ids: list[str] = []
        prev_body = ""
        prev_from = ""
        for i in range(n):
            mine = (i % 2 == 0) == me_first
            sender = self._me(day, work=work) if mine else self._addr(person, day, work=work)
            other = self._addr(person, day, work=work) if mine else self._me(day, work=work)
            if bodies:
                core = bodies[i]
            elif pool:
                core = text.sentences(rng, pool["sentences"], rng.randint(1, 2))
                if not work and rng.random() < 0.5:
                    core += " " + text.sentences(rng, text.PERSONAL_SENTENCES, 1)
            else:
                core = text.sentences(rng, text.WORK_SENTENCES if work else text.PERSONAL_SENTENCES, rng.randint(1, 3))
            to_name = person.short if mine else w.persona["first"]
            signer = w.persona["first"] if mine else person.short
            if raw:
                body = wrap(core)
            else:
                body = wrap(f"{text.greeting(rng, to_name, work)}\n\n{core}\n\n{text.signoff(rng, signer, work)}")
            if i > 0 and not bodies and rng.random() < 0.5:
                quoted = "\n".join("> " + line for line in prev_body.split("\n"))
                body += f"\n\nOn {when:%a, %d %b %Y at %H:%M}, {prev_from} wrote:\n{quoted}"
            kind = rng.random()
            sender_tz = BERLIN if mine else ZoneInfo(person.tz)
            mail = Mail(
                sender=sender,
                to=[other],
                cc=cc if i == 0 else [],
                subject=subject if i == 0 else f"Re: {subject}",
                when=when.astimezone(sender_tz),
                labels="Sent" if mine else ("Inbox,Important" if work else "Inbox"),
            )
            if kind < (0.65 if work else 0.3):
                mail.plain, mail.html_body, mail.qp_html = body, _to_html(body), rng.random() < 0.5
            else:
                mail.plain = body
            if ids:
                mail.in_reply_to = ids[-1]
                mail.references = list(ids[-8:])
            mid = self.send(mail)
            ids.append(mid)
            if topic:
                self.truth.topic_hit(topic, month_key(when.date()), loc_email(mid))
            prev_body, prev_from = body, sender[0]
            when += timedelta(minutes=rng.randint(12, 60 * 26))
            if when.date() > w.end:
                break
            day = when.date()
        return ids

    def list_thread(self, day: date) -> None:
        w, rng = self.world, self.rng
        members = [p for p in w.people if p.group in (FRIEND, WORK) and hash_bucket(p.id, 3) == 0]
        if not members:
            return
        spec = names.MAILING_LIST
        subject = "[data-meetup] " + text.fill(
            rng,
            rng.choice(
                (
                    "Talk proposal: {n} ways to test data pipelines",
                    "Next meetup on {day}: lightning talks",
                    "Job: data engineer at a small Berlin startup",
                    "Slides from last week",
                    "Venue for the {month} meetup",
                    "Anyone using DuckDB in production?",
                    "Call for speakers",
                )
            ),
        )
        when = self._when(day, work=False)
        ids: list[str] = []
        for i in range(rng.choice((1, 1, 2, 3))):
            author = rng.choice(members)
            mine = i > 0 and rng.random() < 0.15
            sender = self._me(day, work=False) if mine else self._addr(author, day, work=False)
            body = wrap(
                text.fill(
                    rng,
                    rng.choice(
                        (
                            "Hi all,\n\nwe are looking for two more lightning talks for {day}. Five "
                            "minutes, any topic around data engineering. Reply to the list if you're "
                            "interested.\n\nCheers",
                            "The slides are up on the meetup page. Thanks to everyone who came, we had {n} people!",
                            "We run it for {n} pipelines now, mostly fine. Memory is the thing to watch.",
                            "+1, happy to help with the venue. Our office has space for about {n} people.",
                        )
                    ),
                )
            )
            mail = Mail(
                sender=sender,
                to=[(spec["name"], spec["address"])],
                subject=subject if i == 0 else f"Re: {subject}",
                when=when,
                plain=body,
                labels="Sent" if mine else "Category Forums",
                headers=[
                    ("List-Id", spec["list_id"]),
                    ("List-Unsubscribe", spec["unsubscribe"]),
                    ("List-Post", f"<mailto:{spec['address']}>"),
                    ("List-Archive", spec["archive"]),
                    ("Precedence", "list"),
                    ("Sender", f"{spec['address'].replace('@', '-bounces@')}"),
                ],
            )
            if ids:
                mail.in_reply_to, mail.references = ids[-1], list(ids[-8:])
            ids.append(self.send(mail))
            when += timedelta(minutes=rng.randint(30, 600))

    def newsletter(self, letter: names.Newsletter, day: date, *, extra: str = "") -> str:
        rng = self.rng
        issue = (day - self.world.start).days // letter["period_days"] + 1
        items = [
            text.fill(rng, s)
            for s in rng.sample(
                (
                    "Why {n}% of data teams are rewriting their pipelines this year",
                    "A field guide to vector search, embeddings and recall",
                    "Berlin's new bike lanes: what changes on {day}",
                    "Interview: running a community kitchen in Neukölln",
                    "Five books for long train rides",
                    "Open-source spotlight: a tiny scheduler in {n} lines",
                    "Events this month: flea markets, readings, open studios",
                ),
                3,
            )
        ]
        lines = "\n".join(f"<h2>{html.escape(t)}</h2>\n<p>Read more on our website.</p>" for t in items)
        footer = (
            f'<p style="font-size:11px">You receive this because you subscribed. '
            f'<a href="{letter["unsubscribe"].strip("<>")}">Unsubscribe</a></p>'
        )
        body = (
            f"<html><body>\n<h1>{html.escape(letter['name'])} #{issue}</h1>\n{lines}\n{extra}{footer}\n</body></html>"
        )
        mail = Mail(
            sender=(letter["name"], letter["sender"]),
            to=[(None, self.world.persona["personal_email"])],  # type: ignore[list-item]
            subject=f"{letter['name']} #{issue}: {items[0]}",
            when=self._when(day, work=False),
            labels="Category Promotions",
            headers=[
                ("List-Id", letter["list_id"]),
                ("List-Unsubscribe", letter["unsubscribe"]),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ("Precedence", "bulk"),
            ],
        )
        if letter["period_days"] == 30:
            mail.plain = wrap("\n\n".join(items) + "\n\nAbmelden: " + letter["unsubscribe"].split(",")[0].strip("<>"))
        mail.html_body = body
        mail.qp_html = not extra and letter["period_days"] == 30
        return self.send(mail)

    def phone_bill(self, day: date) -> None:
        amount = f"{names.UTILITIES[2][1]:.2f}".replace(".", ",")
        body = (
            f"<html><body><p>Hallo {html.escape(self.me)},</p><p>Ihre Rechnung für "
            f"{day:%m/%Y} ist da. Betrag: {amount} EUR. Der Betrag wird am {day.day + 5}. abgebucht.</p>"
            "<p>Ihr Mobilfunk-Hallo-Team</p></body></html>"
        )
        self.send(
            Mail(
                sender=("Mobilfunk Hallo", "rechnung@mobilfunk-hallo.example"),
                to=[(self.me, self.world.persona["personal_email"])],
                subject=f"Ihre Rechnung {day:%m/%Y}",
                when=self._when(day, work=False),
                html_body=body,
                labels="Category Updates",
            )
        )

    def flight_booking(self, trip) -> None:
        rng, w = self.rng, self.world
        code = token(rng, 6).upper()
        out_day, back_day = trip.start, trip.end + timedelta(days=1)
        travellers = self.me + (f", {w.by_role['partner'].name}" if trip.with_partner else "")
        body = (
            f"Booking confirmation {code}\n\nPassengers: {travellers}\n"
            f"Outbound: {out_day:%d %b %Y} BER -> {trip.airport}, flight {names.AIRLINE['code']} "
            f"{rng.randint(100, 999)}\nReturn: {back_day:%d %b %Y} {trip.airport} -> BER\n\n"
            "Have a good trip!\nSkyWay Air"
        )
        mid = self.send(
            Mail(
                sender=(names.AIRLINE["name"], names.AIRLINE["sender"]),
                to=[(self.me, w.persona["personal_email"])],
                subject=f"Your booking {code}: Berlin - {trip.city}",
                when=self._when(trip.booked, work=False),
                plain=body,
                html_body=_to_html(body),
                labels="Category Updates",
            )
        )
        trip.message_ids.append(mid)

    def hotel_booking(self, trip) -> None:
        w = self.world
        nights = (trip.end - trip.start).days + 1
        checkout = trip.end + timedelta(days=1)
        body = (
            f"<html><body><h1>Your stay is confirmed</h1><p>{html.escape(trip.hotel)}, "
            f"{html.escape(trip.city)}</p><p>Check-in: {trip.start:%A, %d %B %Y}<br>"
            f"Check-out: {checkout:%A, %d %B %Y}"
            f"<br>{nights} nights, {2 if trip.with_partner else 1} guests</p></body></html>"
        )
        mid = self.send(
            Mail(
                sender=(names.HOTEL_SITE["name"], names.HOTEL_SITE["sender"]),
                to=[(self.me, w.persona["personal_email"])],
                subject=f"Confirmed: {trip.hotel} ({trip.start:%d %b} - {checkout:%d %b})",
                when=self._when(trip.booked + timedelta(days=1), work=False),
                html_body=body,
                labels="Category Updates",
            )
        )
        trip.message_ids.append(mid)

    def close(self) -> None:
        self.fh.close()


def hash_bucket(key: str, buckets: int) -> int:
    """A stable bucket for a string (``hash()`` is salted per process, so never use it here)."""
    return sum(key.encode()) % buckets


def plant(writer: MailWriter) -> None:
    """The one-off messages that carry ground truth: secrets, sentiment, the job change."""
    w, truth, rng = writer.world, writer.truth, writer.rng
    r = w.by_role
    me = w.persona["first"]

    # HIGH api_key: a colleague pastes staging credentials into a mail.
    day = _weekday(w.start + timedelta(days=40))
    secret = truth.canary()
    key_id = "AKIA" + token(rng, 16).upper()
    ids = writer.thread(
        r["anna_work"],
        day,
        subject="Staging credentials for Harbor",
        starter_is_me=False,
        bodies=[
            f"Here are the staging credentials you asked for, please don't forward them.\n\n"
            f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={token(rng, 14)}{secret}"
            f"{token(rng, 10)}\n\nThey rotate at the end of the month."
        ],
    )
    truth.add_sensitive(loc_email(ids[0]), "api_key", HIGH, secret)

    # HIGH password: the partner sends the holiday flat's door code and wifi password.
    day = w.start + timedelta(days=75)
    secret = truth.canary()
    ids = writer.thread(
        r["partner"],
        day,
        subject="Wifi at the flat",
        starter_is_me=False,
        bodies=[
            f"The wifi password for the flat is {secret} and the key box code is "
            f"{rng.randint(1000, 9999)}. Delete this after you saved it!"
        ],
    )
    truth.add_sensitive(loc_email(ids[0]), "password", HIGH, secret)

    # HIGH ssn-like: mother sends the tax ID for the tax return.
    day = w.start + timedelta(days=130)
    secret = truth.canary()
    tax_id = f"{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
    ids = writer.thread(
        r["mother"],
        day,
        subject="Deine Steuer-ID",
        starter_is_me=False,
        bodies=[
            f"Liebe {me},\n\nhier ist deine Steuer-Identifikationsnummer für die "
            f"Steuererklärung: {tax_id} (Aktenzeichen {secret}).\n\nKuss, Mama"
        ],
        raw=True,
    )
    truth.add_sensitive(loc_email(ids[0]), "ssn-like", HIGH, secret)

    # HIGH medical: lab results from the GP, whose name appears only in HIGH items.
    day = w.start + timedelta(days=int(w.span_days() * 0.45))
    secret = truth.canary()
    body = wrap(
        f"Sehr geehrte Frau {w.persona['last']},\n\nIhre Laborwerte vom {day:%d.%m.%Y} liegen vor: "
        f"Ferritin 9 ng/ml (erniedrigt), TSH 4,8 mU/l. Diagnose: Eisenmangelanämie, Verdacht auf "
        f"Hashimoto-Thyreoiditis. Bitte vereinbaren Sie einen Termin zur Besprechung. "
        f"Befund-Nr. {secret}.\n\nMit freundlichen Grüßen\n{DOCTOR['name']}\n{DOCTOR['practice']}"
    )
    mid = writer.send(
        Mail(
            sender=(DOCTOR["practice"], DOCTOR["email"]),
            to=[(writer.me, w.persona["personal_email"])],
            subject="Ihre Laborergebnisse",
            when=writer._when(day, work=True),
            plain=body,
        )
    )
    truth.add_sensitive(loc_email(mid), "medical", HIGH, secret)

    # MEDIUM salary: the offer letter from the new employer.
    day = _weekday(w.job_change - timedelta(days=40))
    secret = truth.canary()
    org_b = names.ORGS["B"]
    body = wrap(
        f"Hi {me},\n\nas discussed, we'd love you to join {org_b['name']} as {org_b['persona_title']} "
        f"starting {w.job_change:%d %B %Y}. The offer is a gross annual salary of EUR 78,500 plus a "
        f"10% bonus target. Offer reference {secret}.\n\nLooking forward to working with you!\n"
        f"{r['manager_b'].short}"
    )
    mid = writer.send(
        Mail(
            sender=(r["manager_b"].name, r["manager_b"].emails[0]),
            to=[(writer.me, w.persona["personal_email"])],
            subject=f"Your offer from {org_b['short']}",
            when=writer._when(day, work=True),
            plain=body,
            html_body=_to_html(body),
            qp_html=False,
        )
    )
    truth.add_sensitive(loc_email(mid), "salary", MEDIUM, secret)
    truth.patterns["job_change"]["offer_message_id"] = mid

    # Farewell at the old job, congratulations from friends: planted positive sentiment.
    last_day = _weekday(w.job_change - timedelta(days=3), back=True)
    org_a_people = [p for p in w.people if p.org == "A"]
    farewell = wrap(
        f"Dear all,\n\ntoday is my last day at {names.ORGS['A']['short']}. Thank you for "
        f"everything, it was a wonderful time and I learned so much from you.\n\n"
        f"Stay in touch: {w.persona['personal_email']}\n\n{me}"
    )
    mid = writer.send(
        Mail(
            sender=writer._me(last_day, work=True),
            to=[(p.name, p.emails[0]) for p in org_a_people[:12]],
            subject="Goodbye and thank you!",
            when=writer._when(last_day, work=True),
            plain=farewell,
            labels="Sent",
        )
    )
    truth.patterns["job_change"]["farewell_message_id"] = mid
    reply_text = text.POSITIVE[0]
    reply = writer.send(
        Mail(
            sender=writer._addr(r["manager_a"], last_day, work=True),
            to=[writer._me(last_day, work=True)],
            subject="Re: Goodbye and thank you!",
            when=writer._when(last_day, work=True) + timedelta(hours=1),
            plain=wrap(f"{me},\n\n{reply_text}\n\n{r['manager_a'].short}"),
            in_reply_to=mid,
            references=[mid],
        )
    )
    truth.add_sentiment(loc_email(reply), "positive", reply_text, last_day.isoformat())
    for i, friend in enumerate((r["anna_friend"], r["sibling"])):
        day = w.job_change + timedelta(days=1 + i)
        line = text.POSITIVE[5 + i]
        ids = writer.thread(
            friend,
            day,
            subject="Your first day!",
            starter_is_me=False,
            bodies=[f"{line} Tell me everything about the first day at {org_b['short']}."],
        )
        truth.add_sentiment(loc_email(ids[0]), "positive", line, day.isoformat())

    # The conflict: a burst of angry mail inside the burst window.
    friend = r["conflict_friend"]
    lines = list(text.NEGATIVE[:4])
    ids = writer.thread(
        friend,
        w.burst_start,
        subject="About Saturday",
        starter_is_me=False,
        bodies=[
            f"{lines[0]} We planned this weeks ago.",
            f"{lines[1]} I explained why I couldn't come.",
            f"{lines[2]} You always make it about you.",
            f"{lines[3]} Let's talk when we both calmed down.",
        ],
    )
    for mid, line in zip(ids, lines, strict=False):
        truth.add_sentiment(loc_email(mid), "negative", line, w.burst_start.isoformat())

    # Neutral logistics.
    for i, who in enumerate((r["manager_b"], r["colleague_b"])):
        day = _weekday(w.job_change + timedelta(days=30 + 20 * i))
        line = text.fill(rng, text.NEUTRAL[0])
        ids = writer.thread(who, day, subject="Room change", starter_is_me=False, bodies=[line])
        truth.add_sentiment(loc_email(ids[0]), "neutral", line, day.isoformat())

    # LOW: a regular newsletter issue (published content) carrying a canary, sent by the day loop.
    day = w.start + timedelta(days=63)
    secret = truth.canary()
    writer.newsletter_extra[(0, day)] = (f"<p>Reader code of the week: {secret}</p>\n", secret)


def _weekday(day: date, back: bool = False) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=-1 if back else 1)
    return day
