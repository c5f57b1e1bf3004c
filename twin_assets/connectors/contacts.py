"""vCard address books (.vcf): vCard 2.1, 3.0 and 4.0, one ``contact`` record per card.

Real exports break strict parsers in predictable ways: vCard 2.1 quoted-printable
values with soft line breaks and per-property ``CHARSET=``, files in Latin-1,
Windows-1252 or UTF-16, bare CRs, unindented base64 photos of several megabytes,
and the odd card with garbage lines. So the file is split into cards here (a bad
card never stops the others), binary blobs are dropped while streaming (never
stored, never held whole in memory), each logical line is tokenised with vobject
where it can be, and a card vobject rejects is retried with a tolerant tokenizer
of our own before it is reported as a ParseIssue.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import quopri
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import ClassVar, TextIO

from dateutil import parser as dateparser
from vobject.base import parseLine as vobject_parse_line

from twin_assets.connectors.base import CONTACTS, Connector, SourceTraits, read_head
from twin_assets.connectors.toolkit import ExportWalk, decode, guess_encoding, is_utf8, wide_encoding
from twin_assets.records import CONTACT, ParseIssue, Party, Record
from twin_assets.tiers import MEDIUM

SOURCE = "contacts"

# A single physical line longer than this is either a blob (skipped anyway) or hostile.
MAX_LINE_CHARS = 1 << 20
# Limits per card once blobs are gone; a real card is a few KiB.
MAX_CARD_CHARS = 4 << 20
MAX_CARD_LINES = 20_000
_CHUNK_CHARS = 1 << 18
# vobject's line regex backtracks exponentially on a malformed line with many
# parameters (12 take seconds); lines beyond this go to our own tokenizer.
_VOBJECT_MAX_PARAMS = 8
_VOBJECT_MAX_HEAD = 512
# Each unquoted "=" or "," in the parameters is a point where vobject's nested parameter-value
# loops can split the text two ways, so a line its regex rejects costs 2**n (20 take a second).
_VOBJECT_MAX_SEPARATORS = 12
_MAX_BODY_CHARS = 64_000

# Binary properties: never stored, and skipped while streaming so a 30 MB photo
# costs no memory. KEY holds certificates / PGP keys: binary too, useless for search.
_BLOB_START = re.compile(r"^(?:[A-Za-z0-9_-]+\.)?(?:PHOTO|LOGO|SOUND|KEY)\s*[;:]", re.IGNORECASE)
# vCard 2.1 nests a whole card as the value of AGENT; it is skipped like a blob.
_AGENT_EMPTY = re.compile(r"^(?:[A-Za-z0-9_-]+\.)?AGENT(?:;[^:]*)?:\s*$", re.IGNORECASE)
_NAME = re.compile(r"^(?:[A-Za-z0-9_-]+\.)?([A-Za-z0-9_-]+)$")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_UTF8_BOM_AS_LATIN1 = codecs.BOM_UTF8.decode("latin-1")
_QP_ENCODINGS = {"QUOTED-PRINTABLE", "Q", "QP"}
_B64_ENCODINGS = {"B", "BASE64"}
_SINGLETON_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}
# Excluded from the content hash used as id when a card has no UID: they change on
# every export (REV, PRODID) or are binary (dropped before we ever see them).
_HASH_EXCLUDED = {"PHOTO", "LOGO", "SOUND", "KEY", "REV", "PRODID"}
_HASH_PARAMS_EXCLUDED = {"ENCODING", "CHARSET"}
_BDAY = re.compile(r"^(?:(\d{4})|--)-?(\d{2})-?(\d{2})(?:T.*)?$")
# Apple and Thunderbird CardBook store a birthday without year as year 1604.
_NO_YEAR = 1604
# Where a phone number's extension starts; searched once, so a long run of spaces costs linear time.
_PHONE_EXTENSION = re.compile(r"(?i);|ext\.?|extension|x(?=\s*+\d)|#")


@dataclass
class _Prop:
    """One content line, still in the card's proxy text (see :class:`_Card`)."""

    name: str
    params: dict[str, list[str]]
    value: str


@dataclass
class _Card:
    """Physical lines of one card, blobs removed.

    For byte-oriented files the lines are a Latin-1 *proxy* of the raw bytes (a
    lossless 1:1 mapping), so each value can later be decoded with its own
    ``CHARSET=``; for UTF-16/32 files they are already real text.
    """

    number: int
    lines: list[str] = field(default_factory=list)
    chars: int = 0
    problems: list[str] = field(default_factory=list)
    oversized: bool = False


