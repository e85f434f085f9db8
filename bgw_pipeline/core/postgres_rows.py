"""Reading a PostgreSQL snapshot as encoded archive rows, on two connections at once.

The server builds each row's JSON (row_json_sql.py). Each table is cut into id ranges
("slices") of tens of megabytes of JSON; two worker connections that share the export's
snapshot (`pg_export_snapshot`, as `pg_dump -j` does) take alternate slices, so two
server processes encode while this process compresses. A slice is read in physical
order and sorted by id in the server's memory (random UUIDs make an id-ordered index
scan visit the heap at random, which costs twice as much), then streamed in blocks of
a few thousand rows, so memory here holds a few blocks (ordered_reads.py).
"""

from __future__ import annotations

import contextlib
import math
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

import psycopg
from sqlalchemy.engine import Engine

from bgw_pipeline.core.encoded_chunks import EncodedChunk, canonical_json_bytes
from bgw_pipeline.core.entities import Entity, Kind
from bgw_pipeline.core.errors import SourceDataError
from bgw_pipeline.core.ordered_reads import OrderedReads
from bgw_pipeline.core.row_json_sql import OUT_OF_RANGE, slice_copy_query, slice_rows_query

WORKERS = 2
T = TypeVar("T")
# JSON per slice, estimated from the table's size: each slice scans the whole table once
# (random UUIDs spread any id range over every page), so fewer, bigger slices cost less.
SLICE_BYTES = 48 * 1024 * 1024
JSON_PER_TABLE_BYTE = 2  # archive JSON is about twice a table's size on disk
GROUP_ROWS = 2_000  # rows per block a slice arrives in
QUEUED_BLOCKS = 8  # per worker: bounds this process's memory to a few blocks
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


