"""Reading a PostgreSQL snapshot as encoded archive rows, on two connections at once.

Each table is cut into id ranges ("slices") of tens of megabytes of JSON; two worker
threads, each with connections that share the export's snapshot (`pg_export_snapshot`, as
`pg_dump -j` does), take alternate slices and encode them (database/postgres/slices.py: a big
table as Arrow encoded in DuckDB, others by the server) while this process compresses.
A slice is read in physical order and sorted by id in the server's memory (random UUIDs
make an id-ordered index scan visit the heap at random, which costs twice as much), then
streamed in blocks of a few thousand rows, so memory here holds a few blocks
(database/postgres/ordered_reads.py).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg

from bgw_pipeline.core.database.postgres.ordered_reads import OrderedReads, unordered_results
from bgw_pipeline.core.database.postgres.row_json_sql import ident
from bgw_pipeline.core.database.postgres.slices import (
    SliceWorker,
    encodes_in_duckdb,
    id_prefix,
    read_slice,
    slice_bounds,
    timestamp_refusal,
)
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk
from bgw_pipeline.core.model.entities import Entity

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import Engine

    from bgw_pipeline.core.database.postgres.arrow_rows import ArrowSession

WORKERS = 2
T = TypeVar("T")
# JSON per slice, estimated from the table's size: each slice scans the whole table once
# (random UUIDs spread any id range over every page), so fewer, bigger slices cost less.
SLICE_BYTES = 48 * 1024 * 1024
JSON_PER_TABLE_BYTE = 2  # archive JSON is about twice a table's size on disk
# A table this big comes as Arrow and is encoded here (database/postgres/arrow_rows.py); a smaller
# one is
# encoded by the server: for it, loading DuckDB, Arrow and ADBC costs more than it saves.
ARROW_MIN_ROWS = 200_000
# The server sorts an Arrow slice as bare rows, about half the bytes of their JSON: the
# same sort memory holds twice the rows, so the table is scanned half as many times
# (price history at L: 1.99 s of server time in 9 slices, 1.55 s in 4).
ARROW_SLICE_SCALE = 2
QUEUED_BLOCKS = 8  # per worker, at least: bounds this process's memory to a few blocks
# ... or more, while they fit in this many bytes. A table of M is one slice, so one worker
# reads it; with 8 blocks (1.2 MB of price history) the other stopped early in the table
# it reads ahead and its query waited, where now it reads a whole medium table.
READ_AHEAD_BYTES = 32 * 1024 * 1024
# Per worker transaction: sort each slice in memory (a 48 MB slice needs about 100 MB) and
# never walk the id index (see the module's docstring); the two workers are the parallelism.
WORKER_SETTINGS = (
    # Text comes in the connection's encoding; the archive is UTF-8 whatever the database's.
    "SET LOCAL client_encoding = 'UTF8'",
    "SET LOCAL jit = off",
    "SET LOCAL work_mem = '192MB'",
    "SET LOCAL enable_indexscan = off",
    "SET LOCAL enable_indexonlyscan = off",
    "SET LOCAL max_parallel_workers_per_gather = 0",
)


class PostgresRowReader:
    """Encoded rows of one exported snapshot, read by worker connections.

    `connect` opens a worker connection: SQLAlchemy's `engine.raw_connection` (see
    `for_engine`), or psycopg's own (postgres_connect.DirectConnection); `url` is the
    database's libpq URL, for the ADBC sessions.
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        url: str,
        snapshot_id: str,
        workers: int = WORKERS,
        slice_rows: int | None = None,
    ) -> None:
        if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot_id):
            raise ValueError(f"unexpected snapshot id {snapshot_id!r}")
        self._connect = connect
        self._url = url
        self._snapshot_id = snapshot_id
        self._workers = workers
        self._slice_rows = slice_rows
        self._connections: list[Any] = []
        self._workers_by_index: dict[int, SliceWorker] = {}
        self._ahead: tuple[OrderedReads[EncodedChunk], list[str]] | None = None

    @classmethod
    def for_engine(cls, engine: Engine, snapshot_id: str) -> PostgresRowReader:
        """Workers on the engine's own connections (its pool, its settings)."""
        url = engine.url.set(drivername="postgresql").render_as_string(False)
        return cls(engine.raw_connection, url, snapshot_id)

    def _connection(self, index: int) -> Any:
        while len(self._connections) <= index:
            raw = self._connect()
            conn = raw.driver_connection
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute(f"SET TRANSACTION SNAPSHOT '{self._snapshot_id}'")
            for setting in WORKER_SETTINGS:
                conn.execute(setting)
            self._connections.append(raw)
        return self._connections[index].driver_connection

    def _worker(self, index: int) -> SliceWorker:
        conn = self._connection(index)
        worker = self._workers_by_index.get(index)
        if worker is None or worker.conn is not conn:
            if worker is not None:
                worker.close()
            worker = SliceWorker(conn, self._open_arrow)
            self._workers_by_index[index] = worker
        return worker

    def _open_arrow(self) -> ArrowSession:
        from bgw_pipeline.core.database.postgres.arrow_rows import (
            ArrowSession,  # loads DuckDB, Arrow, ADBC
        )

        return ArrowSession(self._url, self._snapshot_id, WORKER_SETTINGS)

    def _slices(
        self, entity: Entity, rows: int, table_bytes: int
    ) -> list[Callable[[Any], Iterator[EncodedChunk]]]:
        slice_rows = self._slice_rows
        if not slice_rows:
            json_bytes_per_row = JSON_PER_TABLE_BYTE * max(table_bytes, 1) / max(rows, 1)
            slice_rows = max(1, int(SLICE_BYTES / json_bytes_per_row))
        prefix = id_prefix(rows)
        as_arrow = rows >= ARROW_MIN_ROWS and encodes_in_duckdb(entity)
        if as_arrow and not self._slice_rows:
            slice_rows *= ARROW_SLICE_SCALE
        return [
            partial(read_slice, entity=entity, low=low, high=high, prefix=prefix, as_arrow=as_arrow)
            for low, high in slice_bounds(rows, slice_rows)
        ]

    def _table_sizes(self, entities: Sequence[Entity]) -> list[tuple[int, int | None]]:
        """(bytes, estimated rows) of each table. The estimate is the planner's: rows per
        page at the last ANALYZE times the pages the table has now; None for a table never
        analyzed, or analyzed empty (the count is taken then)."""
        with self._connection(0).cursor() as cursor:
            cursor.execute(
                "SELECT pg_table_size(c.oid), CASE WHEN c.reltuples > 0 AND c.relpages > 0 "
                "THEN ceil(c.reltuples / c.relpages * pg_relation_size(c.oid) "
                "/ current_setting('block_size')::bigint)::bigint END "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, n) "
                "JOIN pg_catalog.pg_class c ON c.oid = t.name::regclass ORDER BY t.n",
                ([ident(e.name) for e in entities],),
            )
            return [(int(size), None if rows is None else int(rows)) for size, rows in cursor]

    def _count(self, entity: Entity) -> int:
        with self._connection(0).cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {ident(entity.name)}")
            (rows,) = cursor.fetchone()
        return int(rows)

    def _reads(
        self, jobs: Sequence[Callable[[Any], Iterator[EncodedChunk]]]
    ) -> OrderedReads[EncodedChunk]:
        workers = [self._worker(i) for i in range(min(self._workers, len(jobs)))]
        return OrderedReads(
            workers, jobs, QUEUED_BLOCKS, READ_AHEAD_BYTES, lambda chunk: len(chunk.data)
        )

    def prefetch(self, plan: Sequence[tuple[Entity, int | None]]) -> None:
        """Read these entities' slices (entity, rows) in this order, ahead of `chunks`:
        the workers go on to the next table while this process compresses the last
        blocks of the one before. Rows only size the slices: None takes the planner's
        estimate instead of counting (a count of L's price history costs 0.08 s)."""
        self.close_reads()
        entities = [entity for entity, _ in plan]
        sizes = self._table_sizes(entities)
        jobs, owners = [], []
        for (entity, rows), (size, estimate) in zip(plan, sizes, strict=True):
            if rows is None:
                rows = estimate if estimate is not None else self._count(entity)
            slices = self._slices(entity, rows, size)
            jobs.extend(slices)
            owners.extend([entity.name] * len(slices))
        self._ahead = (self._reads(jobs), owners)

    def chunks(self, entity: Entity, rows: int | None = None) -> Iterator[EncodedChunk]:
        """The entity's rows in id order, a block at a time. `rows` sizes the slices when
        they were not planned ahead; None takes the planner's estimate, as `prefetch`."""
        if self._ahead is not None:
            reads, owners = self._ahead
            if reads.remaining and owners[len(owners) - reads.remaining] == entity.name:
                finished = False
                try:
                    while reads.remaining and owners[len(owners) - reads.remaining] == entity.name:
                        for chunk in reads.next_job():
                            if chunk.rows:
                                yield chunk
                    finished = True
                finally:
                    if not finished:  # the rest of a job left queued would be read as the next
                        self.close_reads()
                return
            self.close_reads()  # asked for something else: the plan no longer holds
        size, estimate = self._table_sizes([entity])[0]
        if rows is None:
            rows = estimate if estimate is not None else self._count(entity)
        reads = self._reads(self._slices(entity, rows, size))
        try:
            for chunk in reads:
                if chunk.rows:
                    yield chunk
        finally:
            reads.close()
            self._drop_aborted()

    def close_reads(self) -> None:
        """Stop reading ahead."""
        if self._ahead is not None:
            self._ahead[0].close()
            self._ahead = None
            self._drop_aborted()

    def _drop_aborted(self) -> None:
        """A read stopped in mid-query leaves its connection's transaction aborted: such a
        connection is closed, and the next one opened imports the snapshot afresh."""
        idle = psycopg.pq.TransactionStatus.INTRANS
        kept = []
        for raw in self._connections:
            if raw.driver_connection.info.transaction_status == idle:
                kept.append(raw)
            else:
                with contextlib.suppress(Exception):
                    raw.invalidate()
        self._connections = kept

    def rows_by_ids(self, entity: Entity, ids: Sequence[str]) -> pa.Table | None:
        """The rows with these ids as Arrow, in id order, read over ADBC (binary rows,
        no Python object per value); None when this way does not apply (an entity with
        JSON columns, ids not in lowercase UUID form, reads ahead still running: an
        import looks up a table's rows while the next tables are read)."""
        import pyarrow as pa  # loaded already: the import's work is in Arrow and DuckDB

        from bgw_pipeline.core.database.postgres.arrow_rows import rows_by_ids_query
        from bgw_pipeline.core.model.arrow_tables import arrow_schema

        if self._ahead is not None or not encodes_in_duckdb(entity):
            return None
        try:
            query = rows_by_ids_query(entity, ids)
        except ValueError:
            return None
        worker = self._worker(0)
        try:
            table = worker.arrow_session().table(query)
        except Exception as exc:
            worker.close()  # its transaction is aborted: the next use opens another
            refusal = timestamp_refusal(entity, exc)
            if refusal is None:
                raise
            raise refusal from None
        schema = arrow_schema(entity)
        columns = [table.column(field.name).cast(field.type) for field in schema]
        return pa.Table.from_arrays(columns, schema=schema)

    def map_unordered(self, jobs: Sequence[Callable[[Any], T]]) -> Iterator[T]:
        """Run each job with a worker connection, the workers in parallel; results as they
        come (a few at most wait in memory)."""
        workers = max(1, min(self._workers, len(jobs)))
        return unordered_results([self._connection(i) for i in range(workers)], jobs)

    def close(self) -> None:
        """End the workers' transactions and give their connections back."""
        self.close_reads()
        for worker in self._workers_by_index.values():
            worker.close()
        self._workers_by_index.clear()
        for raw in self._connections:
            with contextlib.suppress(Exception):
                raw.rollback()
            raw.close()
        self._connections.clear()
