"""The contract every source connector fulfils.

A connector turns one input (a file or a folder) into :class:`Record` values,
yielding :class:`ParseIssue` for anything it cannot read instead of raising, so
one bad message never stops the rest of a mailbox. Connectors are plain
classes with no Dagster or database imports; the pipeline wraps them.

Third-party packages add a connector by declaring an entry point in the
``twin.connectors`` group that names a :class:`Connector` subclass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from twin_assets.records import ParseIssue, Record
from twin_assets.tiers import HIGH, Tier

# How many bytes of a file detection may look at.
SNIFF_BYTES = 64 * 1024

# What a source's records are, as far as the rest of the pipeline cares.
MAIL = "mail"  # messages with headers: list ids, sign-offs
CHAT = "chat"  # short messages in conversations
CALENDAR = "calendar"  # events with organisers and attendees
CONTACTS = "contacts"  # address-book cards
NOTES = "notes"  # the owner's own notes: folders, front matter, wikilinks
TRANSACTIONS = "transactions"  # money moving, with payees
OTHER = "other"


@dataclass(frozen=True)
class SourceTraits:
    """What a source's records and parties mean, declared by its connector.

    Classification, entity resolution, insights and the query side ask these
    (through ``registry.traits_for``) instead of testing source names, so a
    plugin connector is understood as well as a built-in one.
    """

    #: The tier a record gets before detectors and rules look at it. Unknown sources: private until told.
    default_tier: Tier = HIGH
    #: What a record is: one of MAIL, CHAT, CALENDAR, CONTACTS, NOTES, TRANSACTIONS, OTHER.
    medium: str = OTHER
    #: Whether a record's from/to/attendee parties are people the owner corresponds with.
    correspondence: bool = False
    #: Namespace of ``Party.handle`` values that are stable user ids ("slack" gives "slack:U024BE7LH");
    #: None: handles are display names and identify no one.
    handle_namespace: str | None = None
    #: Prefixes of handles that are people; any other handle (without an address) is a bot. Empty: all are people.
    person_handle_prefixes: tuple[str, ...] = ()
    #: Where a party was seen, in the words an entity's "why" shows ("e-mail header"); None: the source name.
    party_context: str | None = None
    #: Attributes naming the conversation a record belongs to, first present wins.
    conversation_attributes: tuple[str, ...] = ("channel_id",)
    #: The conversation of a record that names none (a one-chat export); None: no conversation.
    conversation_fallback: str | None = None
    #: How a conversation is called after the source name; ``{name}`` is its id.
    conversation_label: str = "channel {name}"
    #: Records are rebuilt from stored webhook events, which forgetting them must delete too.
    from_webhook_events: bool = False

    def conversation(self, source: str, attributes: Mapping[str, Any]) -> str | None:
        """``source:id`` of the conversation a record belongs to, or None."""
        for name in self.conversation_attributes:
            if attributes.get(name):
                return f"{source}:{attributes[name]}"
        return f"{source}:{self.conversation_fallback}" if self.conversation_fallback else None

    def conversation_name(self, conversation: str) -> str:
        """Words for a ``source:id`` conversation: "slack channel C024BE91L", "whatsapp group chat"."""
        source, _, rest = conversation.partition(":")
        return f"{source} {self.conversation_label.format(name=rest)}"

    def handle_key(self, handle: str | None, *, has_address: bool = False) -> str | None:
        """The namespaced id of a party's handle ("slack:U024BE7LH"), None if it identifies no person.

        A handle outside :attr:`person_handle_prefixes` is a bot's, unless the party also has an address.
        """
        if not handle or not self.handle_namespace:
            return None
        if self.person_handle_prefixes and not has_address and not str(handle).startswith(self.person_handle_prefixes):
            return None
        return f"{self.handle_namespace}:{handle}"


#: What a source that declares nothing gets: REST API sources, plugins without traits, unknown names.
DEFAULT_TRAITS = SourceTraits()


class Connector(ABC):
    """A source of records, recognised by content rather than by file name."""

    #: Short stable name used in ``--source``, the ``records.source`` column and asset keys.
    kind: ClassVar[str]
    #: One line for ``twin ingest --help`` and the Dagster asset description.
    description: ClassVar[str]
    #: Record kinds this connector produces (``message``, ``event``, ...).
    record_kinds: ClassVar[tuple[str, ...]] = ()
    #: What its records and parties mean; the defaults suit a source nothing is known about.
    traits: ClassVar[SourceTraits] = DEFAULT_TRAITS

    @abstractmethod
    def recognizes(self, path: Path, head: bytes) -> bool:
        """True if ``path`` holds this connector's format.

        ``head`` is the first :data:`SNIFF_BYTES` of a file (empty for a folder).
        Must be cheap, must not raise, and should look at content, not only the name.
        """

    @abstractmethod
    def parse(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield every record in ``path``, and a :class:`ParseIssue` for each part that fails.

        A file that cannot be read at all yields a single ParseIssue with
        ``where="file"``. Never raise for bad input; never put file content in a ParseIssue.
        """


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first bytes of a file, or b"" for a folder or an unreadable file."""
    if not path.is_file():
        return b""
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError:
        return b""
