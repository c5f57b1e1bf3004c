"""Open the metadata database, migrating it to the current schema first.

SQLite (the default) runs in WAL mode so Dagster runs, sensors and the API
server can read while one of them writes; PostgreSQL works with the same models.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from twin_assets.errors import ConfigError, SchemaError

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "twin_alembic_version"


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:  # None only for a migrations folder without revisions
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _redact(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _on_sqlite_connect(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # a 202 for a webhook promises the event survives a crash
    record.info["synchronous"] = "FULL"
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # A sync touches index pages all over a million-record table (ids are keyed hashes): a larger cache and
    # fewer, larger checkpoints write each dirty page once per checkpoint rather than once per batch.
    cur.execute(f"PRAGMA cache_size=-{METADATA_CACHE_KIB}")
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cur.close()


METADATA_CACHE_KIB = 32 * 1024
WAL_CHECKPOINT_PAGES = 10_000
_bulk: ContextVar[bool] = ContextVar("twin_bulk_writes", default=False)


def _on_sqlite_checkout(
    dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    level = "NORMAL" if _bulk.get() else "FULL"
    if record.info.get("synchronous") != level:  # a checked-out connection is outside any transaction
        dbapi_conn.execute(f"PRAGMA synchronous={level}")
        record.info["synchronous"] = level


@contextmanager
def bulk_writes() -> Iterator[None]:
    """Commits in this block skip SQLite's fsync of the write-ahead log (``synchronous=NORMAL``): for work that
    is redone when lost, such as staging and classifying a sync's records (their inputs stay pending, and a
    record is keyed by its content). WAL with NORMAL stays consistent through any crash; a power cut may lose
    the last commits. At a million records the fsyncs were a fifth of the sync's own time. Webhook events,
    tokens and every other write keep ``FULL``."""
    token = _bulk.set(True)
    try:
        yield
    finally:
        _bulk.reset(token)


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _on_sqlite_connect)
            event.listen(engine, "checkout", _on_sqlite_checkout)
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(
            f"TWIN_DATABASE_URL {_redact(url)} is not usable: {type(exc).__name__}",
            hint="use sqlite:///path or postgresql+psycopg2://user@host/db",
        ) from None
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to head; refuse a database written by a newer twin."""
    script = ScriptDirectory.from_config(_alembic_config())
    try:
        with engine.begin() as conn:
            current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
            if current is None:
                current = _adopt_legacy_version(conn, script)
            if current is not None and not _known(script, current):
                raise SchemaError(
                    f"the metadata database is at schema {current}, newer than this twin knows "
                    f"(up to {script.get_current_head()})",
                    hint="upgrade digital-twin, or point TWIN_DATABASE_URL at another database",
                )
            if current != script.get_current_head():
                cfg = _alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise ConfigError(
            f"metadata database {_redact(str(engine.url))} does not answer: "
            f"{str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__}",
            hint="check TWIN_DATABASE_URL and that the server is running",
        ) from None


def _adopt_legacy_version(conn: Connection, script: ScriptDirectory) -> str | None:
    """Homes created before the version table was renamed keep their revision in `alembic_version`."""
    from sqlalchemy import inspect, text

    if "alembic_version" not in inspect(conn).get_table_names() or "records" not in inspect(conn).get_table_names():
        return None
    legacy: str | None = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if legacy is None or not _known(script, legacy):
        return None  # Dagster's, or someone else's
    MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).stamp(script, legacy)
    return legacy


def _known(script: ScriptDirectory, rev: str) -> bool:
    try:
        return script.get_revision(rev) is not None
    except Exception:
        return False


def open_engine(url: str) -> Engine:
    """A new engine for ``url``, its database migrated to the current schema first."""
    engine = make_engine(url)
    migrate(engine)
    return engine


class Engines:
    """One migrated engine (a connection pool) per database URL, for whoever owns the registry and hands it to the
    handles it opens: the API's query service, a Dagster run's resource, ``twin init``; a handle opened without
    one keeps its own. The owner disposes of the engines when it is done."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_url: dict[str, Engine] = {}

    def get(self, url: str) -> Engine:
        with self._lock:  # two threads asking at once migrate once
            engine = self._by_url.get(url)
            if engine is None:
                engine = self._by_url[url] = open_engine(url)
        return engine

    def dispose(self) -> None:
        """Close the pooled connections; an engine used again afterwards opens new ones."""
        with self._lock:
            engines, self._by_url = list(self._by_url.values()), {}
        for engine in engines:
            engine.dispose()


def rowcount(result: Result[Any]) -> int:
    """The rows a DML statement matched: ``Session.execute`` types its result as a ``Result``, and for DML it is
    the ``CursorResult`` that has the count."""
    assert isinstance(result, CursorResult)
    return result.rowcount


def quick_check(engine: Engine) -> list[str] | None:
    """SQLite's ``quick_check`` of the metadata DB: ``[]`` when sound, its findings otherwise, None when the DB is
    not SQLite (a server database checks itself)."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check")]
    return [] if rows == ["ok"] else rows


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: committed on success, rolled back on any error."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
