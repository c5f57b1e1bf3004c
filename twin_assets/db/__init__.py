"""Metadata and lineage database (SQLAlchemy 2, migrated by Alembic on start)."""
