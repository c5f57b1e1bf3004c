"""Answers read out of messages: "what did Jeff say about the gas deal", "how much was the hub P&L on 10/17",
"when is Al's wedding", "where is the all-employee meeting", "who asked me for my login".

No language model: the question is searched (hybrid search, which honours a named sender and day and lists
each message once), the best records are cut into sentences, the sentences are ranked by similarity to the
question with the embedding model the twin already ships (plus the question's own words), and the span the
question asks for is taken from the best sentences by rules on the question's wh-word:

- how much / price / P&L → an amount (``$830,002``, ``100,182``, ``($59,462)``), the one after the question's word;
- how many → a count (the number before or after the question's word);
- when → a date (``September 22, 2001``, ``Sat August 4th``, ``10/15/2001``; the year from the message if
  missing; "from X to Y" gives Y); what time → a time of day;
- where / which room → a place (a room code, an address, a capitalised name after at/in/to/with);
- who + asked/sent/wrote/wants me → the message's sender (or, in my own reply, the person I was answering);
  other who-questions → a name in the sentence that the question does not already name;
- what is X's number / extension / id → that identifier; anything else → the best sentence, shortened.

A person named in such a question is a filter on the messages (search's sender field), not a switch to that
person's profile. "How much" about a message is not a spending question: those (spend, paid, cost me, income)
stay with the aggregate intent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from twin_assets.embedding import check_home_backend, embed
from twin_assets.processing.names import fold
from twin_assets.records import Document
from twin_query import views
from twin_query.ask.base import Context, Kind, Reply, day, fact, human_day
from twin_query.ask.intent import STOPWORDS, Intent
from twin_query.query_fields import MONTHS

DOCS = 5  # records whose sentences are read
MAX_SENTENCES = 40  # per record: what is embedded per question stays near 200 sentences (latency)
MAX_WORDS = 30  # a text answer is the best sentence cut to this many words

# ---- which questions ---------------------------------------------------------------------------------
_CONTENT = re.compile(
    r"\bwhat did .+ (?:say|write|send|tell|mention|report|ask|forward|reply)\b"
    r"|\bwhat (?:was|is) .+ (?:saying|writing) about\b"
    r"|\bwhat did (?!i\b|we\b)\w+(?: \w+){0,3} "
    r"(?:give|get|buy|bring|offer|propose|suggest|decide|agree|want|need|think|plan)\b"
    r"|\b(?:e-?mail|message|mail|note) from\b"
    r"|\bwho (?:asked|sent|wrote|told|wants|suggested|congratulated|passed|keeps|invited|e-?mailed|needs|"
    r"is (?:presenting|speaking|organi[sz]ing|hosting)|presented|recommended|introduced|forwarded)\b"
    r"|\bwho in\b|\bwho is .+ (?:collecting|asking|waiting)\b"
    r"|\bhow (?:much|many)\b"
    r"|\bwhat price\b|\bwhat (?:was|is|were) the .*\b(?:p&l|p/l|price|cost|amount|total|rate|fee|number|balance)\b"
    r"|\bwhen (?:is|was|are|were) (?:the|al's|\w+'s|our|it)\b|\bwhat time\b"
    r"|\bwhere (?:is|was|are|were) (?:the|\w+'s|\w+ \w+'s|dinner|lunch|"
    r"(?:\w+ ){1,2}(?:going|doing|moving|headed|staying))\b"
    r"|\bwhich (?:conference )?room\b|\bwhat floor\b"
    r"|\bwhat(?:'s| is| was) (?:the |my |\w+'s )?(?:\w+ ){0,3}(?:number|phone|extension|id|address|e-?mail|login)\b"
)
# Questions about the owner's money, contacts, trips and plans belong to other kinds and intents.
_NOT_CONTENT = re.compile(
    r"\b(?:spen[dt]|spending|paid|pay for|cost me|earn(?:ed)?|income|salary|rent|budget|afford)\b"
    r"|\bhow (?:much|many) (?:did|do|have|has) (?:i|we)\b|\bhow many (?:times|e-?mails|messages|mails|trips|meetings|"
    r"events|people|transactions|notes|chats|payments|days|weeks|months|years)\b"
    r"|\b(?:last time|next trip|my next|birthday|last (?:see|saw|talk|spoke|met))\b|\bcoming up\b|\bupcoming\b"
    r"|\bhow do i know\b|\bwho (?:is|was) my\b|\bwhere (?:did|do) (?:i|we) work\b"
)


def matches(question: str, intent: Intent) -> bool:
    # "how much was eating out in May" names a spending category: the owner's money, not a message's content.
    # A trading book's "make", a P&L or a quote is a figure in a message, whatever category word it shares.
    business = re.search(r"\b(?:book|p&l|p/l|make|made|quote[ds]?|reported)\b", question)
    spending = intent is not None and intent.name == "aggregate" and intent.category is not None and not business
    return bool(_CONTENT.search(question)) and not _NOT_CONTENT.search(question) and not spending


# ---- what the question asks for ----------------------------------------------------------------------
_SENDER_WHO = re.compile(
    r"\bwho (?:asked|sent|wrote|told|wants|congratulated|keeps|invited|e-?mailed|forwarded|needs|is (?:asking|waiting))"
    r"\b.*\b(?:me|my|i|us)\b"
)


_CUES = (  # (cue, what it asks for); the cue that comes first in the question decides
    (r"\bwhat time\b|\bwhat hours?\b", "time"),
    (r"\bhow many\b", "count"),
    (r"\bhow much\b|\bwhat price\b", "amount"),
    (r"\bwhen\b|\bwhat (?:date|day)\b", "date"),
    (r"\bwhat floor\b", "floor"),
    (r"\bwhere\b|\bwhich (?:conference )?room\b|\bwhat (?:room|address|place|venue)\b", "place"),
    (r"\bwho\b", "person"),
)


def wanted(question: str) -> str:
    """What the question asks for, by its first wh-cue: time, count, amount, date, floor, place, person,
    sender (who asked/sent/wrote … me), phone, ident, or text."""
    q = question.lower()
    cues = [(m.start(), want) for pattern, want in _CUES for m in [re.search(pattern, q)] if m]
    want = min(cues)[1] if cues else "text"
    if want == "person" and _SENDER_WHO.search(q):
        return "sender"
    if want == "text":
        if re.search(r"\bp&l\b|\bp/l\b|\bprice\b|\bcost\b|\bamount\b|\breport(?:ed)? for\b", q):
            return "amount"
        if re.search(r"\b(?:number|phone|extension|fax|cell)\b", q):
            return "phone"
        if re.search(r"\b(?:id|login|username|user name|handle)\b", q):
            return "ident"
    return want


# ---- sentences ----------------------------------------------------------------------------------------
_HEADER_LINE = re.compile(r"^\s*(?:from|sent|to|cc|bcc|subject|date|importance)\s*:", re.I)
_QUOTED_FROM = re.compile(r"^\s*>?\s*From:\s*(.+?)\s*(?:\[mailto:.*)?$", re.I | re.M)
_RULE = re.compile(r"^\s*[-_=*]{5,}.*$")


@dataclass
class Sentence:
    doc: Document
    position: int  # the record's place in the search results (0 first)
    text: str
    score: float = 0.0


def sentences(doc: Document, position: int) -> list[Sentence]:
    """The title and the body as sentences: header lines of quoted mail and rules dropped, quote marks
    stripped; a block is cut at sentence ends and blank lines."""
    out = [Sentence(doc, position, doc.title.strip())] if (doc.title or "").strip() else []
    blocks: list[str] = []
    current: list[str] = []
    for raw in (doc.body or "").splitlines():
        line = re.sub(r"^\s*(?:>\s*)+", "", raw).strip()
        if not line or _HEADER_LINE.match(line) or _RULE.match(line):
            if current:
                blocks.append(" ".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append(" ".join(current))
    for block in blocks:
        for part in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", block):
            part = " ".join(part.split())
            if len(part) >= 3:
                out.append(Sentence(doc, position, part[:400]))
        if len(out) >= MAX_SENTENCES:
            break
    return out[:MAX_SENTENCES]


def question_words(question: str) -> list[str]:
    words = re.findall(r"[\w&'/-]+", question.lower())
    words = [re.sub(r"'s$", "", w).strip("'") for w in words]
    return [w for w in words if w not in STOPWORDS and w not in _WH and len(w) > 1]


_WH_TEXT = """
what when where who whom which how much many did does is was were are said say send sent tell told me my i now about
"""
_WH = frozenset(_WH_TEXT.split())


def _overlap(words: list[str], text: str) -> float:
    if not words:
        return 0.0
    lower = text.lower()
    return sum(1 for w in words if w in lower) / len(words)


# ---- spans ----------------------------------------------------------------------------------------------
_MONEY = re.compile(r"\(?-?\$\s?\d[\d,]*(?:\.\d+)?\)?|\(?\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b\)?|\b\d+\.\d{2}\b")
_INT = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b")
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_DATE_FORMS = (
    re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s*((?:19|20)\d\d))?", re.I),
    re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b\.?(?:,?\s*((?:19|20)\d\d))?", re.I),
    re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/((?:19|20)?\d\d)(?![\d/])"),
)
_TIME = re.compile(
    r"\b\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)(?:\s*(?:-|–|to|and|until)\s*\d{1,2}(?::\d{2})?\s*"
    r"(?:a\.?m\.?|p\.?m\.?)?)?|\b\d{1,2}:\d{2}\b(?:\s*(?:-|–|to)\s*\d{1,2}:\d{2})?",
    re.I,
)
_ROOM = re.compile(
    r"\b(?:conf(?:erence)?\.?\s+room|room)\s+[A-Z0-9][\w-]*|\b(?:EB|ECN|ECS|ECN)\s?\d{1,4}[A-Za-z0-9]*\b", re.I
)
_ADDRESS = re.compile(
    r"\b\d{1,6}\s+(?:[A-Z][\w'-]*\s+){1,3}(?:Avenue|Ave|Street|St|Road|Rd|Drive|Dr|Boulevard|Blvd|Lane|Ln|Way|"
    r"Place|Pl|Court|Ct|Loop|Parkway|Pkwy)\b\.?(?:,?\s+[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?(?:,?\s+[A-Z]{2})?(?:\s+\d{5})?)?"
)
_CAP_TOKEN = r"(?:[A-Z]\.|[A-Z][\w'&-]*)"
_PREP_SPAN = re.compile(rf"\b(?:at|in|to|with|into)\s+(?:the\s+)?({_CAP_TOKEN}(?:\s+(?:of\s+)?{_CAP_TOKEN}){{0,5}})")
_CAP_SPAN = re.compile(rf"{_CAP_TOKEN}(?:\s+{_CAP_TOKEN}){{0,3}}")
_PHONE = re.compile(r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b|\b\d?x\s?\d{4,5}\b|\+\d[\d\s]{7,}\d")
_IDENT = re.compile(r"\b(?:id|login|username|user name|handle)\b(?:\s+\w+){0,2}?\s+(?:is|:)\s+([\w.@+-]+)", re.I)
_FLOOR = re.compile(r"\b\d{1,3}(?:st|nd|rd|th)\s+floor\b", re.I)
_NOT_NAME_TEXT = """
i a an the this that it we you he she they my our your his her their hi hello dear thanks thank regards please
monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday am pm ps re fw fwd
good great yes no ok okay all everyone team
"""
_NOT_NAME = frozenset(_NOT_NAME_TEXT.split()) | frozenset(MONTHS)


def _amount(text: str) -> float | None:
    neg = text.strip().startswith("(") or "-" in text
    digits = re.sub(r"[^\d.]", "", text)
    try:
        value = float(digits)
    except ValueError:
        return None
    return -value if neg else value


def _near(text: str, spans: list[re.Match[str]], words: list[str], after: bool = True) -> re.Match[str] | None:
    """The span nearest after (else before) a question word in ``text``; the first span when no word is there."""
    if not spans:
        return None
    lower = text.lower()
    marks = [m.end() for w in words if len(w) > 1 for m in re.finditer(re.escape(w), lower)]
    if not marks:
        return spans[0]

    def distance(s: re.Match[str]) -> float:
        gaps = [(s.start() - e) if s.start() >= e else (e - s.end()) * 1.5 + 5 for e in marks]
        return min(gaps) if after else min(abs(s.start() - e) for e in marks)

    return min(spans, key=distance)


def _date_of(m: re.Match[str], pattern_index: int, sent: datetime | None) -> date | None:
    groups = m.groups()
    try:
        if pattern_index == 0:
            month, day_n, year = MONTHS[groups[0].lower().rstrip(".")], int(groups[1]), groups[2]
        elif pattern_index == 1:
            day_n, month, year = int(groups[0]), MONTHS[groups[1].lower().rstrip(".")], groups[2]
        else:
            month, day_n, year = int(groups[0]), int(groups[1]), groups[2]
            if len(year) == 2:
                year = str(2000 + int(year) if int(year) < 70 else 1900 + int(year))
        y = int(year) if year else None
        if y is None:
            if sent is None:
                return None
            y = sent.year
            # A month long before the message's own is next year's ("see you in January", written in November).
            if month < sent.month - 2:
                y += 1
        return date(y, month, day_n)
    except (KeyError, ValueError, TypeError):
        return None


def find_dates(text: str, sent: datetime | None) -> list[tuple[re.Match[str], date]]:
    out: list[tuple[re.Match[str], date]] = []
    taken: list[tuple[int, int]] = []
    for i, pattern in enumerate(_DATE_FORMS):
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            d = _date_of(m, i, sent)
            if d is not None:
                out.append((m, d))
                taken.append((m.start(), m.end()))
    return sorted(out, key=lambda md: md[0].start())


def name_spans(text: str, exclude: set[str]) -> list[str]:
    """Capitalised runs that may be a person's name (all-caps names too), without words the question names."""
    out = []
    for m in _CAP_SPAN.finditer(text):
        words = [w if re.fullmatch(r"[A-Z]\.", w) else w.strip(".,'") for w in m.group(0).split()]
        if words and words[0].isupper() and len(words[0]) > 2:  # "MICHAEL L. MILLER Topic": the caps run only
            cut = next((i for i, w in enumerate(words) if not w.isupper()), len(words))
            words = words[:cut]
        words = [w for w in words if w and fold(w) not in _NOT_NAME and fold(w) not in exclude]
        if not words or all(len(w) <= 2 for w in words):
            continue
        # One word in capitals is an acronym ("ENA"), kept as written; a name in capitals is title-cased.
        titled = " ".join(w.title() if w.isupper() and len(w) > 2 else w for w in words)
        span = words[0] if len(words) == 1 else titled
        out.append(span)
    return out


