"""Find connectors through the ``twin.connectors`` entry-point group.

Built-in connectors are registered the same way (in pyproject.toml), so a
third-party connector is a first-class citizen: installing its package is all
it takes.
"""

from __future__ import annotations

import os
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from twin_assets.connectors.base import DEFAULT_TRAITS, Connector, SourceTraits, read_head
from twin_assets.connectors.webhook import WEBHOOK_SOURCE, WEBHOOK_TRAITS
from twin_assets.errors import TwinError

ENTRY_POINT_GROUP = "twin.connectors"
#: How deep a folder that no connector claims is walked for the exports inside it.
MAX_WALK_DEPTH = 8


_broken: dict[str, str] = {}


@cache
def connectors() -> dict[str, Connector]:
    """Every installed connector by kind, instantiated once per process.

    A package whose connector fails to load is skipped (and listed by
    :func:`broken_connectors`) so one bad plugin cannot take the code location down.
    """
    found: dict[str, Connector] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            cls = ep.load()
        except Exception as exc:
            _broken[ep.name] = f"failed to load: {type(exc).__name__}"
            continue
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            _broken[ep.name] = "not a Connector subclass"
            continue
        if not isinstance(cls.traits, SourceTraits):
            _broken[ep.name] = "traits is not a SourceTraits"
            continue
        found[cls.kind] = cls()
    return found


def broken_connectors() -> dict[str, str]:
    """Entry points that could not be loaded, with the reason."""
    connectors()
    return dict(_broken)


def get_connector(kind: str) -> Connector:
    try:
        return connectors()[kind]
    except KeyError:
        known = ", ".join(sorted(connectors())) or "none installed"
        raise TwinError(f"unknown source kind {kind!r}", hint=f"known kinds: {known}") from None


def traits_for(source: str | None) -> SourceTraits:
    """What records of ``source`` (a ``Record.source`` value) mean.

    An installed connector's declared traits; the webhook records' own; and for anything
    else (REST API sources, which users name, or records of an uninstalled plugin) the
    defaults, which treat the records as private and their parties as nobody in particular.
    """
    if source == WEBHOOK_SOURCE:
        return WEBHOOK_TRAITS
    connector = connectors().get(source or "")
    return connector.traits if connector is not None else DEFAULT_TRAITS


def detect(path: Path) -> Connector | None:
    """The connector that recognises ``path`` by content, or None."""
    head = read_head(path)
    for connector in connectors().values():
        try:
            if connector.recognizes(path, head):
                return connector
        except Exception:  # a third-party detector must not break detection of the rest
            continue
    return None


def detect_each(path: Path) -> list[tuple[Path, Connector | None]]:
    """The exports in ``path``, each with the connector that claims it (None: none does).

    ``path`` itself if a connector claims it whole (a file, a Slack export folder, a maildir); otherwise a folder
    is walked and each file, and each sub-folder a connector claims whole, is detected on its own, so a
    Takeout-style download (calendars, contacts, chats, statements side by side) is one input of many kinds.
    Hidden entries are skipped and links inside the walk are not followed.
    """
    return _detect_each(path, 0)


def _detect_each(path: Path, depth: int) -> list[tuple[Path, Connector | None]]:
    connector = detect(path)
    if connector is not None or not path.is_dir() or depth >= MAX_WALK_DEPTH:
        return [(path, connector)]
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return [(path, None)]
    found: list[tuple[Path, Connector | None]] = []
    for entry in entries:
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        found += _detect_each(Path(entry.path), depth + 1)
    return found
