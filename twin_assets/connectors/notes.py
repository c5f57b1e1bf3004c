"""Markdown notes: an Obsidian vault (or any folder of .md files) or a single .md file.

One ``note`` record per Markdown file, identified by its vault-relative path.
Front-matter is read with python-frontmatter; a note whose front-matter is not
valid YAML is still kept (as its raw text) next to a ParseIssue, because the
note itself is the user's content and a template placeholder in its header
should not lose it. Links and tags follow Obsidian's rules: wikilinks and embeds
(``[[Target#heading|alias]]`` -> ``Target``), links to local ``.md`` files, and
``#tags`` from front-matter and text, never from code.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import unquote

import frontmatter
from dateutil import parser as dateparser

from twin_assets.connectors.base import NOTES, Connector, SourceTraits
from twin_assets.connectors.toolkit import bom_encoding, decode, leaves, shown_path, zone_named
from twin_assets.records import NOTE, ParseIssue, Party, Record
from twin_assets.tiers import MEDIUM

SOURCE = "notes"
NOTE_SUFFIXES = (".md", ".markdown")
MAX_NOTE_BYTES = 20 * 1024 * 1024
# PyYAML is pure Python here: a multi-megabyte header would stall the import.
MAX_FRONT_MATTER_CHARS = 1 << 20
# Bounds for turning front-matter into JSON: YAML aliases can expand exponentially.
_MAX_FM_NODES = 10_000
_MAX_FM_DEPTH = 32
# How much of a folder detection may look at.
_SNIFF_ENTRIES = 500
_SNIFF_DEPTH = 3
# Inline-code matching is quadratic on a line full of unmatched backticks.
_MAX_INLINE_CODE_LINE = 4096

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_WIKILINK = re.compile(r"!?\[\[([^\[\]\n]{1,500}?)\]\]")
# Brackets and parentheses are excluded inside the parts so every scan stops at the
# next one: linear time even on a line of "[a](" repeated a million times.
_MD_LINK = re.compile(
    r"\[[^\[\]\n]{0,500}\]\(\s*(<[^<>\n]{1,2000}>|[^()\[\]<>\s]{1,2000})(?:\s+\"[^\"\n]{0,500}\")?\s*\)"
)
_COMMENT_DELIMITERS = (("%%", "%%"), ("<!--", "-->"))
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Obsidian: '#' after whitespace or line start, then letters, digits, _ - /; not only digits.
_TAG = re.compile(r"(?<!\S)#([\w/-]+)")
_ATX_H1 = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_DAILY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[ _.T-])")
_BRACKET_ZONE = re.compile(r"^(.*?)\[([A-Za-z0-9_+\-/]+)\]\s*$")


class NotesConnector(Connector):
    """Obsidian vaults, folders of Markdown notes, or one Markdown file."""

    kind: ClassVar[str] = "notes"
    description: ClassVar[str] = "Markdown notes: an Obsidian vault or folder of .md files, or one .md file"
    record_kinds: ClassVar[tuple[str, ...]] = (NOTE,)
    traits: ClassVar[SourceTraits] = SourceTraits(default_tier=MEDIUM, medium=NOTES)

    def recognizes(self, path: Path, head: bytes) -> bool:
        try:
            if path.is_dir():
                return _looks_like_vault(path)
            if not path.name.lower().endswith(NOTE_SUFFIXES):
                return False
            # Markdown is text: a NUL byte means binary, unless it is UTF-16/32.
            return b"\x00" not in head[:8192] or bom_encoding(head) is not None
        except Exception:  # detection must never raise
            return False

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        try:
            if path.is_dir():
                root = path.resolve()
                walk = _VaultWalk(root)
                files: Iterator[Path] = walk.notes()
            elif path.is_file():
                root = path.parent
                walk = None
                files = iter([path])
            else:
                yield ParseIssue(where="file", reason="not a file or folder")
                return
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop above the vault
            yield ParseIssue(where="file", reason=f"unreadable: {type(exc).__name__}")
            return
        number = 0
        for file in files:
            number += 1
            rel = _relative_posix(file, root)
            yield from _read_note(file, rel, f"note {number}")
        if walk is not None:
            if number == 0:
                yield ParseIssue(where="file", reason="no Markdown note found")
            if walk.unreadable_dirs:
                yield ParseIssue(where="vault", reason=f"{walk.unreadable_dirs} folder(s) could not be read")
            if walk.outside_links:
                yield ParseIssue(
                    where="vault",
                    reason=f"{walk.outside_links} symbolic link(s) leaving the vault not followed",
                )


def _relative_posix(file: Path, root: Path) -> str:
    try:
        return shown_path(PurePosixPath(*file.relative_to(root).parts).as_posix())
    except ValueError:
        return shown_path(file.name)


# --- the vault -------------------------------------------------------------------------


def _hidden(name: str) -> bool:
    # Covers .obsidian (settings, plugins), .trash (Obsidian's bin), .git and friends.
    return name.startswith(".")


def _looks_like_vault(root: Path) -> bool:
    """An Obsidian vault, or a folder whose files are mostly Markdown."""
    if (root / ".obsidian").is_dir():
        return True
    markdown = other = 0
    level = [root]
    for _depth in range(_SNIFF_DEPTH):
        next_level: list[Path] = []
        for folder in level:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if _hidden(entry.name) or entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    next_level.append(Path(entry.path))
                elif entry.name.lower().endswith(NOTE_SUFFIXES):
                    markdown += 1
                else:
                    other += 1
                if markdown + other >= _SNIFF_ENTRIES:
                    return markdown * 2 >= markdown + other
        level = next_level
    return markdown > 0 and markdown * 2 >= markdown + other


@dataclass
class _VaultWalk:
    """Markdown files under ``root`` in a stable order, without following symlinks.

    Symlinks are never followed: one leaving the vault must not import outside
    files, and one inside it only leads to notes the walk reaches anyway (so
    loops cannot happen). Visited folders are still tracked by inode as a guard.
    """

    root: Path
    outside_links: int = 0
    unreadable_dirs: int = 0
    _visited: set[tuple[int, int]] = field(default_factory=set)

    def notes(self) -> Iterator[Path]:
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                info = folder.stat()
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                self.unreadable_dirs += 1
                continue
            key = (info.st_dev, info.st_ino)
            if key in self._visited:
                continue
            self._visited.add(key)
            subfolders: list[Path] = []
            for entry in entries:
                if _hidden(entry.name):
                    continue
                try:
                    if entry.is_symlink():
                        self._count_link(Path(entry.path))
                    elif entry.is_dir(follow_symlinks=False):
                        subfolders.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False) and entry.name.lower().endswith(NOTE_SUFFIXES):
                        yield Path(entry.path)
                except OSError:
                    continue
            stack.extend(reversed(subfolders))

    def _count_link(self, link: Path) -> None:
        if leaves(link, self.root):  # outside, broken, or a loop
            self.outside_links += 1


# --- one note --------------------------------------------------------------------------


def _read_note(file: Path, rel: str, where: str) -> Iterator[Record | ParseIssue]:
    try:
        size = file.stat().st_size
        if size > MAX_NOTE_BYTES:
            yield ParseIssue(where=where, reason="larger than 20 MiB, skipped")
            return
        with file.open("rb") as fh:
            raw = fh.read(MAX_NOTE_BYTES + 1)
    except OSError as exc:
        yield ParseIssue(where=where, reason=f"unreadable: {type(exc).__name__}")
        return
    if len(raw) > MAX_NOTE_BYTES:
        yield ParseIssue(where=where, reason="larger than 20 MiB, skipped")
        return
    try:
        record, problems = note_record(decode_text(raw), rel)
    except Exception as exc:  # a bug on one note must not stop the vault
        yield ParseIssue(where=where, reason=f"note could not be interpreted: {type(exc).__name__}")
        return
    for problem in problems:
        yield ParseIssue(where=where, reason=problem)
    yield record


def decode_text(raw: bytes) -> str:
    """BOM, then UTF-8, then charset-normalizer's guess (see ``toolkit.decode``)."""
    return decode(raw).text


