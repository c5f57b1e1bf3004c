"""Typed configuration from the environment (prefix ``TWIN_``).

Everything the twin keeps lives under ``TWIN_HOME``; the paths below are the
only place that layout is spelled out.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class TwinSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWIN_", extra="ignore")

    home: Path = Field(default=Path(".twin"), description="Where everything the twin keeps lives.")
    database_url: str = Field(default="", description="Metadata DB URL; empty: SQLite in TWIN_HOME.")
    chroma_url: str = Field(default="", description="Chroma server URL; empty: the home's own server.")
    chroma_idle_seconds: float = Field(
        default=30.0, gt=0, description="The home's own Chroma server stops after this long unused."
    )
    master_key: SecretStr | None = Field(default=None, description="Base64 32-byte master key (else keys/).")
    keep_raw: bool = Field(default=True, description="Keep ingested exports (encrypted) for reprocessing.")
    embedding_batch_size: int = Field(default=64, ge=1, le=4096)
    embedding_max_seq_length: int = Field(default=256, ge=16, le=512)
    embedding_backend: str = Field(
        default="onnx", description="torch, onnx (same vectors, faster) or onnx-int8 (faster still, ~0.99 cosine)."
    )
    run_concurrency: int = Field(default=1, ge=1, description="Dagster runs at once (dagster.yaml).")
    parse_workers: int = Field(
        default=0, ge=0, le=64, description="Processes parsing a large mailbox; 0: one per core, 1: none."
    )

    @cached_property
    def home_path(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def inbox_dir(self) -> Path:
        return self.home_path / "inbox"

    @property
    def stores_dir(self) -> Path:
        return self.home_path / "stores"

    @property
    def keys_dir(self) -> Path:
        return self.home_path / "keys"

    @property
    def raw_dir(self) -> Path:
        return self.stores_dir / "raw"

    @property
    def chroma_dir(self) -> Path:
        return self.stores_dir / "chroma"

    @property
    def run_dir(self) -> Path:
        """Pid and address files of services started for this home."""
        return self.home_path / "run"

    @property
    def dagster_home(self) -> Path:
        env = os.environ.get("DAGSTER_HOME")
        return Path(env).expanduser().resolve() if env else self.home_path / "dagster"

    @property
    def metadata_url(self) -> str:
        return self.database_url or f"sqlite:///{self.stores_dir / 'metadata.sqlite'}"


def get_settings() -> TwinSettings:
    """Fresh settings from the current environment (cheap; tests change the environment)."""
    return TwinSettings()
