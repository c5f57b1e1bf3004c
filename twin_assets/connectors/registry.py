"""Find connectors through the ``twin.connectors`` entry-point group.

Built-in connectors are registered the same way (in pyproject.toml), so a
third-party connector is a first-class citizen: installing its package is all
it takes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import MappingProxyType

from twin_assets.connectors.base import DEFAULT_TRAITS, Connector, SourceTraits, read_head
from twin_assets.connectors.webhook import WEBHOOK_SOURCE, WEBHOOK_TRAITS
from twin_assets.errors import TwinError

ENTRY_POINT_GROUP = "twin.connectors"
#: How deep a folder that no connector claims is walked for the exports inside it.
MAX_WALK_DEPTH = 8


@dataclass(frozen=True)
class ConnectorRegistry:
    """Connectors by kind, each instantiated once, and the entry points that could not be loaded (with why).

    Read-only once made: :func:`installed` is the one for the installed packages; a test or tool makes its own
    from other entry points with :meth:`load`.
    """

    connectors: Mapping[str, Connector]
    broken: Mapping[str, str]

    @classmethod
    def load(cls, eps: Iterable[EntryPoint]) -> ConnectorRegistry:
        """A package whose connector fails to load is skipped (and listed in ``broken``), so one bad plugin
        cannot take the code location down."""
        found: dict[str, Connector] = {}
        broken: dict[str, str] = {}
        for ep in sorted(eps, key=lambda e: e.name):
            try:
                connector_cls = ep.load()
            except Exception as exc:
                broken[ep.name] = f"failed to load: {type(exc).__name__}"
                continue
            if not (isinstance(connector_cls, type) and issubclass(connector_cls, Connector)):
                broken[ep.name] = "not a Connector subclass"
                continue
            if not isinstance(connector_cls.traits, SourceTraits):
                broken[ep.name] = "traits is not a SourceTraits"
                continue
            found[connector_cls.kind] = connector_cls()
        return cls(MappingProxyType(found), MappingProxyType(broken))

    def get(self, kind: str) -> Connector:
        try:
            return self.connectors[kind]
        except KeyError:
            known = ", ".join(sorted(self.connectors)) or "none installed"
            raise TwinError(f"unknown source kind {kind!r}", hint=f"known kinds: {known}") from None

    def traits_for(self, source: str | None) -> SourceTraits:
        """What records of ``source`` (a ``Record.source`` value) mean.

        An installed connector's declared traits; the webhook records' own; and for anything
        else (REST API sources, which users name, or records of an uninstalled plugin) the
        defaults, which treat the records as private and their parties as nobody in particular.
        """
        if source == WEBHOOK_SOURCE:
            return WEBHOOK_TRAITS
        connector = self.connectors.get(source or "")
        return connector.traits if connector is not None else DEFAULT_TRAITS


@cache
def installed() -> ConnectorRegistry:
    """The registry of the ``twin.connectors`` entry points installed in this environment.

    One immutable value, fixed by what is installed (like the code version), so it is made once per process;
    nothing in it changes afterwards.
    """
    return ConnectorRegistry.load(entry_points(group=ENTRY_POINT_GROUP))


def connectors() -> Mapping[str, Connector]:
    """Every installed connector by kind (read-only)."""
    return installed().connectors


def broken_connectors() -> dict[str, str]:
    """Entry points that could not be loaded, with the reason."""
    return dict(installed().broken)


def get_connector(kind: str) -> Connector:
    return installed().get(kind)


def traits_for(source: str | None) -> SourceTraits:
    """The installed connectors' :meth:`ConnectorRegistry.traits_for`."""
    return installed().traits_for(source)


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
