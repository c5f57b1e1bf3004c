"""A source's traits come from its connector: built-ins, webhook records, plugins and unknown names."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from twin_assets.classify import Classifier
from twin_assets.connectors import registry
from twin_assets.connectors.base import CHAT, DEFAULT_TRAITS, MAIL, NOTES, Connector, SourceTraits
from twin_assets.connectors.registry import broken_connectors, connectors, traits_for
from twin_assets.processing.entities import extract
from twin_assets.records import CHAT_MESSAGE, Document, ParseIssue, Record
from twin_assets.tiers import HIGH, LOW, MEDIUM


class ChatPlugin(Connector):
    """A third-party chat system: its own default tier, its own user-id namespace."""

    kind: ClassVar[str] = "mattermost"
    description: ClassVar[str] = "Mattermost exports"
    record_kinds: ClassVar[tuple[str, ...]] = (CHAT_MESSAGE,)
    traits: ClassVar[SourceTraits] = SourceTraits(
        default_tier=MEDIUM, medium=CHAT, correspondence=True, handle_namespace="mm", party_context="Mattermost"
    )

    def recognizes(self, path: Path, head: bytes) -> bool:
        return False

    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        return iter(())


class BadTraits(ChatPlugin):
    kind: ClassVar[str] = "bad"
    traits = ("LOW",)  # type: ignore[assignment]  # a plugin that got the type wrong


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    module = type(sys)("twin_test_plugins")
    module.ChatPlugin, module.BadTraits = ChatPlugin, BadTraits  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "twin_test_plugins", module)
    eps = [
        importlib.metadata.EntryPoint("mattermost", "twin_test_plugins:ChatPlugin", registry.ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("bad", "twin_test_plugins:BadTraits", registry.ENTRY_POINT_GROUP),
    ]
    real = registry.entry_points
    monkeypatch.setattr(registry, "entry_points", lambda group: [*real(group=group), *eps])
    registry.installed.cache_clear()  # as if the plugins' package had been installed before the process started
    yield
    monkeypatch.undo()
    registry.installed.cache_clear()


@pytest.mark.parametrize(
    ("source", "tier", "medium"),
    [("email", HIGH, MAIL), ("calendar", MEDIUM, "calendar"), ("notes", MEDIUM, NOTES), ("slack", HIGH, CHAT)],
)
def test_builtin_traits(source, tier, medium):
    assert (traits_for(source).default_tier, traits_for(source).medium) == (tier, medium)


def test_webhook_records_and_unknown_sources():
    assert traits_for("webhook").from_webhook_events and traits_for("webhook").default_tier == HIGH
    # REST API sources are named by the user; an uninstalled plugin's records keep their name too.
    for name in ("tracker", None, ""):
        assert traits_for(name) is DEFAULT_TRAITS
    assert DEFAULT_TRAITS.default_tier == HIGH and not DEFAULT_TRAITS.correspondence


def test_a_plugin_declares_its_tier_and_what_its_handles_mean(plugins):
    assert traits_for("mattermost") is ChatPlugin.traits
    assert broken_connectors() == {"bad": "traits is not a SourceTraits"} and "bad" not in connectors()
    record = Record(source="mattermost", external_id="1", kind=CHAT_MESSAGE, body="Lunch at noon?")
    c = Classifier().classify(record)
    assert (c.tier, c.reasons) == (MEDIUM, ["source:mattermost"])
    doc = Document(
        id="d1",
        source="mattermost",
        kind=CHAT_MESSAGE,
        tier=MEDIUM,
        title="",
        body="Lunch at noon?",
        event_time=datetime(2024, 3, 1, tzinfo=UTC),
        meta={"parties": [{"role": "from", "name": "Ana Lima", "handle": "u42"}]},
    )
    [mention] = extract(doc)
    assert (mention.handles, mention.context) == (("mm:u42",), "Mattermost")


def test_traits_helpers():
    slack = traits_for("slack")
    assert slack.handle_key("U024BE7LH") == "slack:U024BE7LH"
    assert slack.handle_key("B01") is None  # a bot
    assert slack.handle_key("B01", has_address=True) == "slack:B01"
    assert traits_for("whatsapp").handle_key("Ana") is None  # a display name identifies no one
    assert traits_for("whatsapp").conversation("whatsapp", {}) == "whatsapp:chat"
    assert traits_for("whatsapp").conversation_name("whatsapp:family") == "whatsapp group chat"
    assert traits_for("slack").conversation("slack", {"channel_id": "C1"}) == "slack:C1"
    assert traits_for("slack").conversation_name("slack:C1") == "slack channel C1"
    assert traits_for("telegram").conversation("telegram", {"chat": "x"}) is None


def test_published_content_follows_the_medium():
    mail = Record(source="email", external_id="1", kind="message", body="hi", attributes={"list_id": "x"})
    chat = Record(source="slack", external_id="2", kind=CHAT_MESSAGE, body="hi", attributes={"list_id": "x"})
    classifier = Classifier()
    assert classifier.classify(mail).tier == LOW and classifier.classify(chat).tier == HIGH
