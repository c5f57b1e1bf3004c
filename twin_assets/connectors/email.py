"""Email: mbox files, maildir folders (with Maildir++ subfolders), single .eml files and folders of them.

Messages are parsed with the stdlib :mod:`email` package. Header values are decoded
here rather than by the stdlib header registry, because real mail has raw 8-bit
bytes, wrong charsets and half-broken encoded words that the registry either
rejects or turns into replacement characters.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.message
import email.policy
import email.utils
import functools
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import _parseaddr  # type: ignore[attr-defined]  # tolerant date parser ("no zone" vs "+0000"); typeshed omits this private module
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from twin_assets.connectors.base import MAIL, Connector, SourceTraits
from twin_assets.connectors.toolkit import ExportWalk, decode, normalise_charset, shown_path
from twin_assets.records import MESSAGE, ParseIssue, Party, Record
from twin_assets.tiers import HIGH

# A single message bigger than this is skipped: it is almost always a runaway
# attachment, and parsing it would hold it in memory several times over.
MAX_MESSAGE_BYTES = 50 * 1024 * 1024
# Legitimate mail rarely nests more than ~6 levels; deeper is hostile or broken.
MAX_MIME_DEPTH = 50
# readline() limit: a file without newlines must not be read into one giant line.
LINE_CHUNK = 1024 * 1024
# Enough to decide what a file is; folders are sniffed file by file.
FILE_SNIFF_BYTES = 8 * 1024
MAX_PARTIES_PER_HEADER = 2000
MAX_REFERENCES = 500
MAX_MSGID_LEN = 512
MAX_TITLE_CHARS = 2000  # a subject longer than this is garbage or an attack, not a title
ADDRESS_HEADERS = (("from", "From"), ("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"), ("reply_to", "Reply-To"))

BOM = b"\xef\xbb\xbf"

# Headers that mark a block as an RFC 822 message; one alone is not enough.
_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "bcc", "date", "subject", "message-id", "received", "mime-version",
        "return-path", "delivered-to", "reply-to", "in-reply-to", "references", "sender",
        "x-mailer", "user-agent", "dkim-signature", "envelope-to", "x-original-to", "list-id",
        "content-transfer-encoding", "x-mozilla-status", "x-gmail-labels", "thread-topic",
    }
)  # fmt: skip
# At least one of these: "Date:" plus "Content-Type:" could be an HTTP dump.
_ADDRESSING_HEADERS = frozenset(
    {"from", "to", "message-id", "received", "mime-version", "return-path", "delivered-to", "sender",
     "subject"}
)  # fmt: skip
_HEADER_LINE = re.compile(rb"^([!-9;-~]{1,76}):")
# "From addr Day Mon dd hh:mm:ss yyyy" - accepted as a separator even without a blank line before it.
_ENVELOPE = re.compile(rb"^From \S+ +.*\d{1,2}:\d{2}(:\d{2})? .*\d{4}\s*$")
_MBOXRD_ESCAPED = re.compile(rb"^>+From ")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_MSGID_IN_BRACKETS = re.compile(r"<([^<>]*)>")
# Starts only where a run of address characters starts and never gives back what it took (possessive): a long
# run without "@" costs linear time, not a scan from each of its characters.
_EMAIL_LIKE = re.compile(r"(?<![\w.+'=-])[\w.+'=-]++@[\w-]++(?:\.[\w-]++)+")
_SURROGATES = re.compile("[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACE_RUNS = re.compile(r"[ \t\u00a0]+")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MIME_TYPE = re.compile(r"^[a-z0-9][\w.+-]*/[\w.+-]+$")
_LOOKS_HTML = re.compile(r"<(html|body|div|p|br)\b", re.IGNORECASE)


# ---------------------------------------------------------------------------
# Detection


def _strip_preamble(head: bytes) -> bytes:
    if head.startswith(BOM):
        head = head[len(BOM) :]
    return head.lstrip(b"\r\n\t ")


def _header_names(block: bytes, max_lines: int = 200) -> tuple[set[str], int, int]:
    """Header names in the leading header block, plus counts of good and bad lines."""
    names: set[str] = set()
    good = bad = 0
    for line in block.splitlines()[:max_lines]:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue
        match = _HEADER_LINE.match(line)
        if match:
            good += 1
            names.add(match.group(1).decode("ascii").lower())
        else:
            bad += 1
    return names, good, bad


def looks_like_message(head: bytes) -> bool:
    """True if ``head`` starts with an RFC 822 header block that names mail headers."""
    head = _strip_preamble(head)
    if not head or not _HEADER_LINE.match(head):
        return False
    names, good, bad = _header_names(head)
    known = names & _MAIL_HEADERS
    return len(known) >= 2 and bool(names & _ADDRESSING_HEADERS) and bad <= max(2, good // 5)


def looks_like_mbox(head: bytes) -> bool:
    """True if ``head`` starts with an mbox "From " line followed by message headers."""
    head = _strip_preamble(head)
    if not head.startswith(b"From "):
        return False
    _, _, rest = head.partition(b"\n")
    names, good, _bad = _header_names(rest)
    return good >= 1 and bool(names & _MAIL_HEADERS)


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _sniff_file(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(FILE_SNIFF_BYTES)
    except OSError:
        return b""


def _looks_like_mail_folder(path: Path) -> bool:
    """Maildir, or a folder (up to two levels deep) whose files are mostly messages."""
    if _is_maildir(path):
        return True
    dirs = [path]
    sniffed = hits = seen = 0
    for depth in range(3):
        next_dirs: list[Path] = []
        for folder in dirs:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                seen += 1
                if seen > 400:
                    return sniffed > 0 and hits * 2 >= sniffed
                if entry.name.startswith(".") and not entry.is_dir(follow_symlinks=False):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    child = Path(entry.path)
                    if _is_maildir(child):
                        return True
                    if depth < 2:
                        next_dirs.append(child)
                elif entry.is_file(follow_symlinks=False):
                    if entry.name.lower().endswith(".eml"):
                        return True
                    if sniffed < 10:
                        sniffed += 1
                        head = _sniff_file(Path(entry.path))
                        hits += looks_like_message(head) or looks_like_mbox(head)
        dirs = next_dirs
    return sniffed > 0 and hits * 2 >= sniffed


# ---------------------------------------------------------------------------
# mbox splitting


def iter_mbox(fh: BinaryIO, max_bytes: int | None = None) -> Iterator[bytes | None]:
    """Split an mbox stream into raw messages without reading the whole file.

    Yields the bytes of each message (envelope line removed, mboxrd ``>From``
    unescaped), or None for a message over ``max_bytes``. A "From " line only
    separates messages after a blank line or when it looks like a full envelope,
    which keeps unescaped "From " lines in mboxo bodies inside their message.
    """
    max_bytes = MAX_MESSAGE_BYTES if max_bytes is None else max_bytes
    chunks: list[bytes] = []
    size = 0
    oversized = False
    prev_blank = True
    at_line_start = True
    first = True
    while True:
        line = fh.readline(LINE_CHUNK)
        if not line:
            break
        line_start = at_line_start
        at_line_start = line.endswith(b"\n")
        if first:
            first = False
            if line.startswith(BOM):
                line = line[len(BOM) :]
        if line_start and line.startswith(b"From ") and (prev_blank or _ENVELOPE.match(line)):
            if chunks or oversized:
                if oversized:
                    yield None
                elif any(chunk.strip() for chunk in chunks):
                    yield b"".join(chunks)
            chunks, size, oversized, prev_blank = [], 0, False, False
            while not at_line_start:  # rest of an absurdly long envelope line
                rest = fh.readline(LINE_CHUNK)
                if not rest:
                    break
                at_line_start = rest.endswith(b"\n")
            continue
        if line_start and _MBOXRD_ESCAPED.match(line):
            line = line[1:]
        if line_start:
            prev_blank = at_line_start and not line.strip()
        if oversized:
            continue
        size += len(line)
        if size > max_bytes:
            oversized, chunks = True, []
            continue
        chunks.append(line)
    if oversized:
        yield None
    elif any(chunk.strip() for chunk in chunks):
        yield b"".join(chunks)


# ---------------------------------------------------------------------------
# Decoding helpers


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset, then UTF-8, then a detected charset, then UTF-8 lossy.

    A MIME part says what it is, so its charset is believed before UTF-8 (``toolkit.decode``).
    """
    return decode(data, charset, trust_declared=True).text


