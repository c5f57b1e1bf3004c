"""Time zones a connector is told (a setting, a file's header), resolved the same way everywhere."""

from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


class Zone(NamedTuple):
    zone: ZoneInfo
    name: str  # what records carry as ``original_tz``
    problem: str | None  # our words for a ParseIssue when the name was unusable


def zone_named(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name`` stands for, None for no name or an unknown or malformed one."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    # "America" is a folder of the zone database (IsADirectoryError), an over-long name an OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_or_offset(name: str | None) -> tzinfo | None:
    """An IANA zone, or a fixed offset written ``+01:00`` / ``-0500``; None otherwise."""
    m = _OFFSET.fullmatch(name or "")
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return timezone(-delta if m.group(1) == "-" else delta)
    return zone_named(name)


def configured_zone(name: str | None, setting: str) -> Zone:
    """The zone a setting names (UTC when unset); an unknown one falls back to UTC with a problem naming ``setting``.

    For exports that write local times without a zone (chat exports): the owner says which.
    """
    name = (name or "").strip() or "UTC"
    zone = zone_named(name)
    if zone is None:
        return Zone(ZoneInfo("UTC"), "UTC", f"{setting} is not a known time zone; using UTC")
    return Zone(zone, name, None)