@dataclass
class _FileIssue:
    """A problem found while splitting, reported in file order."""

    card: int
    reason: str


#: How many of a folder's .vcf files are opened to decide that it is an address book.
FOLDER_SNIFF_FILES = 20


class ContactsConnector(Connector):
    """vCard 2.1 / 3.0 / 4.0 address books."""

    kind: ClassVar[str] = "contacts"
    description: ClassVar[str] = "vCard address books (.vcf, vCard 2.1/3.0/4.0): one record per contact"
    record_kinds: ClassVar[tuple[str, ...]] = (CONTACT,)
    traits: ClassVar[SourceTraits] = SourceTraits(default_tier=MEDIUM, medium=CONTACTS)

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            if path.is_dir():
                return self._is_vcard_folder(path)
            if not head:
                return False
            encoding = wide_encoding(head)
            text = head.decode(encoding or "latin-1", errors="ignore")
            for line in _NEWLINE.split(text[:4096]):
                stripped = line.strip().lstrip("\ufeff").removeprefix(_UTF8_BOM_AS_LATIN1).strip()
                if stripped:
                    return stripped.upper() == "BEGIN:VCARD"
            return False
        except Exception:  # detection must never raise
            return False

    def _is_vcard_folder(self, path: Path) -> bool:
        """A folder of nothing but ``.vcf`` files (a phone's one-file-per-contact export, a Radicale collection)
        whose first few are vCards: one input, claimed whole. Anything else in it (another file, a sub-folder, a
        link) leaves the folder to be walked and each entry detected on its own, so nothing in it goes unread."""
        files: list[Path] = []
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue  # hidden: skipped by the folder parser and by the walk alike
                if not entry.is_file(follow_symlinks=False) or not entry.name.lower().endswith(".vcf"):
                    return False
                files.append(Path(entry.path))
        return bool(files) and all(self.recognizes(f, read_head(f)) for f in sorted(files)[:FOLDER_SNIFF_FILES])

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        if path.is_dir():
            yield from self._parse_folder(path)
            return
        yield from _parse_file(path, prefix="", seen_uids=set())

    def _parse_folder(self, root: Path) -> Iterator[Record | ParseIssue]:
        """A folder of .vcf files (Radicale collections, one-file-per-contact phone exports)."""
        walk = ExportWalk(root)
        files = sorted(_vcf_files(root, walk))
        if not files:
            yield ParseIssue(where="file", reason="folder holds no .vcf file")
            return
        seen_uids: set[str] = set()
        for number, file in enumerate(files, start=1):
            yield from _parse_file(file, prefix=f"file {number} ", seen_uids=seen_uids)
        yield from walk.issues()


def _vcf_files(root: Path, walk: ExportWalk) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = walk.subfolders(Path(dirpath), [d for d in dirnames if not d.startswith(".")])
        for name in filenames:
            full = Path(dirpath) / name
            if not name.startswith(".") and name.lower().endswith(".vcf") and walk.allows(full):
                yield full


def _parse_file(path: Path, prefix: str, seen_uids: set[str]) -> Iterator[Record | ParseIssue]:
    file_where = prefix.strip() or "file"
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield ParseIssue(where=file_where, reason=f"unreadable: {type(exc).__name__}")
        return
    with fh:
        try:
            head = fh.read(64 * 1024)
            fh.seek(0)
        except OSError as exc:
            yield ParseIssue(where=file_where, reason=f"unreadable: {type(exc).__name__}")
            return
        wide = wide_encoding(head)
        if wide:
            stream: TextIO = io.TextIOWrapper(fh, encoding=wide, errors="replace", newline="")
            proxy = "utf-8"
            fallback = None
        else:
            stream = io.TextIOWrapper(fh, encoding="latin-1", newline="")
            proxy = "latin-1"
            fallback = _legacy_encoding(head)
        yield from _parse_stream(stream, proxy, fallback, prefix, file_where, seen_uids)


