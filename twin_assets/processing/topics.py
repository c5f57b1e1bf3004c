"""Topics: clusters of document vectors, labelled with c-TF-IDF keywords, with monthly trends.

Vectors come from the caller — normally ``twin_assets.embedding.embed`` (unit length), or
:func:`tfidf_vectors` when no model is at hand. KMeans groups them (k chosen by silhouette when not
given); each cluster is labelled by class-based TF-IDF: the words frequent in that cluster's
texts and rare in the others, stopwords and names removed. Each topic's share of the documents
per month gives its trend: rising, declining, a burst, or stable. The same input and seed always
give the same topics; :func:`describe_topics` redraws them from clusters and keywords already chosen
(how a build places a few new documents without refitting).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from twin_assets.processing.text import CleanText, clean_text
from twin_assets.records import Document
from twin_assets.tiers import Tier

RISING, DECLINING, BURST, STABLE = "rising", "declining", "burst", "stable"
_GERMAN = (
    "und der die das ist nicht ich du wir sie es ein eine mit auf für zu den dem von im auch noch wie aber "
    "oder wenn dass hier mir bitte uns sind war hat haben wird kann schon nur liebe lieber viele grüße "
    "hallo danke gerne heute morgen"
)
_MAIL_WORDS = (
    "hi hello hey dear thanks thank cheers best regards love kind wishes re fw fwd let know just "
    "ok okay yes sure really week today tomorrow did got ll ve don didn sent like think good great "
    "pm am monday tuesday wednesday thursday friday saturday sunday january february march april may "
    "june july august september october november december"
)
_WIKILINK = re.compile(r"!?\[\[[^\]\n]{0,300}\]\]")
_NOISE = re.compile(r"\S+@\S+|\bhttps?://\S+|<@?[A-Z0-9]+>|^#{1,6} .*$", re.MULTILINE)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|hallo|liebe|lieber|moin)\b[^\n]{0,40}$", re.IGNORECASE | re.MULTILINE)
_TOKEN = r"(?u)\b[^\W\d_][\w\-]{2,}\b"


@dataclass
class Topic:
    id: str
    label: str
    keywords: list[str]
    size: int
    months: dict[str, float]  # month -> share of that month's documents in this topic
    trend: str
    slope: float  # change of the monthly share per month, relative to its mean
    tier: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class TopicModel:
    topics: list[Topic]
    assignments: dict[str, str]  # doc id -> topic id
    k: int
    seed: int
    # What a later build needs to place new documents without refitting: the centroids (k x dim), each
    # document's centroid row and each row's keywords.
    centroids: np.ndarray | None = None
    labels: dict[str, int] = field(default_factory=dict)
    keywords: dict[int, list[str]] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)  # centroid row -> topic id


def is_topical(doc: Document, norm: CleanText | None = None, min_words: int = 4) -> bool:
    """Documents that can carry a topic: messages, notes, events and chat with some words of their own."""
    return _topical_text(doc, norm, min_words) is not None


def _topical_text(doc: Document, norm: CleanText | None, min_words: int = 4) -> str | None:
    attrs = (doc.meta or {}).get("attributes") or {}
    if doc.kind in ("contact", "transaction") or attrs.get("system"):
        return None
    text = topic_text(doc, norm)
    return text if len(re.findall(r"\w+", text[:4000])) >= min_words else None


def topical_texts(
    docs: Iterable[Document], norms: dict[str, CleanText] | None = None
) -> tuple[list[Document], list[str]]:
    """The topical documents and their topic texts, each text computed once (with stored normalisations
    where given: normalising again was a third of the insights step)."""
    kept: list[Document] = []
    texts: list[str] = []
    for d in docs:
        text = _topical_text(d, (norms or {}).get(d.id))
        if text is not None:
            kept.append(d)
            texts.append(text)
    return kept, texts


def topic_text(doc: Document, norm: CleanText | None = None) -> str:
    """What a document is about, for clustering: its own words without greetings, headings, links,
    addresses and wikilinked names (a daily note's "Met [[Anna]]" says who, not what)."""
    text = clean_text(doc, norm)
    text = _WIKILINK.sub(" ", text)
    text = _NOISE.sub(" ", text)
    text = _GREETING.sub(" ", text)
    lines = [ln for ln in text.splitlines() if len(re.findall(r"\w+", ln)) > 2]
    return re.sub(r"#(?=\w)", "", "\n".join(lines)).strip()


def stopwords(extra: Iterable[str] = ()) -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return (
        frozenset(ENGLISH_STOP_WORDS)
        | frozenset(_GERMAN.split())
        | frozenset(_MAIL_WORDS.split())
        | {w.lower() for w in extra}
    )


def tfidf_vectors(texts: Sequence[str], dim: int = 100, seed: int = 0) -> np.ndarray:
    """Unit-length LSA vectors (TF-IDF then truncated SVD): a model-free stand-in for embeddings."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    vectorizer = TfidfVectorizer(
        stop_words=sorted(stopwords()),
        token_pattern=_TOKEN,
        ngram_range=(1, 2),
        min_df=2 if len(texts) > 50 else 1,
        sublinear_tf=True,
    )
    if len(texts) <= FIT_SAMPLE:
        matrix = vectorizer.fit_transform(texts)
        n = max(1, min(dim, matrix.shape[1] - 1, matrix.shape[0] - 1))
        reduced = TruncatedSVD(n_components=n, random_state=seed).fit_transform(matrix) if n > 1 else matrix.toarray()
        return normalize(reduced).astype(np.float32)
    # Beyond FIT_SAMPLE texts the vocabulary and the SVD are fitted on a fixed sample and every text is
    # projected in batches: a bigram vocabulary over a million texts alone took gigabytes.
    idx = np.sort(np.random.default_rng(seed).choice(len(texts), size=FIT_SAMPLE, replace=False))
    sample = vectorizer.fit_transform([texts[i] for i in idx])
    n = max(1, min(dim, sample.shape[1] - 1, sample.shape[0] - 1))
    svd = TruncatedSVD(n_components=n, random_state=seed).fit(sample) if n > 1 else None
    out = np.empty((len(texts), n if svd is not None else sample.shape[1]), dtype=np.float32)
    for start in range(0, len(texts), 50_000):
        part = vectorizer.transform(texts[start : start + 50_000])
        out[start : start + part.shape[0]] = normalize(svd.transform(part) if svd is not None else part.toarray())
    return out


def choose_k(vectors: np.ndarray, ks: Iterable[int], seed: int = 0, sample: int = 2000) -> int:
    """The k with the best silhouette on a fixed sample."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(vectors), size=min(sample, len(vectors)), replace=False)
    x = vectors[np.sort(idx)].astype(np.float32)
    # One distance matrix for every k: silhouette_score on float32 vectors recomputed it per k through
    # sklearn's chunked upcast path (60 s of a 100 s topic build at 10k records); same scores.
    x64 = x.astype(np.float64)
    sq = np.einsum("ij,ij->i", x64, x64)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x64 @ x64.T), 0.0))
    np.fill_diagonal(dist, 0.0)
    best_k, best = None, -2.0
    for k in ks:
        if k < 2 or k >= len(x):
            continue
        labels = KMeans(n_clusters=k, random_state=seed, n_init=3).fit_predict(x)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(dist, labels, metric="precomputed")
        if score > best:
            best_k, best = k, score
    return best_k or 2


