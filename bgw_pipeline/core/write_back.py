"""Writing canonical Arrow batches into the BGW tables: bulk insert and upsert.

PostgreSQL: `COPY` into a temporary table, then one `INSERT ... ON CONFLICT (id) DO
UPDATE` (or a plain INSERT for new data). SQLite: `executemany` of the same statement.
Both run inside the caller's transaction, so an import is all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from bgw_pipeline.core.entities import Entity, Kind
from bgw_pipeline.core.values import format_sqlite_timestamp


def _sqlite_value(kind: Kind) -> Callable[[Any], Any]:
    if kind is Kind.TIMESTAMP:
        return lambda v: None if v is None else format_sqlite_timestamp(v)
    if kind is Kind.BOOL:
        return lambda v: None if v is None else int(v)
    return lambda v: v


def _rows(entity: Entity, batch: pa.RecordBatch, sqlite: bool) -> Iterator[tuple[Any, ...]]:
    columns = []
    for col in entity.columns:
        values = batch.column(col.name).to_pylist()
        if sqlite:
            convert = _sqlite_value(col.kind)
            values = [convert(v) for v in values]
        columns.append(values)
    return zip(*columns, strict=True)


def _column_list(entity: Entity) -> str:
    return ", ".join(entity.column_names)


def _conflict_clause(entity: Entity, upsert: bool) -> str:
    if not upsert:
        return ""
    updates = ", ".join(f"{c} = excluded.{c}" for c in entity.column_names if c != "id")
    return f" ON CONFLICT (id) DO UPDATE SET {updates}"


def _write_sqlite(
    conn: sa.Connection, entity: Entity, batches: Iterable[pa.RecordBatch], upsert: bool
) -> int:
    placeholders = ", ".join("?" for _ in entity.columns)
    statement = (
        f"INSERT INTO {entity.name} ({_column_list(entity)}) VALUES ({placeholders})"
        f"{_conflict_clause(entity, upsert)}"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    written = 0
    try:
        for batch in batches:
            cursor.executemany(statement, _rows(entity, batch, sqlite=True))
            written += batch.num_rows
    finally:
        cursor.close()
    return written


def _postgres_copy_type(kind: Kind) -> str:
    return {
        Kind.UUID: "uuid",
        Kind.TEXT: "text",
        Kind.INT: "bigint",
        Kind.BOOL: "boolean",
        Kind.JSON: "jsonb",
        Kind.TIMESTAMP: "timestamptz",
    }[kind]


def _write_postgres(
    conn: sa.Connection, entity: Entity, batches: Iterable[pa.RecordBatch], upsert: bool
) -> int:
    driver = conn.connection.driver_connection  # psycopg.Connection
    staging = f"bgw_incoming_{entity.name}"
    columns = _column_list(entity)
    types = [_postgres_copy_type(c.kind) for c in entity.columns]
    written = 0
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{staging}")
        definition = ", ".join(f"{c.name} {t}" for c, t in zip(entity.columns, types, strict=True))
        cursor.execute(f"CREATE TEMP TABLE {staging} ({definition}) ON COMMIT DROP")
        # Text-format COPY: the server parses uuid, jsonb and timestamptz from their text.
        with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for batch in batches:
                for row in _rows(entity, batch, sqlite=False):
                    copy.write_row(row)
                written += batch.num_rows
        cursor.execute(
            f"INSERT INTO {entity.name} ({columns}) SELECT {columns} FROM {staging} "
            f"ORDER BY id{_conflict_clause(entity, upsert)}"
        )
        cursor.execute(f"DROP TABLE {staging}")
    return written


def upsert_batches(conn: sa.Connection, entity: Entity, batches: Iterable[pa.RecordBatch]) -> int:
    """Insert new rows and overwrite existing ones (by id) with the batches' values.

    Args:
        conn: a connection inside the caller's transaction.
        entity: the table.
        batches: canonical batches (`arrow_schema(entity)`), JSON columns as JSON text.
    Returns:
        The number of rows written.
    """
    if conn.dialect.name == "postgresql":
        return _write_postgres(conn, entity, batches, upsert=True)
    return _write_sqlite(conn, entity, batches, upsert=True)


def insert_new_batches(
    conn: sa.Connection, entity: Entity, batches: Iterable[pa.RecordBatch]
) -> int:
    """Insert rows that do not exist yet (a conflicting id is an error)."""
    if conn.dialect.name == "postgresql":
        return _write_postgres(conn, entity, batches, upsert=False)
    return _write_sqlite(conn, entity, batches, upsert=False)
