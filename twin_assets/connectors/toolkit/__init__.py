"""What connectors share: bytes to text, a look at a file's head, time zones, a rate limit, a parse budget,
a walk that stays inside an export, a zip opened safely.

Each lives here once so every connector decodes, sniffs and resolves the same way; a
third-party connector may use them too.
"""

from __future__ import annotations

from twin_assets.connectors.toolkit.budget import Budget, BudgetExceeded, BudgetInterrupt
from twin_assets.connectors.toolkit.charset import (
    Decoded,
    bom_encoding,
    decode,
    guess_encoding,
    head_text,
    is_utf8,
    normalise_charset,
    wide_encoding,
)
from twin_assets.connectors.toolkit.paths import ExportWalk, leaves, shown_path
from twin_assets.connectors.toolkit.ratelimit import TokenBucket
from twin_assets.connectors.toolkit.zips import ZipUnreadable, is_file_member, open_zip
from twin_assets.connectors.toolkit.zones import Zone, configured_zone, zone_named, zone_or_offset

__all__ = [
    "Budget",
    "BudgetExceeded",
    "BudgetInterrupt",
    "Decoded",
    "ExportWalk",
    "TokenBucket",
    "ZipUnreadable",
    "Zone",
    "bom_encoding",
    "configured_zone",
    "decode",
    "guess_encoding",
    "head_text",
    "is_file_member",
    "is_utf8",
    "leaves",
    "normalise_charset",
    "open_zip",
    "shown_path",
    "wide_encoding",
    "zone_named",
    "zone_or_offset",
]