def flip(name: str) -> str:
    """'Nguyen, James' → 'James Nguyen' (Outlook's quoted From)."""
    name = re.sub(r"<.*?>|@\S+|\"", "", name).strip()
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}"
    return " ".join(name.split())


def extract(
    kind: str,
    s: Sentence,
    words: list[str],
    exclude: set[str],
    *,
    strong: bool = False,
    is_person: Callable[[str], bool] | None = None,
) -> tuple[str, Any, str] | None:
    """(fact kind, value, text) for the span ``kind`` asks for in sentence ``s``, or None. ``strong``: only
    spans with their own evidence of being the kind (a place after at/in/to, a room, an address), not any
    capitalised words."""
    text = s.text
    if kind == "amount":
        spans = list(_MONEY.finditer(text))
        dollars = [m for m in spans if "$" in m.group(0)]
        m = _near(text, dollars or spans, words)
        if m is None:
            return None
        value = _amount(m.group(0))
        if value is None:
            return None
        return "amount", {"amount": abs(value), "currency": "USD" if "$" in m.group(0) else ""}, m.group(0).strip()
    if kind == "count":
        spans = [m for m in _INT.finditer(text) if not _is_date_part(text, m)]
        m = _near(text, spans, words, after=False)
        if m is None:
            return None
        return "count", int(m.group(0).replace(",", "")), m.group(0)
    if kind == "date":
        found = find_dates(text, s.doc.event_time)
        if not found:
            return None
        pick = found[0]
        for m, d in found[1:]:  # "from September 8 to September 22", "moved to …": the later one is the news
            if re.search(r"\b(?:to|until|till|now|new date is|moved to|changed to)\s*$", text[: m.start()], re.I):
                pick = (m, d)
        return "date", day(pick[1]), human_day(pick[1])
    if kind == "time":
        m = _TIME.search(text)
        return ("text", m.group(0).strip(), m.group(0).strip()) if m else None
    if kind == "phone":
        spans = list(_PHONE.finditer(text))
        m = _near(text, spans, words)
        return ("text", m.group(0), m.group(0)) if m else None
    if kind == "ident":
        m = re.search(
            r"\b(?:id|login|username|user name|handle)\b(?:\s+\w+){0,2}?\s+(?:is|:)\s+([\w.@+-]+)", text, re.I
        )
        ident = m.group(1).rstrip(".") if m else ""
        return ("text", ident, ident) if ident else None
    if kind == "floor":
        m = _FLOOR.search(text)
        return ("text", m.group(0), m.group(0)) if m else None
    if kind == "place":
        for pattern in (_ROOM, _ADDRESS):
            m = pattern.search(text)
            if m:
                return "place", m.group(0).strip(" ,."), m.group(0).strip(" ,.")
        for m in _PREP_SPAN.finditer(text):
            words_ = [w for w in m.group(1).split() if fold(w.strip(".,")) not in _NOT_NAME]
            span = " ".join(words_).strip(" ,.")
            if span and fold(span) not in exclude and not re.match(_WEEKDAY, span, re.I):
                return "place", span, span
        if strong:
            return None
        names = name_spans(text, exclude)
        return ("place", names[0], names[0]) if names else None
    if kind == "person":
        # A first and last name, or one word the twin knows as a person: "Here", "Rgds" and "Series" are not;
        # nor is an acronym ("ENA"). Strong: the twin knows the name, or the sentence introduces a person there
        # ("presented by X", "Featuring: X", "X suggested").
        names = [
            n
            for n in name_spans(text, exclude)
            if len(n.split()) >= 2 or (not n.isupper() and is_person is not None and is_person(n))
        ]
        if strong:
            names = [n for n in names if (is_person is not None and is_person(n)) or _introduced(text, n)]
        return ("person", {"id": None, "name": names[0]}, names[0]) if names else None
    if len(text.split()) < 4 or text.rstrip().endswith("?") or _PHONE.search(text) or "@" in text:
        return None  # a salutation, a question or a signature block answers nothing
    cut = " ".join(text.split()[:MAX_WORDS])
    return "text", cut, cut


