"""FastAPI dependencies: the query service, this thread's twin handle, and token scopes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from twin_assets.tiers import Grant
from twin_assets.twin import Twin
from twin_query.service import QueryService
from twin_query.tokens import check_token, token_hash

bearer = HTTPBearer(auto_error=False, description="An API token from `twin tokens create`.")


def get_service(request: Request) -> QueryService:
    """The app's query service, created in its lifespan (see ``twin_query.api.app``)."""
    service: QueryService = request.app.state.service
    return service


Service = Annotated[QueryService, Depends(get_service)]


def get_twin(service: Service) -> Twin:
    """This worker thread's handle (SQLite connections are per thread), the one the service's views read too."""
    return service.twin()


TwinHandle = Annotated[Twin, Depends(get_twin)]


@dataclass(frozen=True)
class Caller(Grant):
    """The bearer of the request's token: its tiers, its view and ``can_read`` come from ``twin_assets.tiers``;
    ``token_hash`` names the token in audited reads (``twin_query.api.shown``)."""

    token_hash: str | None = None


def get_caller(twin: TwinHandle, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    check = check_token(twin, creds.credentials)  # every request: a revoked or expired token stops at once
    if check.scopes is None:
        raise HTTPException(401, check.reason(), headers={"WWW-Authenticate": "Bearer"})
    return Caller(tuple(check.scopes), token_hash(creds.credentials))
