"""Credentials for API requests, one class per ``auth.type``: none, api_key, bearer, and the OAuth2 grants.

Secrets come from the environment variables the config names (read here and
nowhere else in the connector); OAuth2 tokens persist through a caller-provided
:class:`TokenStore`, which the pipeline keeps encrypted.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import httpx

from twin_assets.connectors.rest_api.config import (
    ApiKeyAuth,
    ApiSourceConfig,
    BearerAuth,
    OAuth2,
    OAuth2ClientCredentials,
)
from twin_assets.connectors.rest_api.transport import Credentials, Stop, Transport
from twin_assets.errors import ConfigError
from twin_assets.records import ParseIssue
from twin_assets.settings import env_secret

# Tokens are treated as expired this long before the server says, so a request
# never leaves with a token that dies in flight.
TOKEN_EXPIRY_SKEW_SECONDS = 30


@runtime_checkable
class TokenStore(Protocol):
    """Where OAuth2 tokens persist between runs; the caller keeps it encrypted.

    The saved dict has ``access_token``, ``token_type``, ``expires_at`` (Unix
    seconds or None) and, for the refresh-token grant, ``refresh_token``.
    """

    def load(self) -> dict[str, Any] | None: ...

    def save(self, token: dict[str, Any]) -> None: ...


def _env_value(name: str) -> str:
    """The variable a user named in ``api_sources.yaml`` (not a TWIN_* setting, so not in the model)."""
    return env_secret(name)


def _env(name: str, field: str) -> str:
    value = _env_value(name)
    if not value:
        # The field, not the variable, is named: a secret pasted where a name belongs must not leak.
        raise Stop(ParseIssue("auth", f"the environment variable named by {field} is not set"))
    return value


class Authenticator:
    """No credentials; the base of the others."""

    def credentials(self, transport: Transport) -> Credentials:
        """(headers, query params) that authenticate one API request."""
        return {}, {}

    def forget(self) -> bool:
        """After a 401: drop what may be stale; True if a retry with fresh credentials can help."""
        return False


class ApiKeyAuthenticator(Authenticator):
    def __init__(self, auth: ApiKeyAuth) -> None:
        self.auth = auth

    def credentials(self, transport: Transport) -> Credentials:
        key = _env(self.auth.key_env, "auth.key_env")
        if self.auth.header:
            return {self.auth.header: key}, {}
        return {}, {self.auth.query_param or "": key}


class BearerAuthenticator(Authenticator):
    def __init__(self, auth: BearerAuth) -> None:
        self.auth = auth

    def credentials(self, transport: Transport) -> Credentials:
        return {"Authorization": f"Bearer {_env(self.auth.token_env, 'auth.token_env')}"}, {}


class OAuth2Authenticator(Authenticator):
    """Client-credentials and refresh-token grants; the token is fetched once and reused until near expiry."""

    def __init__(self, auth: OAuth2, token_store: TokenStore | None) -> None:
        self.auth = auth
        self.token_store = token_store
        self._token: dict[str, Any] | None = None
        self._token_loaded = False

    def credentials(self, transport: Transport) -> Credentials:
        return {"Authorization": f"Bearer {self._access_token(transport)}"}, {}

    def forget(self) -> bool:
        """Forget the access token but keep the refresh token for the next grant."""
        refresh = (self._token or {}).get("refresh_token")
        self._token = {"refresh_token": refresh} if refresh else None
        return True

    def _access_token(self, transport: Transport) -> str:
        if not self._token_loaded:
            self._token_loaded = True
            if self.token_store is not None:
                stored = self.token_store.load()
                self._token = dict(stored) if isinstance(stored, dict) else None
        token = self._token or {}
        access = token.get("access_token")
        if isinstance(access, str) and access and not self._expired(token, transport):
            return access
        return self._obtain_token(transport)

    def _expired(self, token: dict[str, Any], transport: Transport) -> bool:
        expires_at = token.get("expires_at")
        if expires_at is None:
            return False
        try:
            return transport.now().timestamp() >= float(expires_at) - TOKEN_EXPIRY_SKEW_SECONDS
        except (TypeError, ValueError):
            return True

    def _obtain_token(self, transport: Transport) -> str:
        auth = self.auth
        if isinstance(auth, OAuth2ClientCredentials):
            return self._grant(transport, {"grant_type": "client_credentials"})
        stored = (self._token or {}).get("refresh_token")
        if isinstance(stored, str) and stored:
            # The stored token is the newest rotation. The environment's is the fallback
            # for when the user re-consented and put a fresh one there.
            try:
                return self._grant(transport, {"grant_type": "refresh_token", "refresh_token": stored})
            except Stop as stop:
                rejected = stop.issue.reason.startswith(("HTTP 400", "HTTP 401"))
                if not rejected or _env_value(auth.refresh_token_env) in ("", stored):
                    raise
        from_env = _env(auth.refresh_token_env, "auth.refresh_token_env")
        return self._grant(transport, {"grant_type": "refresh_token", "refresh_token": from_env})

    def _grant(self, transport: Transport, data: dict[str, str]) -> str:
        auth = self.auth
        client_id = _env(auth.client_id_env, "auth.client_id_env")
        secret = _env(auth.client_secret_env, "auth.client_secret_env") if auth.client_secret_env else None
        if auth.scope:
            data = {**data, "scope": auth.scope}
        headers = {"Accept": "application/json"}
        if auth.client_auth == "basic":
            # RFC 6749 2.3.1: id and secret are form-encoded before Basic encoding.
            pair = f"{quote(client_id, safe='')}:{quote(secret or '', safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            data = {**data, "client_id": client_id, **({"client_secret": secret} if secret else {})}

        def build(_headers: dict[str, str], _extra: dict[str, str]) -> httpx.Request:
            return transport.client.build_request(
                "POST", auth.token_url, data=data, headers=headers, timeout=transport.config.timeout_seconds
            )

        # The token endpoint gets no rate limit, no API credentials and no re-authentication.
        response = transport.send(build, "auth", who="token endpoint")
        transport.stats.token_fetches += 1
        try:
            payload = json.loads(response.content)
        except (ValueError, RecursionError):
            raise Stop(ParseIssue("auth", "token endpoint did not answer with JSON")) from None
        access = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(access, str) or not access:
            raise Stop(ParseIssue("auth", "token endpoint answer has no access_token"))
        token_type = payload.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise Stop(ParseIssue("auth", "token endpoint returned a token type other than Bearer"))
        expires_at = None
        lifetime = _number(payload.get("expires_in"))
        if lifetime is not None:
            expires_at = transport.now().timestamp() + lifetime
        refresh = payload.get("refresh_token")
        if not (isinstance(refresh, str) and refresh):
            refresh = data.get("refresh_token")  # not rotated: keep using the one we sent
        token: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_at": expires_at}
        if refresh:
            token["refresh_token"] = refresh
        self._token = token
        if self.token_store is not None:
            self.token_store.save(dict(token))
        return access


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or numeric string (some servers quote expires_in)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


#: ``auth.type`` → how to build its authenticator from (auth settings, token store).
AUTHENTICATORS: dict[str, Callable[[Any, TokenStore | None], Authenticator]] = {
    "none": lambda _auth, _store: Authenticator(),
    "api_key": lambda auth, _store: ApiKeyAuthenticator(auth),
    "bearer": lambda auth, _store: BearerAuthenticator(auth),
    "oauth2_client_credentials": OAuth2Authenticator,
    "oauth2_refresh_token": OAuth2Authenticator,
}


def authenticator_for(config: ApiSourceConfig, token_store: TokenStore | None) -> Authenticator:
    """The authenticator for a source's ``auth.type``; a config error naming source and field if unknown."""
    factory = AUTHENTICATORS.get(config.auth.type)
    if factory is None:
        raise ConfigError(
            f"API source {config.name}: auth.type must be one of {', '.join(AUTHENTICATORS)}",
            hint="fix api_sources.yaml; see README, 'REST APIs'",
        )
    return factory(config.auth, token_store)