def _header_text(raw: str, charset: str | None = None) -> str:
    """Undo the parser's surrogate escaping of raw 8-bit header bytes, tolerantly."""
    raw = _FOLD.sub("", raw).replace("\r", "").replace("\n", " ")
    if _SURROGATES.search(raw):
        data = raw.encode("utf-8", errors="surrogateescape")
        for candidate in ("utf-8", normalise_charset(charset), "cp1252"):
            if candidate:
                try:
                    raw = data.decode(candidate)
                    break
                except (UnicodeError, LookupError):
                    pass
        else:
            raw = data.decode("cp1252", errors="replace")
    return _CONTROL_CHARS.sub("", raw)


def _encoded_word_bytes(encoding: str, text: str, charset: str) -> bytes | None:
    try:
        if encoding in "bB":
            text = re.sub(r"[^A-Za-z0-9+/]", "", text)
            text = text[: len(text) - len(text) % 4] if len(text) % 4 == 1 else text
            return base64.b64decode(text + "=" * (-len(text) % 4))
        # Raw 8-bit bytes inside a Q word are common; give them back in the word's own charset.
        codec = normalise_charset(charset) or "latin-1"
        return binascii.a2b_qp(text.replace("_", " ").encode(codec, errors="replace"))
    except (binascii.Error, ValueError):
        return None


