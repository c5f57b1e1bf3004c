from __future__ import annotations

import numpy as np

from tests.processing.helpers import make_doc
from twin_assets.processing.topics import (
    BURST,
    DECLINING,
    RISING,
    _trend,
    ctfidf_keywords,
    find_topics,
    is_topical,
    tfidf_vectors,
    topic_text,
)

RUNNING = [
    "long run on sunday at an easy pace",
    "marathon plan week five done, pace improving",
    "tempo run today at marathon pace",
    "registered for the marathon, long run group",
]
SEARCH = [
    "vector search recall dropped after the reindex",
    "new embeddings improve vector search recall",
    "reindex finished, recall on the eval set is up",
    "shard the vector search index before reindex",
]


def _docs():
    out = []
    for i in range(24):
        group = RUNNING if i % 2 else SEARCH
        month = 1 + i // 4
        out.append(
            make_doc(
                f"d{i:02d}",
                title="",
                body=group[i % 4],
                when=f"2024-{month:02d}-10T10:00:00",
                tier="LOW" if i == 0 else "HIGH",
            )
        )
    return out


def _fake_vectors(docs):
    rng = np.random.default_rng(0)
    rows = []
    for d in docs:
        base = np.array([1.0, 0, 0, 0]) if "run" in d.body or "marathon" in d.body else np.array([0, 1.0, 0, 0])
        v = base + rng.normal(0, 0.05, 4)
        rows.append(v / np.linalg.norm(v))
    return np.array(rows, dtype=np.float32)


def test_two_obvious_groups_become_two_labelled_topics():
    docs = _docs()
    model = find_topics(docs, _fake_vectors(docs), k=2, seed=3)
    assert len(model.topics) == 2
    by_word = {("marathon" in " ".join(t.keywords)): t for t in model.topics}
    running, search = by_word[True], by_word[False]
    assert set(running.evidence) == {d.id for d in docs if "run" in d.body or "marathon" in d.body}
    assert {"vector search", "recall", "reindex"} & set(search.keywords[:4])
    assert search.tier == "HIGH" and running.size == 12
    assert all(model.assignments[i] == running.id for i in running.evidence)


def test_topics_are_deterministic_and_k_is_chosen_when_not_given():
    docs = _docs()
    vectors = _fake_vectors(docs)
    a = find_topics(docs, vectors, seed=1, k_range=(2, 4))
    b = find_topics(docs, vectors, seed=1, k_range=(2, 4))
    assert [t.id for t in a.topics] == [t.id for t in b.topics] and a.k == 2


def test_tfidf_vectors_separate_the_groups_too():
    docs = _docs()
    vectors = tfidf_vectors([d.body for d in docs], dim=8)
    assert vectors.shape[0] == 24 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    model = find_topics(docs, vectors, k=2, seed=0)
    sizes = sorted(t.size for t in model.topics)
    assert sizes == [12, 12]


def test_ctfidf_prefers_words_specific_to_a_cluster():
    texts = ["apple banana common", "apple cherry common", "engine motor common", "engine wheel common"]
    words = ctfidf_keywords(texts, [0, 0, 1, 1], top_n=3)
    assert words[0][0] == "apple" and words[1][0] == "engine" and "common" not in words[0][:1]


def test_trend_labels():
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    rising = {m: 0.02 * i for i, m in enumerate(months) if i >= 7}
    assert _trend(rising, months)[0] == RISING
    declining = {m: 0.2 for i, m in enumerate(months) if i < 5}
    assert _trend(declining, months)[0] == DECLINING
    burst = {months[5]: 0.3, months[6]: 0.4}
    assert _trend(burst, months)[0] == BURST


def test_topic_text_drops_links_greetings_and_headings():
    doc = make_doc(
        "n1",
        source="notes",
        kind="note",
        title="Saturday",
        body="# Saturday\n\n## Log\n- Met [[Anna Mendes|Anna]]\n"
        "- The kitchen tiles arrived today, finally. #renovation",
    )
    text = topic_text(doc)
    assert "Anna" not in text and "Log" not in text and "kitchen tiles arrived" in text and "renovation" in text
    assert is_topical(doc)
    txn = make_doc("t", source="ofx", kind="transaction", title="REWE", body="Kartenzahlung girocard")
    assert not is_topical(txn)


def test_topical_texts_match_one_document_at_a_time_and_use_given_normalisations():
    from twin_assets.processing.text import normalise
    from twin_assets.processing.topics import topical_texts

    docs = [
        *_docs(),
        make_doc("t", source="ofx", kind="transaction", title="REWE", body="Kartenzahlung"),
        make_doc("short", body="ok thanks"),
        make_doc("q", body="My own words about the marathon plan today\n\n> quoted line about taxes\n> more"),
    ]
    kept, texts = topical_texts(docs)
    assert [d.id for d in kept] == [d.id for d in docs if is_topical(d)]
    assert texts == [topic_text(d) for d in kept]
    norms = {d.id: normalise(d) for d in docs}
    assert topical_texts(docs, norms) == (kept, texts)
    # A stored normalisation is used as given, not recomputed: here one that removes nothing keeps the quote.
    from dataclasses import replace

    raw = {**norms, "q": replace(norms["q"], removed=[])}
    q_text = dict(zip([d.id for d in kept], topical_texts(docs, raw)[1], strict=True))["q"]
    assert "taxes" in q_text and "taxes" not in dict(zip([d.id for d in kept], texts, strict=True))["q"]


def test_tfidf_beyond_the_fit_sample_projects_every_text_and_keeps_groups_apart(monkeypatch):
    import twin_assets.processing.topics as topics_mod

    texts = [(RUNNING if i % 2 else SEARCH)[i % 4] + f" note {i}" for i in range(120)]
    monkeypatch.setattr(topics_mod, "FIT_SAMPLE", 40)  # fit on 40 texts, project all 120
    x = tfidf_vectors(texts, dim=10, seed=1)
    assert x.shape[0] == 120 and x.dtype == np.float32
    sims = x @ x.T
    same = np.array([[i % 2 == j % 2 for j in range(120)] for i in range(120)])
    np.fill_diagonal(same, False)
    cross = ~same
    np.fill_diagonal(cross, False)
    assert sims[same].mean() > sims[cross].mean() + 0.3
