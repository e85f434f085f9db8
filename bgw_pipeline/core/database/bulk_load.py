"""Fast bulk insert of canonical Arrow batches into a BGW table, inside the caller's transaction.

SQLAlchemy's executemany costs tens of microseconds a row (bind processors, dicts), which
is minutes for a few million price rows. So each dialect gets its own fast path on the raw
driver connection: PostgreSQL `COPY ... FROM STDIN` (psycopg 3), SQLite `executemany`
with values already in the forms of schema_sqlite.sql. Both see one batch at a time, so
memory is bounded by a batch whatever the table's size. The demo data and the import
share this code, so it knows nothing about any one entity beyond `Entity.columns`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from bgw_pipeline.core.model.arrow_tables import arrow_schema
from bgw_pipeline.core.model.entities import Entity, Kind
from bgw_pipeline.core.model.values import format_sqlite_timestamp

if TYPE_CHECKING:
    import sqlalchemy as sa

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _datetimes(array: pa.Array) -> list[datetime | None]:
    """Aware UTC datetimes of a timestamp[us, UTC] array.

    Built from the integer microseconds: about five times faster than `to_pylist()`,
    which makes a zoneinfo-aware datetime per value.
    """
    micros = array.cast(pa.int64()).to_pylist()
    return [None if v is None else _EPOCH + timedelta(microseconds=v) for v in micros]


def _sqlite_column(kind: Kind, array: pa.Array) -> list[Any]:
    """One column in schema_sqlite.sql's storage forms."""
    if kind is Kind.UUID:
        # Loaded here: only SQLite needs it, and it is a fifth of pyarrow's import time.
        import pyarrow.compute as pc

        return pc.utf8_lower(array).to_pylist()
    if kind is Kind.BOOL:
        return array.cast(pa.int64()).to_pylist()  # 0/1, NULL stays NULL
    if kind is Kind.TIMESTAMP:
        return [None if v is None else format_sqlite_timestamp(v) for v in _datetimes(array)]
    return array.to_pylist()  # text, integers, JSON text as they are


def _postgres_column(kind: Kind, array: pa.Array) -> list[Any]:
    """One column as psycopg's text COPY wants it: the server parses uuid and jsonb text."""
    if kind is Kind.TIMESTAMP:
        return _datetimes(array)
    return array.to_pylist()


