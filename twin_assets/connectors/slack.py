"""Slack workspace exports: one ``chat_message`` record per message.

An export is a folder (or a .zip of one) holding ``users.json``,
``channels.json`` / ``groups.json`` / ``dms.json`` / ``mpims.json`` and one
folder per conversation with a ``YYYY-MM-DD.json`` file per day. Zips are read
member by member without extracting; members that expand suspiciously (ratio
above 100, or beyond the total cap) are refused as possible zip bombs.

Join/leave and similar housekeeping subtypes are skipped; bot messages are kept
and flagged with ``attributes["is_bot"]``.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from twin_assets.connectors.base import CHAT, Connector, SourceTraits
from twin_assets.connectors.toolkit import ExportWalk, ZipUnreadable, is_file_member, open_zip
from twin_assets.records import CHAT_MESSAGE, ParseIssue, Party, Record
from twin_assets.tiers import HIGH

MAX_TOTAL_UNCOMPRESSED = 2 * 1024**3
MAX_MEMBER_BYTES = 256 * 1024**2
MAX_RATIO = 100
# Tiny members have meaningless ratios ("[]" in a 2-byte deflate block).
RATIO_MIN_BYTES = 64 * 1024

METADATA_FILES = ("users.json", "channels.json", "groups.json", "dms.json", "mpims.json")
DAY_FILE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
NOISE_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "group_join",
        "group_leave",
        "bot_add",
        "bot_remove",
        "channel_archive",
        "channel_unarchive",
        "group_archive",
        "group_unarchive",
    }
)
TOKEN_RE = re.compile(r"<([^<>\n]{1,2000})>")


class ExportError(Exception):
    """A problem with the export as a whole; the message is our own words."""


# --------------------------------------------------------------------------- export access


class ExportFiles:
    """Read-only view of an export's files by relative posix path, from a folder or a zip."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.refused: list[tuple[int, str]] = []  # (member index, reason)
        self.files: list[str] = []
        self.refused_links: list[ParseIssue] = []  # symbolic links leaving a folder export
        if path.is_dir():
            self._load_folder()
        else:
            self._load_zip()

    def _load_folder(self) -> None:
        walk = ExportWalk(self.path)
        entries = sorted(p for p in self.path.iterdir() if walk.allows(p))
        names = [p.name for p in entries if p.is_file() and p.name in METADATA_FILES]
        for sub in (p for p in entries if p.is_dir()):
            days = sorted(f for f in sub.iterdir() if DAY_FILE_RE.match(f.name) and walk.allows(f))
            names += [f"{sub.name}/{f.name}" for f in days if f.is_file()]
        self.files = sorted(names)
        self.refused_links = walk.issues()

    def _load_zip(self) -> None:
        try:
            self.zip = open_zip(self.path)
        except ZipUnreadable as exc:
            raise ExportError(str(exc)) from None
        infos = self.zip.infolist()
        if sum(i.file_size for i in infos) > MAX_TOTAL_UNCOMPRESSED:
            raise ExportError("zip expands beyond the 2 GiB cap; refused as a possible zip bomb")
        root = _zip_root(i.filename for i in infos)
        for index, info in enumerate(infos, start=1):
            if not is_file_member(info) or not info.filename.startswith(root):
                continue
            rel = info.filename[len(root) :]
            parts = PurePosixPath(rel).parts
            wanted = (len(parts) == 1 and parts[0] in METADATA_FILES) or (
                len(parts) == 2 and DAY_FILE_RE.match(parts[1])
            )
            if not wanted:
                continue
            if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                self.refused.append((index, f"compression ratio above {MAX_RATIO}; refused as a possible zip bomb"))
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                self.refused.append((index, "member larger than the 256 MiB cap"))
                continue
            self.members[rel] = info
        self.files = sorted(self.members)

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            with self.zip.open(self.members[name]) as fh:
                data = fh.read(MAX_MEMBER_BYTES + 1)
        else:
            target = self.path / name
            if target.stat().st_size > MAX_MEMBER_BYTES:
                raise ExportError("file larger than the 256 MiB cap")
            data = target.read_bytes()
        if len(data) > MAX_MEMBER_BYTES:
            raise ExportError("file larger than the 256 MiB cap")
        return data

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _zip_root(names: Iterator[str]) -> str:
    """The folder inside the zip that holds the metadata files ("" when at the top)."""
    roots = [n[: -len(PurePosixPath(n).name)] for n in names if PurePosixPath(n).name in METADATA_FILES]
    return min(roots, key=len) if roots else ""