def decode_rfc2047(text: str) -> str:
    """Decode RFC 2047 encoded words; unknown charsets and bad encodings degrade, never raise."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []

    def flush() -> None:
        for charset, data in pending:
            out.append(decode_bytes(data, charset))
        pending.clear()

    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[pos : match.start()]
        if not (pending and not between.strip()):  # space between encoded words is not content
            flush()
            out.append(between)
        pos = match.end()
        charset = match.group(1).split("*", 1)[0]
        data = _encoded_word_bytes(match.group(2), match.group(3), charset)
        if data is None:
            flush()
            out.append(match.group(0))
        elif pending and pending[-1][0].lower() == charset.lower():
            # Words may split a multi-byte character, so join bytes before decoding.
            pending[-1] = (pending[-1][0], pending[-1][1] + data)
        else:
            pending.append((charset, data))
    flush()
    out.append(text[pos:])
    return "".join(out)


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _BLANK_RUNS.sub("\n\n", text).strip()


def html_to_text(html: str) -> str:
    """Visible text of an HTML body: scripts, styles and the head dropped."""
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(html, "html.parser")
        for tag in soup(["script", "style", "noscript", "template", "head"]):
            tag.decompose()
        text = soup.get_text("\n")
    except (RecursionError, ValueError, AssertionError):
        text = re.sub(r"<[^>]*>", " ", html)
    lines = (_SPACE_RUNS.sub(" ", line).strip() for line in text.splitlines())
    return _clean_text("\n".join(lines))


def normalise_message_id(value: str | None) -> str | None:
    """A Message-ID without brackets or whitespace and with the domain lowercased."""
    if not value:
        return None
    match = _MSGID_IN_BRACKETS.search(value)
    ident = match.group(1) if match else value
    ident = "".join(ident.split()).strip("<>")
    if not ident:
        return None
    if "@" in ident:
        local, domain = ident.rsplit("@", 1)
        ident = f"{local}@{domain.lower()}"
    if len(ident) > MAX_MSGID_LEN:
        return "mid-sha256:" + hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()
    return ident


def message_ids(value: str) -> list[str]:
    """All Message-IDs in a References / In-Reply-To value, in order."""
    found = _MSGID_IN_BRACKETS.findall(value)
    if not found and value.strip() and len(value.split()) == 1:
        found = [value]
    ids = [normalise_message_id(f) for f in found[:MAX_REFERENCES]]
    return [i for i in ids if i]


def _offset_string(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def parse_mail_date(value: str | None) -> tuple[datetime | None, str | None]:
    """A Date / Received date as (UTC-able aware datetime, "+HH:MM" offset or None)."""
    if not value or not any(ch.isdigit() for ch in value):
        return None, None
    value = value.strip()[:200]
    try:
        parsed = _parseaddr._parsedate_tz(value)
    except Exception:  # the stdlib helper is private and has raised on odd input before
        parsed = None
    if parsed:
        try:
            naive = datetime(*parsed[:6])  # zone applied below
            offset = parsed[9]
            if offset is not None and abs(offset) < 24 * 3600:
                zone = timezone(timedelta(seconds=offset))
                when = _sane(naive.replace(tzinfo=zone))
                return when, _offset_string(timedelta(seconds=offset)) if when else None
            return _sane(naive.replace(tzinfo=UTC)), None
        except (ValueError, OverflowError, TypeError):
            pass
    try:
        from dateutil import parser as dateparser

        dt = dateparser.parse(value)
    except Exception:  # dateutil raises a zoo of types on garbage
        return None, None
    if dt.tzinfo is None or dt.utcoffset() is None:
        return _sane(dt.replace(tzinfo=UTC)), None
    offset = dt.utcoffset()
    when = _sane(dt)
    return when, _offset_string(offset) if when and offset is not None else None


def _sane(dt: datetime) -> datetime | None:
    # Mail predates 1970 only by mistake (year 0, two-digit years gone wrong).
    return dt if 1970 <= dt.year <= 2200 else None


# ---------------------------------------------------------------------------
# Message -> Record


@dataclass
class _Content:
    texts: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    has_plain: bool = False


def mime_depth(msg: email.message.Message) -> int:
    """Deepest nesting of multiparts and attached messages, measured without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(msg, 1)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_MIME_DEPTH + 1:
            return depth
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, email.message.Message))
    return deepest


