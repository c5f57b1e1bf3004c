"""Name matching in text: the phrase matchers pick exactly what spaCy's entity_ruler picked, at any scale."""

from __future__ import annotations

import random

import pytest
import spacy

from twin_assets.processing.entities import Pattern, TextExtractor

PATTERNS = [
    Pattern("anna eriksen", "PERSON", "e_anna"),
    Pattern("Anna", "PERSON", "e_anna_first", case_sensitive=True),  # a first name alone, case-sensitive
    Pattern("jean-luc picard", "PERSON", "e_jl"),
    Pattern("New York", "GPE", "e_ny", case_sensitive=True),  # a multi-word case-sensitive city
    Pattern("new york times", "ORG", "e_nyt"),
    Pattern("Northwind", "ORG", "e_nw", case_sensitive=True),
    Pattern("harbor project", "PROJECT", "e_harbor"),
    Pattern("o'brien & sons", "ORG", "e_ob"),
    Pattern("york", "GPE", "e_york"),
]

TEXTS = [
    "Met Anna Eriksen and anna at the New York Times office; ANNA ERIKSEN said hi.",
    "Jean-Luc Picard wrote to Northwind, not northwind, about the Harbor Project.",
    "new york, New York, NEW YORK and York: which one?",
    "O'Brien & Sons shipped it. Anna's car; Annabel is not Anna.",
    "",
    "   ",
    "Anna Eriksen Anna Eriksen anna eriksen new york times New York Times",
]


def _reference(extractor: TextExtractor, texts: list[str]) -> list[list[tuple]]:
    nlp = spacy.blank("en")
    extractor._add_ruler(nlp)  # the entity_ruler with token patterns, as the extractor used to run
    return [[(e.label_, e.ent_id_ or None, e.text, e.start_char, e.end_char) for e in d.ents] for d in nlp.pipe(texts)]


def _random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [
        "Anna",
        "anna",
        "Eriksen",
        "eriksen",
        "New",
        "new",
        "York",
        "york",
        "Times",
        "times",
        "Jean",
        "-",
        "Luc",
        "Picard",
        "Northwind",
        "Harbor",
        "project",
        "O'Brien",
        "&",
        "Sons",
        "and",
        "the",
        ",",
        ".",
    ]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))) for _ in range(n)]


@pytest.mark.parametrize("texts", [TEXTS, _random_texts(400, 3)], ids=["crafted", "random"])
def test_phrase_matchers_choose_exactly_what_the_entity_ruler_chose(texts):
    extractor = TextExtractor(PATTERNS)
    if extractor.statistical:
        pytest.skip("a statistical spaCy model is installed: the ruler itself runs")
    got = [list(extractor._spans(doc)) for doc in extractor._nlp.pipe(texts)]
    assert got == _reference(extractor, texts)
    assert any(got)  # the cases do match something


def test_longest_match_wins_and_case_sensitivity_holds():
    extractor = TextExtractor(PATTERNS)
    if extractor.statistical:
        pytest.skip("a statistical spaCy model is installed")
    spans = list(extractor._spans(extractor._nlp("Anna Eriksen met anna and Anna in new york, New York.")))
    assert [(s[1], s[2]) for s in spans] == [
        ("e_anna", "Anna Eriksen"),
        ("e_anna_first", "Anna"),
        ("e_york", "york"),
        ("e_ny", "New York"),
    ]


def _mixed_texts(n: int, seed: int) -> list[str]:
    """Random texts where most name nobody, with the punctuation and word joins that tokenizers split."""
    rng = random.Random(seed)
    filler = [
        "ok",
        "thanks",
        "see",
        "you",
        "at",
        "10km",
        "the",
        "Anna's",
        "Annabel",
        "@anna",
        "anna_b",
        "NEW",
        "York-based",
        "(Northwind)",
        "Picard.",
        "o'brien",
        "sons",
        "x2",
        "Ånna",
        "niño",
        ",",
        "!",
        "\n",
    ]
    names = ["Anna Eriksen", "Jean-Luc Picard", "New York", "O'Brien & Sons", "harbor project", "York"]
    return [
        " ".join(rng.choice(names) if rng.random() < 0.05 else rng.choice(filler) for _ in range(rng.randint(1, 25)))
        for _ in range(n)
    ]


@pytest.mark.parametrize(
    "texts", [TEXTS, _random_texts(400, 3), _mixed_texts(2000, 5)], ids=["crafted", "random", "mixed"]
)
def test_texts_skipped_before_tokenizing_would_have_matched_nothing(texts):
    extractor = TextExtractor(PATTERNS)
    if extractor.statistical:
        pytest.skip("a statistical spaCy model is installed")
    skipped = [t for t in texts if not extractor.could_match(t)]
    assert all(not list(extractor._spans(d)) for d in extractor._nlp.pipe(skipped))
    if texts is not TEXTS:
        assert skipped  # the filter does skip texts