def load_json(data: bytes) -> Any:
    """JSON from bytes; raises ValueError with a content-free message."""
    try:
        return json.loads(data.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_json(export: ExportFiles, name: str) -> tuple[Any, str | None]:
    """A file's JSON, or None and the reason (our words) it could not be read."""
    try:
        return load_json(export.read(name)), None
    except (ValueError, ExportError) as exc:
        return None, str(exc)  # our own messages, no content
    except Exception as exc:  # zlib, CRC, encryption, I/O: the type name says enough
        return None, f"unreadable: {type(exc).__name__}"


# --------------------------------------------------------------------------- directory data


@dataclass
class User:
    id: str
    name: str | None
    display: str | None
    email: str | None


@dataclass
class Conversation:
    folder: str
    id: str | None
    name: str
    is_dm: bool


@dataclass
class Directory:
    users: dict[str, User] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)  # by folder name


def parse_users(items: Any) -> dict[str, User]:
    users: dict[str, User] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        profile = p if isinstance(p := item.get("profile"), dict) else {}
        real = profile.get("real_name") or item.get("real_name") or None
        display = profile.get("display_name") or None
        users[item["id"]] = User(
            id=item["id"],
            name=real or display or item.get("name") or None,
            display=display or real or item.get("name") or None,
            email=profile.get("email") or None,
        )
    return users


def parse_conversations(kind: str, items: Any) -> list[Conversation]:
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        cid = item["id"]
        # DM folders are named by id; everything else by name.
        name = n if isinstance(n := item.get("name"), str) and kind != "dms.json" else cid
        found.append(Conversation(folder=name, id=cid, name=name, is_dm=kind in ("dms.json", "mpims.json")))
    return found


# --------------------------------------------------------------------------- messages


