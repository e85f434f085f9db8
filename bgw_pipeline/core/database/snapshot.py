"""Reading one consistent snapshot of the BGW database, table by table, in Arrow chunks.

Every table of an export is read inside one read-only transaction (REPEATABLE READ on
PostgreSQL, a single read transaction on SQLite), so a writer changing the database while
an export runs cannot produce an archive that mixes before and after.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bgw_pipeline.core.database.engines import connect
from bgw_pipeline.core.database.postgres import reads as postgres_reads
from bgw_pipeline.core.database.schema import table_for
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk, chunks_from_batches
from bgw_pipeline.core.files.read_ahead import ReadAhead
from bgw_pipeline.core.model.entities import ALL_ENTITIES, Entity

if TYPE_CHECKING:
    import pyarrow as pa

    from bgw_pipeline.core.database.postgres.rows import PostgresRowReader

DEFAULT_CHUNK_ROWS = 20_000
ROW_FILE_CHUNK_DIVISOR = 20  # rows a file each (catalogue pages) are read 1/20 as many at once
IDS_PER_QUERY = 1_000
KEYS_PER_QUERY = 2_000  # natural keys of up to three columns: 6,000 parameters a query


def _batch(entity: Entity, rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    # pyarrow loads when a first batch is built, not with this module: an export from
    # PostgreSQL gets its rows encoded by the server and never needs it (loading it is
    # about a tenth of a medium export's whole run).
    from bgw_pipeline.core.model.arrow_tables import batch_from_rows

    return batch_from_rows(entity, rows)


def _stored_text(raw: bytes) -> sa.ColumnElement[Any]:
    """A text value given as its bytes (SQLite: compared with text as stored, whatever it holds)."""
    return sa.cast(sa.literal(raw, sa.LargeBinary()), sa.Text())


class TableSource(Protocol):
    """Anything that can hand out an entity's rows, sorted by id, as Arrow batches."""

    def batches(self, entity: Entity) -> Iterator[pa.RecordBatch]: ...

    def count(self, entity: Entity) -> int: ...


