"""notes/: an Obsidian vault with daily notes, people, projects, trips and a published note."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import yaml

from twin_assets.demo import names, text
from twin_assets.demo.fmt import month_key, token
from twin_assets.demo.mail import DOCTOR
from twin_assets.demo.truth import Truth
from twin_assets.demo.world import FAMILY, Person, World
from twin_assets.tiers import HIGH, LOW


def loc_note(rel: str, marker: str | None = None) -> dict:
    loc = {"source": "notes", "external_id": rel, "path": rel}
    if marker:
        loc["marker"] = marker
    return loc


def _link(person: Person, alias: bool) -> str:
    return f"[[{person.name}|{person.short}]]" if alias else f"[[{person.name}]]"


class NotesWriter:
    def __init__(self, world: World, truth: Truth, root: Path) -> None:
        self.world, self.truth, self.root = world, truth, root
        self.rng = random.Random(f"{world.seed}:notes")
        self.count = 0
        (root / ".obsidian").mkdir(parents=True, exist_ok=True)
        self._raw(
            ".obsidian/app.json",
            json.dumps(
                {
                    "alwaysUpdateLinks": True,
                    "attachmentFolderPath": "Attachments",
                    "newFileLocation": "folder",
                    "newFileFolderPath": "Inbox",
                    "showLineNumber": False,
                    "useMarkdownLinks": False,
                },
                indent=2,
            )
            + "\n",
        )
        self._raw(
            ".obsidian/daily-notes.json",
            json.dumps({"folder": "Daily", "format": "YYYY-MM-DD", "template": "Templates/Daily"}, indent=2) + "\n",
        )
        self.planted: dict[date, tuple[str, str]] = {}
        self.noted = [
            p
            for p in world.people
            if p.weight >= 1.2 or p.role in ("manager", "partner") or p.first == names.SHARED_FIRST_NAME or p.flags
        ]

    def _raw(self, rel: str, content: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)

    def note(self, rel: str, front: dict, body: str) -> str:
        head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, default_flow_style=False)
        self._raw(rel, f"---\n{head}---\n\n{body.rstrip()}\n")
        self.count += 1
        return rel

    # --- static notes ---------------------------------------------------------------------------

    def static(self) -> None:
        w, truth, rng = self.world, self.truth, self.rng
        for key in ("A", "B"):
            org = names.ORGS[key]
            when = w.start if key == "A" else w.job_change
            people = [p for p in w.people if p.org == key]
            lines = "\n".join(f"- {_link(p, False)}, {p.title}" for p in people[:15])
            self.note(
                f"Orgs/{org['short']}.md",
                {"aliases": [org["name"]], "tags": ["org"], "date": when},
                f"# {org['name']}\n\nProject: [[{org['project']}]]\n\n## People\n{lines}\n",
            )
        for person in self.noted:
            aliases = [person.short] if person.nick else []
            aliases += [n for n in person.display_names[1:2] if "," not in n]
            works_at = f"Works at [[{names.ORGS[person.org]['short']}]] as {person.title}.\n" if person.org else ""
            self.note(
                f"People/{person.name}.md",
                {
                    "aliases": aliases,
                    "tags": ["person", person.group],
                    "date": w.start,
                    "email": person.emails[0],
                    "birthday": person.birthday,
                },
                f"# {person.name}\n\n{works_at}Relationship: {person.role}. #{person.group}\n",
            )
        harbor_rel = self.note(
            "Projects/Harbor.md",
            {"tags": ["project", "harbor"], "date": w.start, "status": "done"},
            "# Harbor\n\nThe Nordwind data pipeline: nightly backfill, dashboard, data contracts.\n"
            f"Owner: {_link(w.by_role['manager_a'], True)}. #harbor #pipeline\n",
        )
        truth.topic_hit("harbor", month_key(w.start), loc_note(harbor_rel))
        if w.lighthouse_start <= w.end:
            rel = self.note(
                "Projects/Lighthouse.md",
                {
                    "tags": ["project", "lighthouse"],
                    "aliases": ["Project Lighthouse"],
                    "date": w.lighthouse_start,
                    "status": "active",
                },
                "# Lighthouse\n\nVector search over customer documents: embeddings, reindex, recall.\n"
                f"Sponsor: {_link(w.by_role['manager_b'], True)}. Works with "
                f"{_link(w.by_role['colleague_b'], False)}. #lighthouse #vector-search\n",
            )
            truth.topic_hit("lighthouse", month_key(w.lighthouse_start), loc_note(rel))
        rel = self.note(
            "Projects/Kitchen renovation.md",
            {"tags": ["project", "home", "renovation"], "date": w.renovation[0]},
            "# Kitchen renovation\n\nContractor quote, tiles shortlist, timeline.\n"
            f"With {_link(w.by_role['partner'], True)}. #renovation #kitchen\n",
        )
        truth.topic_hit("renovation", month_key(w.renovation[0]), loc_note(rel))
        for trip in w.trips:
            rel = f"Trips/{trip.start:%Y-%m} {trip.city}.md"
            who = f" with {_link(w.by_role['partner'], True)}" if trip.with_partner else " (Helio office visit)"
            self.note(
                rel,
                {"tags": ["trip"], "date": trip.start, "location": f"{trip.city}, {trip.country}"},
                f"# {trip.city}\n\n{trip.start:%d %b} - {trip.end:%d %b %Y}{who}. Hotel: {trip.hotel}.\n#travel\n",
            )

        # HIGH: a medical note naming the doctor, a private key, a password list.
        day = w.start + timedelta(days=int(w.span_days() * 0.46))
        secret = truth.canary()
        rel = self.note(
            f"Health/{day:%Y-%m-%d} Befund.md",
            {"tags": ["health", "private"], "date": day},
            f"# Befund\n\nTermin bei {DOCTOR['name']}. Diagnose Eisenmangelanämie, Hashimoto-Verdacht. "
            f"Eisen 2x täglich, Kontrolle in 8 Wochen. Befund-Nr. {secret}\n",
        )
        truth.add_sensitive(loc_note(rel), "medical", HIGH, secret)
        secret = truth.canary()
        key_lines = [token(rng, 70) for _ in range(5)]
        key_lines[2] = key_lines[2][:30] + secret + key_lines[2][30 + len(secret) :]
        pem = "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----", *key_lines, "-----END OPENSSH PRIVATE KEY-----"])
        rel = self.note(
            "Tech/Homelab SSH.md",
            {"tags": ["homelab", "ssh"], "date": w.start + timedelta(days=20)},
            f"# Homelab SSH\n\nDeploy key for the NAS:\n\n```\n{pem}\n```\n",
        )
        truth.add_sensitive(loc_note(rel), "private_key", HIGH, secret)
        secret = truth.canary()
        rel = self.note(
            "Private/Accounts.md",
            {"tags": ["private"], "date": w.start + timedelta(days=5)},
            f"# Accounts\n\n- Spreebank online banking: user lbrandt91, password {secret}\n"
            "- Router admin: see sticker\n",
        )
        truth.add_sensitive(loc_note(rel), "password", HIGH, secret)

        # LOW: the one published note.
        secret = truth.canary()
        rel = self.note(
            "Published/Reading list.md",
            {
                "publish": True,
                "tags": ["books", "public"],
                "date": w.end - timedelta(days=30),
                "aliases": ["Books I recommend"],
            },
            "# Reading list\n\nBooks I keep recommending, in no order:\n\n- *The Overstory*\n"
            "- *Braiding Sweetgrass*\n- *The Dispossessed*\n\n"
            f"Shared publicly; list code {secret}. #books\n",
        )
        truth.add_sensitive(loc_note(rel), "published", LOW, secret)

    # --- the day loop ---------------------------------------------------------------------------

    def day(self, day: date) -> None:
        w, rng = self.world, self.rng
        rate = 0.28 * w.volume
        if day in self.planted:
            expected, sentence = self.planted[day]
            rel = self.daily(day, extra=sentence)
            self.truth.add_sentiment(loc_note(rel, sentence), expected, sentence, day.isoformat())
        elif rng.random() < min(1.0, rate):
            self.daily(day)
        for i in range(int(rate) - 1 if rate > 2 else 0):
            if rng.random() < 0.5:
                self.fleeting(day, i)

    def daily(self, day: date, extra: str = "") -> str:
        w, rng = self.world, self.rng
        active = [p for p in self.noted if w.activity(p, day) > 0.3]
        tags = ["daily"]
        lines = []
        for person in rng.sample(active, min(len(active), rng.randint(0, 3))):
            tags.append(person.group)
            verb = "Call with" if person.group == FAMILY else "1:1 with" if person.role == "manager" else "Met"
            lines.append(f"- {verb} {_link(person, rng.random() < 0.5)}")
        topics = []
        if w.lighthouse_share(day) and rng.random() < w.lighthouse_share(day):
            topics.append("lighthouse")
        if "marathon" not in topics and day >= w.strengthen_start and rng.random() < 0.25:
            topics.append("marathon")
        if w.renovation[0] <= day <= w.renovation[1] and rng.random() < 0.4:
            topics.append("renovation")
        for topic in topics:
            lines.append(f"- {text.fill(rng, rng.choice(text.TOPICS[topic]['sentences']))} #{topic}")
        if not lines:
            lines.append(f"- {text.fill(rng, rng.choice(text.PERSONAL_SENTENCES))}")
        if extra:
            lines.append(f"- {extra}")
        rel = f"Daily/{day:%Y-%m-%d}.md"
        tags = list(dict.fromkeys(tags + [t for t in topics]))
        self.note(rel, {"date": day, "tags": tags}, f"# {day:%A, %d %B %Y}\n\n## Log\n" + "\n".join(lines))
        for topic in topics:
            self.truth.topic_hit(topic, month_key(day), loc_note(rel))
        return rel

    def fleeting(self, day: date, index: int) -> None:
        rng = self.rng
        rel = f"Inbox/{day:%Y-%m-%d} {index:02d}.md"
        self.note(rel, {"date": day, "tags": ["inbox"]}, text.sentences(rng, text.PERSONAL_SENTENCES, 2))

    def plant_sentiment(self) -> None:
        """Daily-note entries with a clear mood, written by the day loop on their dates."""
        w = self.world
        self.planted[w.job_change] = (
            "positive",
            "First day at Helio and I loved it, everyone was warm and welcoming.",
        )
        self.planted[w.burst_start + timedelta(days=1)] = (
            "negative",
            f"Awful fight with {w.by_role['conflict_friend'].short} again, I feel miserable and hurt.",
        )
