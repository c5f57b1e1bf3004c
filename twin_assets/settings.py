"""Typed configuration: every ``TWIN_*`` environment variable, validated in one model.

Each setting keeps its own public variable name (``TWIN_API_RATE``, ``TWIN_WHATSAPP_TZ``…), declared as the
field's ``validation_alias``, while the model groups them by what they configure (``settings.api.rate``).
A bad value fails here, as one line naming the variable and what it allows (``ConfigError``), instead of
quietly becoming the default somewhere else. This module is also the only one that reads the process
environment; the few variables of other programs (Dagster, Hugging Face) are read and written here too.

Everything the twin keeps lives under ``TWIN_HOME``; the paths below are the only place that layout is
spelled out.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    JsonValue,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from twin_assets.errors import ConfigError

EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]
KeySource = Literal["file", "passphrase", "keyring"]


# ---- value types shared by several settings ---------------------------------------------------------------
def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if value and (parsed.scheme not in ("http", "https") or not parsed.hostname):
        raise ValueError("is not an http(s)://host:port URL")
    return value.rstrip("/")


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not a known time zone (an IANA name such as Europe/Berlin)") from None
    return value


def _moment(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("is not an ISO date or date-time (e.g. 2020-01-31)") from None
    return value


def _comma_list(value: Any) -> Any:
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


# The fields a bank CSV column can be mapped to (TWIN_BANK_CSV_COLUMNS), in the order the bank_csv connector
# assigns columns to them. Defined here, beside the setting that names them, so validating it at start needs
# no import of the connector (which reads its settings from this module).
BANK_CSV_FIELDS = (
    "date",
    "value_date",
    "amount",
    "debit",
    "credit",
    "direction",
    "balance",
    "currency",
    "payee",
    "description",
    "memo",
    "category",
)


def _column_mapping(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("is not valid JSON") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError('is not a JSON object of field to column name, e.g. {"date": "Booked", "amount": "EUR"}')
    unknown = sorted(k for k in value if k not in BANK_CSV_FIELDS)
    if unknown:
        raise ValueError(f"names unknown field(s) {', '.join(unknown)[:80]}; known: {', '.join(BANK_CSV_FIELDS)}")
    return {k: v for k, v in value.items() if v}


def _database_url(value: str) -> str:
    if value:
        from sqlalchemy.engine import make_url  # only when one is set: the import is not free

        try:
            make_url(value)
        except Exception:  # sqlalchemy raises ArgumentError, or ValueError for a bad port
            raise ValueError("is not a database URL (e.g. postgresql+psycopg2://user@host/db)") from None
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
DatabaseUrl = Annotated[str, AfterValidator(_database_url)]
Zone = Annotated[str, BeforeValidator(_strip), AfterValidator(_zone)]
Moment = Annotated[datetime | None, BeforeValidator(_moment)]


def _setting(
    env: str,
    default: Any = None,
    description: str = "",
    *,
    default_factory: Callable[[], Any] | None = None,
    doc_default: str | None = None,
    unit: str | None = None,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> Any:
    """A field read from the variable ``env``. ``doc_default`` says a computed default in words (the README table),
    ``unit`` what the number counts (error messages)."""
    extra: dict[str, JsonValue] = {k: v for k, v in (("doc_default", doc_default), ("unit", unit)) if v is not None}
    common: dict[str, Any] = dict(
        validation_alias=env, description=description, json_schema_extra=extra, gt=gt, ge=ge, le=le
    )
    if default_factory is not None:
        return Field(default_factory=default_factory, **common)
    return Field(default, **common)


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, extra="ignore")


# ---- groups ---------------------------------------------------------------------------------------------------
class ChromaSettings(_Group):
    url: HttpUrl = _setting(
        "TWIN_CHROMA_URL",
        "",
        "a Chroma server `http://host:port`; empty: the home's own Chroma server on `TWIN_HOME/stores/chroma`",
        doc_default="empty",
    )
    idle_seconds: FiniteFloat = _setting(
        "TWIN_CHROMA_IDLE_SECONDS",
        30.0,
        "the home's own Chroma server stops after this long without a user",
        gt=0,
        unit="seconds",
    )


class KeySettings(_Group):
    master_key: SecretStr | None = _setting(
        "TWIN_MASTER_KEY", None, "a base64 32-byte master key instead of `keys/master.json`"
    )
    previous_master_key: SecretStr | None = _setting(
        "TWIN_PREVIOUS_MASTER_KEY",
        None,
        "while rotating with `TWIN_MASTER_KEY`: the key being replaced, so what it wrote still opens",
    )
    source: Annotated[KeySource | None, BeforeValidator(_lower)] = _setting(
        "TWIN_KEY_SOURCE",
        None,
        "where a new home's master key comes from, chosen at `twin init`: `file`, "
        "`passphrase` or `keyring` (`TWIN_MASTER_KEY` set: the environment)",
        doc_default="`file`",
    )
    passphrase: SecretStr | None = _setting(
        "TWIN_PASSPHRASE", None, "the passphrase of a home created with `twin init --passphrase` (else asked for)"
    )


class EmbeddingSettings(_Group):
    batch_size: int = _setting("TWIN_EMBEDDING_BATCH_SIZE", 64, "texts per embedding batch", ge=1, le=4096)
    max_seq_length: int = _setting(
        "TWIN_EMBEDDING_MAX_SEQ_LENGTH", 256, "tokens the model reads per text", ge=16, le=512
    )
    backend: Annotated[EmbeddingBackend, BeforeValidator(_lower)] = _setting(
        "TWIN_EMBEDDING_BACKEND",
        "onnx",
        "`onnx` (ONNX Runtime, exported offline from the shipped model on first "
        "use; same vectors as `torch`), `torch` (sentence-transformers) or `onnx-int8` (quantised: ~1.8x less CPU, "
        "13% of top-10 neighbours differ). A home keeps the family of its first vectors (`stores/embedding.json`); "
        "`torch` and `onnx` mix",
    )
    cache: Path = _setting(
        "TWIN_EMBEDDING_CACHE",
        description="where the exported ONNX files live (90 MB fp32, 59 MB int8; built once, 10–40 s)",
        default_factory=lambda: _cache_home() / "twin" / "embeddings",
        doc_default="`$XDG_CACHE_HOME/twin/embeddings`, else `~/.cache/twin/embeddings`",
    )


class ParseSettings(_Group):
    workers: int = _setting(
        "TWIN_PARSE_WORKERS",
        0,
        "processes that parse a mailbox file of 32 MiB or more while the sync stages what "
        "they return (forked; Linux and other systems with `fork`); `0`: one per core, `1`: parse in the sync's "
        "own process",
        ge=0,
        le=64,
        unit="processes",
    )
    max_records: int = _setting(
        "TWIN_PARSE_MAX_RECORDS",
        1_000_000,
        "records one input (a file, or an export folder) may yield; the rest of it is quarantined, naming this setting",
        ge=1,
        unit="records",
    )
    max_occurrences: int = _setting(
        "TWIN_PARSE_MAX_OCCURRENCES",
        50_000,
        "calendar event occurrences one `.ics` file may expand into, all its recurring series together; the rest "
        "of the file is quarantined, naming this setting",
        ge=1,
        unit="occurrences",
    )
    max_seconds: FiniteFloat = _setting(
        "TWIN_PARSE_MAX_SECONDS",
        600.0,
        "seconds one input may take to parse; the rest of it is quarantined, naming this setting",
        gt=0,
        unit="seconds",
    )
    max_memory_mib: int = _setting(
        "TWIN_PARSE_MAX_MEMORY_MIB",
        3072,
        "MiB the parsing process may grow by while it reads one input; the rest of it is quarantined, naming this "
        "setting",
        ge=64,
        unit="MiB",
    )


class SyncSettings(_Group):
    max_batch_seconds: FiniteFloat = _setting(
        "TWIN_SYNC_MAX_BATCH_SECONDS",
        1800.0,
        "seconds one sync of a source may spend before it stops taking new inputs (the input being parsed is "
        "finished); the rest stay pending, counted as deferred, and the next `twin ingest`, inbox sensor tick or "
        "`twin doctor` resumes them",
        gt=0,
        unit="seconds",
    )
    max_batch_records: int = _setting(
        "TWIN_SYNC_MAX_BATCH_RECORDS",
        1_000_000,
        "records one sync of a source may stage before it stops taking new inputs; the rest stay pending, "
        "counted as deferred, and are resumed like the above",
        ge=1,
        unit="records",
    )


class ApiSettings(_Group):
    rate: FiniteFloat = _setting(
        "TWIN_API_RATE",
        20.0,
        "API requests per second per token; `0` turns the limit off",
        ge=0,
        unit="requests per second",
    )
    burst: FiniteFloat = _setting(
        "TWIN_API_BURST", 60.0, "API requests a token may make at once before the rate applies", ge=1, unit="requests"
    )
    max_body_bytes: int = _setting(
        "TWIN_API_MAX_BODY_BYTES",
        1024 * 1024,
        "largest request body (413 beyond it, chunked bodies included)",
        ge=1,
        unit="bytes",
    )
    cors_origins: Annotated[list[str], BeforeValidator(_comma_list)] = _setting(
        "TWIN_CORS_ORIGINS",
        description="comma-separated origins allowed by CORS; CORS is off when unset",
        default_factory=list,
        doc_default="unset",
    )
    warm: bool = _setting(
        "TWIN_API_WARM",
        True,
        "`twin serve` loads, in the background, what the first question would wait for: the "
        "embedding model, the HIGH vector index, and the entities, timeline events and graph of each view an active "
        "token reads (prints `twin serve: loaded ...` with the seconds); requests are answered meanwhile. `off` "
        "leaves it to the first request",
    )
    access_log: bool = _setting(
        "TWIN_ACCESS_LOG",
        True,
        "JSON access log (method, route template, status, duration, token id; never "
        "paths, queries or content); `off` silences it",
    )


class LlmSettings(_Group):
    url: HttpUrl = _setting(
        "TWIN_LLM_URL",
        "",
        "optional OpenAI-compatible endpoint (e.g. `http://127.0.0.1:8080/v1`) that phrases "
        "`ask` answers from the same evidence; loopback only unless `TWIN_LLM_ALLOW_REMOTE` is on",
        doc_default="unset",
    )
    model: str = _setting("TWIN_LLM_MODEL", "local", "the model name sent to `TWIN_LLM_URL`")
    api_key: SecretStr | None = _setting("TWIN_LLM_API_KEY", None, "bearer key sent to `TWIN_LLM_URL`")
    allow_remote: bool = _setting(
        "TWIN_LLM_ALLOW_REMOTE",
        False,
        "allow a `TWIN_LLM_URL` that is not on this machine: your evidence is sent there",
    )


class CalendarSettings(_Group):
    """The ``calendar`` connector's expansion window for recurring events."""

    window_start: Moment = _setting(
        "TWIN_CALENDAR_WINDOW_START",
        None,
        "recurring events are expanded from this date (ISO date or date-time)",
        doc_default="10 years ago",
    )
    window_end: Moment = _setting(
        "TWIN_CALENDAR_WINDOW_END",
        None,
        "recurring events are expanded up to this date (ISO date or date-time)",
        doc_default="2 years ahead",
    )

    @model_validator(mode="after")
    def _ordered(self) -> CalendarSettings:
        if self.window_start and self.window_end and _naive(self.window_start) >= _naive(self.window_end):
            raise ValueError("TWIN_CALENDAR_WINDOW_START must be before TWIN_CALENDAR_WINDOW_END")
        return self


