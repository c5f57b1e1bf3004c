"""Telegram Desktop JSON exports (``result.json``): one ``chat_message`` per message.

Both shapes are read: a single chat (``{"name", "type", "id", "messages": [...]}``)
and the full account export (``{"chats": {"list": [...]}, "left_chats": ...}``).
Small files go through ``json.load``; larger ones are streamed chat by chat and
message by message so a multi-gigabyte export never sits in memory at once.
Both paths feed the same record builder.

Service messages (joins, pins, calls, topic creation) are skipped: they carry
no text of their own and would drown the conversation. ``text`` may be a
string or a list of strings and entity objects; it is flattened, and link
entities also land in ``links``. ``date_unixtime`` is preferred; the older
zone-less ``date`` is read in ``TWIN_TELEGRAM_TZ`` (default UTC).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar
from zoneinfo import ZoneInfo

from twin_assets.connectors.base import CHAT, Connector, SourceTraits
from twin_assets.connectors.toolkit import Zone, configured_zone, head_text
from twin_assets.records import CHAT_MESSAGE, ParseIssue, Party, Record
from twin_assets.settings import get_settings
from twin_assets.tiers import HIGH

ENV_TZ = "TWIN_TELEGRAM_TZ"
# Above this, stream instead of json.load (which needs several times the file size in memory).
STREAM_THRESHOLD = 64 * 1024 * 1024
CHUNK_CHARS = 1024 * 1024
MAX_MESSAGE_CHARS = 16 * 1024 * 1024
# How much text before a "messages" key is kept to find the chat's name/type/id.
HEADER_TAIL_CHARS = 256 * 1024

MESSAGES_KEY_RE = re.compile(r'"messages"\s*:\s*\[')
STRUCT_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]]', re.S)
WHITESPACE_COMMA = " \t\r\n,"
FULL_EXPORT_RE = re.compile(r'"personal_information"\s*:|"chats"\s*:\s*\{\s*"(about|list)"')
CHAT_TYPE_RE = re.compile(
    r'"type"\s*:\s*"(personal_chat|bot_chat|private_group|private_supergroup|public_supergroup'
    r'|private_channel|public_channel|saved_messages|replies|verification_codes)"'
)
MESSAGE_TYPE_RE = re.compile(r'"type"\s*:\s*"(message|service)"')


# --------------------------------------------------------------------------- message → record


def flatten_text(value: Any) -> tuple[str, list[str]]:
    """Plain text and linked URLs from Telegram's string-or-entity-list ``text``."""
    if isinstance(value, str):
        return value, []
    if not isinstance(value, list):
        return "", []
    parts: list[str] = []
    links: list[str] = []
    for item in value:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict):
            text = item.get("text")
            if isinstance(text, str):
                parts.append(text)
            href = item.get("href")
            if isinstance(href, str):
                links.append(href)
            elif item.get("type") == "link" and isinstance(text, str):
                links.append(text)
    return "".join(parts), links


def message_time(msg: dict[str, Any], zone: ZoneInfo, zone_name: str) -> tuple[datetime, str | None] | None:
    unix = msg.get("date_unixtime")
    if isinstance(unix, str | int) and str(unix).strip().isdigit():
        try:
            return datetime.fromtimestamp(int(unix), UTC), None
        except (OverflowError, OSError, ValueError):
            pass
    date = msg.get("date")
    if isinstance(date, str):
        try:
            parsed = datetime.fromisoformat(date.strip())
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=zone), zone_name
        return parsed, None
    return None


def chat_key(header: dict[str, Any]) -> str:
    chat_id = header.get("id")
    if isinstance(chat_id, int | str) and str(chat_id).strip():
        return str(chat_id)
    # Saved messages and some old exports have no id; the name is the next best stable key.
    name = n if isinstance(n := header.get("name"), str) else ""
    return "name:" + hashlib.sha256(name.encode()).hexdigest()[:12]


