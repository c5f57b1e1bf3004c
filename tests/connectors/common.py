"""What every connector test does with parse output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from twin_assets.records import ParseIssue, Record


def split(items: Iterable[Record | ParseIssue]) -> tuple[list[Record], list[ParseIssue]]:
    """Records and issues apart; nothing else may come out, and attributes must be JSON-serialisable."""
    out = list(items)
    records = [o for o in out if isinstance(o, Record)]
    issues = [o for o in out if isinstance(o, ParseIssue)]
    assert len(records) + len(issues) == len(out)
    for record in records:
        json.dumps(record.to_json())
    return records, issues


#: Offsets in a zip central directory header ("PK\x01\x02") of fields a damaged archive may carry.
CENTRAL_EXTRACT_VERSION = 6  # 1 byte: the zip version needed to extract (zipfile refuses above 6.3)
CENTRAL_COMPRESSION = 10  # 2 bytes: the compression method (99 is AES, which zipfile cannot read)


def patch_central_headers(archive: Path, offset: int, value: bytes) -> None:
    """Overwrite ``value`` at ``offset`` in every central directory header of ``archive``: a damaged zip."""
    data = bytearray(archive.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        data[at + offset : at + offset + len(value)] = value
        at = data.find(b"PK\x01\x02", at + 4)
    archive.write_bytes(bytes(data))
