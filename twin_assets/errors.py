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
