from __future__ import annotations

import pytest

from tests.processing.helpers import make_doc, party
from twin_assets.processing.resolution import ResolveOptions, resolve
from twin_assets.processing.sentiment import (
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    document_sentiment,
    label_for,
    relationship_sentiment,
    score_text,
)

ME = ("Lena Brandt", "lena@home.example")
FRIEND = ("Paco Krause", "paco@mail.example")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I am so happy for you, congratulations! This is wonderful news.", POSITIVE),
        ("I'm really disappointed and angry that you cancelled again. It hurts.", NEGATIVE),
        ("The train leaves at 9:40 from platform 4.", NEUTRAL),
        ("that was such a nice evening ❤️", POSITIVE),
    ],
)
def test_polarity_of_obvious_sentences(text, label):
    assert label_for(score_text(text)["compound"]) == label


def test_long_text_is_scored_per_sentence():
    text = ("The weather was awful and I hated the delay. " * 30) + "Anyway."
    assert score_text(text)["compound"] < -0.3


def test_quoted_anger_does_not_colour_a_friendly_reply():
    body = (
        "Thank you so much, that was kind of you!\n\nOn Mon, 1 Jan 2024 at 10:00, Paco wrote:\n"
        "> I hate this, it is awful and I am furious."
    )
    doc = make_doc("m1", body=body, parties=[party("from", *ME), party("to", *FRIEND)])
    [s] = document_sentiment([doc])
    assert s.label == POSITIVE and s.tier == "HIGH" and s.evidence == ["m1"]


def test_non_english_scores_are_flagged_unreliable():
    doc = make_doc("m1", body="Liebe Lena, das ist nicht gut und ich bin sehr traurig, wir sind nicht froh.")
    [s] = document_sentiment([doc])
    assert s.language == "de" and not s.reliable


def _msg(doc_id, when, sender, recipient, body, tier="HIGH"):
    return make_doc(doc_id, body=body, when=when, tier=tier, parties=[party("from", *sender), party("to", *recipient)])


def test_relationship_months_counts_and_slopes():
    docs = [
        _msg("a1", "2024-01-05T10:00:00", FRIEND, ME, "Great dinner, thank you, I loved it!"),
        _msg("a2", "2024-01-09T10:00:00", ME, FRIEND, "Wonderful, happy to hear that!"),
        _msg("a3", "2024-01-20T10:00:00", FRIEND, ME, "See you soon, this is great."),
        _msg("a4", "2024-02-11T10:00:00", FRIEND, ME, "Fine."),
        _msg("a5", "2024-04-02T10:00:00", FRIEND, ME, "I'm angry and hurt, this was awful.", tier="MEDIUM"),
        _msg("x1", "2024-01-06T10:00:00", ("Other", "o@mail.example"), ME, "ok"),
        _msg("x2", "2024-01-07T10:00:00", ("Other", "o@mail.example"), ME, "ok"),
        _msg("x3", "2024-01-08T10:00:00", ME, ("Other", "o@mail.example"), "ok"),
    ]
    res = resolve(docs, options=ResolveOptions(text=False))
    rel = {r.entity_id: r for r in relationship_sentiment(docs, res, document_sentiment(docs))}
    paco = rel[res.lookup("email:paco@mail.example").id]
    assert [m.month for m in paco.months] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert [(m.sent, m.received) for m in paco.months] == [(1, 2), (0, 1), (0, 0), (0, 1)]
    assert paco.sent == 1 and paco.received == 4
    assert paco.count_slope < 0 and paco.slope < 0
    assert paco.lowest_month == "2024-04"
    assert paco.tier == "HIGH" and set(paco.evidence) == {"a1", "a2", "a3", "a4", "a5"}
    assert res.self_id not in rel