def message_record(msg: Any, header: dict[str, Any], zone: ZoneInfo, zone_name: str) -> Record | str | None:
    """A record, None for a skipped service message, or the reason (our words) it is unusable."""
    if not isinstance(msg, dict):
        return "message is not an object"
    if msg.get("type") == "service":
        return None
    msg_id = msg.get("id")
    if not isinstance(msg_id, int | str) or isinstance(msg_id, bool) or not str(msg_id).strip():
        return "message id missing"
    when = message_time(msg, zone, zone_name)
    if when is None:
        return "date missing or unparseable"
    text, links = flatten_text(msg.get("text"))
    if not text and isinstance(msg.get("text_entities"), list):
        text, links = flatten_text(msg["text_entities"])
    key = chat_key(header)
    sender = msg.get("from") if isinstance(msg.get("from"), str) else None
    sender_id = msg.get("from_id")
    parties = []
    if sender or sender_id is not None:
        parties.append(Party(role="from", name=sender, handle=str(sender_id) if sender_id is not None else None))
    reply_to = msg.get("reply_to_message_id")
    reply_ok = isinstance(reply_to, int | str) and not isinstance(reply_to, bool)
    file_value = msg.get("file")
    file_name = None
    if isinstance(file_value, str) and not file_value.startswith("("):
        file_name = file_value.replace("\\", "/").rsplit("/", 1)[-1]  # name only, not the export path
    attributes: dict[str, Any] = {
        "chat": header.get("name") if isinstance(header.get("name"), str) else None,
        "chat_id": key,
        "chat_type": header.get("type") if isinstance(header.get("type"), str) else None,
        "reply_to": str(reply_to) if reply_ok else None,
        "media_type": msg.get("media_type") if isinstance(msg.get("media_type"), str) else None,
        "file": file_name,
        "photo": bool(msg.get("photo")),
        "forwarded_from": msg.get("forwarded_from") if isinstance(msg.get("forwarded_from"), str) else None,
        "edited": bool(msg.get("edited") or msg.get("edited_unixtime")),
    }
    return Record(
        source="telegram",
        external_id=f"{key}/{msg_id}",
        kind=CHAT_MESSAGE,
        body=text,
        event_time=when[0],
        original_tz=when[1],
        parties=parties,
        attributes=attributes,
        links=list(dict.fromkeys(links)),
        thread_id=f"{key}/{reply_to}" if reply_ok else None,
    )


# --------------------------------------------------------------------------- reading


Event = tuple[str, Any]  # ("chat", header) | ("message", obj) | ("issue", reason)


def events_from_document(data: Any) -> Iterator[Event]:
    """Events from an already-loaded export (either shape)."""
    if not isinstance(data, dict):
        yield ("issue", "not a Telegram Desktop export (top level is not an object)")
        return
    chats: list[Any] = []
    if isinstance(data.get("chats"), dict) or isinstance(data.get("left_chats"), dict):
        for section in ("chats", "left_chats"):
            block = data.get(section)
            if isinstance(block, dict) and isinstance(block.get("list"), list):
                chats.extend(block["list"])
    elif isinstance(data.get("messages"), list):
        chats = [data]
    else:
        yield ("issue", "not a Telegram Desktop export (no chats or messages)")
        return
    for chat in chats:
        if not isinstance(chat, dict) or not isinstance(chat.get("messages"), list):
            yield ("issue", "chat entry without a messages list")
            continue
        yield ("chat", {k: v for k, v in chat.items() if k != "messages"})
        for msg in chat["messages"]:
            yield ("message", msg)


def _chat_header(region: str) -> dict[str, Any]:
    """The chat object's scalar keys written before its "messages" key.

    The innermost unclosed ``{`` in ``region`` opens the chat object; its text
    up to the key, closed with an empty messages list, is valid JSON.
    """
    stack: list[int] = []
    for m in STRUCT_TOKEN_RE.finditer(region):
        tok = m.group(0)
        if tok in ("{", "["):
            stack.append(m.start() if tok == "{" else -1)
        elif tok in ("}", "]") and stack:
            stack.pop()
    starts = [s for s in stack if s >= 0]
    if not starts:
        return {}
    text = region[starts[-1] :].rstrip()
    try:
        header = json.loads(text + ('"messages": []}' if text.endswith(("{", ",")) else ', "messages": []}'))
    except (ValueError, RecursionError):
        return {}
    header.pop("messages", None)
    return header if isinstance(header, dict) else {}