def _parse_stream(
    stream: TextIO, proxy: str, fallback: str | None, prefix: str, file_where: str, seen_uids: set[str]
) -> Iterator[Record | ParseIssue]:
    with stream:
        cards = 0
        stray_lines = 0
        first_stray: int | None = None
        try:
            for item in _split_cards(stream):
                if isinstance(item, tuple):
                    stray_lines += 1
                    first_stray = first_stray or item[0]
                    continue
                if isinstance(item, _FileIssue):
                    yield ParseIssue(where=f"{prefix}card {item.card}", reason=item.reason)
                    continue
                cards += 1
                yield from _card_to_results(item, proxy, fallback, prefix, seen_uids)
        except (OSError, UnicodeError) as exc:
            yield ParseIssue(where=file_where, reason=f"read failed: {type(exc).__name__}")
            return
        if stray_lines:
            yield ParseIssue(
                where=f"{prefix}line {first_stray}",
                reason=f"{stray_lines} line(s) outside BEGIN:VCARD/END:VCARD ignored",
            )
        if not cards:
            yield ParseIssue(where=file_where, reason="no complete vCard found")


# --- reading and splitting -------------------------------------------------------------


def _legacy_encoding(data: bytes) -> str | None:
    """charset-normalizer's guess for bytes that are not UTF-8, else None."""
    if not data or is_utf8(data, truncated=True):
        return None
    encoding = guess_encoding(data)
    if encoding and encoding.startswith(("utf_16", "utf_32")) and b"\x00" not in data:
        return None
    return encoding


