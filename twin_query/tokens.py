"""API tokens: random, shown once, stored as SHA-256 hashes with their scopes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from sqlalchemy import select

from twin_assets.db.models import ApiToken
from twin_assets.tiers import Scope
from twin_assets.twin import Twin

PREFIX = "twin_"


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so an unkeyed hash cannot be reversed by guessing.
    return hashlib.sha256(token.encode()).hexdigest()


def token_hash(token: str) -> str:
    """How a token is stored and named in the audit: its SHA-256, never the token."""
    return _hash(token)


def parse_scopes(text: str) -> list[Scope]:
    """``--scopes low,high``: each scope once, lowest first; an unknown name is a one-line error."""
    return Scope.parse_list(text)


def create_token(twin: Twin, scopes: Iterable[str]) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    with twin.session() as s:
        s.add(ApiToken(id=secrets.token_hex(8), token_hash=_hash(token), scopes=",".join(scopes)))
    return token


def has_tokens(twin: Twin) -> bool:
    with twin.session() as s:
        return s.scalars(select(ApiToken.id).where(ApiToken.revoked.is_(False))).first() is not None


def revoke_token(twin: Twin, token: str) -> bool:
    """Revoke ``token`` (REST refuses it at once; an open WebSocket on its next message or push); False if unknown."""
    with twin.session() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
        if row is None:
            return False
        row.revoked = True
        return True


def lookup(twin: Twin, token: str) -> list[str] | None:
    """The token's scopes, or None if it is unknown or revoked."""
    with twin.session() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
        if row is None or row.revoked:
            return None
        return row.scopes.split(",")
