"""The user's own classification rules, from ``TWIN_HOME/classification.yaml``.

.. code-block:: yaml

    rules:
      - match: {source: email, sender: "*@bank.example"}
        tier: HIGH                # HIGH | MEDIUM | LOW
        mode: raise               # raise (default): only ever raises the tier
      - match: {sender: "news@shop.example"}
        tier: LOW
        mode: set                 # set: replaces the source default, may lower it
        comment: the shop's newsletter is public

``match`` fields (all must hold; a list means any of its values): ``source``,
``kind``, ``sender`` (the from/author/organizer party's address, handle or name),
``folder`` (a mail folder, or a note's directory), ``label`` (labels, tags or
categories), ``list_id`` (a mailing list), all shell-style globs, case-insensitive;
and ``keyword`` (a case-insensitive substring of the text).

Precedence (see :mod:`twin_assets.classify`): a ``set`` rule overrides the source
default and topical detectors (medical, salary), but never the hard detectors —
a card number, a password or an API key in a "LOW" newsletter still makes it
HIGH. When several ``set`` rules match, the highest tier wins.

Errors name the file, the rule (1-based) and the field, never a value: a keyword
can itself be sensitive ("keyword: HIV").
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from twin_assets.connectors.base import NOTES
from twin_assets.connectors.registry import traits_for
from twin_assets.errors import ConfigError
from twin_assets.records import Record
from twin_assets.tiers import TIERS, Tier, UnknownTierError

CONFIG_NAME = "classification.yaml"
MATCH_FIELDS = ("source", "kind", "sender", "folder", "label", "list_id", "keyword")
RULE_FIELDS = ("match", "tier", "mode", "comment")
MODES = ("raise", "set")
SENDER_ROLES = frozenset({"from", "sender", "author", "organizer"})
LABEL_ATTRIBUTES = ("labels", "label", "tags", "categories")


@dataclass(frozen=True)
class UserRule:
    index: int  # 1-based position in the file: what the reason "user_rule:3" refers to
    tier: str
    mode: str
    match: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def force(self) -> bool:
        return self.mode == "set"

    def matches(self, record: Record, text: Callable[[], str]) -> bool:
        return all(_MATCHERS[name](record, values, text) for name, values in self.match)


def _globs(values: tuple[str, ...], candidates: Iterable[str | None]) -> bool:
    lowered = [c.lower() for c in candidates if c]
    return any(fnmatchcase(c, v) for v in values for c in lowered)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _match_source(record: Record, values: tuple[str, ...], _text: Callable[[], str]) -> bool:
    return _globs(values, [record.source])


def _match_kind(record: Record, values: tuple[str, ...], _text: Callable[[], str]) -> bool:
    return _globs(values, [record.kind])


def _match_sender(record: Record, values: tuple[str, ...], _text: Callable[[], str]) -> bool:
    senders = [p for p in record.parties if p.role in SENDER_ROLES]
    return any(_globs(values, [p.email, p.handle, p.name, p.phone]) for p in senders)


def _match_folder(record: Record, values: tuple[str, ...], _text: Callable[[], str]) -> bool:
    attrs = record.attributes
    folders = [attrs.get("folder") if isinstance(attrs.get("folder"), str) else None]
    path = attrs.get("path")
    if traits_for(record.source).medium == NOTES and isinstance(path, str):  # a note's folder is its path's
        folders.append(posixpath.dirname(path.replace("\\", "/")))
    return _globs(values, folders)


def _match_label(record: Record, values: tuple[str, ...], _text: Callable[[], str]) -> bool:
    labels = [v for key in LABEL_ATTRIBUTES for v in _as_list(record.attributes.get(key)) if isinstance(v, str)]
    return _globs(values, labels)


def _match_list_id(record: Record, values: tuple[str, ...], _text: Callable[[], str]) -> bool:
    list_id = record.attributes.get("list_id")
    return _globs(values, [list_id if isinstance(list_id, str) else None])


def _match_keyword(record: Record, values: tuple[str, ...], text: Callable[[], str]) -> bool:
    haystack = text()
    return any(v in haystack for v in values)


_MATCHERS: dict[str, Callable[[Record, tuple[str, ...], Callable[[], str]], bool]] = {
    "source": _match_source,
    "kind": _match_kind,
    "sender": _match_sender,
    "folder": _match_folder,
    "label": _match_label,
    "list_id": _match_list_id,
    "keyword": _match_keyword,
}


def _error(origin: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(f"{origin}: {message}", hint=hint)


def _parse_rule(raw: Any, index: int, origin: str) -> UserRule:
    where = f"rule {index}"
    if not isinstance(raw, dict):
        raise _error(origin, f"{where}: expected a mapping with match, tier and mode")
    for key in raw:
        if key not in RULE_FIELDS:
            raise _error(origin, f"{where}: unknown field {str(key)[:40]!r}", hint=f"allowed: {', '.join(RULE_FIELDS)}")
    try:
        tier = Tier.parse(raw.get("tier"))
    except UnknownTierError:
        raise _error(origin, f"{where}: field 'tier' must be one of {', '.join(TIERS)}") from None
    mode = raw.get("mode", "raise")
    if not isinstance(mode, str) or mode.lower() not in MODES:
        raise _error(origin, f"{where}: field 'mode' must be one of {', '.join(MODES)}")
    if "comment" in raw and not isinstance(raw["comment"], str):
        raise _error(origin, f"{where}: field 'comment' must be text")
    match = raw.get("match")
    if not isinstance(match, dict) or not match:
        raise _error(origin, f"{where}: field 'match' must be a mapping with at least one of {', '.join(MATCH_FIELDS)}")
    conditions: list[tuple[str, tuple[str, ...]]] = []
    for key, value in match.items():
        if key not in MATCH_FIELDS:
            raise _error(
                origin, f"{where}: unknown field 'match.{str(key)[:40]}'", hint=f"allowed: {', '.join(MATCH_FIELDS)}"
            )
        values = _as_list(value)
        if not values or not all(isinstance(v, str) and v for v in values):
            raise _error(origin, f"{where}: field 'match.{key}' must be text or a list of text")
        conditions.append((key, tuple(v.casefold() if key == "keyword" else v.lower() for v in values)))
    # Cheap conditions first: a keyword scan is the only one that reads the whole text.
    conditions.sort(key=lambda c: c[0] == "keyword")
    return UserRule(index=index, tier=tier, mode=mode.lower(), match=tuple(conditions))


def parse_rules(data: Any, origin: str = "classification rules") -> tuple[UserRule, ...]:
    """Rules from already-loaded YAML/JSON data: a list of rules, or ``{rules: [...]}``."""
    if data is None:
        return ()
    if isinstance(data, dict):
        for key in data:
            if key != "rules":
                raise _error(origin, f"unknown top-level field {str(key)[:40]!r}", hint="expected 'rules'")
        data = data.get("rules") or []
    if not isinstance(data, list):
        raise _error(origin, "expected a list of rules (or a mapping with 'rules')")
    return tuple(_parse_rule(raw, i, origin) for i, raw in enumerate(data, start=1))


def config_path(home: Path | None = None) -> Path:
    """``TWIN_HOME/classification.yaml``."""
    if home is None:
        from twin_assets.settings import get_settings

        home = get_settings().home_path
    return home / CONFIG_NAME


def load_rules(path: Path) -> tuple[UserRule, ...]:
    """The rules in ``path`` (none if it does not exist), read now (:class:`RulesFile` re-reads on change)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(str(path), f"cannot be read ({type(exc).__name__})") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise _error(str(path), f"not valid YAML{where}", hint="fix the file or remove it") from None
    return parse_rules(data, origin=str(path))


class RulesFile:
    """A home's ``classification.yaml``, re-read only when its mtime or size changes.

    The classifier that owns it asks for :meth:`rules` once per record (one ``stat``), so an edit takes effect
    on the next record without a restart, and the YAML is parsed once per version of the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, tuple[UserRule, ...]] | None = None

    def rules(self) -> tuple[UserRule, ...]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return ()
        except OSError as exc:
            raise _error(str(self.path), f"cannot be read ({type(exc).__name__})") from None
        seen = self._seen
        if seen is not None and seen[0] == st.st_mtime_ns and seen[1] == st.st_size:
            return seen[2]
        rules = load_rules(self.path)
        self._seen = (st.st_mtime_ns, st.st_size, rules)  # one tuple, swapped whole: safe across threads
        return rules