def _physical_lines(stream: TextIO) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, over-long) for CRLF, LF or bare-CR files, in bounded memory.

    An over-long line yields its first :data:`MAX_LINE_CHARS` characters once and
    the rest is discarded unread into memory.
    """
    number = 0
    pending = ""
    discarding = False
    while True:
        chunk = stream.read(_CHUNK_CHARS)
        if not chunk:
            break
        if chunk.endswith("\r"):
            # Keep a CRLF split across chunks one line break.
            chunk += stream.read(1)
        data = pending + chunk
        start = 0
        for match in _NEWLINE.finditer(data):
            piece = data[start : match.start()]
            start = match.end()
            if discarding:
                discarding = False
                continue
            number += 1
            yield number, piece[:MAX_LINE_CHARS], len(piece) > MAX_LINE_CHARS
        pending = data[start:]
        if len(pending) > MAX_LINE_CHARS:
            if not discarding:
                number += 1
                yield number, pending[:MAX_LINE_CHARS], True
                discarding = True
            pending = ""
    if pending and not discarding:
        number += 1
        yield number, pending, False


def _split_cards(stream: TextIO) -> Iterator[_Card | _FileIssue | tuple[int]]:
    """Cards in file order; ``(line,)`` for each non-blank line outside any card."""
    card: _Card | None = None
    number = 0
    skipping = False  # inside a blob or a dropped over-long property
    agent_pending = False
    nested = 0
    for lineno, line, overlong in _physical_lines(stream):
        if lineno == 1:
            line = line.lstrip("\ufeff").removeprefix(_UTF8_BOM_AS_LATIN1)
        upper = line.strip().upper()
        if card is None:
            if upper == "BEGIN:VCARD":
                number += 1
                card = _Card(number)
                skipping = agent_pending = False
                nested = 0
            elif upper:
                yield (lineno,)
            continue

        if skipping:
            if not line.strip() or line[0] in " \t" or ":" not in line:
                continue
            skipping = False
        if nested:
            if upper == "END:VCARD":
                nested -= 1
            elif upper == "BEGIN:VCARD":
                nested += 1
            continue
        if upper == "END:VCARD":
            if card.oversized:
                yield _FileIssue(card.number, "card too large, skipped")
            else:
                yield card
            card = None
            continue
        if upper == "BEGIN:VCARD":
            if agent_pending:
                nested = 1
                agent_pending = False
                continue
            yield _FileIssue(card.number, "missing END:VCARD, card skipped")
            number += 1
            card = _Card(number)
            continue
        if not line.strip():
            # Kept: a blank line ends a vCard 2.1 quoted-printable value left open by a soft break.
            if card.lines and card.lines[-1]:
                card.lines.append("")
            continue
        agent_pending = bool(_AGENT_EMPTY.match(line))
        if agent_pending:
            continue
        if _BLOB_START.match(line):
            skipping = True
            continue
        if overlong:
            card.problems.append("over-long property line dropped")
            skipping = True
            continue
        if card.oversized:
            continue
        card.lines.append(line)
        card.chars += len(line)
        if card.chars > MAX_CARD_CHARS or len(card.lines) > MAX_CARD_LINES:
            card.oversized = True
            card.lines = []
    if card is not None:
        yield _FileIssue(card.number, "missing END:VCARD at end of file, card skipped")


# --- tokenising ------------------------------------------------------------------------


def _logical_lines(lines: list[str]) -> list[str]:
    """Unfold: a leading space/tab continues a line, and so does a QP soft line break.

    Blank lines are ignored (files with CR CR LF line ends have one after every
    line) except that they close a quoted-printable value, as Android writes them.
    """
    logical: list[list[str]] = []
    is_qp = qp_open = False
    for line in lines:
        if not line:
            qp_open = False
            continue
        if logical and qp_open:
            # Kept with its newline: quopri drops "=\n" as a soft break.
            logical[-1].append("\n" + line)
        elif logical and line[0] in " \t":
            logical[-1].append(line[1:])
        else:
            logical.append([line])
            is_qp = "QUOTED-PRINTABLE" in line.split(":", 1)[0].upper()
        qp_open = is_qp and line.endswith("=")
    return ["".join(parts) for parts in logical]


def _split_unquoted(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    quoted = False
    start = 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _add_param(params: dict[str, list[str]], key: str | None, values: list[str]) -> None:
    if key is None:
        # vCard 2.1 bare parameters: "TEL;CELL;VOICE", "NOTE;QUOTED-PRINTABLE".
        for value in values:
            upper = value.strip().upper()
            if not upper:
                continue
            if upper in _SINGLETON_ENCODINGS:
                params.setdefault("ENCODING", []).append(upper)
            else:
                params.setdefault("TYPE", []).append(upper.lower())
        return
    key = key.strip().upper()
    for value in values:
        for item in value.split(",") if key == "TYPE" else [value]:
            item = item.strip().strip('"')
            if item:
                params.setdefault(key, []).append(item.lower() if key == "TYPE" else item)


def _vobject_tokens(logical: list[str]) -> list[_Prop]:
    """Tokenise with vobject; raises when vobject rejects (or would choke on) a line."""
    props: list[_Prop] = []
    for line in logical:
        head = line.split(":", 1)[0]
        if (
            len(head) > _VOBJECT_MAX_HEAD
            or head.count(";") > _VOBJECT_MAX_PARAMS
            or _param_separators(line) > _VOBJECT_MAX_SEPARATORS
        ):
            raise ValueError("line too complex for vobject")
        name, raw_params, value, _group = vobject_parse_line(line)
        params: dict[str, list[str]] = {}
        for param in raw_params:
            if len(param) == 1:
                _add_param(params, None, [param[0]])
            else:
                _add_param(params, param[0], list(param[1:]))
        props.append(_Prop(name.upper(), params, value))
    return props


def _param_separators(line: str) -> int:
    """Unquoted "=" and "," before the first unquoted colon: the span vobject's parameter regex can cover.

    A quoted value may hold a colon, so the span can run past ``line.split(":")[0]``; counting up to the
    first colon outside quotes (or the whole line) covers every span the regex could try.
    """
    count = 0
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == ":":
            break
        elif ch in "=,":
            count += 1
    return count


def _tolerant_tokens(logical: list[str]) -> tuple[list[_Prop], int]:
    """Our own tokenizer: unbalanced quotes, colons in parameters, junk lines. Never raises."""
    props: list[_Prop] = []
    bad = 0
    for line in logical:
        colon = line.find(":")
        if '"' in line[: max(colon, 0)]:
            # A quoted parameter value may hold a colon: find the first one outside quotes.
            quoted = False
            for i, ch in enumerate(line):
                if ch == '"':
                    quoted = not quoted
                elif ch == ":" and not quoted:
                    colon = i
                    break
        if colon <= 0:
            bad += 1
            continue
        head, value = line[:colon], line[colon + 1 :]
        parts = _split_unquoted(head, ";")
        match = _NAME.match(parts[0].strip())
        if not match:
            bad += 1
            continue
        params: dict[str, list[str]] = {}
        for part in parts[1:]:
            if "=" in part:
                key, raw = part.split("=", 1)
                _add_param(params, key, _split_unquoted(raw, ","))
            else:
                _add_param(params, None, [part])
        props.append(_Prop(match.group(1).upper().replace("_", "-"), params, value))
    return props, bad


# --- values ----------------------------------------------------------------------------


class _Decoder:
    """Turns proxy values into text, honouring ENCODING= and CHARSET= per property."""

    def __init__(self, proxy: str, fallback: str | None, card_lines: list[str]) -> None:
        self.proxy = proxy
        self.fallback = fallback
        self._lines = card_lines
        self._card_guess: str | bool | None = False  # False: not computed yet

    def _card_fallback(self, _value: bytes = b"") -> str | None:
        """The encoding guessed from the whole card: one value is too short to guess from."""
        if self._card_guess is False:
            raw = "\n".join(self._lines).encode(self.proxy, errors="replace")
            self._card_guess = _legacy_encoding(raw)
        guess = self._card_guess
        return guess if isinstance(guess, str) and guess else None

    def text(self, prop: _Prop) -> str | None:
        """The decoded value (escapes still in place), None for binary values."""
        encodings = {e.upper() for e in prop.params.get("ENCODING", [])}
        if encodings & _B64_ENCODINGS:
            return None
        raw = prop.value.encode(self.proxy, errors="replace")
        if encodings & _QP_ENCODINGS:
            raw = quopri.decodestring(raw)
        declared = prop.params.get("CHARSET", [])
        text = self._decode(raw, declared)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def _decode(self, raw: bytes, declared: list[str]) -> str:
        return decode(raw, declared, trust_declared=True, fallback=self.fallback, guess=self._card_fallback).text


_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", "\\": "\\", ":": ":"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _split_escaped(text: str, sep: str) -> list[str]:
    """Split on ``sep`` not preceded by a backslash escape, then unescape each part."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return [_unescape(p).strip() for p in parts]