def _part_text(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", "surrogateescape")
    charset = part.get_content_charset() if hasattr(part, "get_content_charset") else None
    text = decode_bytes(payload, charset)
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return _clean_text(text)


def _attachment(part: email.message.Message, fallback_charset: str | None) -> dict[str, Any]:
    filename = None
    try:
        raw_name = part.get_filename()
    except Exception:  # malformed Content-Disposition parameters
        raw_name = None
    if raw_name:
        filename = decode_rfc2047(_header_text(str(raw_name), fallback_charset)).strip() or None
    size: int | None
    if part.is_multipart():
        try:
            size = len(part.as_bytes())
        except Exception:  # re-serialising a broken attached message can fail; size is optional
            size = None
    else:
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else None
    ctype = part.get_content_type()
    if not _MIME_TYPE.match(ctype):
        ctype = "application/octet-stream"
    return {"filename": filename, "content_type": ctype, "size": size}


def _is_body_part(part: email.message.Message) -> bool:
    if part.get_content_maintype() != "text" or part.get_content_subtype() not in ("plain", "html"):
        return False
    try:
        if part.get_content_disposition() == "attachment" or part.get_filename():
            return False
    except Exception:  # broken disposition parameters: treat it as body text
        return True
    return True


def _collect(part: email.message.Message, content: _Content, fallback_charset: str | None) -> None:
    ctype = part.get_content_type()
    if ctype == "message/rfc822" or (part.get_content_maintype() == "message" and part.is_multipart()):
        content.attachments.append(_attachment(part, fallback_charset))
        return
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, email.message.Message)]
        if ctype == "multipart/alternative" and children:
            _collect_alternative(children, content, fallback_charset)
            return
        for child in children:
            _collect(child, content, fallback_charset)
        return
    if part.get_content_maintype() == "multipart":
        _collect_broken_multipart(part, content, fallback_charset)
        return
    if _is_body_part(part):
        text = _part_text(part)
        if text:
            content.texts.append(text)
            content.has_plain = content.has_plain or part.get_content_subtype() == "plain"
        return
    content.attachments.append(_attachment(part, fallback_charset))


_BOUNDARY_PARAM = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))', re.IGNORECASE)


