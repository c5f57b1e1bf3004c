"""The demo persona generator: determinism, real formats, and ground truth that matches the files."""

from __future__ import annotations

import csv
import email
import email.header
import email.utils
import hashlib
import json
import mailbox
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import frontmatter
import icalendar
import pytest
import vobject
from ofxtools.Parser import OFXTree

from twin_assets.demo import generate
from twin_assets.demo.fmt import fold, iban_check_ok, luhn_ok

SMALL = {"people": 12, "years": 1}
WHATSAPP_LINE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}), (\d{1,2}):(\d{2}) (AM|PM) - (.*)$")


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    root = tmp_path_factory.mktemp("demo")
    stages: list[tuple[str, int]] = []
    summary = generate(root, seed=7, progress=lambda s, n: stages.append((s, n)), **SMALL)
    truth = json.loads((root / "ground_truth.json").read_text("utf-8"))
    assert stages[0] == ("setup", 0) and stages[-1] == ("done", summary["records"])
    return root, summary, truth


@pytest.fixture(scope="module")
def messages(demo) -> list[email.message.Message]:
    root, _, _ = demo
    return list(mailbox.mbox(str(root / "mail" / "mailbox.mbox")))


def mid(msg: email.message.Message) -> str:
    return msg["Message-ID"].strip().strip("<>")