_INTRO_BEFORE = re.compile(
    r"(?:\bby|\bfeaturing:?|\bspeaker:?|\bpresenter:?|\bcontact|\bask|\bcall|\bwith|\bfrom)\s*$", re.I
)
_INTRO_AFTER = re.compile(
    r"^\s*(?:suggested|said|says|asked|wants|is (?:presenting|speaking|hosting)|presents|told)\b", re.I
)


def _introduced(text: str, name: str) -> bool:
    """Whether the sentence introduces ``name`` as a person: after "by"/"Featuring:", before "suggested"…"""
    first = name.split()[0]
    for m in re.finditer(re.escape(first), text, re.I):
        after = text[m.start() :]
        end = m.start() + len(name) if after.lower().startswith(name.lower()) else m.end()
        if _INTRO_BEFORE.search(text[: m.start()]) or _INTRO_AFTER.match(text[end:]):
            return True
    return False


def _is_date_part(text: str, m: re.Match[str]) -> bool:
    around = text[max(0, m.start() - 1) : m.end() + 1]
    return "/" in around or bool(re.match(rf"\s*(?:{_MONTH_RE})\b", text[m.end() :], re.I))


# ---- the answer -------------------------------------------------------------------------------------------
def _sender(doc: Document) -> str | None:
    for p in (doc.meta or {}).get("parties") or []:
        if isinstance(p, dict) and p.get("role") == "from":
            return p.get("name") or p.get("email")
    return None


