"""What was planted, written as ``ground_truth.json`` beside the exports.

Locators name the item the way the pipeline's records do: ``external_id`` where the format has one
(Message-ID without angle brackets, ICS UID, OFX FITID, vCard UID, Slack ``channel`` + ``ts``),
otherwise a ``marker``: a string that occurs verbatim, and only once, in that item's text.
Memory stays bounded: topic locators are capped, the rest is counts per month.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from twin_assets.demo.fmt import canary
from twin_assets.tiers import LOW

MAX_TOPIC_LOCATORS = 40


def loc_email(message_id: str) -> dict:
    return {"source": "email", "external_id": message_id, "message_id": message_id}


def loc_calendar(uid: str, recurrence_id: str | None = None) -> dict:
    loc = {"source": "calendar", "external_id": uid, "uid": uid}
    if recurrence_id:
        loc["recurrence_id"] = recurrence_id
    return loc


def loc_ofx(fitid: str) -> dict:
    return {"source": "ofx", "external_id": fitid, "fitid": fitid}


def loc_slack(channel: str, ts: str) -> dict:
    return {"source": "slack", "channel": channel, "ts": ts}


def loc_contact(uid: str) -> dict:
    return {"source": "contacts", "external_id": uid, "uid": uid}


def loc_marker(source: str, marker: str, path: str | None = None) -> dict:
    loc = {"source": source, "marker": marker}
    if path:
        loc["path"] = path
    return loc


class Truth:
    def __init__(self, seed: int) -> None:
        # A separate stream: canaries stay the same whatever order the writers run in.
        self._canary_rng = random.Random(f"{seed}:canaries")
        self._canaries: set[str] = set()
        self.sensitive: list[dict] = []
        self.low_canaries: list[dict] = []
        self.sentiment: list[dict] = []
        self.high_only_entities: list[dict] = []
        self.topics: dict[str, dict[str, Any]] = {}
        self.patterns: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}

    def canary(self) -> str:
        while True:
            value = canary(self._canary_rng)
            if value not in self._canaries:
                self._canaries.add(value)
                return value

    def add_sensitive(self, locator: dict, category: str, tier: str, token: str, **extra: Any) -> None:
        item = {
            "source": locator["source"],
            "locator": locator,
            "category": category,
            "tier": tier,
            "canary": token,
            **extra,
        }
        (self.low_canaries if tier == LOW else self.sensitive).append(item)

    def add_sentiment(self, locator: dict, expected: str, text: str, date: str) -> None:
        self.sentiment.append({"locator": locator, "expected": expected, "date": date, "text": text})

    def define_topic(self, label: str, keywords: list[str], **info: Any) -> None:
        self.topics[label] = {
            "label": label,
            "keywords": keywords,
            **info,
            "counts_per_month": defaultdict(int),
            "locators": [],
            "total": 0,
        }

    def topic_hit(self, label: str, month: str, locator: dict) -> None:
        topic = self.topics[label]
        topic["counts_per_month"][month] += 1
        topic["total"] += 1
        if len(topic["locators"]) < MAX_TOPIC_LOCATORS:
            topic["locators"].append(locator)

    def topics_json(self) -> list[dict]:
        out = []
        for label in sorted(self.topics):
            topic = dict(self.topics[label])
            topic["counts_per_month"] = dict(sorted(topic["counts_per_month"].items()))
            out.append(topic)
        return out
