"""FastAPI dependencies: the twin handle (one per worker thread) and token scopes."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from twin_assets.settings import TwinSettings
from twin_assets.stores import SCOPE_TIERS, TIERS
from twin_assets.twin import Twin, open_twin
from twin_query.tokens import lookup

_local = threading.local()
bearer = HTTPBearer(auto_error=False, description="An API token from `twin tokens create`.")


def get_twin(request: Request) -> Twin:
    """SQLite connections are per thread; each worker thread keeps its own handle."""
    settings: TwinSettings = request.app.state.settings
    twin = getattr(_local, "twin", None)
    if twin is None or twin.settings is not settings:
        twin = open_twin(settings)
        _local.twin = twin
    return twin


@dataclass(frozen=True)
class Caller:
    scopes: tuple[str, ...]

    @property
    def tiers(self) -> tuple[str, ...]:
        allowed = {t for s in self.scopes for t in SCOPE_TIERS.get(s, ())}
        return tuple(t for t in TIERS if t in allowed)

    def can_read(self, tier: str | None) -> bool:
        return tier in self.tiers


def get_caller(creds: HTTPAuthorizationCredentials | None = Depends(bearer), twin: Twin = Depends(get_twin)) -> Caller:
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    scopes = lookup(twin, creds.credentials)
    if scopes is None:
        raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return Caller(tuple(scopes))
