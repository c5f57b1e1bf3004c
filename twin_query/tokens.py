"""API tokens: random, shown once, stored as SHA-256 hashes with their scopes and an optional expiry."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from twin_assets.db.models import ApiToken
from twin_assets.errors import TwinError
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


_SPAN = re.compile(r"(\d{1,6})\s*([hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """``--expires``: a span from now (``12h``, ``30d``, ``2w``) or a date or date-time (``2027-01-01``: its start,
    UTC; an ISO time with an offset is taken as given). A moment not in the future is a one-line error."""
    now = now or datetime.now(UTC)
    raw = text.strip().lower()
    if match := _SPAN.fullmatch(raw):
        moment = now + int(match.group(1)) * _UNITS[match.group(2)]
    else:
        try:
            parsed = datetime.fromisoformat(raw.upper()) if "t" in raw else None
            if parsed is None:
                day = date.fromisoformat(raw)
                parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
        except ValueError:
            raise TwinError(
                f"--expires {text!r} is neither a span nor a date", hint="e.g. --expires 30d, 12h, 2w or 2027-01-01"
            ) from None
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if moment <= now:
        raise TwinError(f"--expires {text!r} is not in the future", hint="e.g. --expires 30d or a later date")
    return moment.astimezone(UTC)


def create_token(twin: Twin, scopes: Iterable[str], expires_at: datetime | None = None) -> str:
    """A new token with ``scopes``, valid until ``expires_at`` (None: until revoked); returned once, stored hashed."""
    token = PREFIX + secrets.token_urlsafe(32)
    with twin.session() as s:
        s.add(
            ApiToken(id=secrets.token_hex(8), token_hash=_hash(token), scopes=",".join(scopes), expires_at=expires_at)
        )
    return token


@dataclass(frozen=True)
class TokenInfo:
    """What ``twin tokens list`` shows of a token: never the token nor its hash."""

    id: str
    scopes: list[str]
    created: datetime
    expires: datetime | None
    revoked: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "scopes": self.scopes,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat() if self.expires else None,
            "revoked": self.revoked,
        }


def list_tokens(twin: Twin) -> list[TokenInfo]:
    with twin.session() as s:
        rows = s.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id))
        return [TokenInfo(r.id, r.scopes.split(","), r.created_at, r.expires_at, r.revoked) for r in rows]


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


@dataclass(frozen=True)
class TokenCheck:
    """A token's scopes if it stands, else ``problem``: ``unknown``, ``revoked`` or ``expired``."""

    scopes: list[str] | None
    problem: str | None = None

    def reason(self) -> str:
        """For the caller: what is wrong and what to do (REST 401 detail, WebSocket error before close 4401)."""
        if self.problem == "expired":
            return "token expired; create a new one with `twin tokens create`"
        if self.problem == "revoked":
            return "token revoked; connect again with a valid token"
        return "invalid token"


def check_token(twin: Twin, token: str, now: datetime | None = None) -> TokenCheck:
    """Whether ``token`` stands now: known, not revoked, not past its expiry."""
    with twin.session() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
        if row is None:
            return TokenCheck(None, "unknown")
        if row.revoked:
            return TokenCheck(None, "revoked")
        if row.expires_at is not None and row.expires_at <= (now or datetime.now(UTC)):
            return TokenCheck(None, "expired")
        return TokenCheck(row.scopes.split(","))


def lookup(twin: Twin, token: str) -> list[str] | None:
    """The token's scopes, or None if it is unknown, revoked or expired."""
    return check_token(twin, token).scopes
