"""Opening a zip export so that a damaged archive becomes a reason, never an exception out of ``parse()``.

``zipfile.ZipFile`` raises more than ``BadZipFile`` on a mangled central directory: NotImplementedError for a
member claiming a zip version it cannot extract, ValueError, OSError, struct.error and others; and
``ZipInfo.is_dir`` raises IndexError on a member with an empty name.
"""

from __future__ import annotations

import zipfile
from pathlib import Path


class ZipUnreadable(Exception):
    """The archive cannot be opened; ``str()`` is a content-free reason (the exception type only)."""


def open_zip(path: Path) -> zipfile.ZipFile:
    """``path`` opened as a zip; raises :class:`ZipUnreadable` for whatever a damaged archive makes zipfile raise."""
    try:
        return zipfile.ZipFile(path)
    except Exception as exc:  # the archive is untrusted input: any failure to read it is the input's fault
        raise ZipUnreadable(f"not a readable zip: {type(exc).__name__}") from None


def is_file_member(info: zipfile.ZipInfo) -> bool:
    """Whether a member is a file: named and not a folder (``ZipInfo.is_dir`` raises on an empty name)."""
    return bool(info.filename) and not info.filename.endswith("/")
