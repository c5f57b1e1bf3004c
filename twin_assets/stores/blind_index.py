"""The ``blind_index`` table of the MEDIUM store: ``(field, token)`` to document ids.

Tokens are keyed hashes made by :mod:`twin_assets.pipeline.blind_index`; this table only keeps them,
beside the documents they point to, under the same SQLCipher key.
"""

from __future__ import annotations

from collections.abc import Iterable

from twin_assets.stores.documents import DocumentStore


class BlindIndexStore:
    def __init__(self, store: DocumentStore) -> None:
        self.conn = store.conn

    def exists(self) -> bool:
        return bool(
            self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'blind_index'").fetchone()
        )

    def create(self) -> None:
        with self.conn:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS blind_index (field TEXT NOT NULL, token TEXT NOT NULL, "
                "doc_id TEXT NOT NULL, PRIMARY KEY (field, token, doc_id)) WITHOUT ROWID"
            )
            self.conn.execute("CREATE INDEX IF NOT EXISTS ix_blind_index_doc ON blind_index(doc_id)")

    def replace(self, entries: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> int:
        """For each (document id, its (field, token) pairs): drop the document's old entries, write these; one
        transaction. Returns the entries written."""
        n = 0
        with self.conn:
            for doc_id, tokens in entries:
                self.conn.execute("DELETE FROM blind_index WHERE doc_id = ?", (doc_id,))
                for field_name, token in tokens:
                    self.conn.execute(
                        "INSERT OR IGNORE INTO blind_index (field, token, doc_id) VALUES (?,?,?)",
                        (field_name, token, doc_id),
                    )
                    n += 1
        return n

    def lookup(self, field_name: str, token: str) -> list[str]:
        """Document ids with this token in this field, in id order."""
        rows = self.conn.execute(
            "SELECT doc_id FROM blind_index WHERE field = ? AND token = ? ORDER BY doc_id", (field_name, token)
        )
        return [r[0] for r in rows]

    def remove(self, doc_ids: list[str]) -> int:
        """Drop every entry of these documents; entries removed."""
        n = 0
        with self.conn:
            for start in range(0, len(doc_ids), 500):
                chunk = doc_ids[start : start + 500]
                n += self.conn.execute(
                    f"DELETE FROM blind_index WHERE doc_id IN ({','.join('?' * len(chunk))})", chunk
                ).rowcount
        return n

    def counts(self) -> dict[str, int]:
        """Entries per field."""
        return dict(self.conn.execute("SELECT field, count(*) FROM blind_index GROUP BY field").fetchall())

    def count_for(self, doc_id: str) -> int:
        """Entries of one document."""
        return int(self.conn.execute("SELECT count(*) FROM blind_index WHERE doc_id = ?", (doc_id,)).fetchone()[0])
