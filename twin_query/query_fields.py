"""The fields a search query names besides its words: a sender ("what did Jeff Smith send me", "mail from
jeff@x.com") and a day ("on October 16 2001", "on 9/17/2001", "on 10/10").

Search uses them to put the messages that match every named field first (see :func:`twin_query.search.search`);
the words stay in the query, so a store whose keyword index holds the parties' names still finds them by words
too. Plain functions on plain text: no view, no store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

MONTHS = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+((?:19|20)\d\d))?"
_DATE_PATTERNS = (
    # October 16 2001 / Oct. 16, 2001 / October 17
    (re.compile(rf"\b({_MONTH})\.?\s+{_DAY}\b{_YEAR}", re.I), ("month", "day", "year")),
    # 19 October 2001 / 4th of May
    (re.compile(rf"\b{_DAY}\s+(?:of\s+)?({_MONTH})\b\.?{_YEAR}", re.I), ("day", "month", "year")),
    # 9/17/2001, 10/24/01, 10/10 (month first: the mail this reads is mostly American; a day > 12 flips it)
    (re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?(?![\d/])"), ("month", "day", "year")),
)
_NAME = r"([A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2})"
_VERBS = (
    r"(?:say|said|send|sent|write|wrote|tell|told|ask|asked|mention|mentioned|report|reported|reply|replied"
    r"|forward|forwarded|e-?mail|e-?mailed|mail|mailed)"
)
_SENDER_PATTERNS = (
    re.compile(rf"\b(?:from|by)\s+{_NAME}"),
    re.compile(rf"\b(?:did|does|has|had|do)\s+{_NAME}\s+{_VERBS}\b"),
    re.compile(rf"(?:^|[^\w])(?!(?:What|When|Where|Who|How|Which|Why|Did|Does|I|We|You)\b){_NAME}\s+{_VERBS}\b"),
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Capitalised words that start a question or name no one.
_NOT_NAMES_TEXT = """
i me my we you he she they it what when where who whom how which why did does do has had the a an
this that these those there here please mail email e-mail message
"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
_TOKEN = re.compile(r"[0-9a-z]+")


@dataclass(frozen=True)
class Fields:
    """What a query names: ``sender`` words (lower-case, all must match the sender's name or address) and a
    ``day`` as (year or None, month, day)."""

    sender: tuple[str, ...] = ()
    day: tuple[int | None, int, int] | None = None

    def __bool__(self) -> bool:
        return bool(self.sender or self.day)


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def parse_day(text: str) -> tuple[int | None, int, int] | None:
    """The first explicit calendar day in ``text``: (year or None, month, day)."""
    for pattern, order in _DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        parts = dict(zip(order, m.groups(), strict=True))
        raw_month = parts["month"] or ""
        month = MONTHS.get(raw_month.lower().rstrip(".")) if not raw_month.isdigit() else int(raw_month)
        day_n = _int(parts["day"])
        year = _int(parts["year"])
        if month is None or day_n is None:
            continue
        if raw_month.isdigit() and month > 12 and day_n <= 12:
            month, day_n = day_n, month
        if year is not None and year < 100:
            year += 2000 if year < 70 else 1900
        try:
            date(year or 2000, month, day_n)
        except ValueError:
            continue
        return year, month, day_n
    return None


def parse_sender(text: str) -> tuple[str, ...]:
    """The sender a query names, as lower-case words: an address, or a capitalised name before a verb of
    sending or saying, or after "from"/"by"."""
    address = _EMAIL.search(text)
    if address:
        return (address.group(0).lower(),)
    for pattern in _SENDER_PATTERNS:
        for m in pattern.finditer(text):
            words = [w for w in m.group(1).split() if w.lower().strip(".'") not in _NOT_NAMES]
            words = [re.sub(r"'s$", "", w) for w in words if w[:1].isupper()]
            if words and not any(w.lower().rstrip(".") in MONTHS for w in words):
                return tuple(w.lower().strip(".'") for w in words)
    return ()


def parse_fields(text: str) -> Fields:
    return Fields(sender=parse_sender(text), day=parse_day(text))


def sender_matches(fields: Fields, parties: list[dict[str, Any]]) -> bool:
    """Whether the message's sender (its ``from`` party) has every named word in its name or address."""
    if not fields.sender:
        return False
    for p in parties or []:
        if p.get("role") != "from":
            continue
        name, addr = (p.get("name") or "").lower(), (p.get("email") or "").lower()
        if len(fields.sender) == 1 and "@" in fields.sender[0]:
            if addr == fields.sender[0]:
                return True
            continue
        words = set(_TOKEN.findall(name)) | set(_TOKEN.findall(addr.split("@")[0]))
        if all(w in words for w in fields.sender):
            return True
    return False


def day_matches(fields: Fields, when: datetime | None, slack: timedelta = timedelta(hours=14)) -> bool:
    """Whether ``when`` falls on the named day, give or take ``slack`` (a message's stored time is UTC, the day
    the writer saw was local, and copies of one message can carry times hours apart)."""
    if fields.day is None or when is None:
        return False
    year, month, day_n = fields.day
    years = [year] if year is not None else [when.year - 1, when.year, when.year + 1]
    for y in years:
        try:
            start = datetime(y, month, day_n, tzinfo=when.tzinfo)
        except ValueError:
            continue
        if start - slack <= when < start + timedelta(days=1) + slack:
            return True
    return False


def day_window(fields: Fields) -> tuple[datetime, datetime] | None:
    """The named day (with a year) widened by the slack :func:`day_matches` allows, as a search time filter."""
    if fields.day is None:
        return None
    year, month, day_n = fields.day
    if year is None:
        return None
    start = datetime(year, month, day_n, tzinfo=UTC)
    return start - timedelta(hours=14), start + timedelta(days=1, hours=14)
