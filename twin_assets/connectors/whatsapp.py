"""WhatsApp chat exports (``.txt``, or the ``.zip`` holding ``_chat.txt``).

The layout depends on the phone's locale and OS: ``12/31/23, 9:41 PM - Name:
text`` (Android), ``[31.12.23, 21:41:05] Name: text`` (iOS), ISO dates, a. m./
p. m., narrow no-break spaces before AM/PM, U+200E marks. One permissive header
pattern covers them all; whether ``01/02/23`` is January or February is decided
once per file (and per date separator) by checking which order makes every date
in the file valid.

System lines ("X created group", the end-to-end encryption notice) are KEPT as
records with ``attributes["system"] = True`` and no parties, so group history
is not lost; consumers that want only conversation filter on that flag.

Timestamps carry no zone: they are read in ``TWIN_WHATSAPP_TZ`` (default UTC).
External ids hash the local wall-clock time, so changing that setting later
does not duplicate messages.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, ClassVar

from twin_assets.connectors.base import CHAT, Connector, SourceTraits
from twin_assets.connectors.toolkit import (
    ZipUnreadable,
    Zone,
    configured_zone,
    decode,
    is_file_member,
    is_utf8,
    open_zip,
)
from twin_assets.records import CHAT_MESSAGE, ParseIssue, Party, Record
from twin_assets.settings import get_settings
from twin_assets.tiers import HIGH

ENV_TZ = "TWIN_WHATSAPP_TZ"
MAX_LINE_CHARS = 1024 * 1024
MAX_MESSAGE_CHARS = 4 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 2 * 1024**3
MAX_RATIO = 100
RATIO_MIN_BYTES = 64 * 1024

MARKS = "\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
HEADER_RE = re.compile(
    r"^\[?"
    r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
    r"[,\s]\s*"
    r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)"
    r"(?:[\s\u202f\u00a0_]*(?P<ampm>[aApP]\.?\s?[mM]\.?))?"
    r"(?:\][\s\u202f]?|[\s\u202f\u00a0]+[-–][\s\u202f\u00a0]+)"
    r"(?P<rest>.*)$"
)
DATE_PARTS_RE = re.compile(r"^(\d{1,4})([./-])(\d{1,2})[./-](\d{1,4})$")
AUTHOR_RE = re.compile(r"^(?P<author>[^:\n]{1,100}?):\s?(?P<text>.*)$", re.S)
ENCRYPTION_NOTICE_RE = re.compile(
    r"(messages (and calls )?(you send to this (group|chat) )?are (now )?(secured with )?end-to-end encrypt)",
    re.I,
)
MEDIA_OMITTED_RE = re.compile(
    r"^<(media omitted|medien ausgeschlossen|multimedia omitido|médias omis|media weggelaten)>$", re.I
)
KIND_OMITTED_RE = re.compile(r"^(image|video|audio|sticker|gif|document|contact card) omitted$", re.I)
# Bounded, and the Android form is found by its literal suffix: `\S+\.\w+ \(file attached\)` as one pattern
# backtracks quadratically through a long run of non-space characters (a 150 KB line took a minute).
ATTACHED_RE = re.compile(r"<attached: (?P<file>[^>\n]{1,255})>")
FILE_ATTACHED = " (file attached)"
EXTENSION_RE = re.compile(r"\w{2,5}")
DELETED_RE = re.compile(r"^(this message was deleted|you deleted this message)\.?$", re.I)
PHONE_RE = re.compile(r"^\+?[\d\s\-().\u00a0\u202f]{6,}$")
CHAT_NAME_RE = re.compile(r"^WhatsApp[\s_-]*Chat[\s_-]*(?:with|mit|met|con|avec|com|-)?[\s_-]*(?P<name>.+)$", re.I)


# --------------------------------------------------------------------------- small helpers


def clean_author(text: str) -> str:
    return text.strip(MARKS + " ~\u202f\u00a0\t")


def phone_of(author: str) -> str | None:
    if not PHONE_RE.match(author):
        return None
    digits = re.sub(r"\D", "", author)
    if len(digits) < 6:
        return None
    return ("+" if author.lstrip().startswith("+") else "") + digits


def chat_name(path: Path) -> str:
    stem = path.stem
    m = CHAT_NAME_RE.match(stem)
    return m.group("name").strip() if m else stem


def split_date(text: str) -> tuple[str, str, str, str] | None:
    m = DATE_PARTS_RE.match(text)
    return (m.group(1), m.group(3), m.group(4), m.group(2)) if m else None


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if len(text) <= 2 else year


def build_datetime(date_text: str, time_text: str, ampm: str | None, order: str) -> datetime | None:
    parts = split_date(date_text)
    if parts is None:
        return None
    a, b, c, _ = parts
    numbers = [int(n) for n in re.split(r"[:.]", time_text)]
    hour, minute = numbers[0], numbers[1]
    second = numbers[2] if len(numbers) > 2 else 0
    if ampm:
        pm = ampm.lower().replace(".", "").replace(" ", "") == "pm"
        if hour == 12:
            hour = 12 if pm else 0
        elif pm:
            hour += 12
    try:
        if len(a) == 4:
            return datetime(int(a), int(b), int(c), hour, minute, second)
        if order == "DMY":
            return datetime(_year(c), int(b), int(a), hour, minute, second)
        return datetime(_year(c), int(a), int(b), hour, minute, second)
    except ValueError:
        return None


def choose_orders(dates: set[str], twelve_hour: bool) -> dict[str, str]:
    """Day/month order per date separator: the one that makes every date valid.

    When all dates fit both orders, dots and dashes mean day first (German,
    Dutch, Russian phones); slashes mean month first only on 12-hour clocks
    (US phones) and day first otherwise (UK, France, India...).
    """
    valid: dict[str, Counter[str]] = {}
    for text in dates:
        parts = split_date(text)
        if parts is None or len(parts[0]) == 4:
            continue
        a, b, _, sep = parts
        counter = valid.setdefault(sep, Counter())
        counter["total"] += 1
        if 1 <= int(a) <= 31 and 1 <= int(b) <= 12:
            counter["DMY"] += 1
        if 1 <= int(b) <= 31 and 1 <= int(a) <= 12:
            counter["MDY"] += 1
    orders = {}
    for sep, counter in valid.items():
        if counter["DMY"] != counter["MDY"]:
            orders[sep] = "DMY" if counter["DMY"] > counter["MDY"] else "MDY"
        else:
            orders[sep] = "MDY" if sep == "/" and twelve_hour else "DMY"
    return orders


def iter_lines(fh: IO[str]) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, truncated) with each line capped so one giant line cannot fill memory."""
    lineno = 0
    while True:
        line = fh.readline(MAX_LINE_CHARS)
        if not line:
            return
        lineno += 1
        if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
            while True:
                more = fh.readline(MAX_LINE_CHARS)
                if not more or more.endswith("\n"):
                    break
            yield lineno, line, True
        else:
            yield lineno, line.rstrip("\n"), False


