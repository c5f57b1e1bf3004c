"""Search and ask on a real mailbox: the Enron keavey-p maildir against a plain SQLite FTS5 BM25 index.

    python -m benchmarks.real_mail                 # ingests the mailbox into a temp home (a few minutes)
    python -m benchmarks.real_mail --home H        # reuse a home this benchmark built before (--keep)
    python -m benchmarks.real_mail --keep          # keep the temp home and print its path

The questions (``benchmarks/real_mail_questions.json``) were written by reading the mailbox: what someone said
about something, how much something was, who asked for what, when and where a meeting is, what a sender sent
on a date, and known messages by their exact subject. Each names its answering message(s) by Message-ID (and
file, as a second locator); since Enron gives every folder copy of a message its own Message-ID, and even its
own Date (Notes and Outlook copies differ by hours) and sometimes its own sender, a message is identified here
by its content: subject and body with quoted-printable debris and whitespace removed, and a time within a day.
Every copy of an answering message is relevant; a hit list with three copies of the same message in its top
ten shows it in the scores.

A fixed ~30% of the questions are marked ``heldout``: nothing is tuned on them; both parts are reported.

Methods, all over the same messages in one run: ``twin search`` hybrid, vector-only and keyword-only
(``twin_query.search`` in-process), and an independent plain SQLite FTS5 BM25 index built here from the
parsed messages (subject, body, from/to names and addresses; one row per file, any-word query). Reported:
MRR@10 and Recall@10 (over answering messages, by content), the exact-subject known-item MRR@10, and ask's
fact accuracy (the expected fact in ``fact.value``/``fact.text``, or in the answer's first sentence).

The mailbox is public Enron data; only figures are printed. Skips cleanly when the sample is absent.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_MAILBOX = REPO / ".." / "shared" / "samples" / "email" / "enron_maildir" / "keavey-p"
QUESTIONS = Path(__file__).with_name("real_mail_questions.json")
MODES = ("hybrid", "vector", "keyword")
K = 10
# A plain English stopword list for the BM25 baseline's query (the baseline is independent of the twin's own).
_STOP_TEXT = """
a an and are as at be by did do does for from had has have he her his how i in is it its me my of on or
our she so that the their them they this to was we were what when where which who why will with you your
about much many any
"""
STOP = frozenset(_STOP_TEXT.split())


# ---- message identity ---------------------------------------------------------------------------------
_QP = re.compile(r"=[0-9A-Fa-f]{2}|=\r?\n")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_PREFIX = re.compile(r"^\s*((re|fw|fwd)\s*:\s*)+", re.I)


def norm_subject(subject: str) -> str:
    return " ".join(_PREFIX.sub("", subject or "").lower().split())


def fingerprint(subject: str, body: str, sender: str) -> str:
    """Subject and body as letters and digits only (folder copies differ in wrapping and in quoted-printable
    debris); a near-empty body keeps the sender, so two different one-liners with one subject stay apart."""
    text = _NOT_ALNUM.sub("", _QP.sub("", body or "").lower())[:4000]
    key = norm_subject(subject) + "|" + text + ("|" + sender.lower() if len(text) < 40 else "")
    return hashlib.sha256(key.encode()).hexdigest()[:20]


@dataclass
class Msg:
    message_id: str
    subject: str
    body: str
    sender: str
    people: str
    time: datetime | None
    key: str = ""
    group: int = -1


def group_messages(msgs: list[Msg]) -> int:
    """Messages with one fingerprint and times within a day of each other are one message; returns how many."""
    by_key: dict[str, list[Msg]] = defaultdict(list)
    for m in msgs:
        by_key[m.key].append(m)
    n = 0
    for same in by_key.values():
        same.sort(key=lambda m: (m.time is None, m.time or datetime.min))
        anchor: datetime | None = None
        for m in same:
            if m.time is None or anchor is None or abs(m.time - anchor) > timedelta(hours=36):
                n += 1
                anchor = m.time
            m.group = n
    return n


def parse_mailbox(path: Path) -> list[Msg]:
    from twin_assets.connectors.email import EmailConnector
    from twin_assets.records import Record

    out = []
    for item in EmailConnector().parse(path):
        if not isinstance(item, Record):
            continue
        sender = next((p.email or p.name or "" for p in item.parties if p.role == "from"), "")
        people = " ".join(f"{p.name or ''} {p.email or ''}" for p in item.parties)
        mid = item.attributes.get("message_id") or item.external_id
        m = Msg(mid, item.title, item.body, sender, people, item.event_time)
        m.key = fingerprint(m.subject, m.body, m.sender)
        out.append(m)
    return out


# ---- questions ------------------------------------------------------------------------------------------
@dataclass
class Question:
    id: str
    split: str
    kind: str
    text: str
    groups: set[int] = field(default_factory=set)
    fact: dict[str, Any] | None = None


def load_questions(msgs: list[Msg]) -> list[Question]:
    data = json.loads(QUESTIONS.read_text())
    by_mid = {m.message_id: m for m in msgs}
    by_subject: dict[str, set[int]] = defaultdict(set)
    for m in msgs:
        by_subject[norm_subject(m.subject)].add(m.group)
    out = []
    for q in data["questions"]:
        groups = set()
        for a in q["answers"]:
            m = by_mid.get(a["message_id"])
            if m is None:
                raise SystemExit(f"{q['id']}: answering message not found in the mailbox (locator {a['file']})")
            groups.add(m.group)
        if q["kind"] == "known_item":  # every message with exactly that subject is the one sought
            groups |= by_subject.get(norm_subject(q["question"]), set())
        out.append(Question(q["id"], q["split"], q["kind"], q["question"], groups, q.get("fact")))
    return out


# ---- BM25 baseline ----------------------------------------------------------------------------------------
class Bm25:
    """A plain SQLite FTS5 index, one row per message file, any-word query ranked by bm25()."""

    def __init__(self, msgs: list[Msg]) -> None:
        self.conn = sqlite3.connect(":memory:")
        self.conn.execute("CREATE VIRTUAL TABLE fts USING fts5(subject, body, people)")
        self.conn.executemany(
            "INSERT INTO fts (rowid, subject, body, people) VALUES (?,?,?,?)",
            [(i, m.subject, m.body, m.people) for i, m in enumerate(msgs)],
        )
        self.msgs = msgs

    def search(self, text: str, k: int = K) -> list[int]:
        words = [w for w in re.findall(r"\w+", text.lower()) if w not in STOP] or re.findall(r"\w+", text.lower())
        if not words:
            return []
        query = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        rows = self.conn.execute("SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT ?", (query, k))
        return [self.msgs[r[0]].group for r in rows]


# ---- scoring -----------------------------------------------------------------------------------------------
def rr(ranked: list[int], relevant: set[int]) -> float:
    for i, g in enumerate(ranked[:K]):
        if g in relevant:
            return 1.0 / (i + 1)
    return 0.0


def recall(ranked: list[int], relevant: set[int]) -> float:
    return len(set(ranked[:K]) & relevant) / len(relevant) if relevant else 0.0


_NUM = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> set[float]:
    out = set()
    for n in _NUM.findall(text):
        with contextlib.suppress(ValueError):
            out.add(float(n.replace(",", "")))
    return out


def _folded(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z:.'/-]+", " ", text.lower()).split())


def fact_correct(result: dict[str, Any], expected: dict[str, Any]) -> bool:
    """The expected fact in ``fact.value``/``fact.text``, or in the answer's first sentence."""
    fact = result.get("fact") or {}
    answer = result.get("answer") or ""
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", answer.strip(), maxsplit=1)[0] if answer else ""
    said = " ".join([json.dumps(fact.get("value"), default=str), str(fact.get("text") or ""), first])
    for accept in expected["accept"]:
        if expected["kind"] in ("amount", "count") and _numbers(accept):
            if _numbers(accept) & _numbers(said):
                return True
        elif _folded(accept) in _folded(said):
            return True
    return False