def parse_ts(ts: Any) -> datetime | None:
    """Slack's "seconds.micros" string as an aware datetime, exact to the microsecond."""
    if isinstance(ts, int | float):
        ts = f"{ts:.6f}"
    if not isinstance(ts, str):
        return None
    m = re.fullmatch(r"\s*(\d{1,12})(?:\.(\d{1,6}))?\s*", ts)
    if not m:
        return None
    try:
        base = datetime.fromtimestamp(int(m.group(1)), UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return base + timedelta(microseconds=int((m.group(2) or "0").ljust(6, "0")))


def render_text(text: str, directory: Directory) -> tuple[str, list[str], list[str]]:
    """Slack markup to plain text: the text, mentioned user ids, and linked URLs."""
    mentions: list[str] = []
    links: list[str] = []

    def replace(m: re.Match[str]) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            uid = target[1:]
            mentions.append(uid)
            user = directory.users.get(uid)
            return "@" + ((user.display if user else None) or label or uid)
        if target.startswith("#"):
            conv = next((c for c in directory.conversations.values() if c.id == target[1:]), None)
            return "#" + (label or (conv.name if conv else target[1:]))
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        links.append(html.unescape(target))
        return label or target

    plain = TOKEN_RE.sub(replace, text)
    return html.unescape(plain), mentions, links


def _author(msg: dict[str, Any], directory: Directory, is_bot: bool) -> Party | None:
    uid = msg.get("user") if isinstance(msg.get("user"), str) else None
    user = directory.users.get(uid) if uid else None
    embedded = p if isinstance(p := msg.get("user_profile"), dict) else {}
    if user is not None:
        return Party(role="from", name=user.name, handle=uid, email=user.email)
    if uid:
        name = embedded.get("real_name") or embedded.get("display_name") or embedded.get("name") or None
        return Party(role="from", name=name, handle=uid)
    if is_bot:
        bot_profile = p if isinstance(p := msg.get("bot_profile"), dict) else {}
        name = msg.get("username") or bot_profile.get("name") or None
        return Party(role="from", name=name, handle=msg.get("bot_id") or None)
    return None


def _attachment_text(msg: dict[str, Any]) -> str:
    parts = []
    for att in msg.get("attachments") or []:
        if isinstance(att, dict):
            text = att.get("text") or att.get("fallback") or att.get("title")
            if isinstance(text, str) and text.strip():
                parts.append(text.strip())
    return "\n".join(parts)


def message_record(msg: Any, conv: Conversation, directory: Directory) -> Record | str | None:
    """A record, None for housekeeping messages, or the reason (our words) it is unusable."""
    if not isinstance(msg, dict):
        return "message is not an object"
    subtype = msg.get("subtype") if isinstance(msg.get("subtype"), str) else None
    if subtype in NOISE_SUBTYPES:
        return None
    ts = msg.get("ts")
    when = parse_ts(ts)
    if when is None:
        return "ts missing or unparseable"
    raw_text = t if isinstance(t := msg.get("text"), str) else ""
    if not raw_text.strip():
        raw_text = _attachment_text(msg)
    body, mentioned, links = render_text(raw_text, directory)
    is_bot = subtype == "bot_message" or bool(msg.get("bot_id"))
    parties = []
    author = _author(msg, directory, is_bot)
    if author is not None:
        parties.append(author)
    for uid in dict.fromkeys(mentioned):
        user = directory.users.get(uid)
        parties.append(
            Party(role="mention", name=user.display if user else None, handle=uid, email=user.email if user else None)
        )
    files = [
        {"name": f.get("name") or f.get("title"), "mimetype": f.get("mimetype")}
        for f in ([msg["file"]] if isinstance(msg.get("file"), dict) else []) + list(msg.get("files") or [])
        if isinstance(f, dict)
    ]
    reactions = sum(
        int(r.get("count") or len(r.get("users") or [])) for r in msg.get("reactions") or [] if isinstance(r, dict)
    )
    thread_ts = msg.get("thread_ts")
    ts_text = ts if isinstance(ts, str) else f"{ts:.6f}"
    return Record(
        source="slack",
        external_id=f"{conv.id or conv.name}/{ts_text}",
        kind=CHAT_MESSAGE,
        title="",
        body=body,
        event_time=when,
        parties=parties,
        links=list(dict.fromkeys(links)),
        thread_id=thread_ts if isinstance(thread_ts, str) and thread_ts else None,
        attributes={
            "channel": conv.name,
            "channel_id": conv.id,
            "subtype": subtype,
            "reactions": reactions,
            "files": files,
            "is_dm": conv.is_dm,
            "is_bot": is_bot,
        },
    )


# --------------------------------------------------------------------------- connector


def _looks_like_export(names: list[str]) -> bool:
    has_meta = any(PurePosixPath(n).name in ("users.json", "channels.json") for n in names)
    has_day = any(len(PurePosixPath(n).parts) >= 2 and DAY_FILE_RE.match(PurePosixPath(n).name) for n in names)
    return has_meta and has_day


class SlackConnector(Connector):
    """Messages from a Slack workspace export (folder or zip)."""

    kind: ClassVar[str] = "slack"
    description: ClassVar[str] = "Slack workspace exports (folder or .zip with users.json and per-day JSON)"
    record_kinds: ClassVar[tuple[str, ...]] = (CHAT_MESSAGE,)
    traits: ClassVar[SourceTraits] = SourceTraits(
        default_tier=HIGH,
        medium=CHAT,
        correspondence=True,
        handle_namespace="slack",
        person_handle_prefixes=("U", "W"),  # user ids; B… is a bot, whose messages name no person
        party_context="Slack profile",
    )

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            if path.is_dir():
                if not any((path / n).is_file() for n in ("users.json", "channels.json")):
                    return False
                for i, sub in enumerate(p for p in path.iterdir() if p.is_dir()):
                    if i > 200:
                        break
                    if any(DAY_FILE_RE.match(f.name) for f in sub.iterdir()):
                        return True
                return False
            if not head.startswith(b"PK\x03\x04"):
                return False
            with zipfile.ZipFile(path) as zf:
                return _looks_like_export(zf.namelist())
        except Exception:
            return False

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        try:
            export = ExportFiles(path)
        except ExportError as exc:
            yield ParseIssue("file", str(exc))
            return
        except OSError as exc:
            yield ParseIssue("file", f"unreadable: {type(exc).__name__}")
            return
        try:
            for index, reason in export.refused:
                yield ParseIssue(f"zip member {index}", reason)
            yield from export.refused_links
            yield from self._parse_export(export)
        finally:
            export.close()

    def _parse_export(self, export: ExportFiles) -> Iterator[Record | ParseIssue]:
        directory = Directory()
        for meta in METADATA_FILES:
            if meta not in export.files:
                continue
            data, problem = read_json(export, meta)
            if problem:
                yield ParseIssue(meta, problem)
                continue
            if meta == "users.json":
                directory.users = parse_users(data)
            else:
                for conv in parse_conversations(meta, data):
                    directory.conversations.setdefault(conv.folder, conv)
        by_folder: dict[str, list[str]] = {}
        for name in export.files:
            parts = PurePosixPath(name).parts
            if len(parts) == 2:
                by_folder.setdefault(parts[0], []).append(name)
        if not by_folder:
            yield ParseIssue("file", "no conversation folders with daily JSON files")
            return
        for ci, folder in enumerate(sorted(by_folder), start=1):
            conv = directory.conversations.get(folder) or Conversation(folder, None, folder, False)
            for di, name in enumerate(sorted(by_folder[folder]), start=1):
                where = f"channel {ci} day {di}"
                messages, problem = read_json(export, name)
                if problem:
                    yield ParseIssue(where, problem)
                    continue
                if not isinstance(messages, list):
                    yield ParseIssue(where, "day file is not a JSON array")
                    continue
                for mi, msg in enumerate(messages, start=1):
                    try:
                        result = message_record(msg, conv, directory)
                    except (TypeError, ValueError, AttributeError) as exc:
                        yield ParseIssue(f"{where} message {mi}", f"malformed message: {type(exc).__name__}")
                        continue
                    if isinstance(result, str):
                        yield ParseIssue(f"{where} message {mi}", result)
                    elif result is not None:
                        yield result
