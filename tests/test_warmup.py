"""The API's background warm-up (twin_query.warmup): what it loads, and that a request racing it waits."""

from __future__ import annotations

import threading
import time

import pytest

from tests.test_api_scopes import api_home  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def test_warm_up_loads_the_views_tokens_read_and_the_high_index(api_home, monkeypatch):  # noqa: F811
    from twin_assets.settings import get_settings
    from twin_assets.stores import HIGH, LOW, MEDIUM
    from twin_query import warmup
    from twin_query.service import QueryService

    monkeypatch.setenv("TWIN_HOME", str(api_home["home"]))
    settings = get_settings()
    with QueryService(settings) as service:
        took: dict[str, float] = {}
        warm_up = threading.Thread(target=lambda: took.update(warmup.warm(service)))
        warm_up.start()
        warm_up.join()
        assert set(took) == {HIGH, MEDIUM, LOW, "search"}  # the fixture has a token of each scope
        cache = service.views
        for view in (HIGH, MEDIUM, LOW):
            key = (str(settings.stores_dir), view)
            assert "events" in cache._views[key]._lazy and key in cache._graphs
        assert service.high_index._token is not None, "the HIGH vector index is built"
        assert not service._opened, "the warm-up thread's handle is closed"
        vd = service.view_data(HIGH)  # a request thread's own handle, the same loaded view
        assert vd is cache._views[(str(settings.stores_dir), HIGH)] and "events" in vd._lazy, "nothing reloads"
        assert len(service._opened) == 1


def test_only_views_of_active_tokens_are_warmed(twin, monkeypatch):
    from sqlalchemy import update

    from twin_assets.db.models import ApiToken
    from twin_query import tokens, warmup

    with twin.session() as s:  # the home's first token, made by init
        s.execute(update(ApiToken).values(revoked=True))
        s.commit()
    assert warmup.served_views(twin) == []
    tokens.create_token(twin, ["low"])
    assert warmup.served_views(twin) == ["LOW"]
    tokens.create_token(twin, ["high"])
    assert warmup.served_views(twin) == ["HIGH", "LOW"]
    with twin.session() as s:
        s.execute(update(ApiToken).where(ApiToken.scopes == "high").values(revoked=True))
        s.commit()
    assert warmup.served_views(twin) == ["LOW"], "a revoked token's view is not loaded"
    monkeypatch.setenv("TWIN_API_WARM", "off")
    from twin_query.service import QueryService

    with QueryService(twin.settings) as service:
        assert warmup.start(service) is None


def test_a_request_during_a_load_waits_for_it_instead_of_loading_again():
    from twin_query.views import ViewData

    vd = ViewData("LOW", (), {}, None, {}, {})
    calls = []

    def slow() -> list[int]:
        calls.append(1)
        time.sleep(0.3)
        return [1, 2, 3]

    got = []
    threads = [threading.Thread(target=lambda: got.append(vd.lazy("events", slow))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and got == [[1, 2, 3]] * 3