def _checked(entity: Entity, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches, refusing one whose columns or types differ from `arrow_schema(entity)`.

    A mismatch (say a naive timestamp) would otherwise be stored silently wrong.
    """
    expected = arrow_schema(entity)
    for batch in batches:
        if batch.schema.names != expected.names or batch.schema.types != expected.types:
            raise ValueError(
                f"{entity.name}: batch schema {batch.schema} is not the entity's {expected}"
            )
        yield batch


def _rows(
    entity: Entity, batch: pa.RecordBatch, convert: Callable[[Kind, pa.Array], list[Any]]
) -> Iterator[tuple[Any, ...]]:
    columns = [convert(col.kind, batch.column(i)) for i, col in enumerate(entity.columns)]
    return zip(*columns, strict=True)


def _on_conflict_update(entity: Entity) -> str:
    """The upsert clause: an existing id takes every column of the incoming row."""
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in entity.column_names if c != "id")
    return f' ON CONFLICT ("id") DO UPDATE SET {updates}'


def _insert_sqlite(
    driver: Any, entity: Entity, batches: Iterable[pa.RecordBatch], upsert: bool
) -> int:
    names = ", ".join(f'"{name}"' for name in entity.column_names)
    marks = ", ".join("?" for _ in entity.columns)
    statement = f'INSERT INTO "{entity.name}" ({names}) VALUES ({marks})'
    if upsert:
        statement += _on_conflict_update(entity)
    inserted = 0
    cursor = driver.cursor()
    try:
        for batch in batches:
            cursor.executemany(statement, _rows(entity, batch, _sqlite_column))
            inserted += batch.num_rows
    finally:
        cursor.close()
    return inserted


def _insert_postgres(
    driver: Any, entity: Entity, batches: Iterable[pa.RecordBatch], upsert: bool
) -> int:
    from psycopg import sql  # only here: an SQLite import never loads psycopg

    # An upsert COPYs into a temporary table first, then merges it in one statement.
    target = sql.Identifier(f"bgw_incoming_{entity.name}" if upsert else entity.name)
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in entity.column_names)
    inserted = 0
    with driver.cursor() as cursor:
        if upsert:
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(target))
            cursor.execute(
                sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(
                    target, sql.Identifier(entity.name)
                )
            )
        statement = sql.SQL("COPY {table} ({columns}) FROM STDIN")
        with cursor.copy(statement.format(table=target, columns=columns)) as copy:
            for batch in batches:
                for row in _rows(entity, batch, _postgres_column):
                    copy.write_row(row)
                inserted += batch.num_rows
        if upsert:
            merge = sql.SQL(
                "INSERT INTO {table} ({columns}) SELECT {columns} FROM {src} ORDER BY id"
            )
            cursor.execute(
                merge.format(table=sql.Identifier(entity.name), columns=columns, src=target)
                + sql.SQL(_on_conflict_update(entity))
            )
            cursor.execute(sql.SQL("DROP TABLE {}").format(target))
    return inserted


def _write(
    conn: sa.Connection, entity: Entity, batches: Iterable[pa.RecordBatch], upsert: bool
) -> int:
    import sqlalchemy as sa  # only here: an import over psycopg alone never loads it

    loaders = {"postgresql": _insert_postgres, "sqlite": _insert_sqlite}
    if conn.dialect.name not in loaders:
        raise ValueError(f"bulk insert supports SQLite and PostgreSQL, not {conn.dialect.name}")
    if not conn.in_transaction():
        # The raw driver bypasses SQLAlchemy's autobegin: without this, SQLite would commit
        # row by row and PostgreSQL's rows would sit in a transaction nobody commits.
        conn.begin()
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        return loaders[conn.dialect.name](
            conn.connection.driver_connection, entity, _checked(entity, batches), upsert
        )
    except dbapi_error as exc:
        # The raw driver raises its own exceptions; callers catch SQLAlchemy's
        # (sa.exc.IntegrityError and so on), whatever the dialect.
        raise sa.exc.DBAPIError.instance(
            f"bulk write into {entity.name}", None, exc, dbapi_error, dialect=conn.dialect
        ) from exc


def insert_batches(conn: sa.Connection, entity: Entity, batches: Iterable[pa.RecordBatch]) -> int:
    """Insert record batches into the entity's table, fast, inside the caller's transaction.

    Plain inserts: a row whose id (or natural key) already exists makes the database raise,
    and the caller's transaction decides what survives. Batches are consumed one at a time,
    so a generator of batches streams a table of any size in bounded memory.

    Args:
        conn: a SQLAlchemy connection to the BGW database (SQLite or PostgreSQL with
            psycopg 3). Like `conn.execute`, this begins its transaction if none is begun;
            it is never committed, rolled back or closed here.
        entity: the table, from `bgw_pipeline.core.model.entities`.
        batches: record batches of `arrow_schema(entity)`: UUIDs as lowercase text, JSON
            columns as compact JSON text, timestamps as timestamp[us, UTC].

    Returns:
        The number of rows inserted.

    Raises:
        sqlalchemy.exc.DBAPIError: the database refused a row (IntegrityError for a
            duplicate key, a failed CHECK or a missing referenced game).
        ValueError: a batch does not carry the entity's columns and types, or the database
            is neither SQLite nor PostgreSQL.
    """
    return _write(conn, entity, batches, upsert=False)


def upsert_batches(conn: sa.Connection, entity: Entity, batches: Iterable[pa.RecordBatch]) -> int:
    """Like `insert_batches`, but a row whose id exists overwrites every column of it.

    This is the import's write-back: new and updated rows in one pass per table.
    """
    return _write(conn, entity, batches, upsert=True)


def upsert_postgres(driver: Any, entity: Entity, batches: Iterable[pa.RecordBatch]) -> int:
    """`upsert_batches` on a psycopg connection, inside its open transaction: the write of
    an import over psycopg alone (database/postgres/snapshot.py). Errors are psycopg's own."""
    return _insert_postgres(driver, entity, _checked(entity, batches), upsert=True)
