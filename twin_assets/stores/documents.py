"""One tier's documents and keyword index, in one SQLite file.

* LOW: plain SQLite with an FTS5 index (published content, fine in the clear).
* MEDIUM: SQLCipher (AES-256, whole file) with a contentless FTS5 index.
* HIGH: SQLCipher *and* every document and embedding AES-GCM-encrypted per row
  with its key id, so a leaked store key alone opens nothing.

All three run the same SQLite (SQLCipher's build, 3.5x, for contentless-delete
FTS5) in WAL mode, so Dagster runs and the API server can share a file.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import sqlcipher3

from twin_assets.errors import KeyFileError
from twin_assets.keys import Keyring
from twin_assets.records import Document
from twin_assets.stores import HIGH, LOW

_TOKEN = re.compile(r"\w+", re.UNICODE)
CACHE_KIB = 64 * 1024  # page cache per store connection
COMMON_SHARE = 0.005  # a word in more than this share of the documents is common
# BM25 in FTS5 first counts the documents of every query word, reading each word's whole posting list (about
# 1.5 us a posting here): a query whose common words have more postings than this is not ranked by BM25.
RANK_POSTINGS = 20_000
# An any-word query also scores every match (~4 us each at a million records): its budget is smaller.
OR_POSTINGS = 5_000
TITLE_BOOST = 1.5  # an unranked match in the title counts this much more than one in the body


# Function words only (not a topic stoplist: "bill" or "call" are things people search for). In an OR query
# they match most of the store, and BM25 then scores every match: 160 ms of a search at 100k records.
SEARCH_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "der",
        "die",
        "das",
        "und",
        "oder",
        "ist",
        "ein",
        "eine",
        "le",
        "la",
        "les",
        "et",
    }
)


def query_words(text: str) -> list[str]:
    """The distinct words of user text that search uses: function words dropped unless nothing else is left."""
    words = [w for w in _TOKEN.findall(text.lower()) if len(w) > 1 or w.isdigit()]
    return list(dict.fromkeys([w for w in words if w not in SEARCH_STOPWORDS] or words))


def _joined(words: list[str], op: str) -> str:
    return f" {op} ".join(f'"{w}"' for w in words)  # quoted: no operator injection


def fts_query(text: str, op: str = "OR") -> str | None:
    """User text as an FTS5 query: every word quoted, joined by ``op`` (any may match, or all must)."""
    words = query_words(text)
    return _joined(words, op) if words else None


_DUMPS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    """JSON as ``json.dumps(obj, default=str)`` would give it, in a quarter of the time (15 -> 4 us for a timeline
    event; a million-record view writes and digests several million artifacts). Dates go through ``str`` as
    there; NaN and infinities become null. What orjson refuses (a lone surrogate from a badly decoded mail
    header, an integer beyond 64 bits) is written by the standard library instead."""
    try:
        return orjson.dumps(obj, default=_default, option=_DUMPS)
    except orjson.JSONEncodeError:
        return json.dumps(obj, default=str).encode()


def _default(obj: Any) -> Any:
    # orjson leaves float subclasses (numpy.float64: a topic's slope, a score) to ``default``; json writes them as
    # numbers, and a reader sorting by them needs numbers.
    return float(obj) if isinstance(obj, float) else str(obj)


def loads(raw: bytes) -> Any:
    """JSON that ``json.dumps`` wrote. orjson is faster and shares one string object per distinct dict key across
    calls (a million-record view held ~20% less than with ``json.loads``); it refuses what ``json.dumps`` may
    also write (NaN, integers beyond 64 bits), which the standard parser then reads."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def indexed_body(doc: Document) -> str:
    """The text the keyword index holds for a document's body: the body, then the names and addresses of the
    people it involves (sender, recipients, attendees), so "what did Jeff Smith send me" finds Jeff's messages
    by words. They go after the body, in its column: BM25 weighs the title apart, and the index's columns
    stay as they are in stores made before."""
    parties = (doc.meta or {}).get("parties") or []
    names = " ".join(
        " ".join(str(p.get(f) or "") for f in ("name", "email", "handle")).strip()
        for p in parties
        if isinstance(p, dict)
    ).strip()
    return f"{doc.body}\n\n{names}" if names else doc.body


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


