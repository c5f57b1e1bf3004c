"""Forgotten entities stay forgotten: a suppression list consulted when entities are rebuilt.

``twin forget --entity`` removes an entity but not the records that mention it, so the
next rebuild would find the person again. The suppression list holds *keyed hashes*
of the entity's strong keys (e-mail addresses, phone numbers, chat ids, card UIDs), its
full names (two words or more: a first name alone would hide everyone called so) and
its id; the list itself is AES-GCM-encrypted in ``stores/suppressed.fenc``.
:func:`apply_suppression` drops every resolved entity matching any of them, with its
mentions and index keys, in every view.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from twin_assets.processing.resolution import Resolution
from twin_assets.twin import Twin

SUPPRESS_FILE = "suppressed.fenc"
_NON_DIGIT = re.compile(r"\D")


def _name_key(name: str) -> str | None:
    words = name.casefold().split()
    return "name:" + " ".join(words) if len(words) >= 2 else None


def entity_keys(entity: dict[str, Any]) -> set[str]:
    """What identifies an entity for suppression, normalised (hashed before storing)."""
    keys = {f"id:{entity['id']}"}
    aliases = entity.get("aliases") or {}
    keys.update("email:" + e.strip().lower() for e in aliases.get("emails", []) if e)
    keys.update("phone:" + _NON_DIGIT.sub("", p) for p in aliases.get("phones", []) if _NON_DIGIT.sub("", p))
    keys.update("handle:" + h.strip().casefold() for h in aliases.get("handles", []) if h)
    keys.update("uid:" + u.strip() for u in aliases.get("uids", []) if u)
    for name in [entity.get("name") or "", *aliases.get("names", [])]:
        key = _name_key(name)
        if key:
            keys.add(key)
    return keys


def _hashes(twin: Twin, keys: Iterable[str]) -> set[str]:
    return {twin.keyring.keyed_hash("suppress", k.encode()) for k in keys}


def entity_hashes(twin: Twin, entity: dict[str, Any]) -> set[str]:
    return _hashes(twin, entity_keys(entity))


def node_hashes(twin: Twin, node_id: str, attrs: dict[str, Any]) -> set[str]:
    """For a graph node: its id and (full) name."""
    keys = {f"id:{node_id}"}
    name_key = _name_key(str(attrs.get("name") or ""))
    if name_key:
        keys.add(name_key)
    return _hashes(twin, keys)


def load(twin: Twin) -> set[str]:
    path = twin.settings.stores_dir / SUPPRESS_FILE
    if not path.exists():
        return set()
    return set(json.loads(twin.keyring.decrypt(path.read_bytes())))


def add(twin: Twin, hashes: Iterable[str]) -> int:
    current = load(twin)
    merged = current | set(hashes)
    path = twin.settings.stores_dir / SUPPRESS_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(twin.keyring.encrypt(json.dumps(sorted(merged)).encode()))
    os.replace(tmp, path)
    return len(merged) - len(current)


def apply_suppression(twin: Twin, res: Resolution) -> Resolution:
    """The resolution without suppressed entities (nor their mentions and index keys)."""
    suppressed = load(twin)
    if not suppressed:
        return res
    drop = {e.id for e in res.entities if entity_hashes(twin, asdict(e)) & suppressed}
    if not drop:
        return res
    return Resolution(
        entities=[e for e in res.entities if e.id not in drop],
        mentions=[m for m in res.mentions if m.entity_id not in drop],
        self_id=None if res.self_id in drop else res.self_id,
        key_index={k: v for k, v in res.key_index.items() if v not in drop},
    )