class DatabaseSnapshot:
    """A read-only view of the database, fixed at the moment it was opened."""

    def __init__(
        self,
        conn: sa.Connection,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        row_reader: PostgresRowReader | None = None,
    ) -> None:
        self._conn = conn
        self._chunk_rows = chunk_rows
        self._row_reader = row_reader
        self._counts: dict[str, int] = {}
        self._read_ahead: list[Any] = []  # SQLite: workers on this snapshot's connection
        self._threads_allowed: bool | None = None
        # SQLite: the probe taken before the first read, then the worker processes that
        # proved to read the same state (database/sqlite/workers.py), started for a big table.
        self.state_probe: Any = None
        self._pool: Any = None

    @property
    def row_reader(self) -> PostgresRowReader | None:
        """PostgreSQL worker connections sharing this snapshot, if any."""
        return self._row_reader

    @property
    def dialect_name(self) -> str:
        return str(self._conn.dialect.name)

    @property
    def driver_connection(self) -> Any:
        """The driver's own connection, inside this snapshot's transaction."""
        return self._conn.connection.driver_connection

    def rows_by_ids(self, entity: Entity, ids: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """The rows with these ids (a bounded number per query), as record batches; many
        of them on PostgreSQL as Arrow over the row reader's ADBC session."""
        if self.dialect_name == "postgresql":
            yield from postgres_reads.rows_by_ids(
                self.driver_connection, entity, ids, self._chunk_rows, self._row_reader
            )
            return
        table = table_for(entity)
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            query = sa.select(*table.columns).where(table.c.id.in_(chunk)).order_by(table.c.id)
            rows = self._conn.execute(query).all()
            if rows:
                yield _batch(entity, rows)

    def rows_by_natural_keys(
        self, entity: Entity, names: Sequence[str], keys: pa.Table
    ) -> Iterator[pa.RecordBatch]:
        """The rows whose columns `names` hold one of the value tuples of `keys` (found
        through the table's unique index on them), as record batches."""
        table = table_for(entity)
        if self.dialect_name == "postgresql":
            yield from postgres_reads.rows_by_natural_keys(
                self.driver_connection, entity, names, keys, self._chunk_rows
            )
            return
        columns = [keys.column(name).to_pylist() for name in names]
        values = list(zip(*columns, strict=True))
        key = sa.tuple_(*(table.c[name] for name in names))
        for start in range(0, len(values), KEYS_PER_QUERY):
            query = sa.select(*table.columns).where(key.in_(values[start : start + KEYS_PER_QUERY]))
            rows = self._conn.execute(query).all()
            if rows:
                yield _batch(entity, rows)

    def count(self, entity: Entity) -> int:
        """Rows of this entity in the snapshot."""
        if entity.name not in self._counts:
            table = table_for(entity)
            query = sa.select(sa.func.count()).select_from(table)
            self._counts[entity.name] = int(self._conn.execute(query).scalar_one())
        return self._counts[entity.name]

    def prefetch(self, entities: Sequence[Entity]) -> None:
        """These entities will be read in this order: start reading ahead (PostgreSQL)."""
        if self._row_reader is not None:  # the slices are sized by the planner's estimates
            self._row_reader.prefetch([(e, None) for e in entities])

    def stop_prefetch(self) -> None:
        """Stop reading ahead; the worker connections are free for other queries."""
        if self._row_reader is not None:
            self._row_reader.close_reads()

    def encoded_chunks(self, entity: Entity) -> Iterator[EncodedChunk]:
        """The entity's archive rows, encoded by the database itself (PostgreSQL; SQLite
        where its stored values allow, database/sqlite/rows.py) or by the reference encoder."""
        if self._row_reader is not None:
            return self._row_reader.chunks(entity, self.count(entity))
        if self.dialect_name == "sqlite":
            from bgw_pipeline.core.database.sqlite import rows as sqlite_rows
            from bgw_pipeline.core.database.sqlite.row_sql import ids_fit

            conn = self.driver_connection
            if ids_fit(conn, entity):
                rows = min(sqlite_rows.CHUNK_ROWS, self._rows_per_batch(entity))
                fallback = partial(self._reference_chunks, entity)
                pool = self._worker_pool(entity)
                if pool is not None:
                    self.stop_read_ahead()  # the workers' rows come back to this thread
                    chunks = pool.chunks(entity, self.count(entity), fallback)
                    self._read_ahead.append(_Closing(chunks))
                    return chunks
                chunks = sqlite_rows.sqlite_chunks(conn, entity, fallback, rows)
                if self._threads_allowed is None:
                    self._threads_allowed = sqlite_rows.threads_allowed(conn)
                if not self._threads_allowed:
                    return chunks
                self.stop_read_ahead()  # one worker on the connection at a time
                worker = ReadAhead(chunks, name="bgw-sqlite-rows")
                self._read_ahead.append(worker)
                return iter(worker)
        return chunks_from_batches(entity, self.batches(entity))

    def _worker_pool(self, entity: Entity) -> Any:
        """The worker processes for a big table of a SQLite file, if they can be had."""
        from bgw_pipeline.core.database.sqlite import workers as sqlite_workers

        big = self.count(entity) >= sqlite_workers.PARALLEL_MIN_ROWS
        if not big or entity.one_file_per_row:
            return None
        if self._pool is not None and self._pool.broken:  # left in the middle of a range
            self._pool.close()
            self._pool = None
            return None
        total = sum(self._counts.values())  # every table is counted when the snapshot opens
        if self._pool is None and self.state_probe is not None:
            if total < sqlite_workers.START_MIN_TOTAL_ROWS:
                return None
            probe, self.state_probe = self.state_probe, None  # one try per snapshot
            try:
                self._pool = sqlite_workers.WorkerPool.start(probe)
            finally:
                probe.close()
        return self._pool

    def close_workers(self) -> None:
        """Stop the worker processes and the probe (before the transaction ends)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self.state_probe is not None:
            self.state_probe.close()
            self.state_probe = None

    def release(self) -> None:
        """Stop every reader but this connection (an apply, before its first write: the
        worker processes' read transactions would hold its commit back)."""
        self.stop_read_ahead()
        self.close_workers()

    def stop_read_ahead(self) -> None:
        """Stop the workers encoding SQLite rows ahead (before the transaction ends)."""
        while self._read_ahead:
            self._read_ahead.pop().stop()

    def _reference_chunks(
        self, entity: Entity, low: bytes | None, high: bytes | None
    ) -> Iterator[EncodedChunk]:
        """The reference encoder's chunks of the rows with ids in (low, high], the bounds
        as their stored bytes (SQLite)."""
        batches = self.batches(entity, low, high)
        try:
            yield from chunks_from_batches(entity, batches)
        finally:  # an error in the encoder must not leave the query open on the connection
            batches.close()

    def _rows_per_batch(self, entity: Entity) -> int:
        if entity.one_file_per_row:  # a catalogue page is a few KB: fewer at a time
            return max(1, self._chunk_rows // ROW_FILE_CHUNK_DIVISOR)
        return self._chunk_rows

    def batches(
        self, entity: Entity, low: bytes | None = None, high: bytes | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The entity's rows sorted by id, as record batches of at most `chunk_rows` rows;
        only ids in (low, high] when given, as the ids' stored bytes (SQLite)."""
        table = table_for(entity)
        query = sa.select(*table.columns).order_by(table.c.id)
        if low is not None:
            query = query.where(table.c.id > _stored_text(low))
        if high is not None:
            query = query.where(table.c.id <= _stored_text(high))
        per_batch = self._rows_per_batch(entity)
        result = self._conn.execution_options(yield_per=per_batch).execute(query)
        try:
            for rows in result.partitions():
                yield _batch(entity, rows)
        finally:
            result.close()


def state_probe(engine: Engine) -> Any:
    """SQLite: a probe of the file's committed state, which worker processes must find
    unchanged to read beside this process (database/sqlite/workers.py); None elsewhere."""
    if engine.dialect.name != "sqlite":
        return None
    from bgw_pipeline.core.database.sqlite import workers as sqlite_workers

    path = sqlite_workers.database_file(engine.url.database)
    return sqlite_workers.StateProbe(path) if path is not None else None


@contextmanager
def writing_snapshot(engine: Engine, conn: sa.Connection) -> Iterator[DatabaseSnapshot]:
    """The state an open write transaction (SQLite's BEGIN IMMEDIATE, its lock taken)
    reads before it writes. Nobody else can commit meanwhile, so worker processes may
    read that state beside it, as in a dry run (the probe still checks, a refused probe
    means reading alone); `release()` stops them before the first write."""
    snapshot = DatabaseSnapshot(conn)
    snapshot.state_probe = state_probe(engine)
    for entity in ALL_ENTITIES:  # the first read, and the totals that decide on workers
        snapshot.count(entity)
    try:
        yield snapshot
    finally:
        snapshot.release()


@contextmanager
def open_snapshot(
    engine: Engine, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[DatabaseSnapshot]:
    """Open a consistent read-only snapshot; all reads inside see one database state.

    Args:
        engine: the BGW database.
        chunk_rows: rows per Arrow batch.
    """
    # Taken before the snapshot's first read: worker processes started later must find
    # it unchanged to read alongside (database/sqlite/workers.py).
    probe = state_probe(engine)
    with connect(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as transaction:
            row_reader = None
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                # Worker connections share this exact snapshot (as pg_dump -j does).
                snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                from bgw_pipeline.core.database.postgres.rows import PostgresRowReader

                row_reader = PostgresRowReader.for_engine(engine, str(snapshot_id))
            snapshot = DatabaseSnapshot(conn, chunk_rows, row_reader)
            snapshot.state_probe = probe
            if row_reader is None:
                # The first read fixes the snapshot (SQLite's BEGIN is deferred); counting
                # every table up front also gives progress totals. On PostgreSQL
                # pg_export_snapshot() has fixed it: tables are counted when asked.
                for entity in ALL_ENTITIES:
                    snapshot.count(entity)
            try:
                yield snapshot
            finally:
                snapshot.stop_read_ahead()
                snapshot.close_workers()
                if row_reader is not None:
                    row_reader.close()
                transaction.rollback()


class _Closing:
    """Something `stop_read_ahead` stops by closing it (a generator of rows)."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks

    def stop(self) -> None:
        self._chunks.close()
