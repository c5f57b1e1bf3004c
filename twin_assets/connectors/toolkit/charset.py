"""Bytes to text, for every connector: one policy for BOMs, declared charsets and guessing.

Exports lie about their encoding in both directions (UTF-8 under ``CHARSET:1252``, cp1252 under
``charset=utf-8``), so the order of what is believed is the connector's choice, made with the knobs
of :func:`decode`; the steps themselves live here once.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

# BOM-consuming codecs, longest BOM first: the UTF-32-LE BOM begins with the UTF-16-LE one.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# charset-normalizer reads at most this much; enough for any file's character, bounded for a huge one.
GUESS_BYTES = 256 * 1024
# Short Western text often scores the same in cp1250 and cp1252; the latter is what a mislabelled
# Western text almost always is.
TIE_BREAK = ("utf_8", "cp1252", "latin_1", "iso8859_15")
# Single-byte Latin codecs a detector confuses with each other on short text.
LATIN_FAMILY = re.compile(r"^(cp125[0278]|cp775|cp85\d|cp437|latin_1|iso8859_(1|2|3|4|9|10|13|14|15|16)|mac_.*)$")


class Decoded(NamedTuple):
    text: str
    encoding: str  # the codec that produced ``text`` (Python's name for it)


def bom_encoding(data: bytes) -> str | None:
    """The codec a byte-order mark announces, or None."""
    return next((codec for bom, codec in BOMS if data.startswith(bom)), None)


def wide_encoding(head: bytes) -> str | None:
    """The codec of UTF-16/32 text, by BOM or by where the NUL bytes fall; None for byte-oriented text."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:1024]
    half = len(sample) // 2
    if half >= 8:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        if odd_nuls > half * 0.4 and even_nuls < half * 0.05:
            return "utf-16-le"
        if even_nuls > half * 0.4 and odd_nuls < half * 0.05:
            return "utf-16-be"
    return None


def is_utf8(data: bytes, *, truncated: bool = False) -> bool:
    """Whether ``data`` is UTF-8; with ``truncated``, a sample cut inside its last character still is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return truncated and exc.start >= len(data) - 3 and "unexpected end" in exc.reason
    return True


def head_text(head: bytes) -> str:
    """The first bytes of a file as text for detection: BOM and UTF-16/32 aware, never failing."""
    encoding = wide_encoding(head) or "utf-8"
    return head.decode(encoding, errors="ignore").lstrip("\ufeff")


def normalise_charset(name: str | None) -> str | None:
    """Python's name for a declared charset (``"Windows-1252"`` → ``cp1252``), None if it is no text codec."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # bytes-to-bytes codecs (base64, zlib, ...) are not text encodings.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def guess_encoding(data: bytes) -> str | None:
    """charset-normalizer's best guess (ties broken toward Western codecs), None if it has none."""
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(data[:GUESS_BYTES]))
    except Exception:  # detection is best-effort; a failure only means "no guess"
        return None
    if not matches:
        return None
    best = matches[0]
    tied = {m.encoding for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)}
    return next((e for e in TIE_BREAK if e in tied), best.encoding)


def _strict(data: bytes, encoding: str | None) -> Decoded | None:
    if not encoding:
        return None
    try:
        return Decoded(data.decode(encoding), encoding)
    except (UnicodeError, LookupError):
        return None


def decode(
    data: bytes,
    declared: str | Iterable[str] | None = None,
    *,
    trust_declared: bool = False,
    fallback: str | None = None,
    western: bool = False,
    guess: Callable[[bytes], str | None] = guess_encoding,
) -> Decoded:
    """Text from bytes, trying in order until a codec decodes them without error:

    1. a byte-order mark (lossy from there: the BOM settles it);
    2. UTF-8, then the declared charset(s); the declaration first with ``trust_declared`` (MIME, vCard
       parameters), else second, since valid UTF-8 is almost never another charset by accident;
    3. ``fallback``, an encoding the caller already settled on for the whole file;
    4. ``guess(data)`` (charset-normalizer by default); with ``western``, cp1252 is tried before a
       guess in the Latin family, which detectors confuse on short text (bank exports, chats);
    5. the guess, or UTF-8, replacing what does not decode.
    """
    if data.isascii():
        return Decoded(data.decode("ascii"), "utf-8")  # named utf-8: a stream opened with it reads on
    bom = bom_encoding(data)
    if bom:
        return Decoded(data.decode(bom, errors="replace"), bom)
    names = [declared] if isinstance(declared, str) or declared is None else list(declared)
    charsets = [c for c in (normalise_charset(n) for n in names) if c]
    for encoding in (*charsets, "utf-8") if trust_declared else ("utf-8", *charsets):
        if done := _strict(data, encoding):
            return done
    if done := _strict(data, fallback):
        return done
    guessed = guess(data)
    order = [guessed]
    if western:
        order = [None if guessed and LATIN_FAMILY.match(guessed) else guessed, "cp1252", guessed]
    for candidate in order:
        if done := _strict(data, candidate):
            return done
    encoding = guessed or "utf-8"
    try:
        return Decoded(data.decode(encoding, errors="replace"), encoding)
    except LookupError:
        return Decoded(data.decode("utf-8", errors="replace"), "utf-8")