# ---- home -----------------------------------------------------------------------------------------------------
def build_home(mailbox: Path, base: Path) -> Path:
    home = base / "home"
    os.environ["TWIN_HOME"] = str(home)
    os.environ.pop("DAGSTER_HOME", None)
    from twin_assets.run import materialize, unmaterialized
    from twin_assets.settings import get_settings
    from twin_query.ingest import ingest_paths
    from twin_query.setup import init_home

    t0 = time.monotonic()
    settings = get_settings()
    init_home(settings)
    result = ingest_paths(settings, [mailbox], source=None, dry_run=False, show_progress=False)
    if unmaterialized(settings):
        outcome = materialize(settings, None)
        if not outcome.success:
            raise SystemExit("materialization failed")
    print(f"ingested {result['records']} messages into a temp home in {time.monotonic() - t0:.0f}s", flush=True)
    return home


def stored_groups(twin: Any, msgs: list[Msg]) -> dict[str, int]:
    """Stored document id -> message group, by the Message-ID each stored copy keeps."""
    from twin_assets.stores import TIERS

    by_mid = {m.message_id: m.group for m in msgs}
    out: dict[str, int] = {}
    for tier in TIERS:
        for batch in twin.store(tier).iter_documents():
            for d in batch:
                mid = ((d.meta or {}).get("attributes") or {}).get("message_id")
                if mid in by_mid:
                    out[d.id] = by_mid[mid]
    return out