def _collect_broken_multipart(part: email.message.Message, content: _Content, fallback_charset: str | None) -> None:
    """A multipart whose boundary the parser could not use (unquoted "=", missing start line).

    Re-parse it once with the boundary read leniently from the raw header; if the
    boundary never occurs, the payload is kept as text rather than lost.
    """
    payload = part.get_payload()
    raw = payload if isinstance(payload, str) else ""
    data = raw.encode("utf-8", errors="surrogateescape")
    ctype_raw = " ".join(str(v) for k, v in part.raw_items() if str(k).lower() == "content-type")
    match = _BOUNDARY_PARAM.search(_FOLD.sub("", ctype_raw))
    boundary = (match.group(1) or match.group(2)) if match else None
    if boundary and f"--{boundary}".encode("utf-8", "surrogateescape") in data and '"' not in boundary:
        header = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\n\n'.encode()
        try:
            repaired = email.message_from_bytes(header + data, policy=email.policy.compat32)
        except Exception:  # salvage is best-effort; fall through to plain text
            repaired = None
        if repaired is not None and repaired.is_multipart() and mime_depth(repaired) <= MAX_MIME_DEPTH:
            _collect(repaired, content, fallback_charset)
            return
    text = decode_bytes(data, part.get_content_charset() or fallback_charset)
    text = html_to_text(text) if _LOOKS_HTML.search(text) else _clean_text(text)
    if text:
        content.texts.append(text)


def _collect_alternative(
    children: list[email.message.Message], content: _Content, fallback_charset: str | None
) -> None:
    """Keep one rendering: the first with non-empty plain text, else the last (richest) one."""
    rendered: list[_Content] = []
    for child in children:
        sub = _Content()
        _collect(child, sub, fallback_charset)
        rendered.append(sub)
    chosen = next((sub for sub in rendered if sub.has_plain), None)
    if chosen is None:
        chosen = next((sub for sub in reversed(rendered) if sub.texts), rendered[-1])
    content.texts.extend(chosen.texts)
    content.has_plain = content.has_plain or chosen.has_plain
    for sub in rendered:
        content.attachments.extend(sub.attachments)


class _Headers:
    """Raw header access that never goes through the policy's (raising) header parsers."""

    def __init__(self, msg: email.message.Message, charset: str | None) -> None:
        self._items: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self._items.setdefault(str(name).lower(), []).append(str(value))
        self.charset = charset

    def all(self, name: str) -> list[str]:
        return [_header_text(v, self.charset) for v in self._items.get(name.lower(), [])]

    def first(self, name: str) -> str | None:
        values = self._items.get(name.lower())
        return _header_text(values[0], self.charset) if values else None

    def decoded(self, name: str) -> str | None:
        value = self.first(name)
        return None if value is None else " ".join(decode_rfc2047(value).split())

    def has(self, name: str) -> bool:
        return name.lower() in self._items

    def names(self) -> set[str]:
        return set(self._items)


def _getaddresses(value: str) -> list[tuple[str, str]]:
    try:
        return email.utils.getaddresses([value], strict=False)
    except TypeError:  # Python builds without the strict parameter
        return email.utils.getaddresses([value])


def parse_addresses(values: list[str], role: str) -> list[Party]:
    """Parties from address header values, tolerant of broken syntax."""
    parties: list[Party] = []
    seen: set[tuple[str | None, str | None]] = set()
    for value in values:
        value = value[:65536]
        pairs = [(n, a) for n, a in _getaddresses(value) if n or a]
        if not any("@" in a for _, a in pairs) and "@" in value:
            pairs = [("", found) for found in _EMAIL_LIKE.findall(value)]
        for name, addr in pairs[:MAX_PARTIES_PER_HEADER]:
            clean_name = " ".join(decode_rfc2047(name).split()).strip("\"' ") or None
            addr = addr.strip().strip("<>").strip()
            mail = addr.lower() if "@" in addr and len(addr) <= 320 and " " not in addr else None
            if mail is None and clean_name is None:
                continue
            if clean_name and mail and clean_name.lower() == mail:
                clean_name = None
            key = (clean_name, mail)
            if key in seen:
                continue
            seen.add(key)
            parties.append(Party(role=role, name=clean_name, email=mail))
    return parties


def _header_block(raw: bytes) -> bytes:
    data = raw.replace(b"\r\n", b"\n")
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if data.startswith(b"From ") and not _HEADER_LINE.match(data):
        data = data.partition(b"\n")[2]
    end = data.find(b"\n\n")
    return (data if end < 0 else data[:end]).rstrip()


