"""Embed documents that have no vector yet, per tier, in batches; never embed twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from twin_assets.db.engine import session_scope
from twin_assets.embedding import check_home_backend, embed
from twin_assets.pipeline.lineage import add_lineage_many
from twin_assets.stores import HIGH, LOW, TIERS
from twin_assets.stores.vectors import collection_name
from twin_assets.twin import Twin

EMBED_CHARS = 2000  # the model reads 256 tokens; more text only costs tokenizer time
# Documents read and embedded per round. The model sorts each round by length so a batch pads only to its own
# longest text; rounds of 512 left ~10% of the model's time to padding that a larger pool avoids.
EMBED_DOCS = 4096
# Equal texts get one model call: chat ("ok", "thanks"), recurring events and notifications repeat, and a vector
# depends on the text alone. Only short texts are remembered across rounds (long ones rarely repeat), and only
# this many, so memory stays bounded (~80 MB) however large the sync.
REUSE_MAX_CHARS = 300
REUSE_ENTRIES = 50_000


class VectorReuse:
    """Embed each distinct text once per sync; remembers recent short texts' vectors in memory only."""

    def __init__(self, max_entries: int = REUSE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._known: dict[str, np.ndarray] = {}
        self.embedded = 0
        self.reused = 0

    def embed(self, texts: Sequence[str], embed_fn: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._known))
        fresh = dict(zip(todo, embed_fn(todo), strict=True)) if todo else {}
        self.embedded += len(todo)
        self.reused += len(texts) - len(todo)
        # The answer is assembled before new vectors are remembered: remembering evicts the oldest entries,
        # which this round may be reusing.
        out = np.stack([fresh[t] if t in fresh else self._known[t] for t in texts]).astype(np.float32, copy=False)
        for text, vec in fresh.items():
            if len(text) <= REUSE_MAX_CHARS:
                if len(self._known) >= self.max_entries:
                    del self._known[next(iter(self._known))]  # oldest first: dicts keep insertion order
                self._known[text] = vec
        return out


def embed_pending(
    twin: Twin, tiers: tuple[str, ...] = TIERS, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    counts = dict.fromkeys(tiers, 0)
    batch = max(twin.settings.embedding.batch_size, EMBED_DOCS)
    if not any(twin.store(t).pending_embedding_count() for t in tiers):
        return counts
    # Vectors of one home come from one backend family; a home from before the record was made by torch.
    existing = any(twin.store(t).count() > twin.store(t).pending_embedding_count() for t in TIERS)
    backend = check_home_backend(twin.settings, existing_vectors=existing)
    reuse = VectorReuse()

    def model(texts: list[str]) -> np.ndarray:
        return embed(
            texts,
            batch_size=twin.settings.embedding.batch_size,
            max_seq_length=twin.settings.embedding.max_seq_length,
            backend=backend,
            models=twin.embedding_models,
        )

    for tier in tiers:
        store = twin.store(tier)
        if store.pending_embedding_count() == 0:
            continue
        with twin.vectors() as vectors:
            while docs := store.pending_embedding(batch):
                texts = [d.text()[:EMBED_CHARS] for d in docs]
                mat = reuse.embed(texts, model)
                ids = [d.id for d in docs]
                if tier == HIGH:
                    store.mark_embedded(ids, mat)
                    where = "store:high"
                else:
                    metas = (
                        [
                            {
                                "source": d.source,
                                "kind": d.kind,
                                "ts": d.event_time.timestamp() if d.event_time else -1.0,
                            }
                            for d in docs
                        ]
                        if tier == LOW
                        else None
                    )
                    vectors.upsert(tier, ids, mat, metadatas=metas)
                    store.mark_embedded(ids)
                    where = f"chroma:{collection_name(tier)}"
                with session_scope(twin.engine) as s:
                    key_id = twin.keyring.active_id if tier == HIGH else None
                    add_lineage_many(s, [(i, "vector", i, where, key_id) for i in ids])
                counts[tier] += len(ids)
                if progress:
                    progress(len(ids))
    return counts
