"""The spec's own DDL for the BGW tables, read from the packaged SQL files.

Kept apart from database/schema.py (the tables in SQLAlchemy) so that a process which only needs
to create missing tables on PostgreSQL (an export: database/postgres/snapshot.py) does not load
SQLAlchemy for it.
"""

from __future__ import annotations

from importlib import resources


def ddl_statements(dialect_name: str) -> list[str]:
    """The CREATE statements of every BGW table and index, for `postgresql` or `sqlite`."""
    name = "schema_postgresql.sql" if dialect_name == "postgresql" else "schema_sqlite.sql"
    text = resources.files("bgw_pipeline.core.database").joinpath("sql", name).read_text("utf-8")
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    statements = [s.strip() for s in "\n".join(lines).split(";")]
    return [s for s in statements if s and not s.upper().startswith("PRAGMA")]