def _dedupe(values: list[str], key: Callable[[str], str] = str.casefold) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        k = key(value)
        if value and k not in seen:
            seen.add(k)
            out.append(value)
    return out


def normalise_phone(value: str) -> str:
    """Leading '+' and digits of a phone number, without extension; '' when it has no digits."""
    value = value.strip()
    if value.lower().startswith("tel:"):
        value = value[4:]
    if m := _PHONE_EXTENSION.search(value):
        value = value[: m.start()]
    digits = "".join(ch for ch in value if ch.isdigit() and ch.isascii())
    if not digits:
        return ""
    return ("+" if value.lstrip().startswith("+") else "") + digits


def normalise_email(value: str) -> str:
    value = value.strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    value = value.strip().strip("<>").lower()
    return value if "@" in value and not any(ch.isspace() for ch in value) else ""


def parse_birthday(value: str, omit_year: bool = False) -> str | None:
    """ISO date ("1980-03-21") or ISO yearless date ("--03-21"), None when unparseable."""
    match = _BDAY.match(value.strip())
    if not match:
        return None
    year = int(match.group(1)) if match.group(1) else None
    month, day = int(match.group(2)), int(match.group(3))
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: 29 February without a year is valid
    except ValueError:
        return None
    if year is None or year == _NO_YEAR or omit_year:
        return f"--{month:02d}-{day:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


