"""Alembic environment: runs on the connection the twin hands it (see twin_assets.db.engine)."""

from alembic import context

from twin_assets.db.engine import VERSION_TABLE
from twin_assets.db.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` command line: build an engine from the ini URL
    from sqlalchemy import create_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: set sqlalchemy.url in the ini file (the twin passes its own connection)")
    connection = create_engine(url).connect()

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    # Dagster's PostgreSQL storage can share the database and has its own `alembic_version`.
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