class WhatsAppSettings(_Group):
    """The ``whatsapp`` connector: exports carry no zone."""

    tz: Zone = _setting("TWIN_WHATSAPP_TZ", "UTC", "time zone WhatsApp exports' timestamps are read in")


class TelegramSettings(_Group):
    """The ``telegram`` connector: messages without a unix time carry no zone."""

    tz: Zone = _setting("TWIN_TELEGRAM_TZ", "UTC", "time zone of Telegram messages that carry only a local date")


class BankCsvSettings(_Group):
    """The ``bank_csv`` connector's column mapping."""

    columns: Annotated[dict[str, str] | None, BeforeValidator(_column_mapping)] = _setting(
        "TWIN_BANK_CSV_COLUMNS",
        None,
        'JSON object naming the columns, e.g. `{"date": "...", "amount": "...", '
        '"description": "..."}`; unset: detected by header name in several languages',
        doc_default="unset",
    )


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


# ---- the model ----------------------------------------------------------------------------------------------
class _Environment(PydanticBaseSettingsSource):
    """Each setting from its own variable (``TWIN_API_RATE``, not ``TWIN_API__RATE``); empty counts as unset.

    A group given as an argument (``TwinSettings(api=...)``) is taken whole: the environment adds nothing to it.
    """

    def __init__(self, settings_cls: type[BaseSettings], given: set[str]) -> None:
        super().__init__(settings_cls)
        self.given = given

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads everything at once

    def __call__(self) -> dict[str, Any]:
        found = _from_environment(self.settings_cls, os.environ)
        return {key: value for key, value in found.items() if key not in self.given}