MAX_CLASS_TEXTS = 5_000
FIT_SAMPLE = 20_000  # beyond this many documents, centroids are fitted on a sample and every document assigned


def _cluster(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """KMeans (labels, centroids). Fitting on a fixed sample keeps a million documents to seconds; the
    centroids of 20k points drawn at random differ little from the full fit's, and every document is
    still labelled."""
    from sklearn.cluster import KMeans

    if k <= 1:
        return np.zeros(len(x), int), x.mean(axis=0, keepdims=True, dtype=np.float32)
    model = KMeans(n_clusters=k, random_state=seed, n_init=4)
    if len(x) <= FIT_SAMPLE:
        labels = model.fit_predict(x.astype(np.float32, copy=False))
    else:
        idx = np.sort(np.random.default_rng(seed).choice(len(x), size=FIT_SAMPLE, replace=False))
        model.fit(x[idx].astype(np.float32))
        labels = assign(x, model.cluster_centers_)
    return labels, model.cluster_centers_.astype(np.float32)


def assign(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each row's nearest centroid (Euclidean, as KMeans assigns), in batches."""
    c = np.asarray(centroids, dtype=np.float32)
    half_sq = 0.5 * np.einsum("ij,ij->i", c, c)
    out = np.empty(len(x), dtype=np.int64)
    for i in range(0, len(x), 50_000):
        out[i : i + 50_000] = np.argmax(x[i : i + 50_000] @ c.T - half_sq, axis=1)
    return out


def ctfidf_keywords(
    texts: Sequence[str], labels: Sequence[int], top_n: int = 10, extra_stopwords: Iterable[str] = ()
) -> dict[int, list[str]]:
    """Class-based TF-IDF (Grootendorst 2022): per cluster, words frequent in it and rare elsewhere."""
    from sklearn.feature_extraction.text import CountVectorizer

    classes = sorted(set(labels))
    members: dict[int, list[str]] = {c: [] for c in classes}
    for t, lab in zip(texts, labels, strict=True):
        members[lab].append(t)
    # Keywords of a cluster settle long before 5,000 texts; an even stride keeps a big one's cost bounded.
    joined = [" ".join(ts[:: max(1, len(ts) // MAX_CLASS_TEXTS)][:MAX_CLASS_TEXTS]) for ts in members.values()]
    vectorizer = CountVectorizer(
        stop_words=sorted(stopwords(extra_stopwords)), token_pattern=_TOKEN, ngram_range=(1, 2), lowercase=True
    )
    try:
        counts = vectorizer.fit_transform(joined).astype(float)
    except ValueError:  # nothing but stopwords
        return {c: [] for c in classes}
    vocab = np.array(vectorizer.get_feature_names_out())
    tf = counts.multiply(1.0 / np.maximum(counts.sum(axis=1), 1)).tocsr()
    avg = counts.sum() / max(1, len(classes))
    idf = np.log(1 + avg / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1))
    scores = tf.multiply(idf).tocsr()
    out = {}
    for i, c in enumerate(classes):
        row = scores.getrow(i).toarray().ravel()
        order = np.argsort(-row, kind="stable")
        words: list[str] = []
        for j in order:
            if row[j] <= 0 or len(words) >= top_n:
                break
            word = str(vocab[j])
            # A bigram whose words are both already listed adds nothing; a word inside a listed bigram neither.
            if any(word in w.split() for w in words if " " in w):
                continue
            words.append(word)
        out[c] = words
    return out


def _trend(months: dict[str, float], all_months: list[str]) -> tuple[str, float]:
    """Classify a topic's monthly share: confined to a short span (burst, or rising/declining when that
    span touches the end/start of the data), else by the relative least-squares slope."""
    series = np.array([months.get(m, 0.0) for m in all_months])
    n = len(series)
    if n < 3 or series.sum() == 0:
        return STABLE, 0.0
    smooth = np.convolve(series, np.ones(3) / 3, mode="same")
    mean = series.mean()
    slope = float(np.polyfit(np.arange(n), series, 1)[0])
    relative = round(slope * n / mean, 3) if mean else 0.0
    active = np.flatnonzero(smooth > 0.2 * smooth.max())
    first, last = int(active[0]), int(active[-1])
    if last - first + 1 <= 0.4 * n:
        if last >= n - 2 and first > 1:
            return RISING, relative
        if first <= 1 and last < n - 2:
            return DECLINING, relative
        if first > 1:
            return BURST, relative
    if first > 0.25 * n and last >= n - 2:
        return RISING, relative  # appeared part-way through and is still there
    if first <= 1 and last < 0.75 * n:
        return DECLINING, relative  # was there from the start and stopped
    if relative > 1.0:
        return RISING, relative
    if relative < -1.0:
        return DECLINING, relative
    return STABLE, relative


def find_topics(
    docs: Sequence[Document],
    vectors: np.ndarray,
    *,
    texts: Sequence[str] | None = None,
    k: int | None = None,
    seed: int = 0,
    k_range: tuple[int, int] = (4, 30),
    extra_stopwords: Iterable[str] = (),
    top_n: int = 10,
) -> TopicModel:
    """Cluster ``vectors`` (one row per document, same order) into topics."""
    if len(docs) != len(vectors):
        raise ValueError("one vector per document")
    if len(docs) < 2:
        return TopicModel([], {}, 0, seed)
    texts = list(texts) if texts is not None else [topic_text(d) for d in docs]
    vectors = np.asarray(vectors)
    x = vectors if vectors.dtype in (np.float16, np.float32) else vectors.astype(np.float32)
    if k is None:
        hi = min(k_range[1], max(2, len(docs) // 20))
        k = choose_k(x, range(k_range[0], hi + 1, 2), seed=seed) if hi > k_range[0] else max(2, min(hi, len(docs) - 1))
    k = max(1, min(k, len(docs)))
    labels, centroids = _cluster(x, k, seed)
    keywords = ctfidf_keywords(texts, list(labels), top_n=top_n, extra_stopwords=extra_stopwords)
    return describe_topics(docs, labels.tolist(), keywords, k=k, seed=seed, centroids=centroids)


def describe_topics(
    docs: Sequence[Document],
    labels: Sequence[int],
    keywords: dict[int, list[str]],
    *,
    k: int,
    seed: int,
    centroids: np.ndarray | None = None,
    ids: dict[int, str] | None = None,
) -> TopicModel:
    """Topics from each document's cluster and each cluster's keywords: members, monthly shares, trend. A fit's
    topics are named by their members; ``ids`` keeps those names while new documents join (so a topic's stored
    evidence grows by the new ones instead of being rewritten whole)."""
    months_total: Counter = Counter()
    for d in docs:
        if d.event_time is not None:
            months_total[d.event_time.strftime("%Y-%m")] += 1
    # Expanded recurring events reach years beyond the data (birthdays, 2 years ahead): months with a
    # handful of documents would make any share look like a spike, so trends use the dense months only.
    floor = 0.1 * float(np.percentile(list(months_total.values()), 90)) if months_total else 0.0
    all_months = sorted(m for m, n in months_total.items() if n >= floor)
    topics = []
    assignments: dict[str, str] = {}
    named: dict[int, str] = {}
    by_label: dict[int, list[Document]] = defaultdict(list)  # one pass, not one per cluster
    for d, lab in zip(docs, labels, strict=True):
        by_label[lab].append(d)
    dense_months = set(all_months)
    for c in sorted(by_label):
        members = by_label[c]
        words = keywords.get(c, [])
        tid = (ids or {}).get(c) or "top_" + hashlib.sha256(
            "|".join(sorted(d.id for d in members)).encode()
        ).hexdigest()[:12]
        per_month: Counter = Counter(d.event_time.strftime("%Y-%m") for d in members if d.event_time is not None)
        shares = {m: round(per_month[m] / months_total[m], 4) for m in sorted(per_month)}
        dense = {m: v for m, v in shares.items() if m in dense_months}
        trend, slope = _trend(dense, all_months)
        topics.append(
            Topic(
                id=tid,
                label=" / ".join(words[:3]) or f"cluster {c}",
                keywords=words,
                size=len(members),
                months=shares,
                trend=trend,
                slope=slope,
                tier=Tier.max_of(*(d.tier for d in members)),
                evidence=[d.id for d in members],
            )
        )
        named[c] = tid
        for d in members:
            assignments[d.id] = tid
    topics.sort(key=lambda t: (-t.size, t.id))
    return TopicModel(
        topics=topics,
        assignments=assignments,
        k=k,
        seed=seed,
        centroids=centroids,
        labels={d.id: int(lab) for d, lab in zip(docs, labels, strict=True)},
        keywords={int(c): w for c, w in keywords.items()},
        ids=named,
    )
