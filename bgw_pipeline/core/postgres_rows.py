"""Reading a PostgreSQL snapshot as encoded archive rows, on two connections at once.

The server builds each row's JSON (row_json_sql.py). Each table is cut into id ranges
("slices") read in id order; two worker connections that share the export's snapshot
(`pg_export_snapshot`, as `pg_dump -j` does) take alternate slices, so two server
processes encode while this process compresses, and memory holds only a few slices.
"""

from __future__ import annotations

import contextlib
import math
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from bgw_pipeline.core.encoded_chunks import EncodedChunk, canonical_json_bytes
from bgw_pipeline.core.entities import Entity, Kind
from bgw_pipeline.core.row_json_sql import slice_copy_query, slice_rows_query

WORKERS = 2
T = TypeVar("T")
SLICE_ROWS = 20_000
QUEUED_SLICES = 2  # per worker: bounds memory to a few slices


def slice_bounds(rows: int, slice_rows: int = SLICE_ROWS) -> list[tuple[str | None, str | None]]:
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


def _copy_slice(conn: Any, entity: Entity, low: str | None, high: str | None) -> EncodedChunk:
    parts: list[bytes] = []
    with conn.cursor() as cursor, cursor.copy(slice_copy_query(entity, low, high)) as copy:
        parts.extend(bytes(data) for data in copy)
    if not parts:
        return EncodedChunk(b"", 0, "", "")
    # COPY's text format doubles backslashes; a JSON row has no raw newline or tab, so
    # that is its only escape. Each row arrives with a trailing newline.
    data = b"".join(parts)[:-1].replace(b"\\\\", b"\\").replace(b"\n", b",\n")
    first, last = _first_and_last_id(data)
    return EncodedChunk(data, len(parts), first, last)


def _rows_slice(conn: Any, entity: Entity, low: str | None, high: str | None) -> EncodedChunk:
    json_names = [c.name for c in entity.columns if c.kind is Kind.JSON]
    lines: list[bytes] = []
    with conn.cursor(binary=True) as cursor:
        cursor.execute(slice_rows_query(entity, low, high))
        for row in cursor:
            parts = [row[1]]
            for index, name in enumerate(json_names):
                where = f"{entity.name} {row[0]} {name}"
                parts.append(canonical_json_bytes(row[2 + 2 * index], where))
                parts.append(row[3 + 2 * index])
            lines.append(b"".join(parts))
    if not lines:
        return EncodedChunk(b"", 0, "", "")
    return EncodedChunk(
        b",\n".join(lines), len(lines), lines[0][7:43].decode(), lines[-1][7:43].decode()
    )


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
        self._slice_rows = slice_rows or SLICE_ROWS
        self._connections: list[Any] = []

    def _connection(self, index: int) -> Any:
        while len(self._connections) <= index:
            raw = self._engine.raw_connection()
            conn = raw.driver_connection
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute(f"SET TRANSACTION SNAPSHOT '{self._snapshot_id}'")
            # Each slice is a short query: compiling it (JIT) costs more than it saves.
            conn.execute("SET LOCAL jit = off")
            self._connections.append(raw)
        return self._connections[index].driver_connection

    def chunks(self, entity: Entity, rows: int) -> Iterator[EncodedChunk]:
        """The entity's rows in id order, a slice at a time."""
        bounds = slice_bounds(rows, self._slice_rows)
        workers = min(self._workers, len(bounds))
        read_slice = (
            _rows_slice if any(c.kind is Kind.JSON for c in entity.columns) else _copy_slice
        )
        conns = [self._connection(i) for i in range(workers)]
        handoffs: list[queue.Queue[EncodedChunk | BaseException]] = [
            queue.Queue(QUEUED_SLICES) for _ in range(workers)
        ]
        stop = threading.Event()

        def work(index: int) -> None:
            try:
                for low, high in bounds[index::workers]:
                    if stop.is_set():
                        return
                    handoffs[index].put(read_slice(conns[index], entity, low, high))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
                handoffs[index].put(exc)

        threads = [
            threading.Thread(
                target=work, args=(i,), name=f"bgw-read-{entity.name}-{i}", daemon=True
            )
            for i in range(workers)
        ]
        for thread in threads:
            thread.start()
        try:
            for position in range(len(bounds)):
                item = handoffs[position % workers].get()
                if isinstance(item, BaseException):
                    raise item
                if item.rows:
                    yield item
        finally:
            stop.set()
            for thread, handoff in zip(threads, handoffs, strict=True):
                while thread.is_alive():  # unblock a worker waiting on a full queue
                    with contextlib.suppress(queue.Empty):
                        handoff.get(timeout=0.05)
                thread.join()

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
        for raw in self._connections:
            with contextlib.suppress(Exception):
                raw.rollback()
            raw.close()
        self._connections.clear()
