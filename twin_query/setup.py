"""``twin init``: everything a new home needs, created once and never overwritten."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin_assets.db.engine import Engines
from twin_assets.home import ensure_dirs, write_dagster_yaml
from twin_assets.keys import create_keys
from twin_assets.settings import TwinSettings
from twin_assets.tiers import Scope
from twin_assets.twin import open_twin
from twin_query.tokens import create_token, has_tokens


@dataclass
class InitReport:
    created: list[str] = field(default_factory=list)
    token: str | None = None


def init_home(settings: TwinSettings) -> InitReport:
    report = InitReport()
    engines = Engines()
    try:
        return _init_home(settings, report, engines)
    finally:
        engines.dispose()


def _init_home(settings: TwinSettings, report: InitReport, engines: Engines) -> InitReport:
    if settings.database_url:
        # An external database is checked before anything is written, so a wrong URL leaves nothing behind.
        engines.get(settings.metadata_url)
    report.created += [str(p) for p in ensure_dirs(settings)]
    report.created += create_keys(settings)
    if write_dagster_yaml(settings):
        report.created.append(str(settings.dagster_home / "dagster.yaml"))
    engines.get(settings.metadata_url)  # migrates; fails clearly if the DB does not answer
    twin = open_twin(settings, engines=engines)
    try:
        for store in twin.stores():  # creates the tier stores with their keys
            store.count()
        if not has_tokens(twin):
            report.token = create_token(twin, list(Scope))
    finally:
        twin.close()
    return report
