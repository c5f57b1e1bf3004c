"""Dagster's console logger, one line per event: a failing step prints its error type and our own message, never
a stack trace.

Dagster's default console logger appends a failure's whole error to the line: every frame, and the message of
each exception in the chain. A message is ours when our code raised it as a ``Failure`` (``content_safe`` turns
every asset's error into one, content-free); anything else that escapes (an asset check, a resource, Dagster
itself wrapping a library's error) may quote a record (``KeyError('Anna Eriksen')``), so of those only the types
are shown. The full error stays where Dagster keeps it, in the run's event log, for the UI.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from dagster import Field, logger
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR

#: Exception types whose message our code writes content-free (``Failure(description=...)`` in ``content_safe``).
OWN_MESSAGES = frozenset({"Failure"})


def error_line(error: Any, description: str | None = None) -> str:
    """``Type: our message`` of a Dagster error (a ``SerializableErrorInfo``), else its types down the chain of
    causes: ``DagsterResourceFunctionError (from ValueError)``. ``description``: a ``Failure``'s own."""
    if description:
        return f"{getattr(error, 'cls_name', None) or 'Failure'}: {description}"
    names: list[str] = []
    seen = error
    while seen is not None and len(names) < 5:
        names.append(str(getattr(seen, "cls_name", None) or "error"))
        seen = getattr(seen, "cause", None) or getattr(seen, "context", None)
    if names[0] in OWN_MESSAGES:  # Dagster's message is "dagster...Failure: <our description>"
        own = (getattr(error, "message", "") or "").strip().splitlines()
        if own:
            return f"{names[0]}: {own[-1].split(': ', 1)[-1]}"
    return names[0] + (f" (from {' from '.join(names[1:])})" if names[1:] else "")


def console_line(record: logging.LogRecord) -> str:
    """The record as one line: for Dagster events, where, what, and (for an error) :func:`error_line`."""
    meta = getattr(record, LOG_RECORD_METADATA_ATTR, None)
    if not isinstance(meta, dict):
        return record.getMessage().splitlines()[0] if record.getMessage() else ""
    event = meta.get("dagster_event")
    parts = [meta.get("job_name") or "system", meta.get("step_key")]
    if event is not None:
        parts.append(getattr(event.event_type, "value", str(event.event_type)))
    parts.append((meta.get("orig_message") or "").splitlines()[0] if meta.get("orig_message") else None)
    text = " - ".join(str(p) for p in parts if p)
    data = getattr(event, "event_specific_data", None) if event is not None else None
    error = getattr(data, "error", None)
    if error is not None:
        failure = getattr(data, "user_failure_data", None)
        text += " - " + error_line(error, getattr(failure, "description", None))
    return text


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.message = console_line(record)
        return f"{self.formatTime(record, '%Y-%m-%d %H:%M:%S')} - twin - {record.levelname} - {record.message}"


@logger(
    Field(
        {
            "log_level": Field(str, is_required=False, default_value="INFO", description="The logger's threshold."),
            "name": Field(str, is_required=False, default_value="dagster", description="The name of the logger."),
        },
        description="One line per event; a failure shows its error type and our own message, never a trace.",
    ),
    description="The twin's console logger: one line per event, no stack traces (they can quote records).",
)
def one_line_console(init_context: Any) -> logging.Logger:
    config = init_context.logger_config
    log = logging.Logger(config["name"], level=logging.getLevelName(config["log_level"].upper()))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter())
    log.addHandler(handler)
    return log