def _is_self(ctx: Context, doc: Document) -> bool:
    """Whether the owner wrote ``doc``: its sender is one of the owner's addresses, or it lies in a sent folder
    (an owner's old address the twin has not tied to them still files its mail there)."""
    folder = str(((doc.meta or {}).get("attributes") or {}).get("folder") or "")
    if re.search(r"\bsent\b", folder.replace("_", " ").lower()):
        return True
    me = ctx.vd.entity(ctx.vd.self_id) if ctx.vd.self_id else None
    if me is None:
        return False
    mine = {a.lower() for a in me.all_aliases}
    for p in (doc.meta or {}).get("parties") or []:
        if isinstance(p, dict) and p.get("role") == "from":
            return (p.get("email") or "").lower() in mine
    return False


def _person_fact(ctx: Context, name: str) -> dict[str, Any]:
    """A name as the contract's person value, with the twin's entity when the name resolves to one."""
    entity = ctx.vd.resolve(name) if hasattr(ctx.vd, "resolve") else None
    if entity is not None and entity.kind == "person":
        return {"id": entity.id, "name": entity.name}
    return {"id": None, "name": name}


def _display(name: str) -> str:
    if "@" in name and " " not in name:
        local = name.split("@")[0]
        return " ".join(w.capitalize() for w in re.split(r"[._]+", local) if w)
    return flip(name)


