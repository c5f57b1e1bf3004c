"""The query service owns what the query side keeps between questions: one handle per thread, shared caches."""

from __future__ import annotations

import threading

from twin_query.service import QueryService


def test_each_thread_gets_one_handle_and_shares_the_rest(home):
    with QueryService(home) as service:
        mine = service.twin()
        assert service.twin() is mine, "one handle per thread, reused"
        theirs = []
        worker = threading.Thread(target=lambda: theirs.append(service.twin()))
        worker.start()
        worker.join()
        assert theirs[0] is not mine and theirs[0].chroma is mine.chroma is service.chroma
        assert mine.run_cache is None, "the query side keeps no model build cache"
        mine.store("LOW")
        assert mine._stores
    assert not mine._stores, "closing the service closes the handles it opened"


def test_a_thread_that_ends_releases_its_handle(home):
    with QueryService(home) as service:
        worker = threading.Thread(target=lambda: (service.twin(), service.release()))
        worker.start()
        worker.join()
        assert not service._opened
