"""The shape of ``api_sources.yaml``: one pydantic model per source, its pagination, auth and limits.

Unknown keys are errors, so a misspelt option (or a pasted secret) never passes
silently, and every error names the source and field on one line.
The config never holds a secret, only the names of the environment variables that do.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_DOTTED = r"^[^.\s]+(\.[^.\s]+)*$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Words that mark a query parameter or header as a credential; those belong in
# ``auth`` (read from the environment), never in the config file.
_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "access_key",
    "private_key",
    "authorization",
    "credential",
    "signature",
    "cookie",
    "session",
)


class _Strict(BaseModel):
    # Unknown keys are errors so a misspelt option (or a pasted secret) never passes silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CursorPagination(_Strict):
    """The body names the next page's cursor; it goes back as a query parameter."""

    type: Literal["cursor"]
    cursor_param: str = "cursor"
    next_cursor_path: str = Field("meta.next", pattern=_DOTTED)


class PagePagination(_Strict):
    """Numbered pages; stops at an empty page or one shorter than an earlier page."""

    type: Literal["page"]
    page_param: str = "page"
    size_param: str | None = "per_page"
    size: int = Field(100, ge=1, le=10_000)
    start: int = Field(1, ge=0)


class LinkPagination(_Strict):
    """RFC 8288 ``Link: <...>; rel="next"`` headers (GitHub, GitLab, ...)."""

    type: Literal["link"]


class NoPagination(_Strict):
    type: Literal["none"]


Pagination = Annotated[CursorPagination | PagePagination | LinkPagination | NoPagination, Field(discriminator="type")]


class NoAuth(_Strict):
    type: Literal["none"]


class ApiKeyAuth(_Strict):
    """A static key sent in a header or a query parameter."""

    type: Literal["api_key"]
    header: str | None = None
    query_param: str | None = None
    key_env: str = Field(pattern=_ENV_NAME)

    @model_validator(mode="after")
    def _one_place(self) -> ApiKeyAuth:
        if (self.header is None) == (self.query_param is None):
            raise ValueError("give exactly one of header or query_param")
        return self


class BearerAuth(_Strict):
    type: Literal["bearer"]
    token_env: str = Field(pattern=_ENV_NAME)


class OAuth2ClientCredentials(_Strict):
    type: Literal["oauth2_client_credentials"]
    token_url: str
    client_id_env: str = Field(pattern=_ENV_NAME)
    client_secret_env: str = Field(pattern=_ENV_NAME)
    scope: str | None = None
    #: RFC 6749 2.3.1: HTTP Basic is the recommended way; some servers only take form fields.
    client_auth: Literal["basic", "post"] = "basic"


class OAuth2RefreshToken(_Strict):
    type: Literal["oauth2_refresh_token"]
    token_url: str
    client_id_env: str = Field(pattern=_ENV_NAME)
    client_secret_env: str | None = Field(None, pattern=_ENV_NAME)
    refresh_token_env: str = Field(pattern=_ENV_NAME)
    scope: str | None = None
    client_auth: Literal["basic", "post"] = "basic"


Auth = Annotated[
    NoAuth | ApiKeyAuth | BearerAuth | OAuth2ClientCredentials | OAuth2RefreshToken,
    Field(discriminator="type"),
]
OAuth2 = OAuth2ClientCredentials | OAuth2RefreshToken


class RateLimit(_Strict):
    requests_per_second: float = Field(gt=0)
    burst: int = Field(1, ge=1)


class Incremental(_Strict):
    since_param: str
    lookback_seconds: int = Field(3600, ge=0)
    since_format: Literal["iso", "epoch"] = "iso"