def note_record(text: str, rel_path: str) -> tuple[Record, list[str]]:
    """The record for one note's text, and problems in our own words (never quoting it)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    problems: list[str] = []
    meta, content, error = split_front_matter(text)
    front: dict[str, Any] = {}
    if error is None:
        try:
            front = json_safe(meta)
        except _TooBig:
            error = "front-matter too large or too deeply nested"
    if error is not None:
        problems.append(error)
        meta, content = {}, text
    body = content.strip()
    stem = PurePosixPath(rel_path).stem
    scan = code_free(body)

    tags = _dedupe([*front_matter_list(meta, "tags", "tag"), *inline_tags(scan)])
    aliases = _dedupe(front_matter_list(meta, "aliases", "alias", split_spaces=False))
    links = _dedupe([*link_targets(scan), *(f"#{t}" for t in tags)])
    event_time, original_tz = _note_time(meta, stem)
    author = _lookup(meta, "author")
    parties = [Party(role="author", name=author.strip())] if isinstance(author, str) and author.strip() else []

    record = Record(
        source=SOURCE,
        external_id=rel_path,
        kind=NOTE,
        title=_title(meta, body, stem),
        body=body,
        event_time=event_time,
        original_tz=original_tz,
        parties=parties,
        attributes={
            "tags": tags,
            "aliases": aliases,
            "front_matter": front,
            "path": rel_path,
            "published": _truthy(_lookup(meta, "publish")) or _truthy(_lookup(meta, "published")),
        },
        links=links,
    )
    return record, problems


def split_front_matter(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(metadata, content, problem): a problem means the note has front-matter we cannot read."""
    handler = frontmatter.detect_format(text, frontmatter.handlers)
    if handler is None:
        return {}, text, None
    try:
        raw, content = handler.split(text)
    except ValueError:
        # An opening "---" without a closing one is a horizontal rule, not front-matter.
        return {}, text, None
    if len(raw) > MAX_FRONT_MATTER_CHARS:
        return {}, text, "front-matter over 1 MiB not parsed"
    try:
        data = handler.load(raw)
    except Exception as exc:  # yaml's messages quote the text: only the type is reported
        return {}, text, f"invalid front-matter: {type(exc).__name__}"
    if data is None:
        return {}, content, None
    if not isinstance(data, dict):
        return {}, text, "invalid front-matter: not a mapping"
    return data, content, None


