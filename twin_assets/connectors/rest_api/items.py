"""One JSON item as a ``Record``: dotted field paths, times, and the text kept as title and body.

A bad item becomes a ``ParseIssue`` naming its position, never its content.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil import parser as dateutil_parser

from twin_assets.connectors.rest_api.config import ApiSourceConfig
from twin_assets.records import ParseIssue, Party, Record

API_ITEM = "api_item"
# Epoch values above this are taken as milliseconds (1e11 s is the year 5138).
EPOCH_MILLIS_THRESHOLD = 1e11
MAX_TIME_TEXT = 64

# "Absent", as opposed to a null the API sent on purpose.
MISSING: Any = object()


def get_path(obj: Any, path: str) -> Any:
    """The value at a dotted path ("data.items", "labels.0.name"); ``MISSING`` if absent."""
    if not path:
        return obj
    for part in path.split("."):
        if isinstance(obj, dict):
            if part not in obj:
                return MISSING
            obj = obj[part]
        elif isinstance(obj, list) and part.isascii() and part.isdigit():
            index = int(part)
            if index >= len(obj):
                return MISSING
            obj = obj[index]
        else:
            return MISSING
    return obj


def _without(obj: Any, path: str) -> Any:
    """A copy of ``obj`` without the key at ``path``; only the dicts along the path are copied."""
    head, _, rest = path.partition(".")
    if not isinstance(obj, dict) or head not in obj:
        return obj
    copy = dict(obj)
    if rest:
        copy[head] = _without(obj[head], rest)
    else:
        del copy[head]
    return copy


def _offset_string(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def parse_time(value: Any) -> tuple[datetime, str | None] | None:
    """(UTC datetime, "+HH:MM" offset the source gave or None) from ISO 8601 or epoch seconds.

    Naive ISO times are taken as UTC, which is what APIs mean by them in practice;
    epoch values too large for seconds are read as milliseconds.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > MAX_TIME_TEXT:
            return None
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return _from_epoch(float(text))
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            try:
                dt = dateutil_parser.isoparse(text)
            except (ValueError, OverflowError):
                return None
        try:
            if dt.tzinfo is None or dt.utcoffset() is None:
                return dt.replace(tzinfo=UTC), None
            offset = dt.utcoffset()
            return dt.astimezone(UTC), _offset_string(offset) if offset is not None else None
        except (OverflowError, ValueError):
            return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    return None


def _from_epoch(seconds: float) -> tuple[datetime, None] | None:
    if not math.isfinite(seconds):
        return None
    if abs(seconds) > EPOCH_MILLIS_THRESHOLD:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC), None
    except (OverflowError, OSError, ValueError):
        return None


def _json_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


def _text(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return _compact_json(value)
    return str(value)


def _compact_json(value: Any) -> str:
    # Sorted keys keep the body, and so the content hash, stable across fetches.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def item_to_record(config: ApiSourceConfig, item: Any, where: str) -> Record | ParseIssue:
    """One JSON item as a Record, or a ParseIssue naming its position (never its content)."""
    if not isinstance(item, dict):
        return ParseIssue(where, "item is not a JSON object")
    raw_id = get_path(item, config.id_field)
    if raw_id is MISSING or raw_id is None or raw_id == "":
        return ParseIssue(where, "id field missing or empty")
    if isinstance(raw_id, bool | dict | list) or (isinstance(raw_id, float) and not math.isfinite(raw_id)):
        return ParseIssue(where, "id field is not a string or number")
    event_time = original_tz = None
    if config.time_field:
        raw_time = get_path(item, config.time_field)
        if raw_time is not MISSING and raw_time is not None and raw_time != "":
            parsed = parse_time(raw_time)
            if parsed is None:
                return ParseIssue(where, "time field unparseable")
            event_time, original_tz = parsed
    if config.body_field:
        body = _text(get_path(item, config.body_field))
    else:
        rest = item
        for path in (config.id_field, config.time_field):
            if path:
                rest = _without(rest, path)
        body = _compact_json(rest)
    # Title and body already carry those fields; repeating them in attributes would store the text twice.
    content_keys = {f for f in (config.title_field, config.body_field) if f and "." not in f}
    attributes = {k: v for k, v in item.items() if isinstance(k, str) and k not in content_keys and _json_scalar(v)}
    parties = []
    author = {
        role: _text(get_path(item, field)) or None
        for role, field in (
            ("name", config.author_name_field),
            ("email", config.author_email_field),
            ("handle", config.author_handle_field),
        )
        if field
    }
    if any(author.values()):
        parties.append(Party(role="author", **author))
    return Record(
        source=config.name,
        external_id=str(raw_id),
        kind=API_ITEM,
        title=_text(get_path(item, config.title_field)) if config.title_field else "",
        body=body,
        event_time=event_time,
        original_tz=original_tz,
        parties=parties,
        attributes=attributes,
    )
