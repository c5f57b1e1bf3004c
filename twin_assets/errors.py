"""Errors users see: one line naming the problem, and what to do about it.

Messages must never contain record content (names, subjects, bodies): they
reach logs, Dagster's event log and API responses.
"""

from __future__ import annotations


class TwinError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits non-zero."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(TwinError):
    """Settings, home directory, keys or database are not usable."""


class KeyFileError(TwinError):
    """A key file is missing, corrupt, or does not open the stores."""


class SchemaError(TwinError):
    """The database was written by a newer version of the twin."""


class StorageError(TwinError):
    """The disk or the filesystem refused a write: full, not writable, or locked by another process."""


# (what went wrong, what to do): one line each, content-free (no path, no SQL, no record).
DISK_FULL = (
    "the disk holding the twin's home is full",
    "free space there or move TWIN_HOME to a larger disk, then run the command again; staged inputs resume",
)
NOT_WRITABLE = (
    "the twin's home is not writable (permission denied or a read-only filesystem)",
    'make TWIN_HOME and everything in it writable by this user, e.g. chown -R "$USER" "$TWIN_HOME"',
)
LOCKED = (
    "the twin's database is locked by another process",
    "wait for the other ingest, materialize or serve of this home to finish, or stop it, then run this one again",
)
# SQLite result codes (sqlite3 and SQLCipher errors carry them as ``sqlite_errorcode``, primary code in the low byte).
_SQLITE_CODES = {13: DISK_FULL, 3: NOT_WRITABLE, 8: NOT_WRITABLE, 5: LOCKED, 6: LOCKED}
_ERRNOS = {28: DISK_FULL, 122: DISK_FULL, 13: NOT_WRITABLE, 1: NOT_WRITABLE, 30: NOT_WRITABLE}  # ENOSPC EDQUOT EACCES…
_MESSAGES = (
    ("database or disk is full", DISK_FULL),
    ("no space left on device", DISK_FULL),
    ("disk quota exceeded", DISK_FULL),
    ("readonly database", NOT_WRITABLE),
    ("read-only file system", NOT_WRITABLE),
    ("permission denied", NOT_WRITABLE),
    ("database is locked", LOCKED),
    ("database table is locked", LOCKED),
    ("database schema is locked", LOCKED),
)


def storage_error(exc: BaseException) -> StorageError | None:
    """The one-line StorageError for a disk-full, permission or locked-file error anywhere in ``exc``'s chain
    (SQLite, SQLCipher, SQLAlchemy's wrapper, OSError), or None when it is none of those."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, StorageError):
            return e
        kind = _classify(e)
        if kind is not None:
            return StorageError(*kind)
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return None


def _classify(e: BaseException) -> tuple[str, str] | None:
    code = getattr(e, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _SQLITE_CODES:
        return _SQLITE_CODES[code & 0xFF]
    if isinstance(e, OSError) and e.errno in _ERRNOS:
        return _ERRNOS[e.errno]
    if type(e).__name__ in ("OperationalError", "DatabaseError", "OSError", "PermissionError"):
        text = str(e).lower()
        for needle, kind in _MESSAGES:
            if needle in text:
                return kind
    return None
