"""Low-level formatting shared by the demo writers.

The writers build export text by hand rather than through ``email.message`` or ``icalendar``
objects: it is several times faster, which matters at a million records, and it keeps every byte
under our control so the same seed always produces the same file.
"""

from __future__ import annotations

import math
import random
import textwrap
import unicodedata
from datetime import date, datetime
from email.header import Header
from email.utils import formataddr

_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
_FOLD_MAP = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "ß": "ss",
        "æ": "ae",
        "Æ": "Ae",
        "þ": "th",
        "Þ": "Th",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "'": "",
        " ": "",
    }
)


def ascii_fold(text: str) -> str:
    """Strip diacritics the way mail providers and Slack build handles ("Łukasz" -> "Lukasz")."""
    text = text.translate(_FOLD_MAP)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ord(ch) < 128)


def latin1_safe(text: str) -> str:
    """What a German bank export would print for a name outside latin-1 (it transliterates)."""
    out = []
    for ch in text:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            out.append(ascii_fold(ch) or "?")
    return "".join(out)


def token(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def canary(rng: random.Random) -> str:
    """A token no text generator could produce by accident, so a leak check can grep for it."""
    return f"{token(rng, 6)}canary{token(rng, 4)}"


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 0.05:
        return 1 if rng.random() < lam else 0
    limit = math.exp(-lam)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Published card-network test numbers: Luhn-valid and never issued to a real card holder.
TEST_CARDS = (
    "4242424242424242",
    "4000056655665556",
    "5555555555554444",
    "2223003122003222",
    "5200828282828210",
    "378282246310005",
    "6011111111111117",
)


def iban_check_ok(iban: str) -> bool:
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def make_iban(rng: random.Random, country: str = "DE") -> str:
    """A German-format IBAN (8-digit bank code, 10-digit account) with a valid mod-97 checksum."""
    bban = "".join(str(rng.randrange(10)) for _ in range(18))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    compact = f"{country}{check:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def wrap(text: str, width: int = 72) -> str:
    """Wrap paragraphs without breaking words, so tokens (canaries, URLs) stay intact."""
    out = []
    for para in text.split("\n"):
        if len(para) <= width:
            out.append(para)
        else:
            out.append(textwrap.fill(para, width, break_long_words=False, break_on_hyphens=False))
    return "\n".join(out)


def mbox_escape(body: str) -> str:
    """mboxrd quoting: a body line starting with "From " would otherwise split the message."""
    if "From " not in body:
        return body
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip(">").startswith("From "):
            lines[i] = ">" + line
    return "\n".join(lines)


def address(name: str | None, addr: str) -> str:
    if not name:
        return addr
    return formataddr((name, addr), charset="utf-8")


def header_text(text: str) -> str:
    if text.isascii():
        return text
    return Header(text, "utf-8").encode()


def rfc2822_date(dt: datetime) -> str:
    sign = "+" if dt.utcoffset().total_seconds() >= 0 else "-"  # type: ignore[union-attr]
    offset = abs(int(dt.utcoffset().total_seconds())) // 60  # type: ignore[union-attr]
    return f"{dt:%a, %d %b %Y %H:%M:%S} {sign}{offset // 60:02d}{offset % 60:02d}"


# --- iCalendar / vCard ---------------------------------------------------------------------------


def ics_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def ics_param(value: str) -> str:
    """Parameter values with ':' ';' ',' must be quoted (and may not contain a double quote)."""
    value = value.replace('"', "'")
    return f'"{value}"' if any(c in value for c in ":;,") else value


def fold(line: str) -> str:
    """RFC 5545/6350 folding at 75 octets, breaking before a space where one is near.

    Breaking at word boundaries is legal (the fold's CRLF+space is removed on unfolding) and keeps
    tokens such as canaries byte-contiguous in the file.
    """
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts: list[bytes] = []
    limit = 75
    while len(raw) > limit:
        cut = limit
        while cut > 0 and (raw[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            cut -= 1
        space = raw.rfind(b" ", max(1, cut - 40), cut + 1)
        if space > 0:
            cut = space
        parts.append(raw[:cut])
        raw = raw[cut:]
        limit = 74  # continuation lines start with the folding space
    parts.append(raw)
    return "\r\n ".join(p.decode("utf-8") for p in parts)


def ics_dt(dt: datetime) -> str:
    return f"{dt:%Y%m%dT%H%M%S}"


def ics_date(d: date) -> str:
    return f"{d:%Y%m%d}"


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)