def _from_environment(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if group := _group(field.annotation):
            if found := _from_environment(group, environ):
                values[name] = found
        elif isinstance(field.validation_alias, str) and environ.get(field.validation_alias, "").strip():
            values[field.validation_alias] = environ[field.validation_alias]
    return values


def _group(annotation: Any) -> type[_Group] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, _Group) else None


class TwinSettings(BaseSettings):
    model_config = SettingsConfigDict(validate_by_name=True, validate_by_alias=True, extra="ignore")

    home: Path = _setting(
        "TWIN_HOME",
        Path(".twin"),
        "everything the twin keeps: inbox, stores, keys, `dagster/` (DAGSTER_HOME unless `DAGSTER_HOME` is set)",
        doc_default="`./.twin`",
    )
    database_url: DatabaseUrl = _setting(
        "TWIN_DATABASE_URL",
        "",
        "metadata DB; `postgresql+psycopg2://user@host/db` works (install the `postgres` extra)",
        doc_default="SQLite in `TWIN_HOME/stores/metadata.sqlite`",
    )
    keep_raw: bool = _setting("TWIN_KEEP_RAW", True, "keep ingested exports, encrypted, for reprocessing")
    run_concurrency: int = _setting(
        "TWIN_RUN_CONCURRENCY",
        1,
        "Dagster runs at once (written into `dagster.yaml` by `twin init`)",
        ge=1,
        le=64,
        unit="runs",
    )
    writer_wait: FiniteFloat = _setting(
        "TWIN_WRITER_WAIT_SECONDS",
        600.0,
        "how long `twin ingest`/`materialize` wait for the writer slot held by another live run before giving up "
        "(slots of runs whose process is gone are released at once)",
        ge=0,
        le=86400,
        unit="seconds",
    )
    chroma: ChromaSettings = Field(default_factory=ChromaSettings, description="Chroma server.")
    keys: KeySettings = Field(default_factory=KeySettings, description="Where the master key comes from.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description="The embedding model.")
    parse: ParseSettings = Field(default_factory=ParseSettings, description="Parsing large exports.")
    sync: SyncSettings = Field(default_factory=SyncSettings, description="How much one sync of a source may do.")
    api: ApiSettings = Field(default_factory=ApiSettings, description="The REST and WebSocket API.")
    llm: LlmSettings = Field(default_factory=LlmSettings, description="The optional language model for ask.")
    calendar: CalendarSettings = Field(default_factory=CalendarSettings, description="The calendar connector.")
    whatsapp: WhatsAppSettings = Field(default_factory=WhatsAppSettings, description="The whatsapp connector.")
    telegram: TelegramSettings = Field(default_factory=TelegramSettings, description="The telegram connector.")
    bank_csv: BankCsvSettings = Field(default_factory=BankCsvSettings, description="The bank_csv connector.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        given = set(getattr(init_settings, "init_kwargs", {}))
        return init_settings, _Environment(settings_cls, given)

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
    """Fresh settings from the current environment (cheap; tests change the environment).

    Raises ``ConfigError`` with one line naming each bad variable and what it allows.
    """
    try:
        return TwinSettings()
    except ValidationError as exc:
        raise ConfigError(invalid_settings_message(exc)) from None


def settings_or_exit() -> TwinSettings:
    """The settings, or the one-line error on stderr and exit status 2 (for entry points that show tracebacks)."""
    try:
        return get_settings()
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(exc.exit_code) from None


# ---- errors people read -----------------------------------------------------------------------------------------
_PROBLEMS = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "finite_number": "is not a finite number",
    "bool_parsing": "is not on or off",
    "literal_error": "is not allowed",
    "greater_than": "is too small",
    "greater_than_equal": "is too small",
    "less_than": "is too large",
    "less_than_equal": "is too large",
}
_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_USERINFO = re.compile(r"//[^/@\s]*@")


def invalid_settings_message(exc: ValidationError) -> str:
    """One line for all the bad values: ``TWIN_API_RATE='abc' is not a number (requests per second: a number >= 0)``."""
    return "; ".join(_problem(error) for error in exc.errors(include_url=False))


def _problem(error: Any) -> str:
    loc = error.get("loc", ())
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    field = fields_by_variable().get(str(loc[-1])) if loc else None
    if field is None:  # a rule across fields; its message names the variables
        return message
    variable = str(loc[-1])
    # Secrets are never shown, nor the password part of a URL (user:password@host).
    raw = _USERINFO.sub("//***@", str(error.get("input", "")))
    shown = "(hidden)" if _is_secret(field.annotation) else repr(raw[:60])
    if error.get("type") == "value_error":  # our validators say what is allowed
        return f"{variable}={shown} {message}"
    return f"{variable}={shown} {_PROBLEMS.get(error.get('type'), message.lower())} ({allowed(field)})"


def allowed(field: Any) -> str:
    """What a field accepts, in words: ``requests per second: a number >= 0``."""
    annotation = field.annotation
    choices = [a for a in _flatten(annotation) if isinstance(a, str)]
    bounds = [
        f"{symbol} {getattr(m, key):g}" for m in field.metadata for key, symbol in _BOUNDS.items() if hasattr(m, key)
    ]
    if choices:
        kind = "one of " + ", ".join(choices)
    elif annotation is bool:
        kind = "on/off, true/false, yes/no or 1/0"
    elif annotation in (int, float):
        kind = " ".join(["a whole number" if annotation is int else "a number", " and ".join(bounds)]).strip()
    else:
        kind = (field.description or "").split(";")[0]
    unit = (field.json_schema_extra or {}).get("unit")
    return f"{unit}: {kind}" if unit else kind


def _flatten(annotation: Any) -> list[Any]:
    args = get_args(annotation)
    return [leaf for arg in args for leaf in _flatten(arg)] if args else [annotation]


def _is_secret(annotation: Any) -> bool:
    return SecretStr in _flatten(annotation)


@lru_cache(maxsize=1)
def fields_by_variable() -> dict[str, Any]:
    """Every setting's FieldInfo by its variable name, in declaration order."""
    out: dict[str, Any] = {}

    def walk(model: type[BaseModel]) -> None:
        for field in model.model_fields.values():
            if group := _group(field.annotation):
                walk(group)
            elif isinstance(field.validation_alias, str):
                out[field.validation_alias] = field

    walk(TwinSettings)
    return out


# ---- the environment of other programs --------------------------------------------------------------------------
def _cache_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg).expanduser() if xdg else Path.home() / ".cache"


def env_secret(name: str) -> str:
    """The variable a user's configuration names for a secret (e.g. a REST source's ``token_env``); '' if unset."""
    return os.environ.get(name, "")


def default_env(**values: str) -> None:
    """Set variables other libraries read (Dagster, Hugging Face), unless the user set them."""
    for name, value in values.items():
        os.environ.setdefault(name, value)


def force_env(values: Mapping[str, str]) -> None:
    """Set variables other libraries read whatever the user set (the telemetry switches: a promise, not a default)."""
    os.environ.update(values)


def child_env(**values: str) -> dict[str, str]:
    """This process's environment with ``values`` added, for a program the twin starts."""
    return {**os.environ, **values}
