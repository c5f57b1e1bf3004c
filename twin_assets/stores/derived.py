"""Derived data (entities, mentions, sentiment, timeline, topics, graph metrics) in a tier's store.

It lives in the same file as that tier's documents, under the same protection
(LOW plain, MEDIUM SQLCipher, HIGH SQLCipher + AES-GCM per row). Each kind is
rebuilt whole and swapped in one transaction, so readers never see half a
model; only the artifacts whose content or evidence changed are written (a keyed
digest of each is kept beside it), so a rebuild after a few new records rewrites
a few rows, not a million. ``artifact_docs`` remembers which documents each
artifact came from, so forgetting a document finds everything derived from it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from itertools import islice
from typing import Any, Generic, TypeVar

from twin_assets.stores.documents import DocumentStore, dumps, loads

BATCH = 1000  # artifacts per executemany
T = TypeVar("T")


def plain(obj: Any) -> Any:
    """``dataclasses.asdict`` without its deep copies: nested dataclasses become dicts, every other value is
    used as it is (the result is serialised at once). ``asdict`` was a third of storing a million-event
    timeline."""
    if isinstance(obj, _SCALARS) or obj is None:
        return obj
    if is_dataclass(obj) and not isinstance(obj, type):
        return {name: plain(getattr(obj, name)) for name in _field_names(type(obj))}
    if isinstance(obj, list | tuple) and any(is_dataclass(v) for v in obj):
        return [plain(v) for v in obj]
    if isinstance(obj, dict) and any(is_dataclass(v) for v in obj.values()):
        return {k: plain(v) for k, v in obj.items()}
    return obj


_SCALARS = (str, int, float, datetime)


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@dataclass
class Artifact:
    kind: str
    id: str
    data: dict[str, Any]
    evidence: list[str]


@dataclass(frozen=True)
class ArtifactKind(Generic[T]):
    """One kind of derived artifact: its name in the store, the type it is read as, and both directions between
    that type and the stored JSON, so a kind's shape is written down once (``twin_assets.artifacts`` lists them).

    ``encode`` defaults to :func:`plain`, which the model steps always used: the stored bytes, and so the
    artifacts' digests, stay what they were."""

    name: str
    type: type[T]
    key: Callable[[T], str]  # the artifact's id
    evidence: Callable[[T], list[str]]  # the documents it derives from
    decode: Callable[[dict[str, Any]], T]
    encode: Callable[[T], dict[str, Any]] = plain

    def to_row(self, item: T) -> Artifact:
        return Artifact(self.name, self.key(item), self.encode(item), self.evidence(item))

    def from_row(self, data: dict[str, Any]) -> T:
        return self.decode(data)


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
            # Entries of an index on kind alone are in rowid order within a kind: a kind read through it comes in
            # storage order (see ``iter``).
            self.conn.execute("CREATE INDEX IF NOT EXISTS ix_artifacts_kind ON artifacts(kind)")
            if "digest" not in {r[1] for r in self.conn.execute("PRAGMA table_info(artifacts)")}:
                self.conn.execute("ALTER TABLE artifacts ADD COLUMN digest BLOB")  # stores made before digests
        keyring = store.keyring
        # Keyed: a plain hash of a small artifact (a score, a date) is reversed by guessing.
        self._digest_key = bytes.fromhex(keyring.keyed_hash("artifact-digest", b"v1", 64)) if keyring else b""

    def _digest(self, body: bytes, evidence: Iterable[str]) -> bytes:
        h = hashlib.blake2b(body, key=self._digest_key, digest_size=16)
        h.update(b"\0" + "\n".join(evidence).encode())
        return h.digest()

    def replace_kind(self, kind: str, artifacts: Iterable[Artifact]) -> int:
        """Swap in a complete new set of one kind of artifact, atomically: artifacts with the same content and
        evidence as the stored ones stay as they are, changed ones are rewritten, missing ones deleted."""
        with self.conn:
            old = dict(
                self.conn.execute(  # in storage order, like ``iter(ordered=False)``
                    "SELECT id, digest FROM artifacts INDEXED BY ix_artifacts_kind WHERE kind = ?", (kind,)
                ).fetchall()
            )
            n, seen = 0, set()
            changed: list[tuple[str, list[str]]] = []  # rewritten artifacts that were stored before
            it = iter(artifacts)
            while batch := list(islice(it, BATCH)):
                n += len(batch)
                rows: list[tuple[Any, ...]] = []
                evidence: list[tuple[str, list[str]]] = []
                for a in batch:
                    docs = list(dict.fromkeys(a.evidence))
                    body = dumps(a.data)
                    digest = self._digest(body, docs)
                    if a.id not in seen and old.get(a.id) == digest:
                        seen.add(a.id)
                        continue
                    seen.add(a.id)
                    payload, key_id = self.store._seal(body)
                    rows.append((kind, a.id, key_id, payload, digest))
                    (changed if a.id in old else evidence).append((a.id, docs))
                self._write(kind, rows, evidence, replace_evidence=len(seen) < n)
                self._update_evidence(kind, changed)
                changed = []
            self._delete([(kind, i) for i in old.keys() - seen])
            return n

    def _update_evidence(self, kind: str, changed: list[tuple[str, list[str]]]) -> None:
        """Evidence of rewritten artifacts, by difference: the owner's entity and mentions name most records of
        the view, and deleting and inserting all of their rows for a few new ones was most of an incremental
        entities step at a million records."""
        for artifact_id, docs in changed:
            have: dict[str, int] = {}
            for rowid, doc_id in self.conn.execute(
                "SELECT rowid, doc_id FROM artifact_docs WHERE kind = ? AND id = ?", (kind, artifact_id)
            ):
                if doc_id in have:  # a duplicate row (written before evidence was deduplicated): drop it
                    self.conn.execute("DELETE FROM artifact_docs WHERE rowid = ?", (rowid,))
                else:
                    have[doc_id] = rowid
            keep = set(docs)
            self.conn.executemany(
                "DELETE FROM artifact_docs WHERE rowid = ?", [(r,) for d, r in have.items() if d not in keep]
            )
            self.conn.executemany(
                "INSERT INTO artifact_docs (kind, id, doc_id) VALUES (?,?,?)",
                [(kind, artifact_id, d) for d in docs if d not in have],
            )

    def _write(
        self, kind: str, rows: list[tuple[Any, ...]], evidence: list[tuple[str, list[str]]], *, replace_evidence: bool
    ) -> None:
        """In batches: one statement per artifact was half of storing a million-event timeline."""
        if not rows:
            return
        self._bump_generation()
        self.conn.executemany(
            "INSERT OR REPLACE INTO artifacts (kind, id, key_id, payload, digest) VALUES (?,?,?,?,?)", rows
        )
        if replace_evidence:
            self.conn.executemany(
                "DELETE FROM artifact_docs WHERE kind = ? AND id = ?", [(kind, i) for i, _ in evidence]
            )
        self.conn.executemany(
            "INSERT INTO artifact_docs (kind, id, doc_id) VALUES (?,?,?)",
            [(kind, i, d) for i, docs in evidence for d in docs],
        )

    def _delete(self, keys: list[tuple[str, str]]) -> int:
        n = 0
        for start in range(0, len(keys), BATCH):
            chunk = keys[start : start + BATCH]
            n += self.conn.executemany("DELETE FROM artifacts WHERE kind = ? AND id = ?", chunk).rowcount
            self.conn.executemany("DELETE FROM artifact_docs WHERE kind = ? AND id = ?", chunk)
        if n:
            self._bump_generation()
        return n

    def _bump_generation(self) -> None:
        self.store._bump_generation("derived_generation")

    def generation(self) -> int:
        """How many committed changes the model's artifacts have seen (bookkeeping written by ``put`` aside): the
        same from every connection and process, so a server's threads agree on when their cached view is stale.
        A file's size and time also moved when a connection closed and checkpointed the log, and the API then
        read a million timeline events again."""
        return self.store.generation("derived_generation")

    def upsert_many(self, kind: str, artifacts: Iterable[Artifact]) -> int:
        """Insert or replace artifacts of one kind, each with its evidence; one transaction."""
        n = 0
        with self.conn:
            it = iter(artifacts)
            while batch := list(islice(it, BATCH)):
                batch = list({a.id: a for a in batch}.values())  # the same id twice: the last one wins
                rows, evidence = [], []
                for a in batch:
                    docs = list(dict.fromkeys(a.evidence))
                    body = dumps(a.data)
                    payload, key_id = self.store._seal(body)
                    rows.append((kind, a.id, key_id, payload, self._digest(body, docs)))
                    evidence.append((a.id, docs))
                self._write(kind, rows, evidence, replace_evidence=True)
                n += len(batch)
        return n

    def ids(self, kind: str) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT id FROM artifacts WHERE kind = ?", (kind,))}

    def put(self, kind: str, artifact_id: str, data: dict[str, Any]) -> None:
        """Insert or replace one artifact without evidence (bookkeeping such as what a build read)."""
        payload, key_id = self.store._seal(dumps(data))
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO artifacts (kind, id, key_id, payload) VALUES (?,?,?,?)",
                (kind, artifact_id, key_id, payload),
            )

    def _load(self, payload: bytes) -> dict[str, Any]:
        data: dict[str, Any] = loads(self.store._open_blob(payload))
        return data

    def get(self, kind: str, artifact_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT payload FROM artifacts WHERE kind = ? AND id = ?", (kind, artifact_id)
        ).fetchone()
        return self._load(row[0]) if row else None

    def get_many(self, kind: str, artifact_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Those of these artifacts that exist, by id."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(artifact_ids), 500):
            chunk = artifact_ids[start : start + 500]
            for artifact_id, payload in self.conn.execute(
                f"SELECT id, payload FROM artifacts WHERE kind = ? AND id IN ({','.join('?' * len(chunk))})",
                [kind, *chunk],
            ):
                out[artifact_id] = self._load(payload)
        return out

    def iter(self, kind: str, *, ordered: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every artifact of one kind, by id; or, ``ordered=False``, in storage order, for a caller that looks
        them up by id anyway: walking the (kind, id) index fetched the rows of a million-artifact kind in random
        order, and SQLCipher decrypted a page for nearly every row."""
        sql = (
            "SELECT id, payload FROM artifacts WHERE kind = ? ORDER BY id"
            if ordered
            else "SELECT id, payload FROM artifacts INDEXED BY ix_artifacts_kind WHERE kind = ?"
        )
        for artifact_id, payload in self.conn.execute(sql, (kind,)):
            yield artifact_id, self._load(payload)

    # ---- typed: one ArtifactKind per kind (twin_assets.artifacts) ----------------------------------
    def replace(self, kind: ArtifactKind[T], items: Iterable[T]) -> int:
        """``replace_kind`` for typed items: the complete new set of the kind."""
        return self.replace_kind(kind.name, (kind.to_row(i) for i in items))

    def upsert(self, kind: ArtifactKind[T], items: Iterable[T]) -> int:
        """``upsert_many`` for typed items."""
        return self.upsert_many(kind.name, (kind.to_row(i) for i in items))

    def read(self, kind: ArtifactKind[T], artifact_id: str) -> T | None:
        data = self.get(kind.name, artifact_id)
        return kind.from_row(data) if data is not None else None

    def read_many(self, kind: ArtifactKind[T], artifact_ids: list[str]) -> dict[str, T]:
        """Those of these artifacts that exist, by id."""
        return {i: kind.from_row(d) for i, d in self.get_many(kind.name, artifact_ids).items()}

    def read_all(
        self, kind: ArtifactKind[T], *, ordered: bool = True, share: Callable[[Any], Any] | None = None
    ) -> Iterator[T]:
        """Every artifact of the kind (see ``iter`` for ``ordered``); ``share`` is applied to each row's parsed
        data before it is decoded (``Sharer.value``: a view's repeated strings held once)."""
        for _, data in self.iter(kind.name, ordered=ordered):
            yield kind.from_row(share(data) if share is not None else data)

    def iter_bytes(self, kind: str) -> Iterator[tuple[str, bytes]]:
        """Every artifact of one kind, by id, as the JSON bytes it was written from (opened, not parsed): what a
        signature of the content hashes; the stored rows of HIGH are sealed with a fresh nonce on every write."""
        for artifact_id, payload in self.conn.execute(
            "SELECT id, payload FROM artifacts WHERE kind = ? ORDER BY id", (kind,)
        ):
            yield artifact_id, self.store._open_blob(payload)

    def count(self, kind: str) -> int:
        return int(self.conn.execute("SELECT count(*) FROM artifacts WHERE kind = ?", (kind,)).fetchone()[0])

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
        with self.conn:
            return self._delete(list(keys))

    def key_usage(self) -> dict[str, int]:
        return {
            (k or "none"): n
            for k, n in self.conn.execute("SELECT key_id, count(*) FROM artifacts GROUP BY key_id").fetchall()
        }
