"""The model's view cache belongs to a run's TwinResource: every run has one, however it was launched."""

from __future__ import annotations

from dagster import asset, build_resources, materialize

from twin_assets.defs.resources import TwinResource, sharing_models
from twin_assets.embedding import EmbeddingModels
from twin_assets.pipeline.run_cache import RunCache


def test_the_resource_sets_up_a_cache_per_run_and_releases_it(home):
    with build_resources({"twin": TwinResource()}) as resources:
        first, second = resources.twin.open(), resources.twin.open()
        cache = first.run_cache
        assert isinstance(cache, RunCache) and second.run_cache is cache, "every handle of the run shares it"
        assert second.chroma is first.chroma, "and its Chroma clients"
        cache.cached("key", "documents", lambda: [1, 2])
        first.close(), second.close()
    assert not cache.holds(), "torn down with the run"
    with build_resources({"twin": TwinResource()}) as resources:
        assert resources.twin.open().run_cache not in (None, cache), "the next run starts empty"
    assert TwinResource().open().run_cache is None, "outside a run nothing is kept"


def test_any_run_of_the_definitions_resource_gets_the_cache_without_the_cli(home):
    """A run started by the daemon or the UI executes the same resource: no caller has to switch the cache on."""
    seen: list[RunCache | None] = []

    @asset
    def first(twin: TwinResource) -> None:
        with twin.open() as t:
            seen.append(t.run_cache)

    @asset(deps=[first])
    def second(twin: TwinResource) -> None:
        with twin.open() as t:
            seen.append(t.run_cache)

    assert materialize([first, second], resources={"twin": TwinResource()}).success
    assert len(seen) == 2 and seen[0] is not None and seen[0] is seen[1], "in process: one cache for the run"


def test_a_run_has_its_embedding_models_unless_the_command_shares_one_set(home):
    """A run loads the model once for all its handles; the in-process runs of one command (a sync's run per tier)
    share the command's models instead."""
    runs = []
    for _ in range(2):
        with build_resources({"twin": TwinResource()}) as resources:
            first, second = resources.twin.open(), resources.twin.open()
            assert first.embedding_models is second.embedding_models, "every handle of the run shares them"
            runs.append(first.embedding_models)
            first.close(), second.close()
    assert runs[0] is not runs[1], "each run its own"

    shared = EmbeddingModels()
    with sharing_models(shared):
        for _ in range(2):
            with build_resources({"twin": TwinResource()}) as resources, resources.twin.open() as twin:
                assert twin.embedding_models is shared
    with build_resources({"twin": TwinResource()}) as resources, resources.twin.open() as twin:
        assert twin.embedding_models is not shared, "only inside the block"
