"""Pull configured REST API sources (``TWIN_HOME/api_sources.yaml``) incrementally.

Cursors and OAuth2 tokens live encrypted in the ``api_state`` table; records
are staged like any other source's, and every failure becomes a quarantine row.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin_assets.connectors.rest_api import ApiSourceConfig, RestApiConnector, load_api_sources
from twin_assets.db.models import ApiState, Quarantine, Source, SyncBatch
from twin_assets.errors import ConfigError
from twin_assets.pipeline.sync import SyncResult, stage_record
from twin_assets.records import ParseIssue, Record
from twin_assets.twin import Twin

CONFIG_FILE = "api_sources.yaml"
STAGE_BATCH = 200


def config_path(twin: Twin) -> Path:
    return twin.settings.home_path / CONFIG_FILE


def configured_sources(twin: Twin) -> list[ApiSourceConfig]:
    try:
        return load_api_sources(config_path(twin))
    except ValueError as exc:
        raise ConfigError(f"{config_path(twin)}: {exc}", hint="fix the file; see README, 'REST APIs'") from None


class EncryptedTokenStore:
    """The connector's TokenStore, kept AES-GCM-encrypted in the metadata DB."""

    def __init__(self, twin: Twin, name: str) -> None:
        self.twin, self.name = twin, name

    def load(self) -> dict[str, Any] | None:
        with self.twin.session() as s:
            row = s.get(ApiState, self.name)
            return json.loads(self.twin.keyring.decrypt(row.token_enc)) if row and row.token_enc else None

    def save(self, token: dict[str, Any]) -> None:
        with self.twin.session() as s:
            row = s.get(ApiState, self.name) or ApiState(name=self.name)
            row.token_enc = self.twin.keyring.encrypt(json.dumps(token).encode())
            row.updated_at = datetime.now(UTC)
            s.merge(row)


def sync_api_source(twin: Twin, config: ApiSourceConfig, connector: RestApiConnector | None = None) -> SyncResult:
    result = SyncResult(config.name)
    with twin.session() as s:
        state = s.get(ApiState, config.name)
        cursor = twin.keyring.decrypt_str(state.cursor_enc) if state and state.cursor_enc else None
        if s.get(Source, config.name) is None:
            s.add(Source(name=config.name))
        batch = SyncBatch(source=config.name)
        s.add(batch)
        s.flush()
        batch_id = batch.id
    connector = connector or RestApiConnector(config, token_store=EncryptedTokenStore(twin, config.name))
    # Items are written in small batches with no transaction open during network calls: the
    # connector saves refreshed OAuth2 tokens through its own session while it fetches.
    buffer: list[Record | ParseIssue] = []
    for item in connector.fetch(cursor):
        buffer.append(item)
        if len(buffer) >= STAGE_BATCH:
            _stage(twin, config.name, batch_id, buffer, result)
            buffer = []
    _stage(twin, config.name, batch_id, buffer, result)
    result.inputs = 1
    with twin.session() as s:
        state = s.get(ApiState, config.name) or ApiState(name=config.name)
        if connector.next_cursor:
            state.cursor_enc = twin.keyring.encrypt_str(connector.next_cursor)
        state.updated_at = datetime.now(UTC)
        s.merge(state)
        batch = s.get_one(SyncBatch, batch_id)
        batch.status, batch.finished_at = "done", datetime.now(UTC)
        batch.cursor_enc = state.cursor_enc
        batch.inputs, batch.records_new = 1, result.records_new
        batch.records_seen, batch.quarantined = result.records_seen, result.quarantined
    return result


def _stage(twin: Twin, name: str, batch_id: int, items: list[Record | ParseIssue], result: SyncResult) -> None:
    with twin.session() as s:
        for item in items:
            if isinstance(item, ParseIssue):
                s.add(
                    Quarantine(
                        source=name, batch_id=batch_id, what="record", location=item.where[:255], reason=item.reason
                    )
                )
                result.quarantined += 1
            elif stage_record(twin, s, item, batch_id, None):
                result.records_new += 1
            else:
                result.records_seen += 1


def sync_all_api_sources(twin: Twin) -> list[SyncResult]:
    return [sync_api_source(twin, cfg) for cfg in configured_sources(twin)]
