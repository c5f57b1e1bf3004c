"""Walking an export folder without leaving it.

Symbolic links are never followed: one pointing outside the export would import (and make searchable) files
the user never handed over, and one inside it only leads to files the walk reaches anyway. The links that
leave the export are counted so the connector can quarantine them with a reason. Names are data: a walk
only joins names it listed itself, so nothing in an export (``..``, a member name) ever becomes a path.
"""

from __future__ import annotations

import os
from pathlib import Path

from twin_assets.records import ParseIssue


def shown_path(path: Path | str) -> str:
    """A path or file name as text to show or keep in a record: bytes that are not UTF-8 (a name from an old
    archive or another system) become U+FFFD instead of failing to print or to store."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def leaves(path: Path, root: Path) -> bool:
    """True if ``path`` resolves outside ``root`` (a resolved path), or cannot be resolved (broken, a loop)."""
    try:
        path.resolve(strict=True).relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return True
    return False


class ExportWalk:
    """The guard of one walk through an export rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.outside_links = 0

    def allows(self, path: Path) -> bool:
        """Whether the walk may enter or read ``path``: anything but a symbolic link.

        A link leaving the export is counted for :meth:`issues`; one inside it is skipped quietly.
        """
        if not os.path.islink(path):
            return True
        if leaves(path, self.root):
            self.outside_links += 1
        return False

    def subfolders(self, folder: Path, names: list[str]) -> list[str]:
        """``names`` (an ``os.walk`` dirnames list) without links, sorted: assign it back to prune the walk."""
        return sorted(name for name in names if self.allows(folder / name))

    def issues(self, where: str = "export") -> list[ParseIssue]:
        """One ParseIssue if links leaving the export were refused, naming how many (never where they point)."""
        if not self.outside_links:
            return []
        return [ParseIssue(where, f"{self.outside_links} symbolic link(s) leaving the export refused")]
