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
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from twin_assets.records import ParseIssue, Record

# How many bytes of a file detection may look at.
SNIFF_BYTES = 64 * 1024


class Connector(ABC):
    """A source of records, recognised by content rather than by file name."""

    #: Short stable name used in ``--source``, the ``records.source`` column and asset keys.
    kind: ClassVar[str]
    #: One line for ``twin ingest --help`` and the Dagster asset description.
    description: ClassVar[str]
    #: Record kinds this connector produces (``message``, ``event``, ...).
    record_kinds: ClassVar[tuple[str, ...]] = ()

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