class ApiSourceConfig(_Strict):
    """One API source. Secrets are referenced by environment-variable name only."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    base_url: str
    path: str = ""
    method: Literal["GET"] = "GET"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    items_path: str = Field("", pattern=r"^$|" + _DOTTED)
    id_field: str = Field(pattern=_DOTTED)
    time_field: str | None = Field(None, pattern=_DOTTED)
    title_field: str | None = Field(None, pattern=_DOTTED)
    body_field: str | None = Field(None, pattern=_DOTTED)
    author_name_field: str | None = Field(None, pattern=_DOTTED)
    author_email_field: str | None = Field(None, pattern=_DOTTED)
    author_handle_field: str | None = Field(None, pattern=_DOTTED)
    pagination: Pagination = NoPagination(type="none")
    incremental: Incremental | None = None
    auth: Auth = NoAuth(type="none")
    rate_limit: RateLimit | None = None
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    max_retries: int = Field(5, ge=0, le=20)
    max_pages: int = Field(10_000, ge=1)
    backoff_seconds: float = Field(0.5, gt=0)
    max_backoff_seconds: float = Field(60.0, gt=0)
    #: A Retry-After beyond this ends the run (with a ParseIssue) instead of sleeping for hours.
    max_retry_after_seconds: float = Field(900.0, ge=0)
    max_response_bytes: int = Field(64 * 1024**2, ge=1024)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        _check_url(value, "base_url")
        if urlsplit(value).query or urlsplit(value).fragment:
            raise ValueError("base_url must not carry a query or fragment; use params")
        return value

    @field_validator("params", "headers")
    @classmethod
    def _no_credentials(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if _looks_secret(key):
                raise ValueError(
                    f"{key!r} looks like a credential; configure it under auth (read from an environment variable)"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ApiSourceConfig:
        if self.incremental is not None and self.time_field is None:
            raise ValueError("incremental needs time_field")
        if isinstance(self.auth, OAuth2ClientCredentials | OAuth2RefreshToken):
            _check_url(self.auth.token_url, "auth.token_url")
            _require_tls(self.auth.token_url, "auth.token_url")
        if not isinstance(self.auth, NoAuth):
            _require_tls(self.base_url, "base_url")
        return self

    @property
    def url(self) -> str:
        """The first page's URL (without query)."""
        base = self.base_url.rstrip("/")
        return f"{base}/{self.path.lstrip('/')}" if self.path else base


def _check_url(value: str, field: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{field} must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{field} must not contain credentials; configure them under auth")


def _require_tls(value: str, field: str) -> None:
    """Credentials travel over plain HTTP only to this machine."""
    parts = urlsplit(value)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"{field} must use https when credentials are sent")


def _looks_secret(key: str) -> bool:
    norm = key.lower().replace("-", "_")
    return norm in ("auth", "key", "sig") or any(word in norm for word in _SECRET_WORDS)


def load_api_sources(path: Path) -> list[ApiSourceConfig]:
    """Read ``api_sources.yaml``: a ``sources:`` list (or a bare list) of source configs.

    A missing file means no API sources. Any problem raises ValueError with a
    one-line message naming the source and field; values are never quoted.
    """
    if not path.exists():
        return []
    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{label}: cannot be read ({type(exc).__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ValueError(f"{label}: not valid YAML{at}") from None
    if data is None:
        return []
    if isinstance(data, dict):
        unknown = sorted(str(k) for k in data if k != "sources")
        if unknown:
            raise ValueError(f"{label}: unknown top-level key(s) {', '.join(unknown)}; expected 'sources'")
        data = data.get("sources") or []
    if not isinstance(data, list):
        raise ValueError(f"{label}: expected a list of sources under 'sources'")
    configs: list[ApiSourceConfig] = []
    for index, entry in enumerate(data, 1):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"source {index}"
        if isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
            where += f" ({name})"
        if not isinstance(entry, dict):
            raise ValueError(f"{label}: {where} is not a mapping")
        try:
            configs.append(ApiSourceConfig.model_validate(entry))
        except ValidationError as exc:
            raise ValueError(f"{label}: {where}: {describe_validation_error(exc)}") from None
    seen: set[str] = set()
    for config in configs:
        if config.name in seen:
            raise ValueError(f"{label}: duplicate source name {config.name}")
        seen.add(config.name)
    return configs


def describe_validation_error(exc: ValidationError) -> str:
    """Field paths and pydantic's messages on one line; the offending values are left out."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "source"
        msg = str(err["msg"]).removeprefix("Value error, ").replace("\n", " ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)