def match_header(line: str) -> re.Match[str] | None:
    return HEADER_RE.match(line.lstrip(MARKS + " "))


# --------------------------------------------------------------------------- sources


class OpenText:
    """Re-openable text of a chat (file or zip member), decoded by its first bytes."""

    def __init__(self, opener: Callable[[], IO[bytes]]) -> None:
        self.opener = opener
        with opener() as fh:
            head = fh.read(64 * 1024)
        self.encoding = detect_encoding(head)

    def lines(self) -> Iterator[tuple[int, str, bool]]:
        with self.opener() as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, errors="replace", newline=None)
            yield from iter_lines(text)


def detect_encoding(head: bytes) -> str:
    """The codec to stream the chat with: a BOM's, UTF-8 (the sample may end inside a character), else a guess."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if is_utf8(head, truncated=True):
        return "utf-8"
    return decode(head, western=True).encoding


class ZipRefused(Exception):
    """The zip is unusable; the message is our own words."""


def zip_chat_member(zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    infos = zf.infolist()
    if sum(i.file_size for i in infos) > MAX_TOTAL_UNCOMPRESSED:
        raise ZipRefused("zip expands beyond the 2 GiB cap; refused as a possible zip bomb")
    texts = [i for i in infos if is_file_member(i) and i.filename.lower().endswith(".txt")]
    chosen = next((i for i in texts if i.filename.rsplit("/", 1)[-1] == "_chat.txt"), None)
    if chosen is None and len(texts) == 1:
        chosen = texts[0]
    if chosen is None:
        raise ZipRefused("no _chat.txt in the zip")
    if chosen.file_size > RATIO_MIN_BYTES and chosen.file_size > MAX_RATIO * max(chosen.compress_size, 1):
        raise ZipRefused(f"compression ratio above {MAX_RATIO}; refused as a possible zip bomb")
    return chosen


# --------------------------------------------------------------------------- parsing


@dataclass
class Pending:
    lineno: int
    date: str
    time: str
    ampm: str | None
    rest: str
    extra: list[str] = field(default_factory=list)
    size: int = 0
    overflow: bool = False


def attachment_name(text: str) -> str | None:
    """The file a message says it carries (`<attached: f>` on iOS, `f (file attached)` on Android), in linear time."""
    if m := ATTACHED_RE.search(text):
        return m.group("file").strip()
    start = 0
    while (at := text.find(FILE_ATTACHED, start)) >= 0:
        # The name is the run of non-space characters right before the marker; each run is read once.
        begin = at
        while begin > start and not text[begin - 1].isspace():
            begin -= 1
        name = text[begin:at]
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(name) <= 260 and EXTENSION_RE.fullmatch(extension):
            return name
        start = at + len(FILE_ATTACHED)
    return None


def classify(text: str) -> dict[str, object]:
    """Media and deletion markers of a message text, as attributes."""
    attributes: dict[str, object] = {}
    bare = text.strip(MARKS + " ")
    if MEDIA_OMITTED_RE.match(bare):
        attributes["media"] = "omitted"
    elif m := KIND_OMITTED_RE.match(bare):
        attributes["media"] = m.group(1).lower()
    elif name := attachment_name(bare):
        attributes["media"] = "attached"
        attributes["attachment"] = name
    if DELETED_RE.match(bare):
        attributes["deleted"] = True
    return attributes


def resolve_zone() -> Zone:
    """The zone the export's local times are in (the owner's setting), UTC when unset or unknown."""
    return configured_zone(get_settings().whatsapp.tz, ENV_TZ)


def parse_chat(source: OpenText, name: str) -> Iterator[Record | ParseIssue]:
    zone, zone_name, problem = resolve_zone()
    if problem:
        yield ParseIssue("config", problem)

    # Pass 1: every date (to settle day/month order) and the chat's identity.
    dates: set[str] = set()
    twelve_hour = False
    identity: str | None = None
    for _, line, _ in source.lines():
        m = match_header(line)
        if m is None:
            continue
        dates.add(m.group("date"))
        twelve_hour = twelve_hour or bool(m.group("ampm"))
        if identity is None:
            author = AUTHOR_RE.match(m.group("rest"))
            identity = " ".join(
                [m.group("date"), m.group("time"), m.group("ampm") or "", author.group("author") if author else ""]
            )
    if identity is None:
        yield ParseIssue("file", "no WhatsApp message header lines found")
        return
    orders = choose_orders(dates, twelve_hour)

    # Pass 2: messages run from one header line to the next.
    seen: Counter[str] = Counter()
    skipped_before_first = 0
    pending: Pending | None = None

    def finish(p: Pending) -> Iterator[Record | ParseIssue]:
        if p.overflow:
            yield ParseIssue(f"line {p.lineno}", "message longer than the 4 MiB cap; truncated")
        parts = split_date(p.date)
        local = build_datetime(p.date, p.time, p.ampm, orders.get(parts[3], "DMY") if parts else "DMY")
        if local is None:
            yield ParseIssue(f"line {p.lineno}", "timestamp unparseable")
            return
        author_match = AUTHOR_RE.match(p.rest)
        author = clean_author(author_match.group("author")) if author_match else ""
        if author_match and ('"' in author or "“" in author or not author):
            author_match, author = None, ""  # a system line whose text happens to contain a colon
        first = author_match.group("text") if author_match else p.rest
        text = "\n".join([first, *p.extra]).lstrip(MARKS).strip("\n")
        system = author_match is None or bool(ENCRYPTION_NOTICE_RE.search(text))
        key = json.dumps([identity, local.isoformat(), author, text], ensure_ascii=False)
        occurrence = seen[key]
        seen[key] += 1
        digest = hashlib.sha256(json.dumps([key, occurrence]).encode()).hexdigest()
        attributes: dict[str, object] = {"path": name, "system": system}
        attributes.update(classify(text))
        parties = [] if system else [Party(role="from", name=author, phone=phone_of(author))]
        yield Record(
            source="whatsapp",
            external_id=f"sha256:{digest}",
            kind=CHAT_MESSAGE,
            body=text,
            event_time=local.replace(tzinfo=zone),
            original_tz=zone_name,
            parties=parties,
            attributes=attributes,
        )

    for lineno, line, truncated in source.lines():
        if truncated:
            yield ParseIssue(f"line {lineno}", "line longer than the 1 MiB cap; truncated")
        m = match_header(line)
        if m is not None:
            if pending is not None:
                yield from finish(pending)
            pending = Pending(lineno, m.group("date"), m.group("time"), m.group("ampm"), m.group("rest"))
            pending.size = len(line)
        elif pending is None:
            if line.strip(MARKS + " "):
                skipped_before_first += 1
        elif pending.size + len(line) > MAX_MESSAGE_CHARS:
            pending.overflow = True
        else:
            pending.extra.append(line)
            pending.size += len(line) + 1
    if pending is not None:
        yield from finish(pending)
    if skipped_before_first:
        yield ParseIssue("file", f"{skipped_before_first} line(s) before the first message header skipped")


class WhatsAppConnector(Connector):
    """Messages from a WhatsApp "Export chat" text file or zip."""

    kind: ClassVar[str] = "whatsapp"
    description: ClassVar[str] = "WhatsApp chat exports (.txt or .zip with _chat.txt), any locale layout"
    record_kinds: ClassVar[tuple[str, ...]] = (CHAT_MESSAGE,)
    traits: ClassVar[SourceTraits] = SourceTraits(
        default_tier=HIGH,
        medium=CHAT,
        correspondence=True,
        party_context="chat author name",
        # An export is one chat; its name is in the attributes when the file name told it.
        conversation_attributes=("chat", "group", "path"),
        conversation_fallback="chat",
        conversation_label="group chat",
    )

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            if head.startswith(b"PK\x03\x04"):
                with zipfile.ZipFile(path) as zf:
                    member = zip_chat_member(zf)
                    with zf.open(member) as fh:
                        head = fh.read(8192)
            if not head or b"\x00" in head[:4096]:
                return False
            sample = head[:8192]
            text = sample.decode(detect_encoding(sample), errors="replace")
            lines = re.split(r"\r\n|\r|\n", text)
            if len(sample) < len(head) or len(head) >= 64 * 1024:
                lines = lines[:-1]  # the sample may end mid-line
            lines = [ln for ln in lines[:40] if ln.strip(MARKS + " ")]
            if not lines or (header := match_header(lines[0])) is None or not header.group("rest"):
                return False
            # One header could be chance; a chat has more, unless it is a one-message chat.
            return sum(1 for ln in lines if match_header(ln)) >= min(2, len(lines))
        except Exception:
            return False

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        try:
            with path.open("rb") as fh:
                is_zip = fh.read(4) == b"PK\x03\x04"
        except OSError as exc:
            yield ParseIssue("file", f"unreadable: {type(exc).__name__}")
            return
        if not is_zip:
            try:
                source = OpenText(lambda: path.open("rb"))
            except OSError as exc:
                yield ParseIssue("file", f"unreadable: {type(exc).__name__}")
                return
            yield from _guarded(parse_chat(source, chat_name(path)))
            return
        try:
            zf = open_zip(path)
        except ZipUnreadable as exc:
            yield ParseIssue("file", str(exc))
            return
        with zf:
            try:
                member = zip_chat_member(zf)
                source = OpenText(lambda: zf.open(member))
            except ZipRefused as exc:
                yield ParseIssue("file", str(exc))
                return
            except Exception as exc:  # CRC, encryption, zlib: the type name says enough
                yield ParseIssue("file", f"unreadable zip member: {type(exc).__name__}")
                return
            yield from _guarded(parse_chat(source, chat_name(path)))


def _guarded(items: Iterator[Record | ParseIssue]) -> Iterator[Record | ParseIssue]:
    """Turn a read failure half-way (truncated zip, I/O error) into one ParseIssue."""
    try:
        yield from items
    except (OSError, EOFError, zipfile.BadZipFile, RuntimeError, zlib.error) as exc:
        yield ParseIssue("file", f"reading stopped: {type(exc).__name__}")