def answer(ctx: Context) -> Reply:
    it = ctx.intent
    question = it.question
    want = wanted(question)
    reply = Reply(text="", unknown="that from your messages")
    hits = ctx.service.search(question, tiers=ctx.tiers, k=DOCS * 2, until=ctx.now)
    docs = views.fetch_docs(ctx.twin(), ctx.tiers, [h.id for h in hits])
    ranked = [docs[h.id] for h in hits if h.id in docs][:DOCS]
    reply.step("hybrid search of your messages (sender and day as named), one hit per message", [d.id for d in ranked])
    if not ranked:
        return reply
    words = question_words(question)
    asked = re.findall(r"[A-Za-z][\w'-]+", question)
    exclude = {fold(re.sub(r"'s$", "", w)) for w in asked} | {fold(w) for w in words}
    sents = [s for position, d in enumerate(ranked) for s in sentences(d, position)]
    backend = check_home_backend(ctx.twin().settings, write=False)
    vectors = embed(
        [question] + [s.text for s in sents],
        max_seq_length=ctx.twin().settings.embedding.max_seq_length,
        backend=backend,
        models=ctx.twin().embedding_models,
    )
    sims = vectors[1:] @ vectors[0] if len(sents) else np.zeros(0)
    title_sim: dict[str, float] = {}
    for s, sim in zip(sents, sims, strict=True):
        if s.text == (s.doc.title or "").strip():
            title_sim.setdefault(s.doc.id, float(sim))
    named = {fold(w) for w in words}
    for s, sim in zip(sents, sims, strict=True):
        # The sentence's own similarity first; the question's words, what its record is about (the subject),
        # whether its sender is someone the question names ("where is Brian going": Brian's own mail) and the
        # record's search rank decide between sentences that say much the same.
        by_named = bool(named & set(re.findall(r"[a-z0-9]+", fold(_sender(s.doc) or ""))))
        s.score = (
            float(sim)
            + 0.4 * _overlap(words, s.text)
            + 0.3 * title_sim.get(s.doc.id, 0.0)
            + 0.2 * by_named
            + 0.15 / (1 + s.position)
        )
    order = sorted(sents, key=lambda s: -s.score)

    def is_person(name: str) -> bool:
        entity = ctx.vd.resolve(name)
        return entity is not None and entity.kind == "person" and not entity.is_self

    got: tuple[str, Any, str] | None = None
    source: Sentence | None = None
    if want == "sender":
        source = order[0]
        doc = source.doc
        name = _sender(doc)
        if _is_self(ctx, doc):  # my own reply: the person I was answering asked
            quoted = _QUOTED_FROM.search(doc.body or "")
            name = flip(quoted.group(1)) if quoted else None
        if name:
            shown = _display(name)
            got = ("person", _person_fact(ctx, shown), shown)
    else:
        for strong, depth in ((True, 25), (False, 5)):
            for s in order[:depth]:
                got = extract(want, s, words, exclude, strong=strong, is_person=is_person)
                if got is not None:
                    source = s
                    break
            if got is not None:
                break
    if got is None or source is None:
        reply.step("no sentence of the best records says it")
        reply.docs.update({d.id: d for d in ranked})
        reply.confidence = 0.2
        return reply
    kind, value, text = got
    if kind == "person" and isinstance(value, dict) and value.get("id") is None:
        value = _person_fact(ctx, text)
    reply.fact = fact(kind, value, text)
    coverage = _overlap(words, f"{source.doc.title} {source.doc.body}")
    reply.confidence = min(0.95, 0.3 + 0.35 * coverage + 0.45 * min(1.0, max(0.0, source.score)))
    when = source.doc.event_time
    who = _sender(source.doc)
    said = f" ({_display(who)}, {human_day(when)})" if who and when else ""
    if kind == "text" and want == "text":
        reply.text = f"“{text}”{said}."
    else:
        reply.text = f"{text}{said}: “{' '.join(source.text.split()[:MAX_WORDS])}”"
    reply.step(
        f"the sentence most like the question in “{' '.join((source.doc.title or '').split())[:80]}”",
        [source.doc.id],
    )
    reply.docs.update({d.id: d for d in ranked})
    reply.terms = words
    return reply


KIND = Kind(
    name="message_fact",
    description="what a message says: a person's words, an amount, a date, a place or a name read out of mail",
    matches=matches,
    answer=answer,
)