class DocumentStore:
    """Documents of one tier, keyed by record id."""

    def __init__(self, path: Path, tier: str, keyring: Keyring | None, store_key: str | None = None) -> None:
        self.path = path
        self.tier = tier
        self.keyring = keyring
        self.encrypted_rows = tier == HIGH
        self._store_key = store_key
        self._common: tuple[int, dict[str, int]] | None = None
        self.conn = self._open()
        self._migrate()

    # ---- connection ----------------------------------------------------------
    def _open(self) -> sqlcipher3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlcipher3.connect(str(self.path), timeout=30, check_same_thread=False)
        if self.tier != LOW:
            if not self._store_key:
                raise KeyFileError(f"the {self.tier} store needs a key", hint="run `twin init`")
            conn.execute(f"PRAGMA key = \"x'{self._store_key}'\"")
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlcipher3.DatabaseError:
            conn.close()
            raise KeyFileError(
                f"the {self.tier} store {self.path.name} does not open with the current key",
                hint="the key file does not match this store; restore keys/ from backup",
            ) from None
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        # SQLCipher decrypts every page it reads; its default 2 MB cache made a keyword search re-decrypt
        # the FTS pages each time (~20 ms of a 60 ms search at 10k records). Decrypted pages stay in this
        # process's memory only, as they would with the small cache.
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        return conn

    def _migrate(self) -> None:
        fts = (
            "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, body, tokenize='unicode61')"
            if self.tier == LOW
            else "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, body, content='', "
            "contentless_delete=1, tokenize='unicode61')"
        )
        with self.conn:
            self.conn.execute(
                """CREATE TABLE IF NOT EXISTS docs (
                    id TEXT PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL,
                    event_ts REAL, key_id TEXT, payload BLOB NOT NULL,
                    embedded INTEGER NOT NULL DEFAULT 0, vector BLOB)"""
            )
            self.conn.execute("CREATE INDEX IF NOT EXISTS ix_docs_ts ON docs(event_ts)")
            self.conn.execute("CREATE INDEX IF NOT EXISTS ix_docs_pending ON docs(embedded)")
            self.conn.execute("CREATE INDEX IF NOT EXISTS ix_docs_source ON docs(source)")
            self.conn.execute(fts)
            # A counter bumped in the same transaction as every change to the documents or their vectors, so
            # the model can tell "nothing I read has changed" without reading anything (pipeline.freshness).
            self.conn.execute("CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def close(self) -> None:
        self.conn.close()

    # ---- row encoding --------------------------------------------------------
    def _seal(self, data: bytes) -> tuple[bytes, str | None]:
        if self.encrypted_rows:
            assert self.keyring is not None
            return self.keyring.encrypt(data), self.keyring.active_id
        return data, (self.keyring.active_id if self.keyring and self.tier != LOW else None)

    def _open_blob(self, blob: bytes) -> bytes:
        if self.encrypted_rows:
            assert self.keyring is not None
            return self.keyring.decrypt(blob)
        return blob

    def _row_to_doc(self, row: Sequence[Any]) -> Document:
        doc_id, source, kind, event_ts, payload = row
        # The interned source and kind are shared across documents, like the dict keys ``loads`` gives.
        data = loads(self._open_blob(payload))
        return Document(
            id=doc_id,
            source=sys.intern(source),
            kind=sys.intern(kind),
            tier=self.tier,
            event_time=datetime.fromtimestamp(event_ts, UTC) if event_ts is not None else None,
            title=data["title"],
            body=data["body"],
            meta=data["meta"],
        )

    # ---- writes --------------------------------------------------------------
    def _bump_generation(self, counter: str = "generation") -> None:
        self.conn.execute(
            "INSERT INTO store_meta (key, value) VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET value = value + 1",
            (counter,),
        )

    def generation(self, counter: str = "generation") -> int:
        """How many committed changes the documents and vectors have seen (or, by ``counter``, whatever else
        counts its writes here); persistent across processes and the same from every connection."""
        row = self.conn.execute("SELECT value FROM store_meta WHERE key = ?", (counter,)).fetchone()
        return int(row[0]) if row else 0

    def put_many(self, docs: Iterable[Document]) -> int:
        """Upsert documents (idempotent by id) and their keyword index; one transaction."""
        n = 0
        with self.conn:
            self._bump_generation()
            for doc in docs:
                payload, key_id = self._seal(doc.payload())
                old = self.conn.execute("SELECT rowid FROM docs WHERE id = ?", (doc.id,)).fetchone()
                if old:
                    self.conn.execute("DELETE FROM fts WHERE rowid = ?", (old[0],))
                    self.conn.execute(
                        "UPDATE docs SET source=?, kind=?, event_ts=?, key_id=?, payload=?, embedded=0, "
                        "vector=NULL WHERE id=?",
                        (doc.source, doc.kind, _ts(doc.event_time), key_id, payload, doc.id),
                    )
                    rowid = old[0]
                else:
                    cur = self.conn.execute(
                        "INSERT INTO docs (id, source, kind, event_ts, key_id, payload) VALUES (?,?,?,?,?,?)",
                        (doc.id, doc.source, doc.kind, _ts(doc.event_time), key_id, payload),
                    )
                    rowid = cur.lastrowid
                self.conn.execute(
                    "INSERT INTO fts (rowid, title, body) VALUES (?,?,?)", (rowid, doc.title, indexed_body(doc))
                )
                n += 1
        return n

    def delete(self, ids: Iterable[str]) -> int:
        n = 0
        with self.conn:
            self._bump_generation()
            for doc_id in ids:
                row = self.conn.execute("SELECT rowid FROM docs WHERE id = ?", (doc_id,)).fetchone()
                if row:
                    self.conn.execute("DELETE FROM fts WHERE rowid = ?", (row[0],))
                    self.conn.execute("DELETE FROM docs WHERE rowid = ?", (row[0],))
                    n += 1
        return n

    # ---- reads ---------------------------------------------------------------
    def get(self, doc_id: str) -> Document | None:
        row = self.conn.execute(
            "SELECT id, source, kind, event_ts, payload FROM docs WHERE id = ?", (doc_id,)
        ).fetchone()
        return self._row_to_doc(row) if row else None

    def _by_ids(self, columns: str, ids: Sequence[str], where: str = "1") -> Iterator[list[tuple[Any, ...]]]:
        """``columns`` of the rows with these ids (and matching ``where``), 500 ids per statement."""
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            yield self.conn.execute(
                f"SELECT {columns} FROM docs WHERE ({where}) AND id IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()

    def get_many(self, ids: Sequence[str]) -> dict[str, Document]:
        out: dict[str, Document] = {}
        for rows in self._by_ids("id, source, kind, event_ts, payload", ids):
            out.update((r[0], self._row_to_doc(r)) for r in rows)
        return out

    def event_times(self, ids: Sequence[str]) -> dict[str, float | None]:
        """Each existing document's time (epoch seconds, None when undated), without opening its payload."""
        return {i: ts for rows in self._by_ids("id, event_ts", ids) for i, ts in rows}

    def iter_documents(self, batch: int = 1000) -> Iterator[list[Document]]:
        """Every document, in batches, in storage order: one pass over the table, where looking each id up
        again walked the id index for every record (a model build reads a whole view this way)."""
        for rows in self._pages("id, source, kind, event_ts, payload", "1", batch):
            yield [self._row_to_doc(r) for r in rows]

    def _pages(self, columns: str, where: str, batch: int) -> Iterator[list[tuple[Any, ...]]]:
        """``columns`` of the rows matching ``where``, in storage order, ``batch`` rows at a time (keyset paging
        on rowid: no OFFSET rescans, nothing held between pages)."""
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT rowid, {columns} FROM docs WHERE ({where}) AND rowid > ? ORDER BY rowid LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [r[1:] for r in rows]

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM docs").fetchone()[0])

    def quick_check(self) -> list[str]:
        """SQLite's ``quick_check`` of the file (pages, indexes' order; decrypted with the store key): ``[]`` when
        sound, else its findings (page and table numbers, never content)."""
        rows = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
        return [] if rows == ["ok"] else rows

    def ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM docs ORDER BY rowid")]

    def filter_ids(
        self, ids: Sequence[str], *, since: datetime | None, until: datetime | None, source: str | None
    ) -> list[str]:
        """The ids (order kept) whose time and source pass the filters."""
        if not ids:
            return []
        keep: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            sql = f"SELECT id FROM docs WHERE id IN ({','.join('?' * len(chunk))})"
            args: list[Any] = chunk
            sql, args = self._add_filters(sql, args, since, until, source)
            keep.update(r[0] for r in self.conn.execute(sql, args))
        return [i for i in ids if i in keep]

    def matching_ids(
        self, *, since: datetime | None, until: datetime | None, source: str | None, limit: int | None = None
    ) -> set[str] | None:
        """Every embedded id passing the filters (the candidates of a filtered vector search), or None when
        there are more than ``limit``."""
        sql, args = self._add_filters("SELECT id FROM docs WHERE embedded = 1", [], since, until, source)
        if limit is not None:
            sql += " LIMIT ?"
            args = [*args, limit + 1]
        found = {r[0] for r in self.conn.execute(sql, args)}
        return None if limit is not None and len(found) > limit else found

    @staticmethod
    def _add_filters(
        sql: str,
        args: list[Any],
        since: datetime | None,
        until: datetime | None,
        source: str | None,
        prefix: str = "",
    ) -> tuple[str, list[Any]]:
        if since is not None:
            sql += f" AND {prefix}event_ts >= ?"
            args = [*args, since.timestamp()]
        if until is not None:
            sql += f" AND {prefix}event_ts < ?"
            args = [*args, until.timestamp()]
        if source:
            sql += f" AND {prefix}source = ?"
            args = [*args, source]
        return sql, args

    def keyword_search(
        self,
        text: str,
        k: int = 10,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
    ) -> list[tuple[str, float]]:
        """BM25 over title and body (title weighted up); filters run inside the query.

        Documents with every word are ranked alone when there are at least ``k`` of them. Otherwise the
        documents with any word are ranked too, but only by the rarest words whose postings together stay
        within OR_POSTINGS (at least the rarest word), and the documents with every word keep their full
        score beside them. Where the words are so common that BM25 would read more than RANK_POSTINGS postings
        just to weigh them (at a million records, 100-300 ms for words of templated subjects), the matches are
        taken newest first, title matches before body matches, without reading the rest: every one of them has
        all the words, and among thousands of such documents recency is what a person looks for."""
        words = query_words(text)
        if not words:
            return []
        common = self._common_terms()

        def best(ws: list[str], op: str) -> list[tuple[str, float]]:
            if sum(common.get(w, 0) for w in ws) <= (RANK_POSTINGS if op == "AND" else OR_POSTINGS):
                return self._ranked(_joined(ws, op), k, since, until, source)
            return self._newest(ws, op, k, since, until, source)

        hits = best(words, "AND") if len(words) > 1 else []
        if len(hits) >= k:
            return hits
        chosen: list[str] = []
        postings = 0
        for word in sorted(words, key=lambda w: common.get(w, 0)):
            n = common.get(word, 0)
            if chosen and postings + n > OR_POSTINGS:
                break
            chosen.append(word)
            postings += n
        any_hits = best(chosen, "OR")
        if len(chosen) == len(words):
            return any_hits  # every word ranked: the exact any-word ranking
        merged = dict(any_hits)
        merged.update(hits)  # scored on every word, not only the rare ones
        return sorted(merged.items(), key=lambda h: -h[1])[:k]

    def _newest(
        self, words: list[str], op: str, k: int, since: datetime | None, until: datetime | None, source: str | None
    ) -> list[tuple[str, float]]:
        """The newest ``k`` matches, those with the words in the title first, scored as BM25 would score one
        occurrence in a document of average length (so they sort sensibly beside ranked hits): FTS5 walks the
        posting lists backwards and stops at ``k``."""
        n = max(1, self._common_terms_size())
        common = self._common_terms()
        idf = sum(max(1e-6, math.log((n - common.get(w, 0) + 0.5) / (common.get(w, 0) + 0.5))) for w in words)
        expr = _joined(words, op)
        found: dict[str, float] = {}
        for query, weight in ((f"{{title}} : ({expr})", TITLE_BOOST), (expr, 1.0)):
            sql = "SELECT d.id FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ?"
            sql, args = self._add_filters(sql, [query], since, until, source, prefix="d.")
            try:
                rows = self.conn.execute(sql + " ORDER BY fts.rowid DESC LIMIT ?", [*args, k + len(found)]).fetchall()
            except (sqlite3.OperationalError, sqlcipher3.OperationalError):
                return []
            for rank, (doc_id,) in enumerate(rows):
                found.setdefault(doc_id, weight * idf - rank * 1e-6)
            if len(found) >= k:
                break
        return sorted(found.items(), key=lambda h: -h[1])[:k]

    def _common_terms(self) -> dict[str, int]:
        """Words in more than COMMON_SHARE of the documents, with their document counts. Read in one pass over
        the index (~0.1 s at 100k records), once per connection and again when the store has grown by a tenth;
        they live in this process's memory only, like the decrypted pages they come from."""
        (size,) = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM docs").fetchone()
        if self._common is None or size > self._common[0] * 1.1:
            self.conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocab USING fts5vocab(main, fts, row)")
            floor = max(10, int(size * COMMON_SHARE))
            terms = dict(self.conn.execute("SELECT term, doc FROM temp.fts_vocab WHERE doc > ?", (floor,)))
            self._common = (size, terms)
        return self._common[1]

    def _common_terms_size(self) -> int:
        """The store's size when the common words were counted (their document counts are from then)."""
        self._common_terms()
        return self._common[0] if self._common else 0

    def _ranked(
        self, query: str, k: int, since: datetime | None, until: datetime | None, source: str | None
    ) -> list[tuple[str, float]]:
        try:
            if since is None and until is None and not source:
                # Rank inside the FTS index alone, then look up only the top k ids: joining every match to
                # docs first cost a row lookup per match.
                top = self.conn.execute(
                    "SELECT rowid, bm25(fts, 3.0, 1.0) AS score FROM fts WHERE fts MATCH ? ORDER BY score LIMIT ?",
                    (query, k),
                ).fetchall()
                if not top:
                    return []
                marks = ",".join("?" * len(top))
                ids = dict(
                    self.conn.execute(
                        f"SELECT rowid, id FROM docs WHERE rowid IN ({marks})", [r[0] for r in top]
                    ).fetchall()
                )
                return [(ids[r[0]], -float(r[1])) for r in top if r[0] in ids]
            sql = (
                "SELECT d.id, bm25(fts, 3.0, 1.0) AS score FROM fts JOIN docs d ON d.rowid = fts.rowid "
                "WHERE fts MATCH ?"
            )
            sql, args = self._add_filters(sql, [query], since, until, source, prefix="d.")
            sql += " ORDER BY score LIMIT ?"
            rows = self.conn.execute(sql, [*args, k]).fetchall()
        except (sqlite3.OperationalError, sqlcipher3.OperationalError):
            return []
        return [(r[0], -float(r[1])) for r in rows]

    # ---- embeddings ----------------------------------------------------------
    def pending_embedding(self, limit: int) -> list[Document]:
        rows = self.conn.execute(
            "SELECT id, source, kind, event_ts, payload FROM docs WHERE embedded = 0 ORDER BY rowid LIMIT ?",
            (limit,),
        ).fetchall()
        return [self._row_to_doc(r) for r in rows]

    def pending_embedding_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM docs WHERE embedded = 0").fetchone()[0])

    def mark_embedded(self, ids: Sequence[str], vectors: np.ndarray | None = None) -> None:
        """Flag documents as embedded; HIGH keeps its vectors here, encrypted (float16)."""
        with self.conn:
            self._bump_generation()
            for i, doc_id in enumerate(ids):
                blob = None
                if vectors is not None:
                    blob, _ = self._seal(vectors[i].astype(np.float16).tobytes())
                self.conn.execute("UPDATE docs SET embedded = 1, vector = ? WHERE id = ?", (blob, doc_id))

    def iter_vectors(self, batch: int = 5000) -> Iterator[tuple[list[str], np.ndarray]]:
        """Decrypted (id, vector) batches, for building the in-memory HIGH index."""
        for rows in self._pages("id, vector", "vector IS NOT NULL", batch):
            mat = np.stack([np.frombuffer(self._open_blob(r[1]), dtype=np.float16) for r in rows])
            yield [r[0] for r in rows], mat.astype(np.float32)

    def sample_vectors(self, size: int, seed: int = 0) -> np.ndarray:
        """Up to ``size`` decrypted vectors drawn at random (to train an index on)."""
        rowids = [r[0] for r in self.conn.execute("SELECT rowid FROM docs WHERE vector IS NOT NULL")]
        rng = np.random.default_rng(seed)
        picked = sorted(rng.choice(len(rowids), size=min(size, len(rowids)), replace=False).tolist())
        out = []
        for start in range(0, len(picked), 500):
            chunk = [rowids[i] for i in picked[start : start + 500]]
            rows = self.conn.execute(
                f"SELECT vector FROM docs WHERE rowid IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            out += [np.frombuffer(self._open_blob(r[0]), dtype=np.float16) for r in rows]
        return np.stack(out).astype(np.float32) if out else np.zeros((0, 0), dtype=np.float32)

    def get_vectors(self, ids: Sequence[str]) -> Iterator[tuple[list[str], np.ndarray]]:
        """Decrypted (id, vector) batches of these documents (those that have a vector)."""
        for rows in self._by_ids("id, vector", ids, "vector IS NOT NULL"):
            if rows:
                yield (
                    [r[0] for r in rows],
                    np.stack([np.frombuffer(self._open_blob(r[1]), dtype=np.float16) for r in rows]).astype(np.float32),
                )

    def state_token(self) -> tuple[str, int]:
        """Changes whenever the store changes, and is the same from every connection to it, for caches shared
        by a server's threads: ``data_version`` and ``total_changes`` were per connection, so each thread's first
        search rebuilt the HIGH vector index (~40 s at a million vectors). One row read; a count scanned the
        table (~30 ms per search at demo size)."""
        return str(self.path), self.generation()

    # ---- forgetting and auditing -------------------------------------------------
    def existing_ids(self, ids: Sequence[str]) -> list[str]:
        """Those of these ids that are stored here."""
        return [r[0] for rows in self._by_ids("id", ids) for r in rows]

    def vector_count(self, ids: Sequence[str] | None = None) -> int:
        """How many documents (all, or of these ids) keep their vector in the row (HIGH does)."""
        if ids is None:
            return int(self.conn.execute("SELECT count(*) FROM docs WHERE vector IS NOT NULL").fetchone()[0])
        return sum(len(rows) for rows in self._by_ids("id", ids, "vector IS NOT NULL"))

    def row_state(self, doc_id: str) -> RowState | None:
        """Where one document stands (key id, embedded, vector in the row), without opening its payload."""
        row = self.conn.execute(
            "SELECT key_id, embedded, vector IS NOT NULL FROM docs WHERE id = ?", (doc_id,)
        ).fetchone()
        return RowState(row[0], bool(row[1]), bool(row[2])) if row else None

    def secure_delete(self) -> None:
        """Overwrite deleted content with zeros from now on (this connection), rather than only unlink it."""
        self.conn.execute("PRAGMA secure_delete = ON")

    def compact(self) -> None:
        """Drop deleted bytes for good: optimise the keyword index, checkpoint the WAL, vacuum."""
        with contextlib.suppress(Exception), self.conn:
            self.conn.execute("INSERT INTO fts(fts) VALUES('optimize')")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ---- key rotation ----------------------------------------------------------
    def key_usage(self) -> dict[str, int]:
        return {
            (k or "none"): n
            for k, n in self.conn.execute("SELECT key_id, count(*) FROM docs GROUP BY key_id").fetchall()
        }

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def key_id_counts(self) -> dict[str, dict[str, int]]:
        """Which key ids protect how many rows, per ``table.column`` of this file (documents and the model's
        artifacts), counted in SQL: nothing is decrypted. HIGH rows are counted by the key id each sealed blob
        starts with, the other tiers by their ``key_id`` column."""
        tables = self._tables()
        out: dict[str, dict[str, int]] = {}
        if self.encrypted_rows:
            for table, col in SEALED_COLUMNS:
                if table in tables:
                    rows = self.conn.execute(
                        f"SELECT substr({col}, 1, instr({col}, x'3a') - 1) AS k, count(*) FROM {table} "
                        f"WHERE {col} IS NOT NULL GROUP BY k"
                    ).fetchall()
                    out[f"{table}.{col}"] = {
                        (bytes(k).decode(errors="replace") if isinstance(k, bytes | memoryview) else str(k)): n
                        for k, n in rows
                    }
        else:
            for table in KEY_ID_TABLES:
                if table in tables:
                    out[f"{table}.key_id"] = {
                        (k or "none"): n
                        for k, n in self.conn.execute(f"SELECT key_id, count(*) FROM {table} GROUP BY key_id")
                    }
        return out

    def stored_blobs(self) -> Iterator[tuple[str, bytes]]:
        """(``table.column``, bytes as stored) of every document payload; on HIGH also of every vector and model
        artifact, sealed: the caller opens them with the keyring it means to verify."""
        tables = self._tables()
        if self.encrypted_rows:
            for table, col in SEALED_COLUMNS:
                if table in tables:
                    for (blob,) in self.conn.execute(f"SELECT {col} FROM {table} WHERE {col} IS NOT NULL"):
                        yield f"{table}.{col}", bytes(blob)
        elif "docs" in tables:
            for (blob,) in self.conn.execute("SELECT payload FROM docs"):
                yield "docs.payload", bytes(blob)

    def all_values(self) -> Iterator[tuple[str, bytes]]:
        """(table, value) of every text or blob value of every table of the file as it reads once unlocked
        (keyword index segments too), for deep privacy scans."""
        for table in sorted(self._tables()):
            try:
                rows = self.conn.execute(f'SELECT * FROM "{table}"').fetchall()
            except Exception:  # virtual tables that cannot be read whole
                continue
            for row in rows:
                for value in row:
                    if isinstance(value, str):
                        yield table, value.encode()
                    elif isinstance(value, bytes | memoryview):
                        yield table, bytes(value)

    def rekey(self, new_key: str) -> None:
        """Re-encrypt the whole SQLCipher file under ``new_key`` (hex), in one transaction: the file is under one
        key or the other."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute(f"PRAGMA rekey = \"x'{new_key}'\"")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._store_key = new_key

    def reseal_rows(
        self, keyring: Keyring, target: str, on_row: Callable[[str, int], None] | None = None, batch: int = 1000
    ) -> int:
        """Re-seal every per-row encrypted item (HIGH documents, vectors, artifacts) not yet under ``target``
        with ``keyring``, in small transactions; ``on_row(table, done)`` after each row rewritten."""
        tables = self._tables()
        done = 0
        for table, cols in (("docs", ("payload", "vector")), ("artifacts", ("payload",))):
            if table not in tables:
                continue
            last = 0
            while True:
                rows = self.conn.execute(
                    f"SELECT rowid, {', '.join(cols)} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (last, batch),
                ).fetchall()
                if not rows:
                    break
                with self.conn:
                    for rowid, *values in rows:
                        changed = {
                            c: keyring.encrypt(keyring.decrypt(bytes(v)))
                            for c, v in zip(cols, values, strict=True)
                            if v is not None and Keyring.key_id_of(bytes(v)) != target
                        }
                        if not changed:
                            continue
                        sets = ", ".join(f"{c} = ?" for c in changed)
                        self.conn.execute(
                            f"UPDATE {table} SET {sets}, key_id = ? WHERE rowid = ?",
                            (*changed.values(), target, rowid),
                        )
                        done += 1
                        if on_row is not None:
                            on_row(table, done)
                last = rows[-1][0]
        return done

    def set_key_ids(self, target: str) -> int:
        """Mark every row that names a key id as under ``target`` (after the file was rekeyed); rows changed."""
        tables = self._tables()
        n = 0
        with self.conn:
            for table in KEY_ID_TABLES:
                if table in tables:
                    n += self.conn.execute(
                        f"UPDATE {table} SET key_id = ? WHERE key_id IS NOT NULL AND key_id != ?", (target, target)
                    ).rowcount
        return n


# The per-row sealed columns of a HIGH file; the other tiers keep a key id column per row in these tables instead.
SEALED_COLUMNS = (("docs", "payload"), ("docs", "vector"), ("artifacts", "payload"))
KEY_ID_TABLES = ("docs", "artifacts")


@dataclass(frozen=True, slots=True)
class RowState:
    """Where one stored document stands, for the audit."""

    key_id: str | None
    embedded: bool
    has_vector: bool
