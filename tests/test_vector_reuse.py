"""Equal texts are embedded once per sync, and every text still gets its own text's vector."""

from __future__ import annotations

import numpy as np

from twin_assets.pipeline.embeddings import REUSE_MAX_CHARS, VectorReuse


def fake_model(calls: list[list[str]]):
    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        # A vector that depends on the text alone, so a mix-up between texts shows.
        return np.array([[len(t), sum(map(ord, t)) % 997, 1.0] for t in texts], dtype=np.float32)

    return embed


def test_duplicates_in_a_round_and_across_rounds_are_embedded_once():
    calls: list[list[str]] = []
    reuse = VectorReuse()
    first = reuse.embed(["ok", "thanks", "ok", "see you at 5"], fake_model(calls))
    second = reuse.embed(["thanks", "new one", "ok"], fake_model(calls))
    assert calls == [["ok", "thanks", "see you at 5"], ["new one"]]
    direct = fake_model([])
    assert np.array_equal(first, direct(["ok", "thanks", "ok", "see you at 5"]))
    assert np.array_equal(second, direct(["thanks", "new one", "ok"]))
    assert (reuse.embedded, reuse.reused) == (4, 3)


def test_long_texts_are_not_remembered_across_rounds_and_memory_is_bounded():
    calls: list[list[str]] = []
    reuse = VectorReuse(max_entries=2)
    long_text = "x" * (REUSE_MAX_CHARS + 1)
    reuse.embed([long_text, long_text, "a", "b", "c"], fake_model(calls))
    assert calls[0] == [long_text, "a", "b", "c"]  # within a round even a long text is embedded once
    reuse.embed([long_text, "a", "c"], fake_model(calls))
    assert calls[1] == [long_text, "a"]  # "a" was evicted (two entries kept: b, c); the long text never kept
    assert len(reuse._known) == 2


def test_an_empty_round_calls_nothing():
    calls: list[list[str]] = []
    reuse = VectorReuse()
    reuse.embed(["same"], fake_model(calls))
    out = reuse.embed(["same", "same"], fake_model(calls))
    assert len(calls) == 1 and out.shape == (2, 3)


def test_a_round_that_reuses_the_oldest_entries_while_filling_the_memory_gets_every_vector():
    calls: list[list[str]] = []
    reuse = VectorReuse(max_entries=3)
    reuse.embed(["a", "b", "c"], fake_model(calls))
    # "a" and "b" are remembered and reused here, while three new texts evict them on the way in.
    out = reuse.embed(["a", "x", "y", "z", "b"], fake_model(calls))
    assert calls[1] == ["x", "y", "z"]
    assert np.array_equal(out, fake_model([])(["a", "x", "y", "z", "b"]))