def parse_revision(value: str) -> datetime | None:
    """REV as an aware UTC datetime (naive values are UTC by the spec), None when unparseable."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = dateparser.isoparse(value)
        except (ValueError, OverflowError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _is_pref(prop: _Prop) -> bool:
    return "pref" in prop.params.get("TYPE", []) or "1" in prop.params.get("PREF", [])


# --- records ---------------------------------------------------------------------------


def _card_to_results(
    card: _Card, proxy: str, fallback: str | None, prefix: str, seen_uids: set[str]
) -> Iterator[Record | ParseIssue]:
    where = f"{prefix}card {card.number}"
    logical = _logical_lines(card.lines)
    bad = 0
    try:
        props = _vobject_tokens(logical)
    except Exception:  # vobject's reason can quote the line; the fallback decides
        props, bad = _tolerant_tokens(logical)
    for problem in card.problems:
        yield ParseIssue(where=where, reason=problem)
    if not [p for p in props if p.name not in {"VERSION", "BEGIN", "END"}]:
        yield ParseIssue(where=where, reason="no readable vCard properties, card skipped")
        return
    if bad:
        yield ParseIssue(where=where, reason=f"{bad} unreadable line(s) skipped")
    try:
        record = _build_record(props, _Decoder(proxy, fallback, card.lines), seen_uids)
    except Exception as exc:  # a record-level bug must not stop the file
        yield ParseIssue(where=where, reason=f"card could not be interpreted: {type(exc).__name__}")
        return
    if record is None:
        yield ParseIssue(where=where, reason="card has no contact fields, skipped")
        return
    yield record


def _build_record(props: list[_Prop], decoder: _Decoder, seen_uids: set[str]) -> Record | None:
    values: list[tuple[_Prop, str]] = []
    for prop in props:
        if prop.name in {"BEGIN", "END", "PHOTO", "LOGO", "SOUND", "KEY"}:
            continue
        text = decoder.text(prop)
        if text is not None:
            values.append((prop, text))

    def all_of(name: str) -> list[tuple[_Prop, str]]:
        found = [(p, v) for p, v in values if p.name == name]
        # Preferred values first; sorted() is stable so file order is kept otherwise.
        return sorted(found, key=lambda pv: not _is_pref(pv[0]))

    def first_text(name: str) -> str | None:
        for _p, v in all_of(name):
            text = _unescape(v).strip()
            if text:
                return text
        return None

    version = first_text("VERSION")
    uid = first_text("UID")
    full_name = first_text("FN")
    composed = None
    for _p, v in all_of("N"):
        parts = [" ".join(x.split(",")).strip() for x in _split_escaped(v, ";")] + [""] * 5
        family, given, additional, honorific, suffix = parts[:5]
        composed = " ".join(x for x in (honorific, given, additional, family, suffix) if x) or None
        if composed:
            break

    emails = _dedupe([normalise_email(_unescape(v)) for _p, v in all_of("EMAIL")])
    phones = _dedupe([normalise_phone(_unescape(v)) for _p, v in all_of("TEL")])
    org = department = None
    for _p, v in all_of("ORG"):
        org_parts = [x for x in _split_escaped(v, ";") if x]
        if org_parts:
            org = org_parts[0]
            department = " / ".join(org_parts[1:]) or None
            break
    job_title = first_text("TITLE")
    role = first_text("ROLE")
    nicknames = _dedupe([n for _p, v in all_of("NICKNAME") for n in _split_escaped(v, ",")])
    categories = _dedupe([c for _p, v in all_of("CATEGORIES") for c in _split_escaped(v, ",")])
    urls = _dedupe([u for u in (_unescape(v).strip() for _p, v in all_of("URL")) if u], key=str)
    addresses = _dedupe(
        [", ".join(x.replace("\n", ", ") for x in _split_escaped(v, ";") if x) for _p, v in all_of("ADR")]
    )
    notes = [n for n in (_unescape(v).strip() for _p, v in all_of("NOTE")) if n]
    birthday = None
    for p, v in all_of("BDAY"):
        if "text" in (x.lower() for x in p.params.get("VALUE", [])):
            continue
        birthday = parse_birthday(_unescape(v), omit_year="X-APPLE-OMIT-YEAR" in p.params)
        if birthday:
            break
    revision = None
    for _p, v in all_of("REV"):
        revision = parse_revision(_unescape(v))
        if revision:
            break

    if not any((full_name, composed, emails, phones, org, job_title, nicknames, addresses, notes, urls)):
        return None

    title = full_name or composed or org or (emails[0] if emails else None) or (phones[0] if phones else "")
    body_lines = []
    if org:
        body_lines.append("Organisation: " + " / ".join(x for x in (org, department) if x))
    if job_title:
        body_lines.append(f"Title: {job_title}")
    if role:
        body_lines.append(f"Role: {role}")
    if nicknames:
        body_lines.append("Nicknames: " + ", ".join(nicknames))
    if categories:
        body_lines.append("Categories: " + ", ".join(categories))
    body_lines.extend(f"Note: {note}" for note in notes)

    if uid and uid not in seen_uids:
        external_id = uid
        seen_uids.add(uid)
    else:
        # No UID, or a UID repeated in the same export: the content identifies the card.
        external_id = "sha256:" + _content_digest(values)

    return Record(
        source=SOURCE,
        external_id=external_id,
        kind=CONTACT,
        title=title,
        body="\n".join(body_lines)[:_MAX_BODY_CHARS],
        event_time=revision,
        parties=[
            Party(
                role="contact",
                name=full_name or composed,
                email=emails[0] if emails else None,
                phone=phones[0] if phones else None,
            )
        ],
        attributes={
            "emails": emails,
            "phones": phones,
            "org": org,
            "department": department,
            "title": job_title,
            "role": role,
            "nicknames": nicknames,
            "birthday": birthday,
            "addresses": addresses,
            "urls": urls,
            "categories": categories,
            "vcard_version": version,
            "uid": uid,
        },
    )


def _content_digest(values: list[tuple[_Prop, str]]) -> str:
    lines = []
    for prop, text in values:
        if prop.name in _HASH_EXCLUDED:
            continue
        params = ";".join(
            f"{key}={','.join(sorted(v.lower() for v in vals))}"
            for key, vals in sorted(prop.params.items())
            if key not in _HASH_PARAMS_EXCLUDED
        )
        lines.append(f"{prop.name};{params}:{text.strip()}")
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8", errors="replace")).hexdigest()