class _TooBig(Exception):
    pass


def json_safe(value: Any) -> Any:
    """Front-matter as JSON-serialisable data: dates as ISO strings, keys as strings."""
    budget = [_MAX_FM_NODES]

    def convert(item: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or depth > _MAX_FM_DEPTH:
            raise _TooBig
        if item is None or isinstance(item, bool | int | str):
            return item
        if isinstance(item, float):
            return item if math.isfinite(item) else str(item)
        if isinstance(item, datetime | date | time):
            return item.isoformat()
        if isinstance(item, dict):
            return {_key(k): convert(v, depth + 1) for k, v in item.items()}
        if isinstance(item, list | tuple | set | frozenset):
            return [convert(v, depth + 1) for v in item]
        if isinstance(item, bytes | bytearray):
            return None  # YAML !!binary: not text, not kept
        return str(item)

    return convert(value, 0)


def _key(key: Any) -> str:
    if isinstance(key, datetime | date | time):
        return key.isoformat()
    return str(key)


def _lookup(meta: dict[str, Any], name: str) -> Any:
    """A front-matter value by case-insensitive key."""
    if name in meta:
        return meta[name]
    for key, value in meta.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def front_matter_list(meta: dict[str, Any], *names: str, split_spaces: bool = True) -> list[str]:
    """A list-or-string front-matter field (``tags: a, b`` / ``tags: [a, b]``) as clean strings."""
    out: list[str] = []
    for name in names:
        value = _lookup(meta, name)
        if value is None:
            continue
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if item is None or isinstance(item, bool | dict | list):
                continue
            text = str(item)
            parts = re.split(r"[,\s]+" if split_spaces else r",", text)
            for part in parts:
                part = part.strip()
                if split_spaces:
                    part = part.lstrip("#")
                if part:
                    out.append(part)
    return out


def code_free(markdown: str) -> str:
    """The text with fenced code, inline code and comments blanked: no links or tags come from code."""
    lines: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence is not None:
            closing = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
            if closing and not line.strip().strip(fence[0]):
                fence = None
            lines.append("")
            continue
        if match:
            fence = match.group(1)
            lines.append("")
            continue
        if "`" in line and len(line) <= _MAX_INLINE_CODE_LINE:
            line = _INLINE_CODE.sub(" ", line)
        lines.append(line)
    return _strip_comments("\n".join(lines))


def _strip_comments(text: str) -> str:
    """Blank Obsidian ``%% %%`` and HTML comments (a regex would be quadratic when unclosed)."""
    for opening, closing in _COMMENT_DELIMITERS:
        if opening not in text:
            continue
        parts: list[str] = []
        position = 0
        while True:
            start = text.find(opening, position)
            if start < 0:
                break
            end = text.find(closing, start + len(opening))
            if end < 0:
                break  # unclosed: no later opening can be closed either
            parts.append(text[position:start])
            parts.append(" ")
            position = end + len(closing)
        parts.append(text[position:])
        text = "".join(parts)
    return text


def link_targets(scan: str) -> list[str]:
    """Wikilink/embed targets and local Markdown link targets, in order of appearance."""
    found: list[tuple[int, str]] = []
    for match in _WIKILINK.finditer(scan):
        target = wikilink_target(match.group(1))
        if target:
            found.append((match.start(), target))
    for match in _MD_LINK.finditer(scan):
        target = _markdown_target(match.group(1))
        if target:
            found.append((match.start(), target))
    return [target for _pos, target in sorted(found, key=lambda pair: pair[0])]


def wikilink_target(inner: str) -> str:
    """``Target#heading|alias`` -> ``Target`` (Obsidian trims spaces; ``\\|`` is a pipe in tables)."""
    target = inner.split("|", 1)[0].rstrip("\\")
    target = target.split("#", 1)[0].strip()
    if target.lower().endswith(".md"):
        target = target[:-3]
    return target


def _markdown_target(destination: str) -> str:
    destination = destination.strip()
    if destination.startswith("<") and destination.endswith(">"):
        destination = destination[1:-1]
    if _SCHEME.match(destination):
        return ""  # http:, mailto:, obsidian: ... are not vault notes
    path = unquote(destination.split("#", 1)[0].split("?", 1)[0]).strip()
    if not path.lower().endswith(".md"):
        return ""
    path = path[:-3]
    while path.startswith("./"):
        path = path[2:]
    return path


def inline_tags(scan: str) -> list[str]:
    tags = []
    for match in _TAG.finditer(scan):
        tag = match.group(1).rstrip("/")
        if tag and not all(ch.isdigit() or ch in "/-_" for ch in tag):
            tags.append(tag)
    return tags


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in {"true", "yes"})


