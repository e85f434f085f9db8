"""A snapshot of PostgreSQL over psycopg alone, for an export or an import.

The rows of an export from PostgreSQL are encoded by the server or in DuckDB
(database/postgres/rows.py), and an import compares them with the archive's; the process itself
only needs connections. This snapshot opens them with psycopg (database/postgres/connect.py), so
neither loads SQLAlchemy, about 0.2 s of a medium run. Its reads are the same as
DatabaseSnapshot's on PostgreSQL: one transaction whose snapshot the worker connections
share; REPEATABLE READ, READ ONLY for an export or a dry run, SERIALIZABLE for an apply,
which writes on the same connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from bgw_pipeline.core.database.postgres import reads as postgres_reads
from bgw_pipeline.core.database.postgres.connect import (
    DirectConnection,
    connect_postgres,
    libpq_url,
)
from bgw_pipeline.core.database.postgres.row_json_sql import ident
from bgw_pipeline.core.database.postgres.rows import PostgresRowReader
from bgw_pipeline.core.database.schema_ddl import ddl_statements
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk
from bgw_pipeline.core.model.entities import ALL_ENTITIES, Entity
from bgw_pipeline.core.model.errors import DatabaseUnavailableError

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK_ROWS = 20_000  # rows per Arrow batch of rows read by id, by key, or whole tables


def ensure_postgres_tables(conn: Any) -> list[str]:
    """Create the BGW tables missing from the connection's schema, as schema.ensure_schema
    does (the spec's DDL, never altering a table); returns the names created."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        )
        existing = {name for (name,) in cursor.fetchall()}
    conn.rollback()
    missing = [e.name for e in ALL_ENTITIES if e.name not in existing]
    if missing:
        with conn.cursor() as cursor:
            for statement in ddl_statements("postgresql"):
                cursor.execute(statement)
        conn.commit()
    return missing


class PostgresSnapshot:
    """One PostgreSQL snapshot, as the archive writer and the import read it."""

    dialect_name = "postgresql"

    def __init__(self, conn: Any, row_reader: PostgresRowReader) -> None:
        self._conn = conn
        self.row_reader = row_reader
        self._counts: dict[str, int] = {}
        self._prefetched: list[str] | None = None

    @property
    def driver_connection(self) -> Any:
        """The psycopg connection of this snapshot's transaction."""
        return self._conn

    def count(self, entity: Entity) -> int:
        """Rows of this entity in the snapshot, counted when first asked (for progress)."""
        if entity.name not in self._counts:
            with self._conn.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {ident(entity.name)}")
                (rows,) = cursor.fetchone()
            self._counts[entity.name] = int(rows)
        return self._counts[entity.name]

    def prefetch(self, entities: Sequence[Entity]) -> None:
        """These entities will be read in this order: the workers start reading ahead,
        in slices sized by the planner's estimates (no count: 0.17 s of an L export).
        Asked again for the same entities, the reads already running go on: an import
        starts them before it loads its own modules."""
        names = [e.name for e in entities]
        if names == self._prefetched:
            return
        self.row_reader.prefetch([(e, None) for e in entities])
        self._prefetched = names

    def stop_prefetch(self) -> None:
        """Stop reading ahead."""
        self.row_reader.close_reads()
        self._prefetched = None

    def release(self) -> None:
        """Give the worker connections back (an apply, before it writes)."""
        self.row_reader.close()
        self._prefetched = None

    def encoded_chunks(self, entity: Entity) -> Iterator[EncodedChunk]:
        """The entity's archive rows in id order, encoded by the server or in DuckDB
        (not counted first: the slices planned ahead need no count)."""
        return self.row_reader.chunks(entity)

    def rows_by_ids(self, entity: Entity, ids: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """The rows with these ids in id order, as record batches (database/postgres/reads.py)."""
        return postgres_reads.rows_by_ids(self._conn, entity, ids, CHUNK_ROWS, self.row_reader)

    def rows_by_natural_keys(
        self, entity: Entity, names: Sequence[str], keys: pa.Table
    ) -> Iterator[pa.RecordBatch]:
        """The rows whose columns `names` hold one of the value tuples of `keys`."""
        return postgres_reads.rows_by_natural_keys(self._conn, entity, names, keys, CHUNK_ROWS)

    def batches(self, entity: Entity) -> Iterator[pa.RecordBatch]:
        """The entity's rows sorted by id, as record batches."""
        return postgres_reads.table_batches(self._conn, entity, CHUNK_ROWS)


@contextmanager
def open_postgres_snapshot(url: str, writable: bool = False) -> Iterator[PostgresSnapshot]:
    """Create the missing BGW tables, then open one consistent snapshot of the database
    at `url` (a `postgresql://` URL, SQLAlchemy's `+psycopg` form too): read-only, or
    `writable` in a SERIALIZABLE transaction (an apply) that the caller commits on
    `driver_connection`; whatever is not committed is rolled back on leaving.

    Raises:
        DatabaseUnavailableError: the database cannot be reached, or broke off a read-only
            snapshot (worth retrying).
        ConfigError: the URL is malformed.
    """
    conn = connect_postgres(url)
    row_reader: PostgresRowReader | None = None
    try:
        ensure_postgres_tables(conn)
        conn.execute(
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"
            if writable
            else "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
        )
        snapshot_id = conn.execute("SELECT pg_export_snapshot()").fetchone()
        # Worker connections share this exact snapshot (as pg_dump -j does).
        row_reader = PostgresRowReader(
            lambda: DirectConnection(connect_postgres(url)),
            libpq_url(url),
            str(snapshot_id[0]),
        )
        yield PostgresSnapshot(conn, row_reader)
    except psycopg.OperationalError as exc:
        if writable:
            raise  # the apply says what it means for its transaction (importing/importer.py)
        # The server went away mid-read (a restart, a failover, a dropped connection): a
        # sentence and a retry, not a traceback. Only the first line: it may quote data.
        first = " ".join(str(exc).strip().splitlines()[:1])
        raise DatabaseUnavailableError(
            f"PostgreSQL broke off the read ({type(exc).__name__}: {first}); nothing was "
            "written: try again"
        ) from None
    finally:
        try:
            if row_reader is not None:
                row_reader.close()
        finally:
            conn.close()
