"""Recognizers behind :mod:`twin_assets.classify`: plain functions from text to findings.

Each recognizer returns :class:`Finding` objects — a detector name, character
offsets into :func:`scan_text` of the record, and the tier the finding implies.
Findings never carry the matched text: the classifier turns them into reasons
that are stored in the clear.

- :mod:`.pii` — Presidio's pattern recognizers (cards, IBAN, US SSN, crypto
  wallets, e-mail addresses, phone numbers, IP addresses), offline.
- :mod:`.secrets` — passwords, API keys and tokens, private keys (Presidio has none).
- :mod:`.topics` — medical and salary content.
- :mod:`.user_rules` — the user's ``classification.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twin_assets.records import Record

# A record longer than this is scanned only up to here; the classifier treats the
# unscanned rest as unknown, which for a privacy-first store means HIGH.
MAX_SCAN_CHARS = 1_000_000
# Attribute text appended to the scan, capped: free-text fields (a note's front
# matter, an event's location) can hold a password as easily as the body can.
MAX_ATTRIBUTE_CHARS = 16_384

# Attributes that are identifiers, routing or bookkeeping rather than something a
# person wrote: scanning them only produces false positives (Message-IDs look like tokens).
_SKIP_ATTRIBUTES = frozenset(
    """
    message_id in_reply_to references list_id list_unsubscribe precedence auto_submitted folder path position
    series_uid uid rrule tzid status channel_id ts thread_ts account fitid checknum vcard_version raw_columns
    attachments files reactions emails phones urls amount amount_str balance currency original_currency date
    date_user birthday all_day is_recurring is_exception tz_assumed_utc is_dm is_bot system subtype media deleted
    published trntype
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Finding:
    """Something a recognizer found: where, what kind, and the tier it implies.

    ``tier`` None means informational (the span is reported, the tier is not
    touched). ``soft`` findings are topical evidence that a forced verdict (a
    published item, a user ``set`` rule) overrides; hard findings always raise.
    """

    name: str
    start: int
    end: int
    tier: str | None
    soft: bool = False


def terms(text: str) -> list[str]:
    """Comma- or newline-separated phrases: word lists stay readable as text."""
    return [t.strip() for t in re.split(r"[,\n]", text) if t.strip()]


def _flatten(value: Any, key: str, out: list[str], budget: list[int], depth: int = 0) -> None:
    if budget[0] <= 0 or depth > 6:
        return
    if isinstance(value, str):
        if len(value) >= 4:
            line = f"{key}: {value}" if key else value
            out.append(line[: budget[0]])
            budget[0] -= len(line) + 1
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if str(k) not in _SKIP_ATTRIBUTES:
                _flatten(v, str(k), out, budget, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _flatten(v, key, out, budget, depth + 1)


def attribute_text(record: Record) -> str:
    """Free-text attribute values as ``key: value`` lines (so "password: x" in front matter reads as it was)."""
    lines: list[str] = []
    budget = [MAX_ATTRIBUTE_CHARS]
    for key, value in record.attributes.items():
        if key not in _SKIP_ATTRIBUTES:
            _flatten(value, key, lines, budget)
    return "\n".join(lines)


def scan_text(record: Record) -> str:
    """The text every recognizer scans; span offsets index into it.

    It is ``record.text()``, then a blank line and the free-text attributes. Building it is the classifier's
    largest fixed cost, so a classification builds it once per record (``classify.Scan``) and hands it to
    every rule.
    """
    text = record.text()
    extra = attribute_text(record)
    if extra:
        text = f"{text}\n\n{extra}" if text else extra
    return text


# Letter runs of two or more, on lowercased text: the vocabulary gates of the
# keyword recognizers. One pass here replaces a slow case-insensitive regex scan
# per lexicon (a 150-phrase alternation costs ~1 ms on a 3 KB mail in Python's
# regex engine); phrases are then searched only when all their words are present.
_WORD = re.compile(r"[a-z\u00c0-\u024f]{2,}")


class ScanText:
    """A text the recognizers scan, with its lowercase form and word set, each computed once on first use:
    every recognizer of one record shares them (the word set gates every lexicon)."""

    __slots__ = ("_lower", "_words", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lower: str | None = None
        self._words: frozenset[str] | None = None

    @classmethod
    def of(cls, text: str | ScanText) -> ScanText:
        return text if isinstance(text, ScanText) else cls(text)

    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def words(self) -> frozenset[str]:
        """The lowercase words of the text."""
        if self._words is None:
            self._words = frozenset(_WORD.findall(self.lower))
        return self._words


class Lexicon:
    """Literal phrases found fast: a word-set gate, then one literal search per present phrase.

    ``left`` lists the characters (besides letters and digits) that may not precede a
    match; a match may never be followed by a letter, digit, ``_`` or ``-``. Spaces in
    a phrase match any run of whitespace.
    """

    def __init__(self, phrases: list[str], left: str = "_-") -> None:
        self.left = left
        self._by_key: dict[str, list[tuple[frozenset[str], re.Pattern[str], re.Pattern[str]]]] = {}
        for phrase in dict.fromkeys(phrases):
            words = _WORD.findall(phrase.lower())
            if not words:
                raise ValueError("a phrase needs a word of two letters or more")
            body = re.escape(phrase.lower()).replace(r"\ ", r"\s+")
            # Literal-first patterns let the regex engine jump with a substring search.
            lower_pat = re.compile(rf"{body}(?![\w-])")
            icase_pat = re.compile(rf"(?i){body}(?![\w-])")
            key = max(words, key=len)
            self._by_key.setdefault(key, []).append((frozenset(words), lower_pat, icase_pat))
        self._keys = frozenset(self._by_key)

    def present(self, text: str | ScanText) -> bool:
        words = ScanText.of(text).words
        return any(ws <= words for key in self._keys & words for ws, _, _ in self._by_key[key])

    def spans(self, scan: str | ScanText) -> list[tuple[int, int]]:
        """Sorted (start, end) of every phrase occurrence in the text."""
        scan = ScanText.of(scan)
        text, lower, words = scan.text, scan.lower, scan.words
        hits = self._keys & words
        if not hits:
            return []
        # str.lower() can change the length (a dotted capital I); offsets must stay the text's.
        same = len(lower) == len(text)
        out = []
        for key in hits:
            for ws, lower_pat, icase_pat in self._by_key[key]:
                if ws <= words:
                    for m in lower_pat.finditer(lower) if same else icase_pat.finditer(text):
                        start = m.start()
                        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in self.left):
                            out.append(m.span())
        return sorted(set(out))