def _title(meta: dict[str, Any], body: str, stem: str) -> str:
    title = _lookup(meta, "title")
    if isinstance(title, str | int | float) and not isinstance(title, bool) and str(title).strip():
        return str(title).strip()
    previous = ""
    fence: str | None = None
    for line in body.split("\n"):
        match = _FENCE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and not line.strip().strip(fence[0]):
                fence = None
            continue
        if match:
            fence = match.group(1)
            previous = ""
            continue
        heading = _ATX_H1.match(line)
        if heading:
            return heading.group(1).strip()
        if previous.strip() and _SETEXT_H1.match(line):
            return previous.strip()
        previous = line
    return stem


def _note_time(meta: dict[str, Any], stem: str) -> tuple[datetime | None, str | None]:
    for name in ("date", "created"):
        found = to_datetime(_lookup(meta, name))
        if found[0] is not None:
            return found
    match = _DAILY.match(stem)
    if match:
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None, None
        return datetime(day.year, day.month, day.day, tzinfo=UTC), None
    return None, None


def to_datetime(value: Any) -> tuple[datetime | None, str | None]:
    """A front-matter date as (aware UTC datetime, zone name); naive values are taken as UTC.

    Free-text dates are accepted only when complete: dateutil fills missing parts
    from a default, which would make "March 5" change meaning from year to year.
    """
    zone_name = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        bracket = _BRACKET_ZONE.match(text)
        if bracket:
            text, zone_name = bracket.group(1).strip(), bracket.group(2)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                first = dateparser.parse(text, default=datetime(2000, 1, 1))
                second = dateparser.parse(text, default=datetime(2001, 2, 2, 1, 1))
            except (ValueError, OverflowError):
                return None, None
            if first.date() != second.date():
                return None, None
            parsed = first
        if zone_name:
            zone = zone_named(zone_name)
            if zone is None:  # unknown or malformed zone key
                zone_name = None
            else:
                parsed = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
    else:
        return None, None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC), zone_name
    except (OverflowError, ValueError):
        return None, None
