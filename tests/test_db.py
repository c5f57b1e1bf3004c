"""Migrations on SQLite and PostgreSQL, newer-schema refusal, unreachable database."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import inspect, text

from twin_assets.db.engine import head_revision, make_engine, migrate
from twin_assets.errors import ConfigError, SchemaError

TABLES = {"sources", "sync_batches", "inputs", "records", "quarantine", "lineage", "api_tokens"}
PG_URL = os.environ.get("TWIN_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.sqlite'}"
        return
    if not PG_URL:
        pytest.skip("TWIN_TEST_DATABASE_URL not set")
    # A throwaway database per test, so runs never see each other's schema.
    name = f"twin_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_migrations_create_every_table(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM twin_alembic_version")).scalar() == head_revision()
    migrate(engine)  # idempotent
    engine.dispose()


def test_newer_schema_is_refused(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as c:
        c.execute(text("UPDATE twin_alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaError, match="newer"):
        migrate(engine)
    engine.dispose()


def test_lineage_roundtrip(db_url):
    from twin_assets.db.engine import session_scope
    from twin_assets.db.models import Lineage, RecordRow

    engine = make_engine(db_url)
    migrate(engine)
    with session_scope(engine) as s:
        s.add(RecordRow(id="r1", source="email", external_id_hash="e", content_hash="c", kind="message"))
        s.flush()
        s.add(Lineage(record_id="r1", artifact_kind="document", artifact_id="r1", store="store:high"))
    with session_scope(engine) as s:
        assert s.query(Lineage).filter_by(record_id="r1").count() == 1
    engine.dispose()


def test_unreachable_database_is_a_clear_error():
    engine = make_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="does not answer"):
        migrate(engine)


def test_unparseable_url_is_a_clear_error():
    with pytest.raises(ConfigError, match="not usable"):
        make_engine("nonsense://")


def test_an_engines_registry_migrates_once_per_url_and_its_owner_disposes_it(tmp_path, monkeypatch):
    from twin_assets.db import engine as engine_mod

    opened: list[str] = []
    real = engine_mod.open_engine
    monkeypatch.setattr(engine_mod, "open_engine", lambda url: opened.append(url) or real(url))
    a, b = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    engines = engine_mod.Engines()
    assert engines.get(a) is engines.get(a) and engines.get(b) is not engines.get(a)
    assert engine_mod.Engines().get(a) is not engines.get(a), "another owner has its own pool"
    assert opened == [a, b, a]
    pool = engines.get(a).pool
    engines.dispose()
    assert engines.get(a).pool is not pool and opened[-1] == a, "disposed: the next use starts afresh"


def test_a_handle_shares_its_openers_engine_or_disposes_its_own(home):
    from twin_assets.db.engine import Engines
    from twin_assets.twin import open_twin

    engines = Engines()
    with open_twin(engines=engines) as first, open_twin(engines=engines) as second:
        assert first.engine is second.engine
    shared_pool = first.engine.pool
    assert engines.get(str(first.engine.url)).pool is shared_pool, "the opener's engine outlives its handles"
    lone = open_twin()
    assert lone.engine is not first.engine
    lone_pool = lone.engine.pool
    lone.close()
    assert lone.engine.pool is not lone_pool, "a lone handle disposes its own engine on close"
    engines.dispose()
