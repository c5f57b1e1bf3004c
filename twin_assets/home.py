"""Create and check TWIN_HOME: folders, keys, and a hardened ``dagster.yaml``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from twin_assets.errors import ConfigError
from twin_assets.settings import TwinSettings


# Dagster keeps logs, metadata and cursors in plaintext under DAGSTER_HOME
# (docs/privacy.md): no compute-log capture, no telemetry, and a run queue so two
# writers never race on the stores.
def dagster_yaml(settings: TwinSettings) -> dict:
    return {
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},  # no first-visit prompt asking for an e-mail address
        "compute_logs": {
            "module": "dagster._core.storage.noop_compute_log_manager",
            "class": "NoOpComputeLogManager",
        },
        # Writers (pool "twin_writer") run one at a time across all runs.
        "concurrency": {
            "runs": {"max_concurrent_runs": settings.run_concurrency},
            "pools": {"default_limit": 1},
        },
        "run_monitoring": {"enabled": True},
        # A failed sensor-started run leaves its inputs pending; retrying it picks them up.
        "run_retries": {"enabled": True, "max_retries": 2},
    }


@dataclass
class InitReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def ensure_dirs(settings: TwinSettings) -> list[Path]:
    """Create the home's folders (mode 0700); return the ones that were new."""
    home = settings.home_path
    if home.exists() and not home.is_dir():
        raise ConfigError(f"TWIN_HOME {home} exists and is not a directory", hint="point TWIN_HOME elsewhere")
    new: list[Path] = []
    for path in (
        home,
        settings.inbox_dir,
        settings.stores_dir,
        settings.raw_dir,
        settings.keys_dir,
        settings.run_dir,
        settings.dagster_home,
    ):
        if path.is_dir():
            continue
        try:
            path.mkdir(parents=True, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create {path}: {exc.strerror}", hint="set TWIN_HOME to a writable directory"
            ) from None
        new.append(path)
    if not os.access(home, os.W_OK):
        raise ConfigError(f"TWIN_HOME {home} is not writable", hint="fix its permissions or set TWIN_HOME")
    return new


def write_dagster_yaml(settings: TwinSettings) -> bool:
    """Write dagster.yaml unless one exists (a user's edits win); True if written."""
    path = settings.dagster_home / "dagster.yaml"
    if path.exists():
        return False
    content = yaml.safe_dump(dagster_yaml(settings), sort_keys=False)
    if settings.database_url.startswith("postgresql"):
        content += yaml.safe_dump({"storage": {"postgres": {"postgres_url": settings.database_url}}})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(content)
    tmp.replace(path)
    return True


def require_home(settings: TwinSettings) -> Path:
    """The home, or a clear error telling the user to run ``twin init``."""
    home = settings.home_path
    if not (home / "keys").is_dir() and settings.keys.master_key is None:
        raise ConfigError(f"no twin at {home}", hint="run `twin init` first, or set TWIN_HOME")
    return home
