"""REST API sources through the pipeline: YAML config, encrypted tokens and cursor, incremental re-sync."""

from __future__ import annotations

import pytest
import yaml

from tests.connectors.fake_api_server import ApiState as FakeApi
from tests.connectors.fake_api_server import FakeTime, serve
from tests.connectors.test_rest_api import SECRET, make_items
from twin_assets.db.models import ApiState, RecordRow
from twin_assets.errors import ConfigError
from twin_assets.pipeline.api_sync import config_path, sync_all_api_sources


@pytest.fixture
def fake_api(monkeypatch):
    state = FakeApi(items=make_items(), clock=FakeTime(), auth="oauth", client_secret=SECRET, token_uses=2)
    monkeypatch.setenv("TRACKER_CLIENT_ID", state.client_id)
    monkeypatch.setenv("TRACKER_CLIENT_SECRET", SECRET)
    with serve(state):
        yield state


def _write_config(twin, api) -> None:
    config_path(twin).write_text(
        yaml.safe_dump(
            {
                "sources": [
                    {
                        "name": "tracker",
                        "base_url": api.base_url,
                        "path": "/cursor/items",
                        "items_path": "data.items",
                        "params": {"limit": 2},
                        "id_field": "id",
                        "time_field": "updated_at",
                        "title_field": "title",
                        "body_field": "body",
                        "pagination": {"type": "cursor", "cursor_param": "cursor", "next_cursor_path": "meta.next"},
                        "incremental": {"since_param": "updated_since", "lookback_seconds": 60},
                        "auth": {
                            "type": "oauth2_client_credentials",
                            "token_url": f"{api.base_url}/oauth/token",
                            "client_id_env": "TRACKER_CLIENT_ID",
                            "client_secret_env": "TRACKER_CLIENT_SECRET",
                        },
                    }
                ]
            }
        )
    )


def test_api_sync_stages_records_and_keeps_state_encrypted(twin, fake_api):
    _write_config(twin, fake_api)
    [first] = sync_all_api_sources(twin)
    assert first.records_new == len(make_items()) and first.quarantined == 0
    with twin.session() as s:
        state = s.get(ApiState, "tracker")
        assert state.cursor_enc and state.token_enc
        assert b"at-" not in state.token_enc and b"updated" not in state.cursor_enc
        assert s.query(RecordRow).filter_by(source="tracker").count() == len(make_items())
    [second] = sync_all_api_sources(twin)
    assert second.records_new == 0  # only the look-back overlap came back, already known
    since = [r.query.get("updated_since") for r in fake_api.requests if r.path == "/cursor/items"]
    assert since[0] is None and since[-1]


def test_bad_config_is_a_clear_error(twin):
    config_path(twin).write_text("sources:\n  - name: x\n    base_url: 12\n")
    with pytest.raises(ConfigError, match=r"api_sources\.yaml"):
        sync_all_api_sources(twin)


def test_no_config_means_nothing_to_do(twin):
    assert sync_all_api_sources(twin) == []
