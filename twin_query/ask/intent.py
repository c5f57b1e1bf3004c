"""Question → intent and slots, by rules plus the entities the caller's view has resolved.

Intents: ``search``, ``person_profile``, ``relationship``, ``timeline``,
``aggregate``, ``prediction`` and ``topic``. Slots: entities (matched against
names, aliases, e-mails and handles in the view — so a lower view never even
matches a higher-tier name), a time range (absolute months, years and dates;
relative "last year", "next week", "in March 2023"...), amounts with a
comparison, a spending category and the remaining keywords.

No model and no network: every decision is a rule that can be read and tested.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from twin_assets.processing.names import fold
from twin_assets.processing.resolution import Entity

INTENTS = ("search", "person_profile", "relationship", "timeline", "aggregate", "prediction", "topic")

MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_FULL_MONTHS = {k for k, v in MONTHS.items() if len(k) > 4 or k == "may" or k == "june" or k == "july"}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEAR_RE = r"(?:19[89]\d|20\d\d|2100)"
_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365, "years": 365}
_NUMBERS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "few": 3,
    "couple": 2,
}

# Words that never count as a name on their own, nor as search keywords worth keeping.
_STOP_TEXT = """
a about after again against all also am an and any are as at be been before being between both but by can
could did do does doing done down during each few for from further had has have having he her here hers him
his how i if in into is it its just me more most my myself no nor not now of off on once only or other our
out over own same she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your
show find tell give list get got know knew meet met see saw seen talk talked talking say said happen happened
happening whats what's hows spend spent spending much many money cost costs paid pay total last next this
year years month months week weeks day days today yesterday tomorrow ago recent recently lately upcoming soon
people person someone anyone somebody everyone thing things stuff time times please any lot much connected
connection connect related relationship path between profile everything anything did going gonna way
message messages mail mails email emails note notes event events meeting meetings transaction transactions
plan plans planned schedule scheduled calendar likely expect probably may might must shall like
topic topics theme themes community communities group groups circle circles cluster clusters trending
timeline history whom which well new old first latest earliest im ive ill id youre
"""
STOPWORDS = frozenset(_STOP_TEXT.split())

_SELF = frozenset({"i", "me", "my", "myself", "mine"})
# Words that say what to add up, not what to filter on.
_MEASURE_WORDS = frozenset(
    {
        "spend",
        "spent",
        "spending",
        "earn",
        "earned",
        "earnings",
        "income",
        "salary",
        "wage",
        "wages",
        "receive",
        "received",
        "paid",
        "pay",
        "payment",
        "payments",
        "euros",
        "euro",
        "eur",
        "dollars",
        "usd",
        "expenses",
        "expense",
        "expenditure",
        "altogether",
        "overall",
        "cost",
        "costs",
        "total",
        "amount",
        "buy",
        "bought",
        "purchases",
        "purchase",
    }
)

# Spending categories: words in a question → terms matched against a transaction's merchant, text and category.
CATEGORY_TERMS: dict[str, tuple[str, ...]] = {
    "flights": (
        "flight",
        "flights",
        "flug",
        "airline",
        "airlines",
        "air",
        "airways",
        "lufthansa",
        "ryanair",
        "easyjet",
        "eurowings",
        "airport",
    ),
    "hotels": ("hotel", "hotels", "hostel", "airbnb", "booking com", "motel", "pension", "unterkunft"),
    "trains": ("fernverkehr", "deutsche bahn", "db bahn", "railway", "rail", "eurostar", "sncf", "train"),
    "groceries": (
        "supermarket",
        "supermarkt",
        "grocery",
        "groceries",
        "markt",
        "rewe",
        "edeka",
        "lidl",
        "aldi",
        "netto",
        "penny",
        "kaufland",
        "biomarkt",
        "bio company",
        "denns",
        "tesco",
        "whole foods",
    ),
    "restaurants": (
        "restaurant",
        "cafe",
        "pizza",
        "pizzeria",
        "sushi",
        "burger",
        "burgeramt",
        "trattoria",
        "bistro",
        "pho",
        "falafel",
        "meze",
        "kebab",
        "imbiss",
        "diner",
        "brasserie",
        "lieferando",
    ),
    "transport": (
        "bvg",
        "taxi",
        "uber",
        "bolt",
        "scooter",
        "ticket",
        "tram",
        "metro",
        "tankstelle",
        "fuel",
        "parking",
        "free now",
        "fernverkehr",
        "bahn",
    ),
    "rent": ("miete", "rent", "hausverwaltung", "landlord"),
    "utilities": (
        "strom",
        "electricity",
        "stadtwerke",
        "internet",
        "mobilfunk",
        "gas",
        "water",
        "energie",
        "energy",
        "phone bill",
    ),
    "subscriptions": ("abo", "subscription", "streaming", "netflix", "spotify", "storage", "membership"),
    "insurance": ("versicherung", "insurance", "haftpflicht"),
    "shopping": (
        "shop",
        "store",
        "ikea",
        "zalando",
        "amazon",
        "drogerie",
        "electro",
        "bookshop",
        "depot",
        "fahrradladen",
        "zalora",
        "juwelier",
        "jeweller",
    ),
    "cash": ("geldautomat", "atm", "bargeld", "cash", "ga auszahlung"),
    "fitness": ("gym", "fitness", "boulder", "boulderhalle", "yoga", "sport"),
}
CATEGORY_TERMS = {  # one more entry as a new table: no module-level table is edited after it is made
    **CATEGORY_TERMS,
    "travel": (
        *CATEGORY_TERMS["flights"],
        *CATEGORY_TERMS["hotels"],
        *CATEGORY_TERMS["trains"],
        "travel",
        "reise",
        "trip",
    ),
}
CATEGORY_WORDS = {
    "travel": "travel",
    "travelling": "travel",
    "traveling": "travel",
    "trips": "travel",
    "trip": "travel",
    "holiday": "travel",
    "holidays": "travel",
    "vacation": "travel",
    "vacations": "travel",
    "flight": "flights",
    "flights": "flights",
    "flying": "flights",
    "airline": "flights",
    "airlines": "flights",
    "hotel": "hotels",
    "hotels": "hotels",
    "accommodation": "hotels",
    "train": "trains",
    "trains": "trains",
    "groceries": "groceries",
    "grocery": "groceries",
    "supermarket": "groceries",
    "supermarkets": "groceries",
    "food shopping": "groceries",
    "restaurants": "restaurants",
    "restaurant": "restaurants",
    "eating out": "restaurants",
    "dining": "restaurants",
    "dinners": "restaurants",
    "takeaway": "restaurants",
    "transport": "transport",
    "transportation": "transport",
    "commute": "transport",
    "commuting": "transport",
    "taxis": "transport",
    "taxi": "transport",
    "public transport": "transport",
    "getting around": "transport",
    "rent": "rent",
    "utilities": "utilities",
    "bills": "utilities",
    "electricity": "utilities",
    "internet": "utilities",
    "subscriptions": "subscriptions",
    "subscription": "subscriptions",
    "streaming": "subscriptions",
    "insurance": "insurance",
    "shopping": "shopping",
    "clothes": "shopping",
    "cash": "cash",
    "withdrawals": "cash",
    "gym": "fitness",
    "fitness": "fitness",
    "sport": "fitness",
    "sports": "fitness",
}

_RELATIONSHIP = re.compile(
    r"\bhow (?:do|did) (?:i|we) (?:know|meet|get to know)\b|\bhow (?:am|are) (?:i|we)\b.*\b(?:connected|linked|related)"
    r"|\b(?:connection|connections|path|link) (?:to|with|between|from)\b|\bconnected (?:to|with)\b"
    r"|\bhow (?:is|are|was|were) .+ (?:connected|linked|related)\b|\bwho introduced\b|\bhow .+ know each other\b"
    r"|\brelationship (?:with|to|between)\b|\bhow well do i know\b|\bwhat (?:links|connects) (?:me|us)\b"
    r"|\b(?:links?|connects?|ties?) (?:me|us) (?:to|with)\b|\bhow (?:do|did) (?:i|we) come to know\b"
)
_AGGREGATE = re.compile(
    r"\bhow much\b|\bspen[dt]\b|\bspending\b|\bexpenses?\b|\bexpenditure\b|\bcost me\b|\bdid i pay\b"
    r"|\bi paid\b|\bpaid (?:for|to)\b|\btotal (?:amount|cost|spend|spending)\b|\bearn(?:ed|ings)?\b|\bincome\b"
    r"|\bsalary\b|\bhow many (?:e-?mails|emails|messages|mails|meetings|events|transactions|notes|chats|payments)\b"
)
_PREDICTION = re.compile(
    r"\bwho will\b|\bwill i\b|\bwho am i (?:meeting|seeing)\b|\bam i (?:meeting|seeing)\b|\bgoing to (?:meet|see)\b"
    r"|\bwhat(?:'s| is) (?:coming up|next|upcoming|planned|scheduled)\b|\bcoming up\b|\bupcoming\b"
    r"|\bwho(?:'s| is) next\b|\bwhat do i have (?:planned|scheduled|on)\b|\bon my (?:calendar|agenda|schedule)\b"
    r"|\bpredict\b|\bforecast\b|\bexpected to\b|\bshould i expect\b|\b(?:i'm|im|i am) (?:seeing|meeting)\b"
)
# With a time range that lies ahead, these make a question about plans (a timeline of the future).
_PLANS = re.compile(
    r"\bmeetings?\b|\bappointments?\b|\bevents?\b|\bplans?\b|\bschedule\b|\bagenda\b|\bwho\b"
    r"|\bwhat(?:'s| is| do i have)\b|\banyone\b|\bsee\b|\bmeet\b|\bcalendar\b|\bbusy\b"
)
# With a time range, these leave nothing to search for: a recap of that time.
_RECAP = frozenset(
    {
        "interesting",
        "notable",
        "noteworthy",
        "important",
        "remind",
        "recap",
        "summary",
        "summarise",
        "summarize",
        "overview",
        "highlights",
        "eventful",
        "anything",
        "else",
        "big",
        "main",
        "went",
        "going",
        "happening",
        "up",
        "news",
    }
)
_TIMELINE = re.compile(
    r"\bwhat happened\b|\bwhat (?:did|was) i (?:do|doing|up to)\b|\btimeline\b|\bwhen did\b|\bwhen was\b"
    r"|\bhistory\b|\bwhat went on\b|\bwhat was going on\b|\bwhat did .+ (?:do|happen)\b|\bevents? (?:in|during|of)\b"
    r"|\bwhat was new\b|\bchronolog"
)
_TOPIC = re.compile(
    r"\b(?:my|main|which|what|top|recurring) (?:topics?|themes?|interests)\b|\btopics?\b.*\b(?:i|me|my)\b"
    r"|\b(?:i|me|my)\b.*\btopics?\b|\bthemes? (?:came|come|in|of|did|do)\b|\bwhat (?:do|did|am|have) i (?:been )?"
    r"(?:talk|write|talking|writing|discuss|discussing|working|work) (?:about|on)\b|\bcommunities\b"
    r"|\b(?:my|which|what) (?:communit(?:y|ies)|social circles?|circles?|clusters?|cliques?)\b"
    r"|\bgroups? of (?:people|friends|contacts)\b|\btrending\b|\bwhat(?:'s| is) rising\b"
    r"|\bwhat (?:was|were) (?:i|we) (?:talking|writing|chatting|emailing) about\b|\bwhat came up\b"
    r"|^\s*(?:themes?|topics?)\b"
)
_COMMUNITY = re.compile(r"\bcommunit(?:y|ies)\b|\bcircles?\b|\bclusters?\b|\bgroups?\b|\bcliques?\b")
_PROFILE = re.compile(
    r"^\s*(?:who(?:'s| is| was)|tell me (?:about|more about)|what do i know about|what do you know about|"
    r"profile (?:of|for)|info (?:on|about)|show me|about|describe)\b"
)
_AMOUNT = re.compile(
    r"(?P<op>over|more than|above|greater than|at least|exceeding|under|less than|below|at most|up to|>=?|<=?)?\s*"
    r"(?:(?:€|\$|£|eur|usd|gbp)\s?(?P<a>\d[\d.,]*)|(?P<b>\d[\d.,]*)\s?(?:€|\$|£|eur\b|euros?\b|usd\b|dollars?\b|"
    r"gbp\b|pounds?\b))"
)


@dataclass
class TimeRange:
    since: datetime | None
    until: datetime | None
    label: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "label": self.label,
        }


@dataclass
class Intent:
    name: str
    question: str
    entities: list[Entity] = field(default_factory=list)
    time: TimeRange | None = None
    amounts: list[float] = field(default_factory=list)
    amount_op: str | None = None  # ">" or "<"
    category: str | None = None
    measure: str | None = None  # aggregate: spend, income, count
    count_kind: str | None = None  # aggregate count: message, event, transaction, note, chat_message
    subject: str | None = None  # topic: topics or communities
    keywords: list[str] = field(default_factory=list)
    text: str = ""  # the question without its time phrase, for search
    now: datetime | None = None

    def slots(self) -> dict[str, Any]:
        return {
            "entities": [{"id": e.id, "kind": e.kind, "name": e.name} for e in self.entities],
            "time": self.time.as_dict() if self.time else None,
            "amounts": self.amounts,
            "amount_op": self.amount_op,
            "category": self.category,
            "measure": self.measure,
            "keywords": self.keywords,
        }


# ---- time ---------------------------------------------------------------------------------------
def _dt(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return _dt(start), _dt(end)


def _year_range(year: int) -> tuple[datetime, datetime]:
    return _dt(date(year, 1, 1)), _dt(date(year + 1, 1, 1))


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    y = d.year + m // 12
    m = m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _date_phrase(s: str) -> tuple[datetime, datetime] | None:
    """An absolute date phrase: '2023-03-15', '15 march 2023', 'march 15, 2023', 'march 2023', '2023-03', '2023'."""
    s = s.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s):
            d = date(int(m[1]), int(m[2]), int(m[3]))
            return _dt(d), _dt(d + timedelta(days=1))
        if m := re.fullmatch(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\.?,?\s+({_YEAR_RE})", s):
            d = date(int(m[3]), MONTHS[m[2]], int(m[1]))
            return _dt(d), _dt(d + timedelta(days=1))
        if m := re.fullmatch(rf"({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+({_YEAR_RE})", s):
            d = date(int(m[3]), MONTHS[m[1]], int(m[2]))
            return _dt(d), _dt(d + timedelta(days=1))
        if m := re.fullmatch(rf"({_MONTH_RE})\.?,?\s+(?:of\s+)?({_YEAR_RE})", s):
            return _month_range(int(m[2]), MONTHS[m[1]])
        if (m := re.fullmatch(r"(\d{4})-(\d{2})", s)) and 1 <= int(m[2]) <= 12:
            return _month_range(int(m[1]), int(m[2]))
        if re.fullmatch(_YEAR_RE, s):
            return _year_range(int(s))
    except ValueError:  # 31 February and friends
        return None
    return None


def span_label(since: datetime, until: datetime) -> str:
    """'on 2024-03-15', 'in March 2024', 'in 2024', or 'from 2024-03-01 to 2024-05-31'."""
    if until - since == timedelta(days=1):
        return f"on {since.date().isoformat()}"
    if since.day == 1 and until == _dt(_add_months(since.date(), 1)):
        return f"in {calendar.month_name[since.month]} {since.year}"
    if since.month == 1 and since.day == 1 and until == _dt(date(since.year + 1, 1, 1)):
        return f"in {since.year}"
    return f"from {since.date().isoformat()} to {(until - timedelta(days=1)).date().isoformat()}"


_ABS = (
    rf"\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH_RE})\.?,?\s+{_YEAR_RE}"
    rf"|(?:{_MONTH_RE})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{_YEAR_RE}|(?:{_MONTH_RE})\.?,?\s+(?:of\s+)?{_YEAR_RE}"
    rf"|\d{{4}}-\d{{2}}|{_YEAR_RE}"
)


def parse_time(q: str, now: datetime, future: bool = False) -> tuple[TimeRange | None, tuple[int, int] | None]:
    """The first time expression in ``q`` (lower case) and its span."""
    today = now.astimezone(UTC).date()
    # Ranges between two absolute phrases.
    m = re.search(rf"\b(?:between|from)\s+({_ABS})\s+(?:and|to|until|till|-)\s+({_ABS})\b", q)
    if m and (a := _date_phrase(m[1])) and (b := _date_phrase(m[2])):
        return TimeRange(a[0], b[1], span_label(a[0], b[1])), m.span()
    m = re.search(rf"\b(since|after|from|before|until|till|by)\s+({_ABS})\b", q)
    if m and (r := _date_phrase(m[2])):
        what = span_label(r[0], r[1]).split(" ", 1)[1]
        if m[1] in ("since", "from"):
            return TimeRange(r[0], None, f"since {what}"), m.span()
        if m[1] == "after":
            return TimeRange(r[1], None, f"after {what}"), m.span()
        return TimeRange(None, r[0], f"before {what}"), m.span()
    m = re.search(
        r"\b(last|past|previous|next|coming|upcoming)\s+(\d+|a|one|two|three|four|five|six|seven|eight"
        r"|nine|ten|twelve|few|couple(?: of)?)\s+(days?|weeks?|months?|years?)\b",
        q,
    )
    if m:
        n = int(m[2]) if m[2].isdigit() else _NUMBERS.get(m[2].split()[0], 1)
        n = max(1, min(n, 100))
        if m[3].startswith("month"):
            delta_start = _add_months(today, -n) if m[1] in ("last", "past", "previous") else None
        else:
            delta_start = None
        days = _UNITS[m[3]] * n
        if m[1] in ("last", "past", "previous"):
            since = _dt(delta_start) if delta_start else now - timedelta(days=days)
            return TimeRange(since, now, m[0]), m.span()
        until = _dt(_add_months(today, n)) if m[3].startswith("month") else now + timedelta(days=days)
        return TimeRange(now, until, m[0]), m.span()
    m = re.search(r"\b(last|this|next|previous|coming|current)\s+(year|month|week|weekend)\b", q)
    if m:
        which = {"previous": "last", "coming": "next", "current": "this"}.get(m[1], m[1])
        step = {"last": -1, "this": 0, "next": 1}[which]
        if m[2] == "year":
            since, until = _year_range(today.year + step)
        elif m[2] == "month":
            first = _add_months(today.replace(day=1), step)
            since, until = _month_range(first.year, first.month)
        elif m[2] == "week":
            start = _week_start(today) + timedelta(days=7 * step)
            since, until = _dt(start), _dt(start + timedelta(days=7))
        else:  # weekend
            sat = _week_start(today) + timedelta(days=5 + 7 * step)
            since, until = _dt(sat), _dt(sat + timedelta(days=2))
        return TimeRange(since, until, m[0]), m.span()
    m = re.search(r"\b(yesterday|today|tonight|tomorrow)\b", q)
    if m:
        d = today + timedelta(days={"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[m[1]])
        return TimeRange(_dt(d), _dt(d + timedelta(days=1)), m[1]), m.span()
    m = re.search(
        r"\b(\d+|a|one|two|three|four|five|six|ten|twelve|few|couple of)\s+(days?|weeks?|months?|years?)"
        r"\s+ago\b",
        q,
    )
    if m:
        n = int(m[1]) if m[1].isdigit() else _NUMBERS.get(m[1].split()[0], 1)
        centre = now - timedelta(days=_UNITS[m[2]] * n)
        half = timedelta(days=max(1, _UNITS[m[2]] // 2))
        return TimeRange(centre - half, centre + half, m[0]), m.span()
    m = re.search(r"\b(recently|lately|these days|of late)\b", q)
    if m:
        return TimeRange(now - timedelta(days=90), now, m[1]), m.span()
    m = re.search(r"\b(upcoming|coming up|soon|in the coming days)\b", q)
    if m:
        return TimeRange(now, now + timedelta(days=14), m[1]), m.span()
    m = re.search(rf"\b({_ABS})\b", q)
    if m and (r := _date_phrase(m[1])):
        return TimeRange(r[0], r[1], span_label(r[0], r[1])), m.span()
    # A month without a year: the latest one in the past (the next one for future questions).
    m = re.search(rf"\b(?:in|during|since|of|for|last|this|next)\s+({_MONTH_RE})\b", q)
    if m and (m[1] in _FULL_MONTHS or len(m[1]) >= 3):
        month = MONTHS[m[1]]
        year = today.year
        if future and month < today.month:
            year += 1
        elif not future and month > today.month:
            year -= 1
        since, until = _month_range(year, month)
        return TimeRange(since, until, span_label(since, until)), m.span()
    return None, None


# ---- amounts ---------------------------------------------------------------------------------------
def _number(text: str) -> float | None:
    t = text.strip(".,")
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", t):  # 1.234,56
        t = t.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", t):  # 1,234.56
        t = t.replace(",", "")
    else:
        t = t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


def parse_amounts(q: str) -> tuple[list[float], str | None, list[tuple[int, int]]]:
    amounts: list[float] = []
    op: str | None = None
    spans: list[tuple[int, int]] = []
    for m in _AMOUNT.finditer(q):
        value = _number(m["a"] or m["b"] or "")
        if value is None:
            continue
        amounts.append(value)
        spans.append(m.span())
        if m["op"]:
            op = "<" if m["op"] in ("under", "less than", "below", "at most", "up to", "<", "<=") else ">"
    return amounts, op, spans


# ---- entities --------------------------------------------------------------------------------------
@dataclass
class _Word:
    text: str  # folded
    raw: str
    pos: int  # index of the raw token
    used: bool = False


def _words(q: str) -> list[_Word]:
    words: list[_Word] = []
    for i, m in enumerate(re.finditer(r"[\w@.+\-’']+", q)):
        raw = re.sub(r"['’]s$", "", m[0]).strip(".-'’")
        for w in fold(raw).split():
            words.append(_Word(w, raw, i))
    return words


def match_entities(question: str, vd: Any, blank: list[tuple[int, int]]) -> tuple[list[Entity], set[int], str]:
    """Entities named in the question, longest match first.

    Returns them, the positions of the raw tokens they used, and the text those positions refer to
    (the question with ``blank`` spans and matched e-mail addresses blanked out).
    """
    chars = list(question)
    for a, b in blank:
        chars[a:b] = " " * (b - a)
    text = "".join(chars)
    if vd is None:
        return [], set(), text
    found: list[Entity] = []
    used: set[int] = set()
    for m in re.finditer(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", text):
        ids = vd.alias_index.get(m[0].lower().rstrip("."))
        if ids:
            found.append(vd.entities[max(ids, key=lambda i: (vd.weight(i), i))])
            text = text[: m.start()] + " " * len(m[0]) + text[m.end() :]
    words = _words(text)
    first_raw = words[0].pos if words else -1
    for n in (5, 4, 3, 2, 1):
        for i in range(len(words) - n + 1):
            span = words[i : i + n]
            if any(w.used for w in span):
                continue
            key = " ".join(w.text for w in span)
            ids = set(vd.alias_index.get(key, ()))
            if n == 1:
                w = span[0]
                capitalised = w.raw[:1].isupper() and w.pos != first_raw
                if len(key) < 3 or key.isdigit() or (key in STOPWORDS and not capitalised) or key in _SELF:
                    continue
                if key in MONTHS and not capitalised:
                    continue
                if not ids:
                    ids = set(vd.first_names.get(key, ()))
            if not ids:
                continue
            eid = max(ids, key=lambda i: (vd.weight(i), i))
            if all(e.id != eid for e in found):
                found.append(vd.entities[eid])
            for w in span:
                w.used = True
                used.add(w.pos)
    return found, used, text


# ---- intent ----------------------------------------------------------------------------------------
def _count_kind(q: str) -> str | None:
    m = re.search(r"\bhow many (\w+(?:-\w+)?)", q)
    if not m:
        return None
    word = m[1].replace("-", "")
    return {
        "emails": "message",
        "mails": "message",
        "messages": "message",
        "meetings": "event",
        "events": "event",
        "transactions": "transaction",
        "payments": "transaction",
        "notes": "note",
        "chats": "chat_message",
    }.get(word)


def _category(q: str) -> str | None:
    for phrase, cat in sorted(CATEGORY_WORDS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{re.escape(phrase)}\b", q):
            return cat
    return None


def classify(
    q: str, entities: list[Entity], time: TimeRange | None, now: datetime, rest: list[str] | None = None
) -> str:
    """The intent, by rules in priority order; ``rest`` is what is left once names and times are taken out."""
    if _RELATIONSHIP.search(q) and entities:
        return "relationship"
    if _AGGREGATE.search(q):
        return "aggregate"
    future = time is not None and time.since is not None and time.since >= now - timedelta(minutes=1)
    if _PREDICTION.search(q) or (future and (re.search(r"\bwill\b|\bgoing to\b|\bplanned\b", q) or _PLANS.search(q))):
        return "prediction"
    if _TOPIC.search(q):
        return "topic"
    if _TIMELINE.search(q):
        return "timeline"
    if entities and _PROFILE.search(q):
        return "person_profile"
    if _RELATIONSHIP.search(q):
        return "relationship"
    rest = [w.text for w in _words(q) if w.text not in STOPWORDS] if rest is None else rest
    if entities and not rest:
        return "person_profile" if time is None else "timeline"
    if time is not None and all(w in _RECAP for w in rest):
        return "timeline"
    return "search"


def parse(question: str, vd: Any = None, now: datetime | None = None) -> Intent:
    """Intent and slots for ``question``; ``vd`` is the caller's :class:`twin_query.views.ViewData`."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    q = " ".join(question.split())
    # Lower case char by char, so spans found in ``lower`` line up with ``q``.
    lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in q)
    future_cue = bool(re.search(r"\bwill\b|\bgoing to\b|\bnext\b|\bupcoming\b|\bcoming\b|\bplanned\b", lower))
    time, tspan = parse_time(lower, now, future=future_cue)
    amounts, op, aspans = parse_amounts(lower)
    blank = [s for s in [tspan, *aspans] if s]
    entities, used, blanked = match_entities(q, vd, blank)
    keywords = [
        w.text
        for w in _words(blanked)
        if w.pos not in used and w.text not in STOPWORDS and len(w.text) > 1 and w.text not in _SELF
    ]
    text = " ".join(blanked.split())
    name = classify(lower, entities, time, now, keywords)
    intent = Intent(
        name=name, question=q, entities=entities, time=time, amounts=amounts, amount_op=op, text=text or q, now=now
    )
    if name == "aggregate":
        intent.category = _category(lower)
        intent.count_kind = _count_kind(lower)
        if intent.count_kind:
            intent.measure = "count"
        elif re.search(r"\bearn(?:ed|ings)?\b|\bincome\b|\bsalary\b|\breceived?\b|\bgot paid\b", lower):
            intent.measure = "income"
        else:
            intent.measure = "spend"
        cat_words = {w for phrase, cat in CATEGORY_WORDS.items() if cat == intent.category for w in phrase.split()}
        keywords = [k for k in keywords if k not in cat_words and k not in _MEASURE_WORDS]
    if name == "topic":
        intent.subject = "communities" if _COMMUNITY.search(lower) else "topics"
    intent.keywords = keywords
    return intent
