"""The spans ``ask`` reads out of a message (synthetic sentences), and which questions are about what a message
says rather than about the owner's money, plans or people."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from twin_assets.processing.names import fold
from twin_assets.records import Document
from twin_assets.stores import HIGH
from twin_query.ask.extract import Sentence, extract, matches, question_words, wanted

SENT = datetime(2003, 3, 10, 15, 0, tzinfo=UTC)


def _doc(body: str) -> Document:
    return Document("s", "email", "message", HIGH, SENT, "subject", body, {"parties": []})


@pytest.mark.parametrize(
    ("question", "sentence", "kind", "value"),
    [
        ("how much was the harbour fee?", "The harbour fee came to $1,250.50 in total.", "amount", 1250.5),
        ("how much did the north book make?", "Results: South 12,300 North 45,600", "amount", 45600.0),
        ("how many chairs are we renting?", "We are renting 48 chairs for the hall.", "count", 48),
        ("when is the picnic now?", "We moved the picnic from April 5, 2003 to April 12, 2003.", "date", "2003-04-12"),
        ("when is the recital?", "The recital is on Friday March 21st at school.", "date", "2003-03-21"),
        ("when is the audit?", "The audit starts 4/2/2003 in the morning.", "date", "2003-04-02"),
        (
            "what time does the shop open on Sunday?",
            "On Sunday it opens between 9:30 am and 1 pm.",
            "text",
            "9:30 am and 1 pm",
        ),
        (
            "where is the quiz night?",
            "Quiz night is on Tuesday at The Crooked Anchor near the port.",
            "place",
            "Crooked Anchor",
        ),
        ("where was the review moved to?", "The review has been moved to Room 4B.", "place", "Room 4B"),
        (
            "where is Tomas going in the autumn?",
            "I'm headed off to Uppsala University this autumn.",
            "place",
            "Uppsala University",
        ),
        (
            "who is chairing the board meeting?",
            "The board meeting will be chaired by Greta Lindqvist.",
            "person",
            "Greta Lindqvist",
        ),
        ("what is Mira's number?", "You can reach Otto - 555 201 3344 or Mira - 555 777 1212.", "text", "555 777 1212"),
        ("what did Ola say about the boat?", "The boat needs a new engine before summer.", "text", "new engine"),
    ],
)
def test_span_extraction(question, sentence, kind, value):
    doc = _doc(sentence)
    words = question_words(question)
    exclude = {fold(re.sub(r"'s$", "", w)) for w in re.findall(r"[A-Za-z][\w'-]+", question)}
    got = extract(wanted(question), Sentence(doc, 0, sentence), words, exclude)
    assert got is not None
    got_kind, got_value, _ = got
    assert got_kind == kind
    if kind == "amount":
        assert got_value["amount"] == value
    elif kind == "person":
        assert got_value["name"] == value
    elif kind in ("place", "text"):
        assert value in got_value
    else:
        assert got_value == value


@pytest.mark.parametrize(
    ("question", "is_message_question"),
    [
        ("what did Jeff say about the gas deal?", True),
        ("how much was the hub P&L on 10/17?", True),
        ("who asked me for my login?", True),
        ("when is the all-employee meeting?", True),
        ("how much did I spend on restaurants last month?", False),
        ("how much is my monthly rent?", False),
        ("how many emails did I get in March?", False),
        ("when is my next trip?", False),
        ("who is my manager?", False),
    ],
)
def test_which_questions_are_about_what_a_message_says(question, is_message_question):
    assert matches(question.lower(), None) is is_message_question  # type: ignore[arg-type]
