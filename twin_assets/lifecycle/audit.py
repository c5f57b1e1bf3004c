"""``twin audit``: what is stored where, at which tier, under which key id, and why.

Everything here is counts, ids, key ids, reason *names* and paths relative to the home —
never content, names, subjects or secrets — so the report is safe to print and to share.
HIGH records read through the API by id are logged in ``high_reads`` (record id, token id,
time); the audit shows how many and the latest.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select

from twin_assets.db.models import ApiToken, HighRead, Input, Lineage, Quarantine, RecordRow, WebhookEvent
from twin_assets.keys import describe_keys
from twin_assets.lifecycle.rotate import fenc_files, file_location, key_usage, read_journal, rotation_history
from twin_assets.pipeline import blind_index, suppress
from twin_assets.stores import HIGH, LOW, MEDIUM, TIERS
from twin_assets.stores.vectors import collection_name
from twin_assets.twin import Twin

ENCRYPTION = {HIGH: "SQLCipher+AES-GCM", MEDIUM: "SQLCipher", LOW: "plain"}
_SPAN = re.compile(r"@\d+-\d+$")


def reason_names(reason_text: str | None) -> list[str]:
    """``"source:notes; detector:password@66-91"`` → ``["source:notes", "detector:password"]``."""
    if not reason_text:
        return []
    return [_SPAN.sub("", r.strip()) for r in reason_text.split(";") if r.strip()]


def log_high_reads(twin: Twin, record_ids: Iterable[str], token_hash: str | None) -> int:
    """Note each of ``record_ids`` stored as HIGH as read through the API: its id, the token's id, the time; no
    content. Ids of lower tiers are not reads to audit and are left out. Returns how many were noted."""
    wanted = list(dict.fromkeys(record_ids))
    if not wanted:
        return 0
    # This runs for every API response that shows a HIGH record. The tiers are read by id and compared here: with
    # ``tier = 'HIGH'`` in the query SQLite chose the tier index and walked every HIGH row (5 ms a call at 10k
    # records, growing with the home). Core statements, not an ORM session, whose unit of work (identity map,
    # flush, an INSERT ... RETURNING per row) was most of the rest.
    with twin.engine.begin() as conn:
        high: set[str] = set()
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            high.update(
                rid
                for rid, tier in conn.execute(select(RecordRow.id, RecordRow.tier).where(RecordRow.id.in_(chunk)))
                if tier == HIGH
            )
        if not high:
            return 0
        token_id = (
            conn.scalars(select(ApiToken.id).where(ApiToken.token_hash == token_hash)).first() if token_hash else None
        )
        conn.execute(insert(HighRead), [{"record_id": rid, "token_id": token_id} for rid in wanted if rid in high])
    return len(high)


def _size(path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def _vectors(twin: Twin) -> dict[str, int]:
    out: dict[str, int] = {}
    with twin.vectors() as vectors:
        for tier in (LOW, MEDIUM):
            out[collection_name(tier)] = vectors.count(tier)
    out["high (encrypted in stores/high.sqlcipher)"] = twin.store(HIGH).vector_count()
    return out


def audit(twin: Twin, *, last: int = 10, with_vectors: bool = True) -> dict[str, Any]:
    settings = twin.settings
    home = settings.home_path
    usage = key_usage(twin)
    rel = {tier: f"stores/{twin.store_path(tier).name}" for tier in TIERS}

    def usage_for(prefix: str) -> dict[str, dict[str, int]]:
        return {
            loc.split("#", 1)[1] if "#" in loc else loc: counts
            for loc, counts in usage.items()
            if loc.startswith(prefix)
        }

    stores: list[dict[str, Any]] = []
    for tier in TIERS:
        store = twin.store(tier)
        derived = twin.derived(tier)
        stores.append(
            {
                "path": rel[tier],
                "tier": tier,
                "encryption": ENCRYPTION[tier],
                "store_key_id": twin.store_key_id(tier),
                "bytes": _size(twin.store_path(tier)),
                "documents": store.count(),
                "artifacts": sum(derived.kinds().values()),
                "key_ids": usage_for(rel[tier] + "#"),
            }
        )
    metadata_path = settings.stores_dir / "metadata.sqlite"
    stores.append(
        {
            "path": "stores/metadata.sqlite" if not settings.database_url else "external database (TWIN_DATABASE_URL)",
            "tier": "metadata",
            "encryption": "plain; *_enc columns AES-GCM",
            "bytes": _size(metadata_path) if not settings.database_url else None,
            "key_ids": usage_for("metadata#"),
        }
    )
    stores.append(
        {
            "path": "stores/chroma",
            "tier": "LOW+MEDIUM vectors",
            "encryption": "plain (MEDIUM vectors carry no text and no metadata)",
            "bytes": _size(settings.chroma_dir),
        }
    )
    files: dict[str, dict[str, Any]] = {}
    for path, stream in fenc_files(settings):
        loc = file_location(settings, path)
        entry = files.setdefault(
            loc,
            {
                "path": loc,
                "tier": _file_tier(loc),
                "encryption": "AES-GCM (framed stream)" if stream else "AES-GCM",
                "files": 0,
                "bytes": 0,
            },
        )
        entry["files"] += 1
        entry["bytes"] += path.stat().st_size
        entry["key_ids"] = usage.get(loc, {})
    stores += files.values()

    with twin.session() as s:
        by_source: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for source, stored_tier, reason, n in s.execute(
            select(RecordRow.source, RecordRow.tier, RecordRow.classifier_reason, func.count()).group_by(
                RecordRow.source, RecordRow.tier, RecordRow.classifier_reason
            )
        ):
            slot = by_source[source].setdefault(stored_tier or "staged", {"count": 0, "reasons": Counter()})
            slot["count"] += n
            for name in reason_names(reason):
                slot["reasons"][name] += n
        status = dict(s.execute(select(RecordRow.status, func.count()).group_by(RecordRow.status)).all())
        inputs: dict[str, dict[str, int]] = defaultdict(dict)
        for source, st, n in s.execute(
            select(Input.source, Input.status, func.count()).group_by(Input.source, Input.status)
        ):
            inputs[source][st] = n
        quarantine: dict[str, dict[str, int]] = defaultdict(dict)
        for quarantined_source, what, n in s.execute(
            select(Quarantine.source, Quarantine.what, func.count()).group_by(Quarantine.source, Quarantine.what)
        ):
            quarantine[quarantined_source or "unknown"][what] = n
        webhook_events = dict(s.execute(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)).all())
        reads = s.scalar(select(func.count()).select_from(HighRead)) or 0
        latest = [
            {"record_id": r.record_id, "token_id": r.token_id, "at": r.read_at.isoformat()}
            for r in s.scalars(select(HighRead).order_by(HighRead.id.desc()).limit(last))
        ]
        lineage = dict(s.execute(select(Lineage.artifact_kind, func.count()).group_by(Lineage.artifact_kind)).all())

    raw_files = [p for p, stream in fenc_files(settings) if settings.raw_dir in p.parents]
    journal = read_journal(settings)
    keys = describe_keys(settings)
    keys["rotation_in_progress"] = {"to": journal["to"], "phases_done": journal["done"]} if journal else None
    keys["rotations"] = [
        {k: h.get(k) for k in ("from", "to", "finished", "retired")} for h in rotation_history(settings)
    ]
    return {
        "home": str(home),
        "keys": keys,
        "stores": stores,
        "records": {
            "total": sum(status.values()),
            "by_status": status,
            "by_source": {
                src: {
                    tier: {"count": v["count"], "reasons": dict(v["reasons"].most_common())}
                    for tier, v in tiers.items()
                }
                for src, tiers in sorted(by_source.items())
            },
        },
        "inputs": dict(inputs),
        "lineage": lineage,
        "vectors": _vectors(twin) if with_vectors else None,
        "derived": {view: twin.derived(view).kinds() for view in TIERS},
        "graphs": {
            view: {
                "versions": twin.graphs(view).versions(),
                "key_ids": usage.get(f"stores/graph/{view.lower()}/*.fenc", {}),
            }
            for view in TIERS
        },
        "raw_archives": {
            "files": len(raw_files),
            "bytes": sum(p.stat().st_size for p in raw_files),
            "key_ids": usage.get("stores/raw/*.fenc", {}),
        },
        "quarantine": {"total": sum(n for q in quarantine.values() for n in q.values()), "by_source": dict(quarantine)},
        "webhook_events": webhook_events,
        "blind_index": blind_index.counts(twin),
        "suppressed_entity_keys": len(suppress.load(twin)),
        "high_reads": {"count": reads, "last": latest},
    }


def _file_tier(loc: str) -> str:
    if loc.startswith("stores/graph/"):
        return loc.split("/")[2].upper()
    if loc.startswith("stores/raw/"):
        return "raw (as ingested: up to HIGH)"
    return HIGH


def audit_record(twin: Twin, record_id: str) -> dict[str, Any] | None:
    """One record's lineage: where it came from, why its tier, where every derived piece lives."""
    with twin.session() as s:
        row = s.get(RecordRow, record_id)
        if row is None:
            return None
        inp = s.get(Input, row.input_id) if row.input_id else None
        lineage = [
            {
                "kind": lin.artifact_kind,
                "artifact_id": lin.artifact_id,
                "store": lin.store,
                "key_id": lin.key_id,
                "created": lin.created_at.isoformat(),
            }
            for lin in s.scalars(select(Lineage).where(Lineage.record_id == record_id))
        ]
        reads = s.scalar(select(func.count()).select_from(HighRead).where(HighRead.record_id == record_id)) or 0
        out: dict[str, Any] = {
            "id": row.id,
            "source": row.source,
            "kind": row.kind,
            "tier": row.tier,
            "classifier_reasons": reason_names(row.classifier_reason),
            "status": row.status,
            "storage_location": row.storage_location,
            "key_id": row.key_id,
            "event_time": row.event_time.isoformat() if row.event_time else None,
            "ingest_time": row.ingest_time.isoformat(),
            "batch_id": row.batch_id,
            "staged_copy": row.staged_enc is not None,
            "input": None
            if inp is None
            else {
                "id": inp.id,
                "origin": inp.origin,
                "status": inp.status,
                "raw_archive": inp.raw_location,
                "key_id": inp.key_id,
            },
            "lineage": lineage,
            "high_reads": reads,
        }
    stored = None
    if row.tier:
        store = twin.store(row.tier)
        found = store.row_state(record_id)
        if found:
            stored = {
                "store": f"stores/{store.path.name}",
                "row_key_id": found.key_id,
                "embedded": found.embedded,
                "vector": ("in row, encrypted" if found.has_vector else None)
                if row.tier == HIGH
                else (f"chroma:{collection_name(row.tier)}" if found.embedded else None),
                "store_key_id": twin.store_key_id(row.tier),
            }
    out["stored"] = stored
    derived: dict[str, dict[str, int]] = {}
    graphs: dict[str, Any] = {}
    for view in TIERS:
        counts = Counter(kind for kind, _ in twin.derived(view).derived_from([record_id]))
        if counts:
            derived[view] = dict(counts)
        versions = twin.graphs(view).versions()
        if versions:
            loaded = twin.graphs(view).load()
            graphs[view] = {"latest_version": versions[-1], "in_graph": bool(loaded and record_id in loaded[1])}
    out["derived"] = derived
    out["graphs"] = graphs
    out["blind_index_entries"] = blind_index.entries_for(twin, record_id)
    return out
