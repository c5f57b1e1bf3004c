"""Derived data (entities, mentions, sentiment, timeline, topics, graph metrics) in a tier's store.

It lives in the same file as that tier's documents, under the same protection
(LOW plain, MEDIUM SQLCipher, HIGH SQLCipher + Fernet per row). Each kind is
rebuilt whole and swapped in one transaction, so readers never see half a
model. ``artifact_docs`` remembers which documents each artifact came from, so
forgetting a document finds everything derived from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from twin_assets.stores.documents import DocumentStore, loads


@dataclass
class Artifact:
    kind: str
    id: str
    data: dict[str, Any]
    evidence: list[str]


class DerivedStore:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self.conn = store.conn
        with self.conn:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS artifacts (kind TEXT NOT NULL, id TEXT NOT NULL, key_id TEXT, "
                "payload BLOB NOT NULL, PRIMARY KEY (kind, id))"
            )
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS artifact_docs (kind TEXT NOT NULL, id TEXT NOT NULL, doc_id TEXT NOT NULL)"
            )
            self.conn.execute("CREATE INDEX IF NOT EXISTS ix_artifact_docs_doc ON artifact_docs(doc_id)")
            self.conn.execute("CREATE INDEX IF NOT EXISTS ix_artifact_docs_art ON artifact_docs(kind, id)")

    def replace_kind(self, kind: str, artifacts: Iterable[Artifact]) -> int:
        """Swap in a complete new set of one kind of artifact, atomically."""
        n = 0
        with self.conn:
            self.conn.execute("DELETE FROM artifacts WHERE kind = ?", (kind,))
            self.conn.execute("DELETE FROM artifact_docs WHERE kind = ?", (kind,))
            for a in artifacts:
                payload, key_id = self.store._seal(json.dumps(a.data, default=str).encode())
                self.conn.execute(
                    "INSERT OR REPLACE INTO artifacts (kind, id, key_id, payload) VALUES (?,?,?,?)",
                    (kind, a.id, key_id, payload),
                )
                self.conn.executemany(
                    "INSERT INTO artifact_docs (kind, id, doc_id) VALUES (?,?,?)",
                    [(kind, a.id, d) for d in dict.fromkeys(a.evidence)],
                )
                n += 1
        return n

    def upsert_many(self, kind: str, artifacts: Iterable[Artifact]) -> int:
        """Insert or replace artifacts of one kind, each with its evidence; one transaction."""
        n = 0
        with self.conn:
            for a in artifacts:
                payload, key_id = self.store._seal(json.dumps(a.data, default=str).encode())
                self.conn.execute(
                    "INSERT OR REPLACE INTO artifacts (kind, id, key_id, payload) VALUES (?,?,?,?)",
                    (kind, a.id, key_id, payload),
                )
                self.conn.execute("DELETE FROM artifact_docs WHERE kind = ? AND id = ?", (kind, a.id))
                self.conn.executemany(
                    "INSERT INTO artifact_docs (kind, id, doc_id) VALUES (?,?,?)",
                    [(kind, a.id, d) for d in dict.fromkeys(a.evidence)],
                )
                n += 1
        return n

    def ids(self, kind: str) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT id FROM artifacts WHERE kind = ?", (kind,))}

    def put(self, kind: str, artifact_id: str, data: dict[str, Any]) -> None:
        """Insert or replace one artifact without evidence (bookkeeping such as what a build read)."""
        payload, key_id = self.store._seal(json.dumps(data, default=str).encode())
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO artifacts (kind, id, key_id, payload) VALUES (?,?,?,?)",
                (kind, artifact_id, key_id, payload),
            )

    def _load(self, payload: bytes) -> dict[str, Any]:
        return loads(self.store._open_blob(payload))

    def get(self, kind: str, artifact_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT payload FROM artifacts WHERE kind = ? AND id = ?", (kind, artifact_id)
        ).fetchone()
        return self._load(row[0]) if row else None

    def iter(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for artifact_id, payload in self.conn.execute(
            "SELECT id, payload FROM artifacts WHERE kind = ? ORDER BY id", (kind,)
        ):
            yield artifact_id, self._load(payload)

    def count(self, kind: str) -> int:
        return self.conn.execute("SELECT count(*) FROM artifacts WHERE kind = ?", (kind,)).fetchone()[0]

    def kinds(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT kind, count(*) FROM artifacts GROUP BY kind").fetchall())

    def derived_from(self, doc_ids: Iterable[str]) -> set[tuple[str, str]]:
        """(kind, id) of every artifact with any of these documents in its evidence."""
        found: set[tuple[str, str]] = set()
        ids = list(doc_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found.update(
                self.conn.execute(
                    f"SELECT kind, id FROM artifact_docs WHERE doc_id IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
            )
        return found

    def delete(self, keys: Iterable[tuple[str, str]]) -> int:
        n = 0
        with self.conn:
            for kind, artifact_id in keys:
                n += self.conn.execute("DELETE FROM artifacts WHERE kind = ? AND id = ?", (kind, artifact_id)).rowcount
                self.conn.execute("DELETE FROM artifact_docs WHERE kind = ? AND id = ?", (kind, artifact_id))
        return n

    def key_usage(self) -> dict[str, int]:
        return {(k or "none"): n for k, n in self.conn.execute(
            "SELECT key_id, count(*) FROM artifacts GROUP BY key_id").fetchall()}
