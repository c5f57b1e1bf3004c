from __future__ import annotations

from itertools import pairwise

import pytest

from tests.processing.helpers import make_doc
from twin_assets.processing.text import (
    BOILERPLATE,
    FORWARD,
    QUOTE,
    SIGNATURE,
    chunk,
    clean_text,
    detect_language,
    find_quotes,
    normalise,
    passages,
)

REPLY = (
    "Sounds good, see you at 7.\n"
    "\n"
    "Best,\n"
    "Anna\n"
    "\n"
    "On Fri, 07 Jul 2023 at 10:08, Lena Brandt <lena@example.org>\n"
    "wrote:\n"
    "> Dinner tonight?\n"
    ">\n"
    "> Lena"
)


def test_quoted_reply_is_an_offset_range_including_the_wrapped_attribution():
    spans = find_quotes(REPLY)
    assert len(spans) == 1
    span = spans[0]
    assert span.kind == QUOTE
    assert REPLY[span.start :].startswith("On Fri, 07 Jul 2023")
    assert span.end == len(REPLY)
    assert "Dinner tonight?" not in REPLY[: span.start]


def test_normalise_keeps_only_the_authors_words_and_finds_the_signer():
    doc = make_doc("d1", title="Re: Dinner", body=REPLY)
    norm = normalise(doc)
    kinds = {s.kind for s in norm.removed}
    assert kinds == {QUOTE, SIGNATURE}
    assert norm.clean(doc.body) == "Sounds good, see you at 7."
    assert norm.signer is not None and doc.body[norm.signer[0] : norm.signer[1]] == "Anna"
    # The ranges are offsets, not copies: kept + removed tile the body exactly.
    pieces = sorted([(s.start, s.end) for s in norm.removed] + norm.kept())
    assert pieces[0][0] == 0 and pieces[-1][1] == len(doc.body)
    assert all(a[1] == b[0] for a, b in pairwise(pieces))
    assert clean_text(doc, norm) == "Re: Dinner\n\nSounds good, see you at 7."


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Ursprüngliche Nachricht-----",
        "---------------------- Forwarded by Jeff Dasovich/SF/ECT on 10/17/2000 02:44 PM ---------------------------",
    ],
)
def test_outlook_and_notes_separators_quote_everything_after_them(separator):
    body = f"Please see below.\n\n{separator}\nFrom: Someone Else\nSent: Monday\nTo: Me\nSubject: x\n\nold text"
    spans = find_quotes(body)
    assert [s.kind for s in spans] == [FORWARD]
    assert body[spans[0].start :].startswith(separator.strip()[:5])
    assert body[: spans[0].start].strip() == "Please see below."


def test_outlook_header_block_without_separator_is_quoted():
    body = (
        "Fine by me.\n\nFrom: Smith, Bob [mailto:bob@acme.example]\nSent: Tuesday, May 1, 2001 9:00 AM\n"
        "To: Me\nSubject: plan\n\nOld plan text"
    )
    spans = find_quotes(body)
    assert len(spans) == 1 and body[spans[0].start :].startswith("From: Smith, Bob")


def test_interleaved_reply_keeps_text_after_the_quote():
    body = "> question one?\nanswer one\n> question two?\nanswer two"
    doc = make_doc("d2", body=body)
    clean = normalise(doc).clean(body)
    assert "answer one" in clean and "answer two" in clean and "question" not in clean


def test_dash_dash_signature_and_mobile_footer():
    body = "Short note about the budget.\nMore detail here.\n-- \nBob Smith\nACME Corp\n+1 555 0100"
    norm = normalise(make_doc("d3", body=body))
    assert norm.clean(body) == "Short note about the budget.\nMore detail here."
    body2 = "On my way, ten minutes.\n\nSent from my iPhone"
    norm2 = normalise(make_doc("d4", body=body2))
    assert norm2.clean(body2) == "On my way, ten minutes."


def test_a_sentence_starting_with_thanks_is_not_a_signature():
    body = "Hi Bob,\n\nThanks for covering on-call last week.\nThe deploy went fine."
    norm = normalise(make_doc("d5", body=body))
    assert "Thanks for covering" in norm.clean(body)
    assert norm.signer is None


def test_html_leftovers_and_chat_placeholders_are_boilerplate():
    body = "[IMAGE] Big sale&nbsp;today\n<br>\nClick here to unsubscribe from this list"
    norm = normalise(make_doc("d6", body=body))
    assert {s.kind for s in norm.removed} == {BOILERPLATE}
    assert norm.clean(body) == "Big saletoday"
    chat = make_doc("d7", source="whatsapp", kind="chat_message", body="<Media omitted>")
    assert normalise(chat).clean(chat.body) == ""


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Can you send me the report before the meeting?", "en"),
        ("Kannst du mir bitte den Bericht schicken, wenn du Zeit hast?", "de"),
        ("Est-ce que tu peux m'envoyer le rapport avant la réunion?", "fr"),
        ("¿Puedes enviarme el informe antes de la reunión con el equipo?", "es"),
        ("Kun je mij het rapport sturen voor de vergadering van morgen?", "nl"),
        ("Puoi mandarmi il rapporto prima della riunione con il gruppo?", "it"),
        ("Você pode me enviar o relatório antes da reunião com a equipe?", "pt"),
    ],
)
def test_language_detection_on_short_samples(text, lang):
    assert detect_language(text)[0] == lang


def test_language_is_unknown_for_too_little_text():
    assert detect_language("ok")[0] is None
    assert detect_language("TRATTORIA DA LUCA")[0] is None


def test_chunks_cover_the_text_exactly_and_cut_at_boundaries():
    paragraph = " ".join(f"Sentence number {i} talks about nothing in particular." for i in range(12))
    text = "\n\n".join([paragraph] * 6)
    ranges = chunk(text, target=1000, limit=1500)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in pairwise(ranges))
    assert all(e - s <= 1500 for s, e in ranges)
    assert len(ranges) >= 3
    # paragraph breaks win over sentence ends when both are within reach
    for _s, e in ranges[:-1]:
        assert text[:e].endswith(".\n\n")


def test_long_paragraphs_are_cut_after_a_sentence():
    text = " ".join(f"Sentence number {i} talks about nothing in particular." for i in range(80))
    ranges = chunk(text, target=1000, limit=1500)
    assert len(ranges) >= 3 and ranges[-1][1] == len(text)
    for _s, e in ranges[:-1]:
        assert text[:e].rstrip().endswith(".") and text[e - 1] == " "
        assert 500 <= e - _s <= 1500


def test_unbroken_text_is_hard_cut_within_the_limit():
    text = "x" * 4000
    ranges = chunk(text, target=1000, limit=1500)
    assert ranges[-1][1] == 4000 and all(e - s <= 1500 for s, e in ranges)


def test_passages_cite_the_body_and_skip_quotes():
    body = ("First paragraph of a long note. " * 40) + "\n\n" + ("Second part here. " * 40) + "\n\n> quoted"
    doc = make_doc("d8", kind="note", source="notes", body=body)
    out = passages(doc)
    assert len(out) >= 2
    for p in out:
        assert body[p.start : p.end] == p.text and p.field == "body" and p.tier == "HIGH" and p.evidence == ["d8"]
    assert all("quoted" not in p.text for p in out)
    title_only = passages(make_doc("d9", source="calendar", kind="event", title="1:1 Lena / Omar"))
    assert [(p.field, p.text) for p in title_only] == [("title", "1:1 Lena / Omar")]