# Headers a message's MIME walk reads over and over (the parser and every get_content_type() call re-parse
# Content-Type: ~24 parses per message, 60% of the time spent parsing a mailbox). They describe structure,
# not content, and repeat across messages, so one parsed object per distinct value is shared.
_STRUCTURE_HEADERS = frozenset({"content-type", "content-transfer-encoding", "content-disposition", "mime-version"})


@functools.lru_cache(maxsize=2048)
def _structure_header(factory: Any, name: str, value: str) -> Any:
    return factory(name, value)


class _StructureCachingPolicy(email.policy.EmailPolicy):
    """``email.policy.default`` with parsed MIME structure headers cached (they are immutable str subclasses)."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or name.lower() not in _STRUCTURE_HEADERS:
            return super().header_fetch_parse(name, value)
        # linesep_splitter is what email.policy's own header_fetch_parse uses; typeshed leaves it out.
        unfolded = "".join(email.policy.linesep_splitter.split(value))  # type: ignore[attr-defined]
        return _structure_header(self.header_factory, name, unfolded)


MODERN_POLICY = _StructureCachingPolicy()


def _parse_bytes(raw: bytes, policy: Any) -> email.message.Message:
    return email.message_from_bytes(raw, policy=policy)


def _body_and_attachments(msg: email.message.Message, charset: str | None) -> _Content:
    content = _Content()
    _collect(msg, content, charset)
    return content


def message_to_record(raw: bytes, where: str, folder: str | None) -> Record | ParseIssue:
    """One raw RFC 822 message as a Record, or a ParseIssue saying (without content) why not."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return ParseIssue(where, f"message larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB, skipped")
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        msg = _parse_bytes(raw, MODERN_POLICY)
    except RecursionError:
        return ParseIssue(where, f"MIME nesting deeper than {MAX_MIME_DEPTH} levels")
    except Exception as exc:
        return ParseIssue(where, f"unparseable message ({type(exc).__name__})")
    if mime_depth(msg) > MAX_MIME_DEPTH:
        return ParseIssue(where, f"MIME nesting deeper than {MAX_MIME_DEPTH} levels")
    try:
        charset = msg.get_content_charset()
    except Exception:  # a Content-Type the policy cannot parse
        charset = None
    headers = _Headers(msg, charset)
    if not headers.names() & _MAIL_HEADERS:
        return ParseIssue(where, "no RFC 822 headers found")

    try:
        content = _body_and_attachments(msg, charset)
    except RecursionError:
        return ParseIssue(where, f"MIME nesting deeper than {MAX_MIME_DEPTH} levels")
    except Exception:
        # The modern policy raises on some malformed parameters; the legacy one shrugs them off.
        try:
            content = _body_and_attachments(_parse_bytes(raw, email.policy.compat32), charset)
        except Exception as exc:
            return ParseIssue(where, f"unreadable MIME structure ({type(exc).__name__})")

    message_id = normalise_message_id(headers.first("Message-ID"))
    in_reply_to_ids = message_ids(headers.first("In-Reply-To") or "")
    references = message_ids(" ".join(headers.all("References")))

    event_time, original_tz = parse_mail_date(headers.first("Date"))
    if event_time is None:
        for received in headers.all("Received"):
            event_time, original_tz = parse_mail_date(received.rpartition(";")[2])
            if event_time is not None:
                break

    parties: list[Party] = []
    for role, name in ADDRESS_HEADERS:
        parties.extend(parse_addresses(headers.all(name), role))

    external_id = message_id or "sha256:" + hashlib.sha256(_header_block(raw)).hexdigest()
    thread_root = references[0] if references else (in_reply_to_ids[0] if in_reply_to_ids else None)

    list_id_raw = headers.decoded("List-Id")
    list_id = None
    if list_id_raw:
        bracketed = _MSGID_IN_BRACKETS.search(list_id_raw)
        list_id = (bracketed.group(1) if bracketed else list_id_raw).strip().lower() or None

    def lowered(name: str) -> str | None:
        value = (headers.decoded(name) or "").strip().lower()
        return value or None

    attributes: dict[str, Any] = {
        "message_id": message_id,
        "in_reply_to": in_reply_to_ids[0] if in_reply_to_ids else None,
        "references": references,
        "list_id": list_id,
        "list_unsubscribe": headers.has("List-Unsubscribe"),
        "precedence": lowered("Precedence"),
        "auto_submitted": lowered("Auto-Submitted"),
        "folder": folder,
        "attachments": content.attachments,
    }
    return Record(
        source="email",
        external_id=external_id,
        kind=MESSAGE,
        title=(headers.decoded("Subject") or "")[:MAX_TITLE_CHARS],
        body="\n\n".join(content.texts),
        event_time=event_time,
        original_tz=original_tz,
        parties=parties,
        attributes=attributes,
        thread_id=thread_root or message_id or external_id,
    )