def sweep(service: Any, dev: list[Question], group_of: dict[str, int]) -> None:
    """Hybrid MRR@10 on the dev questions for several keyword weights and RRF constants (never the held-out ones)."""
    from twin_query import search as search_mod

    saved = (search_mod.KEYWORD_WEIGHT, search_mod.RRF_K)
    try:
        for rrf_k in (20, 60):
            for weight in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0):
                search_mod.KEYWORD_WEIGHT, search_mod.RRF_K = weight, rrf_k
                total = 0.0
                for q in dev:
                    hits = service.search(q.text, k=K, mode="hybrid")
                    total += rr([group_of.get(h.id, -1) for h in hits], q.groups)
                print(
                    f"dev hybrid MRR@10 keyword weight {weight:.1f}, RRF k {rrf_k}: {total / len(dev):.3f}", flush=True
                )
    finally:
        search_mod.KEYWORD_WEIGHT, search_mod.RRF_K = saved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mailbox", type=Path, default=DEFAULT_MAILBOX)
    ap.add_argument("--home", type=Path, help="a home this benchmark built before (with --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the temp home and print where it is")
    ap.add_argument("--no-ask", action="store_true", help="search figures only")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    ap.add_argument("--ranks", action="store_true", help="print each question's id and answer rank per method")
    ap.add_argument(
        "--sweep",
        action="store_true",
        help="hybrid MRR@10 on the dev questions only, for several keyword weights of the fusion (to set it)",
    )
    args = ap.parse_args(argv)
    mailbox = args.mailbox.resolve()
    if not mailbox.is_dir():
        print(f"(mailbox not found at {mailbox}; skipped)")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    t0 = time.monotonic()
    msgs = parse_mailbox(mailbox)
    n_groups = group_messages(msgs)
    questions = load_questions(msgs)
    print(f"{len(msgs)} message files, {n_groups} distinct messages; {len(questions)} questions", flush=True)
    if args.home:
        home = args.home.resolve()
        os.environ["TWIN_HOME"] = str(home)
        os.environ.pop("DAGSTER_HOME", None)
    else:
        base = Path(tempfile.mkdtemp(prefix="twin-realmail-"))
        home = build_home(mailbox, base)
        if args.keep:
            print(f"home kept at {home}")
    from twin_assets.settings import get_settings
    from twin_query.service import QueryService

    service = QueryService(get_settings())
    twin = service.twin()
    group_of = stored_groups(twin, msgs)
    stored = len(group_of)
    print(
        f"stored {stored} message documents for {len(set(group_of.values()))} distinct messages "
        f"({stored - len(set(group_of.values()))} stored copies of a message already stored)"
    )
    if args.sweep:
        sweep(service, [q for q in questions if q.split == "dev"], group_of)
        service.close()
        return 0
    bm25 = Bm25(msgs)
    rankings: dict[str, dict[str, list[int]]] = defaultdict(dict)
    dup_in_top: dict[str, list[int]] = defaultdict(list)
    for q in questions:
        for mode in MODES:
            hits = service.search(q.text, k=K, mode=mode)
            ranked = [group_of.get(h.id, -1) for h in hits]
            rankings[mode][q.id] = ranked
            dup_in_top[mode].append(len(ranked) - len(set(ranked)))
        ranked = bm25.search(q.text)
        rankings["bm25"][q.id] = ranked
        dup_in_top["bm25"].append(len(ranked) - len(set(ranked)))
    if args.ranks:
        for q in questions:

            def first(ranked: list[int], q: Question = q) -> str:
                return next((str(i + 1) for i, g in enumerate(ranked[:K]) if g in q.groups), "-")

            cells = " ".join(f"{m}={first(rankings[m][q.id])}" for m in ("hybrid", "vector", "keyword", "bm25"))
            print(f"{q.id} {q.split:7} {q.kind:11} {cells}")
    asked: dict[str, bool] = {}
    if not args.no_ask:
        from twin_query.ask import ask

        for q in questions:
            if q.fact:
                asked[q.id] = fact_correct(ask(service, q.text, use_llm=False), q.fact)
    service.close()
    figures: dict[str, Any] = {}
    methods = ("hybrid", "vector", "keyword", "bm25")
    for split in ("dev", "heldout", "all"):
        qs = [q for q in questions if split == "all" or q.split == split]
        known = [q for q in qs if q.kind == "known_item"]
        row: dict[str, Any] = {"questions": len(qs), "known_items": len(known)}
        for m in methods:
            row[m] = {
                "mrr@10": round(sum(rr(rankings[m][q.id], q.groups) for q in qs) / len(qs), 3),
                "recall@10": round(sum(recall(rankings[m][q.id], q.groups) for q in qs) / len(qs), 3),
                "known_item_mrr@10": round(sum(rr(rankings[m][q.id], q.groups) for q in known) / len(known), 3)
                if known
                else None,
            }
        with_fact = [q for q in qs if q.fact and q.id in asked]
        row["ask_fact_accuracy"] = round(sum(asked[q.id] for q in with_fact) / len(with_fact), 3) if with_fact else None
        row["ask_questions_with_fact"] = len(with_fact)
        figures[split] = row
    figures["duplicates_in_top10_per_question"] = {m: round(sum(v) / len(v), 2) for m, v in dup_in_top.items()}
    print(f"\n{'':10}{'questions':>10}  " + "  ".join(f"{m + ' MRR/R@10/KI':>24}" for m in methods) + "   ask fact")
    for split in ("dev", "heldout", "all"):
        r = figures[split]
        cells = "  ".join(
            f"{r[m]['mrr@10']:>8.3f}/{r[m]['recall@10']:.3f}/{(r[m]['known_item_mrr@10'] or 0):.3f}".rjust(24)
            for m in methods
        )
        acc = r["ask_fact_accuracy"]
        fact = f"{acc:.3f} of {r['ask_questions_with_fact']}" if acc is not None else "-"
        print(f"{split:10}{r['questions']:>10}  {cells}   {fact}")
    print("duplicate copies in a top 10 (mean per question):", figures["duplicates_in_top10_per_question"])
    print(f"({time.monotonic() - t0:.0f}s)")
    if args.json:
        print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
