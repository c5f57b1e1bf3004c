"""Held-out phrasings for ``benchmarks/questions.py`` (issue 17).

ANSWER HELPERS: DO NOT OPEN, READ OR TUNE ON THIS FILE. Its questions measure whether ``twin ask`` understands
phrasings it was not built against; looking at them makes the held-out figure meaningless. Tune on the ``dev``
split (``python -m benchmarks.questions --split dev --show-failures``).

Same placeholders as the dev phrasings in ``benchmarks/questions.py``; different hand-written wording, and the
held-out questions get different as-of dates (odd day ordinals instead of even ones).
"""

from __future__ import annotations

PHRASES: dict[str, list[str]] = {
    "most_contacted": [
        "which person have I been in touch with the most {win}",
        "top contact {win}?",
        "{win}, who did I message most?",
        "whos my most frequent contact {win}",
        "who have I spoken with the most {win}",
        "most active conversation partner {win}?",
    ],
    "most_contacted_work": [
        "which colleague did I deal with most {win}?",
        "{win} which coworker have I been talking to the most",
        "most contacted person at work {win}",
        "who at work have I been in contact with most {win}",
    ],
    "most_contacted_friends": [
        "which friend have I been in touch with most {win}",
        "{win}, which of my mates did I talk to most?",
        "top friend by messages {win}",
        "who among my friends do I chat with most {win}",
    ],
    "drifting": [
        "which friendships are fading",
        "anyone i've lost touch with lately?",
        "who have i stopped talking to as much",
        "friends I don't hear from much anymore?",
        "whose contact with me has dropped off?",
    ],
    "next_trip_place": [
        "what city am I flying to next",
        "my upcoming trip - where to?",
        "next holiday destination?",
        "where am i travelling next",
        "wheres the next trip going",
    ],
    "next_trip_date": [
        "what day does my next trip start",
        "when do i leave for my next trip?",
        "date of the next trip?",
        "when am I travelling next",
        "next time I'm going away - when?",
    ],
    "trip_companions": [
        "did anyone join me in {place}? who?",
        "who travelled with me to {place}",
        "{place} trip - who was with me",
        "with whom did I go to {place}?",
        "who did i take to {place}",
    ],
    "trip_count": [
        "number of trips I took in {year}?",
        "how many times did i go away in {year}",
        "{year}: how many trips?",
        "count my trips {yearword}",
        "how often did I travel {yearword}?",
    ],
    "employer_before": [
        "which company did I work for before {org_now}",
        "previous employer?",
        "where was I employed before my current job",
        "my old company - what was it called?",
        "before {org_now}, where did i work",
    ],
    "employer_now": [
        "which company am I at",
        "current employer?",
        "what firm do i work for",
        "name of the company I work at",
    ],
    "manager_now": [
        "who do i report to",
        "my manager's name?",
        "who's the boss at my job",
        "current line manager",
        "whom do I report to at work now",
    ],
    "manager_past": [
        "who did I report to in {monthyear}",
        "my manager back in {monthyear}?",
        "in {monthyear} who was my boss",
        "who managed me at {org_old}",
    ],
    "reply_debt": [
        "which emails do I still owe an answer",
        "who have I not replied to",
        "anyone waiting on me?",
        "pending replies - who?",
        "whom have I left hanging on email",
    ],
    "busy_with": [
        "what's been keeping me busy",
        "what have i been up to recently",
        "main thing I've been working on lately?",
        "what occupied me the last few weeks",
    ],
    "relation": [
        "what's my connection to {p}",
        "who is {p} to me",
        "where do i know {p} from",
        "{p} - how are we related?",
        "how am I connected with {p}",
        "in what way do I know {p}",
    ],
    "last_contact": [
        "last time I was in touch with {p}?",
        "when did {p} and I last talk",
        "most recent contact with {p}",
        "when did i last hear from {p}",
        "{p}: when was our last conversation",
        "how long since I talked to {p} - what date?",
    ],
    "last_seen": [
        "when did I last meet {p}",
        "last meeting with {p}?",
        "when was i last with {p} in person",
        "date I last saw {p}",
    ],
    "upcoming": [
        "anything on my calendar next week?",
        "what do I have planned for next week",
        "next week - what's scheduled",
        "my schedule for next week",
        "whats next week looking like",
    ],
    "meet_next_week": [
        "which people am I seeing next week",
        "next week's meetings are with whom?",
        "who's on my calendar for next week",
        "people I meet next week?",
    ],
    "birthday": [
        "{p} birthday when",
        "when does {p} have a birthday",
        "date of {pp} next birthday",
        "bday of {p}?? when",
        "{pp} birthday - what date?",
        "when will {p} celebrate their birthday next",
    ],
    "relationship_state": [
        "how is my relationship with {p} going",
        "all good between me and {p}?",
        "{p} and me - how are we doing",
        "what's the situation with {p}",
        "status of things with {p}?",
    ],
    "rent": [
        "what's the rent each month",
        "my monthly rent payment?",
        "rent amount per month",
        "how much rent do i pay",
    ],
    "income": [
        "total money in {period} excluding transfers between my accounts",
        "what came in {period}, not counting my own transfers",
        "{period} income?",
        "how much income did I have {period}",
    ],
    "family": [
        "what's {fam} called",
        "name of {fam}?",
        "{fam} - who is that",
        "who would {fam} be",
    ],
    "spend": [
        "{period} {cat} spending?",
        "what did {cat} cost me {period}",
        "money spent on {cat} {period}",
        "how much went on {cat} {period}",
        "total {cat} spend {period}",
    ],
    "timeline": [
        "what went on in {monthyear}",
        "anything notable in {monthyear}?",
        "{monthyear} - what happened",
        "recap {monthyear}",
    ],
    "profile": [
        "tell me who {p} is",
        "what do i know about {p}",
        "{p}?? who",
        "info on {p}",
    ],
    "topics": [
        "main topics in {monthyear}",
        "what subjects came up in {monthyear}?",
        "what was I discussing in {monthyear}",
        "{monthyear} topics",
    ],
    "unanswerable": [
        "when did I last speak to Barnaby Quenneville",
        "who is Ottoline Ferrabosco?",
        "how was my trip to Reykjavik",
        "what's my cat's name",
        "how many trips did i take in 2016",
        "when's Mortimer Vandersloot's birthday",
        "who did I go to Kyoto with",
        "what grade did I get in maths at school",
        "how do I know Philippa Grunewald-Oyelaran",
        "what's my partner's favourite film",
        "how much did I pay for my Porsche",
        "where did I work in 2009?",
        "when is my next flight to Buenos Aires",
    ],
}
