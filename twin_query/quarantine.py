"""``twin quarantine``: what could not be used and why; ``--retry`` puts kept exports back through ingest."""

from __future__ import annotations

from typing import Any

from twin_assets.settings import TwinSettings


def list_quarantine(settings: TwinSettings) -> list[dict[str, Any]]:
    from twin_assets.home import require_home
    from twin_assets.pipeline.quarantine import quarantined
    from twin_assets.twin import open_twin

    require_home(settings)
    twin = open_twin(settings)
    try:
        return quarantined(twin)
    finally:
        twin.close()


def retry(settings: TwinSettings, item_ids: list[int] | None, *, show_progress: bool = True) -> list[dict[str, Any]]:
    """Retry the inputs of the given quarantine items (``None``: all that kept their export) and say, per input,
    what happened (see :func:`twin_assets.pipeline.quarantine.settle`)."""
    from twin_assets.home import require_home
    from twin_assets.lifecycle.recover import reap_dead_runs
    from twin_assets.pipeline.quarantine import inputs_of, requeue, settle, workspace
    from twin_assets.twin import open_twin
    from twin_query.ingest import run_selection

    require_home(settings)
    twin = open_twin(settings)
    try:
        input_ids = inputs_of(twin, item_ids)
        if not input_ids:
            return []
        reap_dead_runs(settings)
        with workspace(twin) as folder:
            requeued = [requeue(twin, i, folder) for i in input_ids]
            try:
                kinds = sorted({r.source for r in requeued if r.source})
                if kinds:
                    run_selection(settings, [f"source_{k}" for k in kinds], show_progress)
            finally:
                # Whatever the run did, every input carries its own name again before the restored copies go.
                outcomes = [settle(twin, r) for r in requeued]
        return outcomes
    finally:
        twin.close()
