"""API tokens: random, shown once, stored as SHA-256 hashes with their scopes."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from twin_assets.db.models import ApiToken
from twin_assets.errors import TwinError
from twin_assets.twin import Twin

SCOPES = ("low", "medium", "high")
PREFIX = "twin_"


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so an unkeyed hash cannot be reversed by guessing.
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str) -> list[str]:
    scopes = [s.strip().lower() for s in text.split(",") if s.strip()]
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise TwinError(f"unknown scope(s): {', '.join(bad) or '(none given)'}", hint="use low, medium, high")
    return sorted(set(scopes), key=SCOPES.index)


def create_token(twin: Twin, scopes: list[str]) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    with twin.session() as s:
        s.add(ApiToken(id=secrets.token_hex(8), token_hash=_hash(token), scopes=",".join(scopes)))
    return token


def has_tokens(twin: Twin) -> bool:
    with twin.session() as s:
        return s.scalars(select(ApiToken.id).where(ApiToken.revoked.is_(False))).first() is not None


def lookup(twin: Twin, token: str) -> list[str] | None:
    """The token's scopes, or None if it is unknown or revoked."""
    with twin.session() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
        if row is None or row.revoked:
            return None
        return row.scopes.split(",")
