"""SQLite rows rendered side by side by worker processes that see the snapshot's state.

SQLite renders a table's rows on one core per connection (database/sqlite/rows.py). Threads do
not help: every allocation of the process's one SQLite library goes through a global
mutex (its memory statistics), so two connections in one process run one after the
other. Worker processes each have their own library (statistics off), their own
read-only connection and read transaction; a big table's id space is cut into ranges
by the ids' leading hex digits, the workers render them, and the rows come back here
in id order, the next ranges rendered while this process hashes and compresses.

They must see exactly the snapshot's state. Python has no SQLite snapshot handles, so
the state is pinned by a probe: `PRAGMA data_version` on a connection of its own
changes whenever another connection commits. Read before the snapshot's first read and
again once every worker has read, an unchanged value proves that nothing was committed
in between: all of them read one state. A changed one (a writer was busy) stops the
workers, and the snapshot reads alone, as before.
"""

from __future__ import annotations

import pickle
import queue
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from bgw_pipeline.core.database.sqlite.rows import check_order
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk
from bgw_pipeline.core.files.read_ahead import END, queued_items
from bgw_pipeline.core.model.entities import Entity

WORKERS = 2
PARALLEL_MIN_ROWS = 5_000  # below this a table is read by the snapshot's connection
# Starting the workers costs about 0.1 s: worth it only for a database this big.
START_MIN_TOTAL_ROWS = 50_000
FINE_RANGES_ROWS = 200_000  # from here on 256 ranges (two hex digits), else 16
RANGE_DEPTH = 6  # chunks held here for a range the taker has not reached
BUSY_MS = 200  # a worker that cannot start reading at once (a writer's lock) gives up
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Deferred:
    """Rows (low, high] a worker could not render: the taker reads them its own way."""

    low: bytes | None
    high: bytes | None


def database_file(url_database: str | None) -> Path | None:
    """The SQLite file of a URL's database part, or None (memory, URI forms)."""
    if not url_database or url_database == ":memory:" or url_database.startswith("file:"):
        return None
    path = Path(url_database)
    return path if path.is_file() else None


class StateProbe:
    """A connection of its own whose `PRAGMA data_version` tells whether anyone committed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        self._first = self._version()

    def _version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def unchanged(self) -> bool:
        return self._version() == self._first

    def close(self) -> None:
        self._conn.close()


def id_ranges(rows: int) -> list[tuple[bytes | None, bytes | None]]:
    """(above, below) bounds that cut the id space by its leading hex digits; any id
    (hex or not) falls in exactly one range, as no bound is itself an id."""
    digits = 2 if rows >= FINE_RANGES_ROWS else 1
    bounds = ["".join(p).encode() for p in product(HEX, repeat=digits)][1:]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


class WorkerPool:
    """Worker processes (database/sqlite/worker_process.py), each inside a read transaction of
    the snapshot's state, answering over their stdin and stdout in pickles.

    `start` returns None when they could not all start reading or someone committed
    meanwhile (the probe says so); the caller then reads alone.
    """

    def __init__(self, processes: list[subprocess.Popen[bytes]]) -> None:
        self._processes = processes
        self.broken = False

    @classmethod
    def start(cls, probe: StateProbe, count: int = WORKERS) -> WorkerPool | None:
        command = [sys.executable, "-m", "bgw_pipeline.core.database.sqlite.worker_process"]
        processes = [
            subprocess.Popen(
                [*command, str(probe.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            for _ in range(count)
        ]
        pool = cls(processes)
        try:
            ready = all(_answer(p) == ("ready",) for p in processes)
        except (EOFError, OSError, pickle.UnpicklingError):
            ready = False
        if not ready or not probe.unchanged():
            pool.broken = True
            pool.close()
            return None
        return pool

    def close(self) -> None:
        """Stop the workers (one in the middle of a range is killed: it only reads)."""
        for process in self._processes:
            try:
                _ask(process, None)
                assert process.stdin is not None
                process.stdin.close()
            except (OSError, ValueError):
                pass
        for process in self._processes:
            try:
                process.wait(timeout=0.5 if self.broken else 5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        self._processes = []

    def chunks(
        self,
        entity: Entity,
        rows: int,
        read_deferred: Callable[[bytes | None, bytes | None], Iterator[EncodedChunk]],
    ) -> Iterator[EncodedChunk]:
        """The entity's chunks in id order, its ranges rendered by the workers (range i by
        worker i mod n, each range's chunks held in a bounded queue here). Windows a worker
        could not render are read by `read_deferred` on this thread."""
        ranges = id_ranges(rows)
        count = len(self._processes)
        queues: list[queue.Queue[Any]] = [queue.Queue(RANGE_DEPTH) for _ in ranges]
        stop = threading.Event()
        for index, (low, below) in enumerate(ranges):
            _ask(self._processes[index % count], (entity.name, low, below))
        receivers = [
            threading.Thread(
                target=_receive,
                args=(self._processes[w], queues[w::count], stop),
                name="bgw-sqlite-receiver",
                daemon=True,
            )
            for w in range(count)
        ]
        for thread in receivers:
            thread.start()
        finished = False
        last_id: str | None = None
        try:
            for index in range(len(ranges)):
                for item in queued_items(queues[index], receivers[index % count].is_alive):
                    deferred = isinstance(item, Deferred)
                    for chunk in read_deferred(item.low, item.high) if deferred else [item]:
                        check_order(entity, last_id, chunk)
                        last_id = chunk.last_id
                        yield chunk
            finished = True
        finally:
            stop.set()
            if not finished:  # the workers may be in the middle of a range: not reusable
                self.broken = True
                for process in self._processes:
                    process.kill()  # unblocks the receivers
            for thread in receivers:
                thread.join()


def _ask(process: subprocess.Popen[bytes], request: Any) -> None:
    assert process.stdin is not None
    pickle.dump(request, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
    process.stdin.flush()


def _answer(process: subprocess.Popen[bytes]) -> Any:
    assert process.stdout is not None
    return pickle.load(process.stdout)


def _receive(
    process: subprocess.Popen[bytes], queues: list[queue.Queue[Any]], stop: threading.Event
) -> None:
    """One worker's answers, range after range, into the ranges' queues."""
    for target in queues:
        while True:
            try:
                item = _answer(process)
            except (EOFError, OSError, pickle.UnpicklingError, ValueError) as exc:
                item = ("error", RuntimeError(f"a SQLite worker ended: {exc!r}"))
            entry: Any
            if item[0] == "chunk":
                entry = EncodedChunk(*item[1:])
            elif item[0] == "deferred":
                entry = Deferred(*item[1:])
            elif item[0] == "end":
                entry = END
            else:
                entry = item[1] if isinstance(item[1], BaseException) else RuntimeError(item)
            while not stop.is_set():
                try:
                    target.put(entry, timeout=0.05)
                    break
                except queue.Full:
                    continue
            if stop.is_set() or entry is END:
                break
            if isinstance(entry, BaseException):
                return
        if stop.is_set():
            return