def events_from_stream(fh: IO[str]) -> Iterator[Event]:
    """Events read incrementally: find each "messages" array, decode its elements one by one."""
    decoder = json.JSONDecoder()
    buf = ""
    pos = 0
    region_start = 0
    eof = False
    found_any = False

    def fill() -> bool:
        nonlocal buf, eof
        data = fh.read(CHUNK_CHARS)
        if not data:
            eof = True
            return False
        buf += data
        return True

    fill()
    while True:
        m = MESSAGES_KEY_RE.search(buf, pos)
        if m is None:
            if eof:
                break
            keep = max(region_start, len(buf) - HEADER_TAIL_CHARS)
            buf, region_start = buf[keep:], region_start - keep if region_start > keep else 0
            pos = max(region_start, len(buf) - 64)  # the key may straddle two chunks
            fill()
            continue
        found_any = True
        yield ("chat", _chat_header(buf[region_start : m.start()]))
        pos = m.end()
        while True:
            while pos < len(buf) and buf[pos] in WHITESPACE_COMMA:
                pos += 1
            if pos >= len(buf):
                buf, pos = buf[pos:], 0
                if not fill():
                    yield ("issue", "file ends inside a messages list (truncated)")
                    return
                continue
            if buf[pos] == "]":
                pos += 1
                break
            try:
                obj, end = decoder.raw_decode(buf, pos)
                if end >= len(buf) and not eof and not isinstance(obj, dict | list):
                    raise json.JSONDecodeError("may continue", buf, end)  # a number cut by the chunk
            except json.JSONDecodeError:
                if len(buf) - pos > MAX_MESSAGE_CHARS:
                    yield ("issue", "a message larger than 16 MiB or invalid JSON; rest of file skipped")
                    return
                buf, pos = buf[pos:], 0
                if not fill():
                    yield ("issue", "invalid or truncated message JSON at the end of the file")
                    return
                continue
            except RecursionError:
                yield ("issue", "message JSON nested too deeply; rest of file skipped")
                return
            yield ("message", obj)
            pos = end
            if pos > CHUNK_CHARS:
                buf, pos = buf[pos:], 0
        region_start = pos
    if not found_any:
        yield ("issue", "not a Telegram Desktop export (no messages list)")


def resolve_zone() -> Zone:
    """The zone the export's local times are in (the owner's setting), UTC when unset or unknown."""
    return configured_zone(get_settings().telegram.tz, ENV_TZ)


def records_from_events(events: Iterator[Event]) -> Iterator[Record | ParseIssue]:
    zone, zone_name, problem = resolve_zone()
    if problem:
        yield ParseIssue("config", problem)
    header: dict[str, Any] = {}
    chat_index = 0
    msg_index = 0
    for kind, value in events:
        if kind == "issue":
            yield ParseIssue("file" if chat_index == 0 else f"chat {chat_index}", value)
        elif kind == "chat":
            header, chat_index, msg_index = value, chat_index + 1, 0
        else:
            msg_index += 1
            try:
                result = message_record(value, header, zone, zone_name)
            except (TypeError, ValueError, AttributeError, OverflowError) as exc:
                yield ParseIssue(f"chat {chat_index} message {msg_index}", f"malformed: {type(exc).__name__}")
                continue
            if isinstance(result, str):
                yield ParseIssue(f"chat {chat_index} message {msg_index}", result)
            elif result is not None:
                yield result


class TelegramConnector(Connector):
    """Messages from a Telegram Desktop JSON export."""

    kind: ClassVar[str] = "telegram"
    description: ClassVar[str] = "Telegram Desktop JSON exports (result.json: one chat or the whole account)"
    record_kinds: ClassVar[tuple[str, ...]] = (CHAT_MESSAGE,)
    traits: ClassVar[SourceTraits] = SourceTraits(
        default_tier=HIGH,
        medium=CHAT,
        correspondence=True,
        handle_namespace="telegram",
        party_context="chat author name",
    )

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            text = head_text(head).lstrip("\ufeff \t\r\n")
            if not text.startswith("{"):
                return False
            if FULL_EXPORT_RE.search(text):
                return True
            if not MESSAGES_KEY_RE.search(text):
                return False
            return bool(
                CHAT_TYPE_RE.search(text)
                or (MESSAGE_TYPE_RE.search(text) and re.search(r'"date"\s*:\s*"\d{4}-\d{2}-\d{2}T', text))
            )
        except Exception:
            return False

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        try:
            size = path.stat().st_size
            raw = path.open("rb")
        except OSError as exc:
            yield ParseIssue("file", f"unreadable: {type(exc).__name__}")
            return
        with raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
            if size <= STREAM_THRESHOLD:
                try:
                    data = json.load(text)
                except json.JSONDecodeError as exc:
                    yield ParseIssue("file", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
                    return
                except RecursionError:
                    yield ParseIssue("file", "JSON nested too deeply")
                    return
                except (OSError, ValueError) as exc:
                    yield ParseIssue("file", f"unreadable: {type(exc).__name__}")
                    return
                events = events_from_document(data)
            else:
                events = events_from_stream(text)
            try:
                yield from records_from_events(events)
            except OSError as exc:
                yield ParseIssue("file", f"reading stopped: {type(exc).__name__}")