def slice_bounds(rows: int, slice_rows: int) -> list[tuple[str | None, str | None]]:
    """Id ranges [low, high) that cut the UUID space in equal parts, about `slice_rows` each.

    The first range has no lower bound and the last no upper bound, so every id falls in
    exactly one range whatever its value.
    """
    count = max(1, math.ceil(rows / slice_rows))
    cuts = [str(uuid.UUID(int=(i * (1 << 128)) // count)) for i in range(1, count)]
    lows: list[str | None] = [None, *cuts]
    highs: list[str | None] = [*cuts, None]
    return list(zip(lows, highs, strict=True))


def _first_and_last_id(data: bytes) -> tuple[str, str]:
    last_start = data.rfind(b"\n") + 1
    return data[7:43].decode(), data[last_start + 7 : last_start + 43].decode()


def _copy_slice(
    conn: Any, entity: Entity, low: str | None, high: str | None, prefix: int
) -> Iterator[EncodedChunk]:
    with conn.cursor() as cursor, cursor.copy(slice_copy_query(entity, low, high, prefix)) as copy:
        copy.set_types(["int8", "bytea"])  # the text as the server sent it: bytes, no decoding
        for rows, data in copy.rows():
            # A JSON row holds no raw newline, so each row but the first follows one.
            if data is None or data.count(b"\n") + 1 != rows:
                raise SourceDataError(
                    f"{entity.name}: a row between ids {low} and {high} did not encode"
                )
            first, last = _first_and_last_id(data)
            yield EncodedChunk(data, rows, first, last)


def _encoded(lines: list[bytes]) -> EncodedChunk:
    return EncodedChunk(
        b",\n".join(lines), len(lines), lines[0][7:43].decode(), lines[-1][7:43].decode()
    )


def _rows_slice(
    conn: Any, entity: Entity, low: str | None, high: str | None
) -> Iterator[EncodedChunk]:
    """A slice of a table with JSON columns: its rows as segments and JSON values, the
    values made canonical here, in blocks of GROUP_ROWS rows (a server-side cursor, so
    neither side holds the whole slice)."""
    json_names = [c.name for c in entity.columns if c.kind is Kind.JSON]
    with conn.cursor(name=f"bgw_{entity.name}_rows", binary=True) as cursor:
        cursor.execute(slice_rows_query(entity, low, high))
        while rows := cursor.fetchmany(int(max(GROUP_ROWS, 1))):
            lines: list[bytes] = []
            for row in rows:
                parts = [row[1]]
                for index, name in enumerate(json_names):
                    where = f"{entity.name} {row[0]} {name}"
                    parts.append(canonical_json_bytes(row[2 + 2 * index], where))
                    parts.append(row[3 + 2 * index])
                lines.append(b"".join(parts))
            yield _encoded(lines)


def _read_slice(
    conn: Any, entity: Entity, low: str | None, high: str | None, prefix: int
) -> Iterator[EncodedChunk]:
    try:
        if any(c.kind is Kind.JSON for c in entity.columns):
            yield from _rows_slice(conn, entity, low, high)
        else:
            yield from _copy_slice(conn, entity, low, high, prefix)
    except psycopg.errors.InvalidTextRepresentation as exc:
        message = str(exc)
        if OUT_OF_RANGE not in message:
            raise
        value = message.split(OUT_OF_RANGE + ": ", 1)[1].split('"', 1)[0]
        raise SourceDataError(
            f"{entity.name}: a timestamp the archive cannot hold ({value}); "
            "the archive's timestamps are RFC 3339, years 1 to 9999"
        ) from None


def id_prefix(rows: int) -> int:
    """Hex digits of the id that cut a table into groups of about GROUP_ROWS rows."""
    return max(1, min(8, math.ceil(math.log(max(rows, 1) / GROUP_ROWS, 16))))


class PostgresRowReader:
    """Encoded rows of one exported snapshot, read by worker connections."""

    def __init__(
        self,
        engine: Engine,
        snapshot_id: str,
        workers: int = WORKERS,
        slice_rows: int | None = None,
    ) -> None:
        if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot_id):
            raise ValueError(f"unexpected snapshot id {snapshot_id!r}")
        self._engine = engine
        self._snapshot_id = snapshot_id
        self._workers = workers
        self._slice_rows = slice_rows
        self._connections: list[Any] = []
        self._ahead: tuple[OrderedReads[EncodedChunk], list[str]] | None = None

    def _connection(self, index: int) -> Any:
        while len(self._connections) <= index:
            raw = self._engine.raw_connection()
            conn = raw.driver_connection
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute(f"SET TRANSACTION SNAPSHOT '{self._snapshot_id}'")
            for setting in WORKER_SETTINGS:
                conn.execute(setting)
            self._connections.append(raw)
        return self._connections[index].driver_connection

    def _slices(
        self, entity: Entity, rows: int, table_bytes: int
    ) -> list[Callable[[Any], Iterator[EncodedChunk]]]:
        slice_rows = self._slice_rows
        if not slice_rows:
            json_bytes_per_row = JSON_PER_TABLE_BYTE * max(table_bytes, 1) / max(rows, 1)
            slice_rows = max(1, int(SLICE_BYTES / json_bytes_per_row))
        prefix = id_prefix(rows)
        return [
            partial(_read_slice, entity=entity, low=low, high=high, prefix=prefix)
            for low, high in slice_bounds(rows, slice_rows)
        ]

    def _table_bytes(self, entities: Sequence[Entity]) -> list[int]:
        with self._connection(0).cursor() as cursor:
            cursor.execute(
                "SELECT pg_table_size(t::regclass) FROM unnest(%s::text[]) t",
                ([f'"{e.name}"' for e in entities],),
            )
            return [int(size) for (size,) in cursor.fetchall()]

    def _reads(
        self, jobs: Sequence[Callable[[Any], Iterator[EncodedChunk]]]
    ) -> OrderedReads[EncodedChunk]:
        connections = [self._connection(i) for i in range(min(self._workers, len(jobs)))]
        return OrderedReads(connections, jobs, QUEUED_BLOCKS)

    def prefetch(self, plan: Sequence[tuple[Entity, int]]) -> None:
        """Read these entities' slices (entity, rows) in this order, ahead of `chunks`:
        the workers go on to the next table while this process compresses the last
        blocks of the one before."""
        self.close_reads()
        entities = [entity for entity, _ in plan]
        sizes = self._table_bytes(entities)
        jobs, owners = [], []
        for (entity, rows), size in zip(plan, sizes, strict=True):
            slices = self._slices(entity, rows, size)
            jobs.extend(slices)
            owners.extend([entity.name] * len(slices))
        self._ahead = (self._reads(jobs), owners)

    def chunks(self, entity: Entity, rows: int) -> Iterator[EncodedChunk]:
        """The entity's rows in id order, a block at a time."""
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
        reads = self._reads(self._slices(entity, rows, self._table_bytes([entity])[0]))
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

    def map_unordered(self, jobs: Sequence[Callable[[Any], T]]) -> Iterator[T]:
        """Run each job with a worker connection, the workers in parallel; results as they
        come (a few at most wait in memory)."""
        workers = max(1, min(self._workers, len(jobs)))
        conns = [self._connection(i) for i in range(workers)]
        results: queue.Queue[Any] = queue.Queue(2 * workers)
        done = object()

        def work(index: int) -> None:
            try:
                for job in jobs[index::workers]:
                    results.put(job(conns[index]))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
                results.put(exc)
            finally:
                results.put(done)

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
        for thread in threads:
            thread.start()
        finished, failure = 0, None
        try:
            while finished < workers:
                item = results.get()
                if item is done:
                    finished += 1
                elif isinstance(item, BaseException):
                    failure = failure or item
                elif failure is None:
                    yield item
        finally:
            while any(t.is_alive() for t in threads):
                with contextlib.suppress(queue.Empty):
                    results.get(timeout=0.05)
            for thread in threads:
                thread.join()
        if failure is not None:
            raise failure

    def close(self) -> None:
        """End the workers' transactions and give their connections back."""
        self.close_reads()
        for raw in self._connections:
            with contextlib.suppress(Exception):
                raw.rollback()
            raw.close()
        self._connections.clear()
