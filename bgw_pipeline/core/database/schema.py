"""The BGW tables in SQLAlchemy, and creating the missing ones from the spec's own DDL.

Column types are TypeDecorators so that both dialects hand back, and accept, the same
canonical values: UUIDs as lowercase text, timestamps as aware UTC datetimes, JSON as
compact JSON text, booleans as bool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect, Engine

from bgw_pipeline.core.database.engines import connect
from bgw_pipeline.core.database.schema_ddl import ddl_statements
from bgw_pipeline.core.model.entities import ALL_ENTITIES, Entity, Kind
from bgw_pipeline.core.model.values import (
    canonical_json_text,
    canonical_uuid,
    format_sqlite_timestamp,
    loads_json,
    parse_timestamp,
)


def _is_postgres(dialect: Dialect) -> bool:
    return dialect.name == "postgresql"


class UuidText(sa.types.TypeDecorator[str]):
    """UUID on PostgreSQL, canonical lowercase TEXT on SQLite; Python side is `str`."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if _is_postgres(dialect):
            return dialect.type_descriptor(postgresql.UUID(as_uuid=False))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_uuid(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value).lower()


class _JsonResultText(sa.types.TypeDecorator[str]):
    """The text of a JSON column as read back: validated and made compact."""

    impl = sa.Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_json_text(value, "JSON column")


class JsonText(sa.types.TypeDecorator[str]):
    """JSONB on PostgreSQL, TEXT on SQLite; Python side is compact JSON text."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if _is_postgres(dialect):
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.Text())

    def column_expression(self, column: Any) -> Any:
        # Read jsonb as its text so a JSON string value is never confused with JSON text.
        return sa.type_coerce(sa.cast(column, sa.Text), _JsonResultText())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or not _is_postgres(dialect):
            return value
        # JSONB's own bind processor serializes a Python value; hand it the parsed text.
        return loads_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_json_text(value, "JSON column")


class UtcTimestamp(sa.types.TypeDecorator[datetime]):
    """TIMESTAMPTZ on PostgreSQL, SQLAlchemy's DateTime text on SQLite; aware UTC in Python."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if _is_postgres(dialect):
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if _is_postgres(dialect):
            return parse_timestamp(value)
        return format_sqlite_timestamp(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else parse_timestamp(value)


_SA_TYPES: dict[Kind, type[sa.types.TypeEngine[Any]] | sa.types.TypeEngine[Any]] = {
    Kind.UUID: UuidText,
    Kind.TEXT: sa.Text,
    Kind.INT: sa.BigInteger,
    Kind.BOOL: sa.Boolean,
    Kind.JSON: JsonText,
    Kind.TIMESTAMP: UtcTimestamp,
}

metadata = sa.MetaData()


def _table(entity: Entity) -> sa.Table:
    columns = [
        sa.Column(
            col.name,
            _SA_TYPES[col.kind],
            primary_key=col.name == "id",
            nullable=col.nullable,
        )
        for col in entity.columns
    ]
    return sa.Table(entity.name, metadata, *columns)


TABLES: dict[str, sa.Table] = {entity.name: _table(entity) for entity in ALL_ENTITIES}


def table_for(entity: Entity) -> sa.Table:
    """The SQLAlchemy table of an entity."""
    return TABLES[entity.name]


def ensure_schema(engine: Engine) -> list[str]:
    """Create the BGW tables that are missing, exactly as the spec's DDL; never alter any.

    Returns:
        The names of the tables that were created.
    """
    with connect(engine) as conn:
        existing = set(sa.inspect(conn).get_table_names())
        missing = [e.name for e in ALL_ENTITIES if e.name not in existing]
        conn.rollback()  # end the inspection's implicit transaction
        if missing:
            with conn.begin():
                for statement in ddl_statements(engine.dialect.name):
                    conn.exec_driver_sql(statement)
    return missing
