"""chat/: a Slack workspace export (the new employer) and a WhatsApp group export.

Slack: users.json, channels.json, one folder per channel with a YYYY-MM-DD.json per day that had
messages (mentions as <@U…>, threads via thread_ts). WhatsApp: the Android "M/D/YY, H:MM AM - Name:"
layout with multi-line messages, <Media omitted> and system lines. Both are written day by day.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from twin_assets.demo import text
from twin_assets.demo.fmt import TEST_CARDS, make_iban, month_key, poisson
from twin_assets.demo.truth import Truth, loc_marker, loc_slack
from twin_assets.demo.world import FAMILY, FRIEND, Person, World
from twin_assets.tiers import HIGH

BERLIN = ZoneInfo("Europe/Berlin")
TEAM_ID = "T0HELIO01"
EXTRA_CHANNELS = ("team-infra", "team-product", "team-growth", "team-ml", "team-security", "team-mobile")


@dataclass
class Channel:
    id: str
    name: str
    created: date
    members: list[str]  # slack user ids, sorted
    purpose: str
    rate: float


class SlackWriter:
    def __init__(self, world: World, truth: Truth, root: Path) -> None:
        self.world, self.truth, self.root = world, truth, root
        self.rng = random.Random(f"{world.seed}:slack")
        self.count = 0
        self.people = [p for p in world.people if p.org == "B"]
        self.by_id = {p.slack_id: p for p in self.people}
        self.me_id = world.persona["slack_id"]
        self.pending: dict[str, list[tuple[dict, str | None]]] = {}  # planted messages per day key
        root.mkdir(parents=True, exist_ok=True)
        self.channels = self._channels()
        self._write_json(root / "users.json", self._users())
        self._write_json(
            root / "channels.json",
            [
                {
                    "id": c.id,
                    "name": c.name,
                    "created": str(_epoch(c.created, 9)),
                    "creator": c.members[0],
                    "is_archived": False,
                    "is_general": c.name == "general",
                    "members": c.members,
                    "topic": {"value": "", "creator": "", "last_set": "0"},
                    "purpose": {
                        "value": c.purpose,
                        "creator": c.members[0],
                        "last_set": str(_epoch(c.created, 9)),
                    },
                }
                for c in self.channels
            ],
        )

    @staticmethod
    def _write_json(path: Path, data: object) -> None:
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            json.dump(data, fh, indent=4, ensure_ascii=False)
            fh.write("\n")

    def _cid(self) -> str:
        return "C0" + "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))

    def _channels(self) -> list[Channel]:
        w = self.world
        r = w.by_role

        def ids(people: list[Person]) -> set[str]:
            return {p.slack_id for p in people if p.slack_id}

        everyone = sorted({self.me_id} | ids(self.people))
        founded = w.job_change - timedelta(days=400)
        core = [r["manager_b"], r["colleague_b"], r["ny_colleague"]]
        team = sorted({self.me_id} | ids(core) | ids(self.people[3::2]))
        lighthouse = sorted({self.me_id} | ids([r["manager_b"], r["colleague_b"]]) | ids(self.people[4::3]))
        chans = [
            Channel(self._cid(), "general", founded, everyone, "Company-wide announcements", 0.1),
            Channel(self._cid(), "random", founded, everyone, "Everything else", 0.08),
            Channel(self._cid(), "team-data", founded, team, "Data platform team", 0.35),
            Channel(self._cid(), "proj-lighthouse", w.lighthouse_start, lighthouse, "Project Lighthouse", 0.05),
        ]
        others = self.people[3:]
        for i, name in enumerate(EXTRA_CHANNELS):
            chunk = sorted(ids(others[i * 12 : (i + 1) * 12]))
            if len(chunk) < 6:
                break
            chans.append(Channel(self._cid(), name, founded, chunk, f"{name[5:].title()} team", 0.2))
        return chans

    def _users(self) -> list[dict]:
        w = self.world
        me = w.persona
        rows = [
            (
                self.me_id,
                me["slack_handle"],
                me["first"],
                me["last"],
                names_email(w),
                "Europe/Berlin",
                "Senior Data Engineer",
            )
        ]
        for p in self.people:
            rows.append((p.slack_id, p.slack_name, p.first, p.last, p.emails[0], p.tz, p.title or ""))
        users = []
        for uid, handle, first, last, email, tz, title in sorted(rows):
            offset = int(datetime.combine(w.end, time(12), ZoneInfo(tz)).utcoffset().total_seconds())  # type: ignore[union-attr]
            users.append(
                {
                    "id": uid,
                    "team_id": TEAM_ID,
                    "name": handle,
                    "deleted": False,
                    "real_name": f"{first} {last}",
                    "tz": tz,
                    "tz_offset": offset,
                    "is_bot": False,
                    "profile": {
                        "title": title,
                        "real_name": f"{first} {last}",
                        "real_name_normalized": f"{first} {last}",
                        "display_name": handle,
                        "display_name_normalized": handle,
                        "email": email,
                        "first_name": first,
                        "last_name": last,
                        "team": TEAM_ID,
                    },
                }
            )
        return users

    # --- messages -------------------------------------------------------------------------------

    def _text(self, channel: Channel, day: date, members: list[str]) -> tuple[str, bool]:
        rng = self.rng
        lighthouse = channel.name == "proj-lighthouse" or rng.random() < self.world.lighthouse_share(day) * 0.5
        if lighthouse and day >= self.world.lighthouse_start:
            line = text.fill(rng, rng.choice(text.TOPICS["lighthouse"]["chat"]))
        else:
            line = text.fill(rng, rng.choice(text.SLACK_LINES))
            lighthouse = False
        if rng.random() < 0.25 and len(members) > 1:
            line = f"<@{rng.choice(members)}> {line}"
        return line, lighthouse

    def day(self, day: date) -> None:
        w, rng = self.world, self.rng
        if day < w.job_change:
            return
        factor = 1.0 if day.weekday() < 5 else 0.08
        if w.in_trip(day) and w.in_trip(day).city != "New York":  # type: ignore[union-attr]
            factor *= 0.2
        for channel in self.channels:
            if day < channel.created:
                continue
            rate = channel.rate * max(1.0, len(channel.members) / 10)
            if channel.name == "proj-lighthouse":
                rate += 0.6 * w.lighthouse_share(day)
            messages: list[dict] = []
            used: set[str] = set()
            for _ in range(poisson(rng, rate * factor * w.volume)):
                self._conversation(channel, day, messages, used)
            for msg, topic in self.pending.pop(f"{channel.name}:{day.isoformat()}", []):
                ts = self._ts(day, msg.pop("_hour"), used)
                msg["ts"] = ts
                messages.append(msg)
                if topic:
                    self.truth.add_sentiment(loc_slack(channel.name, ts), topic, msg["text"], day.isoformat())
                if "_canary" in msg:
                    self.truth.add_sensitive(loc_slack(channel.name, ts), "password", HIGH, msg.pop("_canary"))
            if messages:
                messages.sort(key=lambda m: m["ts"])
                folder = self.root / channel.name
                folder.mkdir(exist_ok=True)
                self._write_json(folder / f"{day.isoformat()}.json", messages)
                self.count += len(messages)

    def _ts(self, day: date, hour: float, used: set[str]) -> str:
        base = _epoch(day, hour)
        while True:
            ts = f"{base}.{self.rng.randrange(1, 999999):06d}"
            if ts not in used:
                used.add(ts)
                return ts

    def _conversation(self, channel: Channel, day: date, out: list[dict], used: set[str]) -> None:
        w, rng = self.world, self.rng
        active = [m for m in channel.members if m == self.me_id or w.activity(self.by_id[m], day) > 0]
        if not active:
            return
        hour = rng.uniform(9, 17.5)
        n = rng.choice((1, 1, 2, 2, 3, 4, 5))
        threaded = n > 1 and rng.random() < 0.3
        parent: dict | None = None
        for _ in range(n):
            user = self.me_id if rng.random() < 0.3 and self.me_id in active else rng.choice(active)
            line, topical = self._text(channel, day, [m for m in active if m != user])
            ts = self._ts(day, hour, used)
            msg = {"type": "message", "user": user, "text": line, "ts": ts}
            if threaded and parent is not None:
                msg["thread_ts"] = parent["ts"]
                msg["parent_user_id"] = parent["user"]
                parent["reply_count"] += 1
                parent["replies"].append({"user": user, "ts": ts})
                parent["reply_users"] = sorted({r["user"] for r in parent["replies"]})
                parent["reply_users_count"] = len(parent["reply_users"])
                parent["latest_reply"] = ts
            elif threaded:
                msg.update(
                    {
                        "thread_ts": ts,
                        "reply_count": 0,
                        "reply_users_count": 0,
                        "latest_reply": ts,
                        "reply_users": [],
                        "replies": [],
                    }
                )
                parent = msg
            out.append(msg)
            if topical:
                self.truth.topic_hit("lighthouse", month_key(day), loc_slack(channel.name, ts))
            hour = min(23.9, hour + rng.uniform(0.01, 0.4))

    def plant(self) -> None:
        """Queue the planted Slack messages; the day loop gives them timestamps and records them."""
        w, truth = self.world, self.truth
        r = w.by_role
        day = _workday(w.job_change + timedelta(days=min(40, (w.end - w.job_change).days // 3)))
        secret = truth.canary()
        colleague, manager = r["colleague_b"].slack_id, r["manager_b"].slack_id
        assert colleague and manager  # the world gives every work person a Slack id
        self._queue(
            "team-data",
            day,
            colleague,
            15.2,
            f"for the migration: staging db user analytics_rw password {secret} (will rotate tomorrow)",
            canary=secret,
        )
        day2 = _workday(day + timedelta(days=9))
        self._queue("team-data", day2, manager, 16.5, text.POSITIVE[3], sentiment="positive")
        line = text.fill(random.Random(f"{w.seed}:slack-neutral"), text.NEUTRAL[0])
        self._queue(
            "general",
            _workday(day2 + timedelta(days=3)),
            manager,
            9.1,
            line,
            sentiment="neutral",
        )

    def _queue(
        self,
        channel: str,
        day: date,
        user: str,
        hour: float,
        line: str,
        *,
        sentiment: str | None = None,
        canary: str | None = None,
    ) -> None:
        msg: dict = {"type": "message", "user": user, "text": line, "_hour": hour}
        if canary:
            msg["_canary"] = canary
        self.pending.setdefault(f"{channel}:{min(day, self.world.end).isoformat()}", []).append((msg, sentiment))


def names_email(world: World) -> str:
    return world.persona_email(world.end, work=True)


def _epoch(day: date, hour: float) -> int:
    h = int(hour)
    m = int((hour - h) * 60)
    return int(datetime.combine(day, time(h, m), BERLIN).astimezone(UTC).timestamp())


def _workday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# --- WhatsApp -------------------------------------------------------------------------------------


class WhatsAppWriter:
    GROUP = "Brunch & Co 🥐"

    def __init__(self, world: World, truth: Truth, path: Path) -> None:
        self.world, self.truth = world, truth
        self.rng = random.Random(f"{world.seed}:whatsapp")
        self.count = 0
        self.members = [p for p in world.people if p.group in (FAMILY, FRIEND)]
        self.me = world.persona["whatsapp_name"]
        self.planted: dict[date, list[tuple[float, str, str, str | None, str | None, str | None]]] = {}
        self.fh = path.open("w", encoding="utf-8", newline="\n")
        first = datetime.combine(world.start, time(10, 2), BERLIN)
        self._line(
            first,
            None,
            "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
            "WhatsApp, can read or listen to them. Tap to learn more.",
        )
        self._line(first, None, f'You created group "{self.GROUP}"')
        for person in self.members:
            if person.whatsapp_name:
                self._line(first, None, f"You added {person.whatsapp_name}")

    def _line(self, when: datetime, name: str | None, body: str) -> str:
        hour12 = when.hour % 12 or 12
        stamp = f"{when.month}/{when.day}/{when:%y}, {hour12}:{when:%M} {'AM' if when.hour < 12 else 'PM'}"
        line = f"{stamp} - {name}: {body}" if name else f"{stamp} - {body}"
        self.fh.write(line + "\n")
        return line.split("\n", 1)[0]

    def day(self, day: date) -> None:
        w, rng = self.world, self.rng
        # (hour, seq, name, body, topic, sentiment, category, canary)
        items: list[tuple[float, int, str, str, str | None, str | None, str | None, str | None]] = []
        for person in self.members:
            act = w.activity(person, day)
            for _ in range(poisson(rng, 0.012 * act * w.volume)):
                hour = rng.uniform(7.5, 22.5)
                speakers = [person, None] + ([rng.choice(self.members)] if rng.random() < 0.4 else [])
                conflict = "conflict" in person.flags and w.burst_start <= day <= w.burst_end
                for _i in range(rng.randint(2, 6)):
                    who = rng.choice(speakers)
                    name = self.me if who is None else (who.whatsapp_name or who.name)
                    body, topic = self._text(who or person, day, conflict=conflict)
                    items.append((hour, len(items), name, body, topic, None, None, None))
                    hour = min(23.95, hour + rng.uniform(0.01, 0.3))
        for hour, name, body, sentiment, category, canary in self.planted.pop(day, []):
            items.append((hour, len(items), name, body, None, sentiment, category, canary))
        items.sort()
        for hour, _seq, name, body, topic, sentiment, category, canary in items:
            h = int(hour)
            when = datetime.combine(day, time(h, int((hour - h) * 60)), BERLIN)
            line = self._line(when, name, body)
            self.count += 1
            if topic:
                # The whole first line (time, sender, text) is the marker: template text alone repeats.
                self.truth.topic_hit(topic, month_key(day), loc_marker("whatsapp", line, "chat/whatsapp.txt"))
            if sentiment:
                self.truth.add_sentiment(
                    loc_marker("whatsapp", body, "chat/whatsapp.txt"), sentiment, body, day.isoformat()
                )
            if category and canary:
                self.truth.add_sensitive(loc_marker("whatsapp", canary, "chat/whatsapp.txt"), category, HIGH, canary)

    def _text(self, person: Person, day: date, conflict: bool) -> tuple[str, str | None]:
        w, rng = self.world, self.rng
        if conflict:
            return rng.choice(text.NEGATIVE), None
        roll = rng.random()
        if roll < 0.06:
            return "<Media omitted>", None
        if roll < 0.07:
            return "This message was deleted", None
        if "strengthening" in person.flags and day >= w.strengthen_start and roll < 0.45:
            return text.fill(rng, rng.choice(text.TOPICS["marathon"]["chat"])), "marathon"
        if w.renovation[0] <= day <= w.renovation[1] and roll < 0.2:
            return text.fill(rng, rng.choice(text.TOPICS["renovation"]["chat"])), "renovation"
        if person.role == "sibling" and w.wedding_day - timedelta(days=180) <= day <= w.wedding_day and roll < 0.5:
            return text.fill(rng, rng.choice(text.TOPICS["wedding"]["chat"])), "wedding"
        line = text.fill(rng, rng.choice(text.CHAT_LINES))
        if roll > 0.93:  # a multi-line message: continuation lines carry no timestamp
            line += "\n" + text.fill(rng, rng.choice(text.PERSONAL_SENTENCES))
        return line, None

    def plant(self) -> None:
        w, truth, rng = self.world, self.truth, self.rng
        r = w.by_role
        partner, sibling, friend = r["partner"], r["sibling"], r["conflict_friend"]
        pname = partner.whatsapp_name or partner.name
        day = w.start + timedelta(days=int(w.span_days() * 0.2))
        secret = truth.canary()
        card = rng.choice(TEST_CARDS)
        spaced = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
        self._plant(
            day,
            20.1,
            pname,
            f"card for the hotel deposit: {spaced} exp 09/28 cvc {rng.randint(100, 999)} ref {secret}",
            None,
            "credit_card",
            secret,
        )
        self._plant(day, 20.2, pname, "sorry wrong chat!! 🙈 please ignore", None)
        day = w.wedding_day - timedelta(days=60)
        secret = truth.canary()
        iban = make_iban(rng)
        self._plant(
            day,
            19.0,
            sibling.whatsapp_name or sibling.name,
            f"for the wedding gift money, our new joint account: {iban}\nreference {secret}",
            None,
            "iban",
            secret,
        )
        engaged = w.wedding_day - timedelta(days=170)
        if engaged >= w.start:
            self._plant(engaged, 18.0, sibling.whatsapp_name or sibling.name, "WE'RE ENGAGED!!! 💍💍", "positive")
            self._plant(engaged, 18.2, self.me, f"{text.POSITIVE[0]} Hugs to you both!", "positive")
        fname = friend.whatsapp_name or friend.name
        burst = [
            (
                0,
                21.0,
                fname,
                "You didn't even show up on Saturday. I'm really disappointed and angry, it hurts.",
            ),
            (0, 21.1, self.me, "I told you on Friday that I couldn't make it, this is so unfair."),
            (1, 22.0, fname, "Unfair? You always cancel. I'm tired of it and frankly upset with you."),
            (2, 23.0, self.me, "I feel hurt by what you wrote last night, that was awful."),
            (3, 20.5, fname, "Fine. I'm furious and sad, let's not talk for a while."),
        ]
        for offset, hour, name, body in burst:
            self._plant(w.burst_start + timedelta(days=offset), hour, name, body, "negative")
        day = w.start + timedelta(days=int(w.span_days() * 0.1))
        self._plant(day, 12.0, self.me, "The train leaves at 9:40 from platform 4, see you on board.", "neutral")

    def _plant(
        self,
        day: date,
        hour: float,
        name: str,
        body: str,
        sentiment: str | None,
        category: str | None = None,
        canary: str | None = None,
    ) -> None:
        self.planted.setdefault(min(day, self.world.end), []).append((hour, name, body, sentiment, category, canary))

    def close(self) -> None:
        self.fh.close()