# ---------------------------------------------------------------------------
# Files and folders


def _safe_record(raw: bytes, where: str, folder: str | None) -> Record | ParseIssue:
    try:
        return message_to_record(raw, where, folder)
    except RecursionError:
        return ParseIssue(where, f"MIME nesting deeper than {MAX_MIME_DEPTH} levels")
    except Exception as exc:  # one broken message must not stop the mailbox
        return ParseIssue(where, f"unexpected error while parsing ({type(exc).__name__})")


def parse_mbox(path: Path, where_prefix: str = "", folder: str | None = None) -> Iterator[Record | ParseIssue]:
    """Every message of an mbox file, streamed; a large one is parsed by worker processes, in order."""
    file_where = where_prefix.strip() or "file"
    try:
        workers = _parse_workers() if path.stat().st_size >= PARALLEL_MIN_BYTES else 1
        with path.open("rb") as fh:
            items = ((f"{where_prefix}message {index}", raw) for index, raw in enumerate(iter_mbox(fh), start=1))
            if workers > 1:
                yield from _parse_parallel(items, folder, workers)
            else:
                yield from (_parse_one(where, raw, folder) for where, raw in items)
    except OSError as exc:
        yield ParseIssue(file_where, f"unreadable ({type(exc).__name__})")


def _parse_one(where: str, raw: bytes | None, folder: str | None) -> Record | ParseIssue:
    if raw is None:
        return ParseIssue(where, f"message larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB, skipped")
    return _safe_record(raw, where, folder)


# Parsing MIME and HTML is most of a large mailbox's sync and needs nothing but the message's bytes, so it
# runs in other processes while this one stages what they return. Below this size, starting them costs more.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024
_CHUNK_MESSAGES = 256
_CHUNK_BYTES = 8 * 1024 * 1024


def _parse_workers() -> int:
    import multiprocessing

    from twin_assets.settings import get_settings

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    n = get_settings().parse.workers
    return n if n else len(os.sched_getaffinity(0))


def _parse_chunk(chunk: list[tuple[str, bytes | None]], folder: str | None) -> list[Record | ParseIssue]:
    return [_parse_one(where, raw, folder) for where, raw in chunk]


def _chunks(items: Iterator[tuple[str, bytes | None]]) -> Iterator[list[tuple[str, bytes | None]]]:
    chunk: list[tuple[str, bytes | None]] = []
    size = 0
    for where, raw in items:
        chunk.append((where, raw))
        size += len(raw or b"")
        if len(chunk) >= _CHUNK_MESSAGES or size >= _CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _parse_parallel(
    items: Iterator[tuple[str, bytes | None]], folder: str | None, workers: int
) -> Iterator[Record | ParseIssue]:
    """``_parse_one`` over ``items`` in ``workers`` processes, results in input order, at most two chunks per
    worker in flight (memory stays bounded whatever the mailbox's size). Should the pool fail, the rest is
    parsed here.

    Forked, not spawned: a spawned worker first imports the caller's main module, and a script without a
    ``__main__`` guard then runs again in every worker (a sync script that initialises its home would wipe it).
    A forked worker only parses bytes: it takes no lock another thread could have held and opens no store."""
    import collections
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunks = _chunks(items)
    pending: collections.deque[tuple[list[tuple[str, bytes | None]], Any]] = collections.deque()

    def ready(keep: int) -> Iterator[Record | ParseIssue]:
        while len(pending) > keep:
            done = _result(*pending[0], folder)  # a chunk leaves the queue only once its records are here
            pending.popleft()
            yield from done

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(_parse_chunk, chunk, folder)))
                yield from ready(2 * workers - 1)
            yield from ready(0)
        except BrokenProcessPool:
            for chunk, _ in pending:
                yield from _parse_chunk(chunk, folder)
            for chunk in chunks:
                yield from _parse_chunk(chunk, folder)