def text_of(msg: email.message.Message) -> str:
    parts = msg.walk() if msg.is_multipart() else [msg]
    out = []
    for part in parts:
        if part.get_content_maintype() == "text":
            out.append(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8"))
    return "\n".join(out)


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_trees(demo, tmp_path: Path) -> None:
    root, summary, _ = demo
    again = generate(tmp_path / "again", seed=7, **SMALL)
    assert again == summary
    assert tree_hashes(tmp_path / "again") == tree_hashes(root)


def test_output_does_not_depend_on_the_process_hash_seed(demo, tmp_path: Path) -> None:
    """Set iteration order changes with PYTHONHASHSEED; a leak of it into a file would show here."""
    root, _, _ = demo
    out = tmp_path / "hashseed"
    code = (
        "import sys; from pathlib import Path; from twin_assets.demo import generate; "
        f"generate(Path(sys.argv[1]), seed=7, people={SMALL['people']}, years={SMALL['years']})"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env, timeout=120)
    assert tree_hashes(out) == tree_hashes(root)


def test_different_seed_gives_different_files(demo, tmp_path: Path) -> None:
    root, _, _ = demo
    generate(tmp_path / "other", seed=8, **SMALL)
    mine, other = tree_hashes(root), tree_hashes(tmp_path / "other")
    for name in ("mail/mailbox.mbox", "calendar/calendar.ics", "finance/statement.ofx", "chat/whatsapp.txt"):
        assert mine[name] != other[name], name


def test_regenerating_replaces_previous_demo_but_refuses_foreign_folders(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, seed=1, **SMALL)
    (out / "chat" / "slack" / "stale-channel").mkdir()
    generate(out, seed=1, **SMALL)
    assert not (out / "chat" / "slack" / "stale-channel").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    with pytest.raises(FileExistsError):
        generate(foreign, seed=1, **SMALL)
    assert (foreign / "thesis.tex").read_text() == "mine"


def test_too_few_people_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 12"):
        generate(tmp_path / "x", people=5, years=1)


# --- every export parses with a standard reader ---------------------------------------------------


def test_mbox_parses_and_has_the_variety_of_real_mail(demo, messages) -> None:
    _, summary, truth = demo
    assert len(messages) == summary["files"]["mail/mailbox.mbox"]
    ids = [mid(m) for m in messages]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{20}@mail\.[a-z0-9.-]+", i) for i in ids)
    kinds = Counter(m.get_content_type() for m in messages)
    assert kinds["multipart/alternative"] and kinds["text/html"] and kinds["text/plain"]
    known = set(ids)
    replies = [m for m in messages if m["In-Reply-To"]]
    assert replies and all(m["In-Reply-To"].strip("<>") in known for m in replies)
    assert all(m["References"] for m in replies)
    lists = [m for m in messages if m["List-Id"]]
    assert any(m["Precedence"] == "list" for m in lists) and any(m["Precedence"] == "bulk" for m in lists)
    assert all(m["List-Unsubscribe"] for m in lists)
    persona_addrs = set(truth["persona"]["emails"])
    sent = [m for m in messages if email.utils.parseaddr(m["From"])[1] in persona_addrs]
    assert sent and all("Sent" in m["X-Gmail-Labels"] for m in sent)
    encoded = [m["From"] for m in messages if "=?utf-8?" in m["From"]]
    assert encoded, "expected RFC 2047 encoded display names"
    decoded = str(email.header.make_header(email.header.decode_header(encoded[0])))
    assert not decoded.isascii()
    for m in messages[:200]:
        assert email.utils.parsedate_to_datetime(m["Date"]).tzinfo is not None
        assert text_of(m).strip()


def test_calendar_parses_with_recurrence_timezones_and_attendees(demo) -> None:
    root, summary, truth = demo
    cal = icalendar.Calendar.from_ical((root / "calendar" / "calendar.ics").read_bytes())
    events = cal.walk("VEVENT")
    assert len(events) == summary["files"]["calendar/calendar.ics"]
    assert {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")} == {"Europe/Berlin", "America/New_York"}
    one = truth["patterns"]["weekly_one_on_one"]
    series = [e for e in events if str(e["UID"]) == one["uid"]]
    master = next(e for e in series if "RRULE" in e)
    assert master["RRULE"]["FREQ"] == ["WEEKLY"] and master["RRULE"]["BYDAY"] == ["TH"]
    assert "EXDATE" in master
    override = next(e for e in series if "RECURRENCE-ID" in e)
    assert override["RECURRENCE-ID"].dt.date().isoformat() == one["moved"]["recurrence_id"]
    assert override["DTSTART"].dt != override["RECURRENCE-ID"].dt
    assert str(master["DTSTART"].dt.tzinfo) == "Europe/Berlin"
    assert any(
        getattr(e["DTSTART"].dt, "tzinfo", None) and str(e["DTSTART"].dt.tzinfo) == "America/New_York" for e in events
    )
    all_day = [e for e in events if type(e["DTSTART"].dt) is date]
    assert any("RRULE" in e and e["RRULE"]["FREQ"] == ["YEARLY"] for e in all_day)
    assert any((e["DTEND"].dt - e["DTSTART"].dt).days > 1 for e in all_day), "multi-day trip"
    meeting = next(e for e in events if "ATTENDEE" in e and "ORGANIZER" in e)
    attendees = meeting["ATTENDEE"] if isinstance(meeting["ATTENDEE"], list) else [meeting["ATTENDEE"]]
    assert all(str(a).startswith("mailto:") and a.params.get("CN") for a in attendees)


def test_contacts_parse_with_both_vcard_versions(demo) -> None:
    root, summary, truth = demo
    cards = list(vobject.readComponents((root / "contacts" / "contacts.vcf").read_text("utf-8")))
    assert len(cards) == summary["files"]["contacts/contacts.vcf"]
    assert {c.version.value for c in cards} == {"3.0", "4.0"}
    assert all(c.fn.value and c.uid.value for c in cards)
    assert any(len(c.contents.get("email", [])) > 1 for c in cards)
    for key in ("n", "tel", "org", "title", "nickname", "bday"):
        assert any(key in c.contents for c in cards), key
    uids = {c.uid.value for c in cards}
    assert {p["aliases"]["contact_uid"] for p in truth["people"] if p["aliases"]["contact_uid"]} <= uids


def test_notes_vault_parses(demo) -> None:
    root, summary, _ = demo
    vault = root / "notes"
    assert json.loads((vault / ".obsidian" / "app.json").read_text())
    notes = sorted(vault.rglob("*.md"))
    assert len(notes) == summary["files"]["notes"]
    parsed = {p.relative_to(vault).as_posix(): frontmatter.load(p) for p in notes}
    assert all(isinstance(n.metadata.get("date"), date) for n in parsed.values())
    assert sum(1 for n in parsed.values() if n.metadata.get("publish") is True) == 1
    assert any(k.startswith("Daily/") for k in parsed) and any(k.startswith("Projects/") for k in parsed)
    bodies = "\n".join(n.content for n in parsed.values())
    assert re.search(r"\[\[[^\]|]+\|[^\]]+\]\]", bodies) and re.search(r"\[\[[^\]|]+\]\]", bodies)
    assert re.search(r"(?<!\w)#[a-z][\w-]+", bodies)
    assert any(n.metadata.get("aliases") for n in parsed.values())
    # Every wikilink resolves to a note in the vault, as Obsidian resolves them (by file name).
    stems = {Path(k).stem for k in parsed}
    for target in re.findall(r"\[\[([^\]|]+)(?:\|[^\]]+)?\]\]", bodies):
        assert target in stems, target


def test_bank_csv_is_german_latin1(demo) -> None:
    root, summary, truth = demo
    raw = (root / "finance" / "statement.csv").read_bytes()
    assert truth["formats"]["finance/statement.csv"]["encoding"] == "latin-1"
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # umlauts in the header are latin-1 bytes
    rows = list(csv.reader(raw.decode("latin-1").splitlines(), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[0] == "Buchungstag" and "Betrag" in header
    assert len(body) == summary["files"]["finance/statement.csv"]
    amount = header.index("Betrag")
    for row in body:
        assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", row[0])
        assert re.fullmatch(r"-?\d{1,3}(\.\d{3})*,\d{2}", row[amount])
    rent = truth["patterns"]["monthly_rent"]
    rent_rows = [r for r in body if r[3] == rent["payee"]]
    assert len(rent_rows) == 12
    assert {int(r[0][:2]) for r in rent_rows} == {rent["day"]}
    assert {r[amount] for r in rent_rows} == {"-1.180,00"}


def test_ofx_parses_with_ofxtools(demo) -> None:
    root, summary, truth = demo
    tree = OFXTree()
    tree.parse(str(root / "finance" / "statement.ofx"))
    ofx = tree.convert()
    txns = ofx.statements[0].transactions
    assert len(txns) == summary["files"]["finance/statement.ofx"]
    fitids = [t.fitid for t in txns]
    assert len(set(fitids)) == len(fitids)
    anomaly = truth["patterns"]["spending_anomaly"]
    by_id = {t.fitid: t for t in txns}
    assert float(by_id[anomaly["fitid"]].trnamt) == anomaly["amount"]
    assert min(float(t.trnamt) for t in txns) == anomaly["amount"], "the anomaly is the largest debit"
    others = sorted(-float(t.trnamt) for t in txns if t.fitid != anomaly["fitid"] and t.trntype == "POS")
    assert others[-1] * 3 < -anomaly["amount"]
    for trip in truth["patterns"]["trips"]:
        assert all(f in by_id for f in trip["fitids"])


def test_slack_export_parses(demo) -> None:
    root, summary, truth = demo
    slack = root / "chat" / "slack"
    users = json.loads((slack / "users.json").read_text())
    channels = json.loads((slack / "channels.json").read_text())
    user_ids = {u["id"] for u in users}
    assert truth["persona"]["handles"]["slack_user_id"] in user_ids
    total = 0
    threads = mentions = 0
    for channel in channels:
        assert set(channel["members"]) <= user_ids
        for day_file in sorted((slack / channel["name"]).glob("*.json")) if (slack / channel["name"]).exists() else []:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.json", day_file.name)
            msgs = json.loads(day_file.read_text())
            total += len(msgs)
            for m in msgs:
                assert m["type"] == "message" and m["user"] in user_ids and re.fullmatch(r"\d{10}\.\d{6}", m["ts"])
                threads += "thread_ts" in m and m["thread_ts"] != m["ts"]
                mentions += bool(re.search(r"<@U[0-9A-Z]+>", m["text"]))
    assert total == summary["files"]["chat/slack"]
    assert threads and mentions


def test_whatsapp_export_layout(demo) -> None:
    root, summary, _ = demo
    lines = (root / "chat" / "whatsapp.txt").read_text("utf-8").split("\n")
    assert lines[-1] == ""
    stamped = [WHATSAPP_LINE.match(line) for line in lines[:-1]]
    messages = [m for m in stamped if m and ": " in m.group(7)]
    system = [m for m in stamped if m and ": " not in m.group(7)]
    continuation = [line for line, m in zip(lines[:-1], stamped, strict=True) if not m]
    assert system and continuation
    assert any(m.group(7).endswith(": <Media omitted>") for m in messages)
    # Messages are counted with their continuation lines; system lines are not messages.
    assert len(messages) == summary["files"]["chat/whatsapp.txt"]


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    root = tmp_path_factory.mktemp("default")
    summary = generate(root)
    return root, summary, json.loads((root / "ground_truth.json").read_text("utf-8"))


def test_default_size_is_a_few_thousand_records(default_demo) -> None:
    _, summary, truth = default_demo
    assert 2000 <= summary["records"] <= 6000
    assert summary["records"] == sum(summary["files"].values())
    assert 30 <= len(truth["people"]) <= 60


def _interactions_by_month(root: Path, person: dict) -> Counter:
    """Direct mail to/from the person plus their WhatsApp lines, counted from the files themselves."""
    addresses = set(person["aliases"]["emails"])
    counts: Counter = Counter()
    for msg in mailbox.mbox(str(root / "mail" / "mailbox.mbox")):
        if msg["List-Id"]:
            continue  # a post to a list is not a conversation with the persona
        seen = {a for _, a in email.utils.getaddresses(msg.get_all("From", []) + msg.get_all("To", []))}
        if seen & addresses:
            counts[f"{email.utils.parsedate_to_datetime(msg['Date']):%Y-%m}"] += 1
    for line in (root / "chat" / "whatsapp.txt").read_text("utf-8").splitlines():
        match = WHATSAPP_LINE.match(line)
        if match and match.group(7).startswith(f"{person['aliases']['whatsapp_name']}: "):
            counts[f"20{match.group(3)}-{int(match.group(1)):02d}"] += 1
    return counts


def _mean(counts: Counter, months: list[str]) -> float:
    return sum(counts[m] for m in months) / len(months)


def test_planted_trends_are_visible_in_the_exports(default_demo) -> None:
    root, _, truth = default_demo
    people = {p["id"]: p for p in truth["people"]}
    months = [f"{y}-{m:02d}" for y in range(2023, 2027) for m in range(1, 13)]
    months = [m for m in months if truth["generator"]["start"][:7] <= m <= truth["generator"]["end"][:7]]

    fading = truth["patterns"]["fading_friendship"]
    counts = _interactions_by_month(root, people[fading["person"]])
    start = months.index(fading["decline_starts"])
    assert _mean(counts, months[max(0, start - 6) : start]) >= 3 * max(0.25, _mean(counts, months[-12:]))

    rising = truth["patterns"]["strengthening_tie"]
    counts = _interactions_by_month(root, people[rising["person"]])
    start = months.index(rising["starts"])
    assert _mean(counts, months[-6:]) >= 2.5 * max(0.25, _mean(counts, months[max(0, start - 6) : start]))

    burst = truth["patterns"]["communication_anomaly"]
    counts = _interactions_by_month(root, people[burst["person"]])
    month = burst["start"][:7]
    others = [m for m in months if m != month]
    assert counts[month] >= 3 * _mean(counts, others)

    # The rising project topic: its keyword grows in Slack month over month.
    topic = truth["patterns"]["rising_topic"]
    per_month: Counter = Counter()
    for day_file in (root / "chat" / "slack").glob("*/*.json"):
        hits = sum(topic["topic"] in m["text"].lower() for m in json.loads(day_file.read_text()))
        per_month[day_file.stem[:7]] += hits
    active = [m for m in months if m >= topic["start_month"]]
    assert not any(per_month[m] for m in months if m < topic["start_month"])
    assert _mean(per_month, active[-3:]) > 1.5 * _mean(per_month, active[:3])


# --- ground truth matches the files ---------------------------------------------------------------


def test_every_canary_is_in_exactly_one_item(demo, messages) -> None:
    root, _, truth = demo
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != "ground_truth.json"
    }
    items = truth["sensitive"] + truth["low_canaries"]
    assert len({i["canary"] for i in items}) == len(items)
    by_mid = {mid(m): m for m in messages}
    for item in items:
        token = item["canary"].encode()
        holders = [name for name, data in files.items() if token in data]
        assert len(holders) == 1, (item["category"], holders)
        loc = item["locator"]
        if loc["source"] == "email":
            assert item["canary"] in text_of(by_mid[loc["message_id"]])
            assert sum(item["canary"] in text_of(m) for m in messages) == 1
        elif loc["source"] == "calendar":
            cal = icalendar.Calendar.from_ical(files["calendar/calendar.ics"])
            event = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == loc["uid"])
            assert item["canary"] in str(event["DESCRIPTION"])
        elif loc["source"] == "notes":
            assert holders == [f"notes/{loc['path']}"]
        elif loc["source"] == "slack":
            day_files = (root / "chat" / "slack" / loc["channel"]).glob("*.json")
            msg = next(m for f in day_files for m in json.loads(f.read_text()) if m["ts"] == loc["ts"])
            assert item["canary"] in msg["text"]
        elif loc["source"] == "ofx":
            tree = OFXTree()
            tree.parse(str(root / "finance" / "statement.ofx"))
            txn = next(t for t in tree.convert().statements[0].transactions if t.fitid == loc["fitid"])
            assert item["canary"] in txn.memo
        else:
            assert loc["source"] in ("bank_csv", "whatsapp") and loc["marker"].encode() in files[loc["path"]]


def test_sensitive_plantings_cover_tiers_and_sources(demo) -> None:
    _, _, truth = demo
    high = [s for s in truth["sensitive"] if s["tier"] == "HIGH"]
    medium = [s for s in truth["sensitive"] if s["tier"] == "MEDIUM"]
    assert len(high) >= 8 and len(medium) >= 3 and len(truth["low_canaries"]) >= 2
    assert {"email", "notes", "slack", "whatsapp", "bank_csv", "ofx"} <= {s["source"] for s in high}
    assert any(s["source"] == "calendar" for s in medium)
    assert {"password", "api_key", "private_key", "credit_card", "iban", "medical", "ssn-like"} <= {
        s["category"] for s in high
    }
    assert {s["locator"]["source"] for s in truth["low_canaries"]} == {"email", "notes"}


def test_planted_card_numbers_and_ibans_are_valid(demo) -> None:
    root, _, _ = demo
    blob = "\n".join(
        p.read_bytes().decode("utf-8", "replace")
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".txt", ".csv", ".mbox")
    )
    cards = re.findall(r"card for [^:]*: ((?:\d{4} ){3}\d{4})\b", blob)
    assert cards and all(luhn_ok(c) for c in cards)
    ibans = re.findall(r"\bDE\d{2}(?: \d{4}){4} \d{2}\b", blob)
    assert len(ibans) >= 2 and all(iban_check_ok(i) for i in ibans)
    assert not luhn_ok("4242424242424241") and not iban_check_ok("DE00 1234 5678 9012 3456 78")


def test_high_only_entities_appear_only_in_high_items(demo, messages) -> None:
    root, _, truth = demo
    assert truth["high_only_entities"]
    high_mids = {
        s["locator"]["message_id"] for s in truth["sensitive"] if s["tier"] == "HIGH" and s["source"] == "email"
    }
    high_paths = {s["locator"]["path"] for s in truth["sensitive"] if s["tier"] == "HIGH" and s["source"] == "notes"}
    for name in truth["high_only_entities"]:
        holders = {
            mid(m)
            for m in messages
            if name in text_of(m) or name in str(email.header.make_header(email.header.decode_header(m["From"])))
        }
        assert holders and holders <= high_mids
        notes = {
            p.relative_to(root / "notes").as_posix()
            for p in (root / "notes").rglob("*.md")
            if name in p.read_text("utf-8")
        }
        assert notes <= high_paths
        for other in ("calendar/calendar.ics", "contacts/contacts.vcf", "chat/whatsapp.txt"):
            assert name not in (root / other).read_text("utf-8")


def test_people_aliases_are_consistent(demo, messages) -> None:
    _, _, truth = demo
    people = {p["id"]: p for p in truth["people"]}
    assert len(people) == 12
    owner: dict[str, str] = {}
    for p in people.values():
        assert p["group"] in ("family", "work", "friend")
        for alias in p["aliases"]["emails"] + p["aliases"]["display_names"]:
            assert owner.setdefault(alias, p["id"]) == p["id"], f"alias shared: {alias}"
    for rel in truth["relationships"]:
        assert rel["person"] in people or rel["person"] == "self"
        assert rel["other"] in people
    patterns = truth["patterns"]
    for key in ("fading_friendship", "strengthening_tie", "communication_anomaly", "weekly_one_on_one"):
        assert patterns[key]["person"] in people, key
    for s in truth["topics"]:
        assert s["keywords"] and s["total"] == sum(s["counts_per_month"].values())
    # Senders' addresses in the mbox belong to the persona, a person, or a known non-person sender.
    known = {a for p in people.values() for a in p["aliases"]["emails"]} | set(truth["persona"]["emails"])
    person_senders = {
        email.utils.parseaddr(m["From"])[1]
        for m in messages
        if not m["List-Id"] and m["X-Gmail-Labels"] in ("Inbox", "Inbox,Important", "Sent")
    }
    unknown = person_senders - known
    assert unknown <= {e["email"] for e in truth["high_only_entity_details"]}


def test_two_people_share_a_first_name(demo) -> None:
    _, _, truth = demo
    firsts = Counter(p["first_name"] for p in truth["people"])
    name, count = firsts.most_common(1)[0]
    assert count >= 2
    same = [p for p in truth["people"] if p["first_name"] == name]
    assert len({p["last_name"] for p in same}) == len(same)
    assert not set(same[0]["aliases"]["emails"]) & set(same[1]["aliases"]["emails"])
    assert {p["group"] for p in same} == {"work", "friend"}


def test_sentiment_and_pattern_locators_resolve(demo, messages) -> None:
    root, _, truth = demo
    ids = {mid(m) for m in messages}
    whatsapp = (root / "chat" / "whatsapp.txt").read_text("utf-8")
    assert {s["expected"] for s in truth["sentiment"]} == {"positive", "negative", "neutral"}
    for item in truth["sentiment"]:
        loc = item["locator"]
        if loc["source"] == "email":
            assert loc["message_id"] in ids
        elif loc["source"] == "whatsapp":
            assert whatsapp.count(loc["marker"]) == 1
        elif loc["source"] == "slack":
            assert any(
                m["ts"] == loc["ts"]
                for f in (root / "chat" / "slack" / loc["channel"]).glob("*.json")
                for m in json.loads(f.read_text())
            )
        elif loc["source"] == "notes":
            assert loc["marker"] in (root / "notes" / loc["path"]).read_text("utf-8")
    job = truth["patterns"]["job_change"]
    assert job["offer_message_id"] in ids and job["farewell_message_id"] in ids
    for trip in truth["patterns"]["trips"]:
        assert all(m in ids for m in trip["message_ids"])
    anomaly = truth["patterns"]["communication_anomaly"]
    assert anomaly["start"] <= anomaly["end"]
    assert truth["patterns"]["weekly_one_on_one"]["next_occurrences"][0] > truth["generator"]["end"]


# --- scaling --------------------------------------------------------------------------------------

MESSAGE_FILES = ("mail/mailbox.mbox", "chat/slack", "chat/whatsapp.txt")


def _messages(summary: dict) -> int:
    return sum(summary["files"][k] for k in MESSAGE_FILES)


@pytest.mark.parametrize(
    ("base", "bigger", "low", "high"),
    [
        ({"people": 12, "years": 1, "volume": 1.0}, {"people": 12, "years": 1, "volume": 3.0}, 2.2, 3.8),
        ({"people": 20, "years": 1}, {"people": 40, "years": 1}, 1.4, 2.8),
        ({"people": 12, "years": 1}, {"people": 12, "years": 2}, 1.5, 2.8),
    ],
)
def test_record_counts_scale_roughly_proportionally(tmp_path: Path, base, bigger, low, high) -> None:
    small = generate(tmp_path / "a", seed=3, **base)
    large = generate(tmp_path / "b", seed=3, **bigger)
    ratio = _messages(large) / _messages(small)
    assert low <= ratio <= high, ratio
    assert large["records"] > small["records"]


def test_folding_never_splits_tokens_or_utf8() -> None:
    line = "DESCRIPTION:" + " ".join(["Grüße", "AbCdEfcanaryXyZw"] * 12)
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
    assert "AbCdEfcanaryXyZw" in folded and folded.count("AbCdEfcanaryXyZw") == 12