def _result(chunk: list[tuple[str, bytes | None]], future: Any, folder: str | None) -> list[Record | ParseIssue]:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        raise
    except Exception:  # a result that did not come back (it would not pickle): parse the chunk here
        return _parse_chunk(chunk, folder)


def parse_message_file(path: Path, where: str, folder: str | None) -> Iterator[Record | ParseIssue]:
    """A file holding one message (.eml, a maildir entry)."""
    try:
        size = path.stat().st_size
        if size > MAX_MESSAGE_BYTES:
            yield ParseIssue(where, f"message larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB, skipped")
            return
        raw = path.read_bytes()
    except OSError as exc:
        yield ParseIssue(where, f"unreadable ({type(exc).__name__})")
        return
    if not raw.strip():
        yield ParseIssue(where, "empty file")
        return
    yield _safe_record(raw, where, folder)


def _folder_name(parts: tuple[str, ...]) -> str | None:
    # Maildir++ marks subfolders with a leading dot (".Sent", ".Work.Projects").
    names = [p[1:] if p.startswith(".") and len(p) > 1 else p for p in parts]
    return shown_path("/".join(names)) or None


def parse_folder(root: Path) -> Iterator[Record | ParseIssue]:
    """A maildir (cur/new, nested or Maildir++) or a folder tree of message and mbox files."""
    root_is_maildir = _is_maildir(root)
    index = 0
    walk = ExportWalk(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        current = Path(dirpath)
        if "cur" in dirnames or "new" in dirnames:
            # tmp/ holds half-delivered messages by maildir convention.
            dirnames[:] = [d for d in dirnames if d != "tmp"]
        dirnames[:] = walk.subfolders(current, dirnames)
        in_maildir = current.name in ("cur", "new") and (
            (current.parent / "cur").is_dir() or (current.parent / "new").is_dir()
        )
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            path = current / filename
            if not walk.allows(path) or not path.is_file():
                continue
            index += 1
            where = f"file {index}"
            if in_maildir:
                rel = current.parent.relative_to(root).parts
                folder = _folder_name(rel) or ("INBOX" if root_is_maildir else None)
                yield from parse_message_file(path, where, folder)
                continue
            rel = current.relative_to(root).parts
            head = _sniff_file(path)
            if looks_like_mbox(head):
                # Thunderbird-style mbox folders ("Inbox", "Sent.mbox") name the folder; other
                # files that merely start with an envelope line live in their directory's folder.
                if path.suffix.lower() == ".mbox" or "." not in filename:
                    folder = _folder_name(path.relative_to(root).with_suffix("").parts)
                else:
                    folder = _folder_name(rel)
                yield from parse_mbox(path, where_prefix=f"{where} ", folder=folder)
            elif filename.lower().endswith(".eml") or looks_like_message(head):
                yield from parse_message_file(path, where, _folder_name(rel))
    yield from walk.issues()


class EmailConnector(Connector):
    """mbox, maildir, .eml files and folders of them."""

    kind: ClassVar[str] = "email"
    description: ClassVar[str] = "Email: mbox files, maildir folders, .eml files and folders of .eml files"
    record_kinds: ClassVar[tuple[str, ...]] = (MESSAGE,)
    traits: ClassVar[SourceTraits] = SourceTraits(
        default_tier=HIGH, medium=MAIL, correspondence=True, party_context="e-mail header"
    )

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            if path.is_dir():
                return _looks_like_mail_folder(path)
            return looks_like_mbox(head) or looks_like_message(head)
        except Exception:  # detection must never raise
            return False

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        try:
            if path.is_dir():
                yield from parse_folder(path)
                return
            if not path.is_file():
                yield ParseIssue("file", "not a file or folder")
                return
            head = _sniff_file(path)
            if looks_like_mbox(head) or _strip_preamble(head).startswith(b"From "):
                yield from parse_mbox(path)
            else:
                yield from parse_message_file(path, "message 1", None)
        except OSError as exc:
            yield ParseIssue("file", f"unreadable ({type(exc).__name__})")
