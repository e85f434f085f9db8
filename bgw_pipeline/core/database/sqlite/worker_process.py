"""A SQLite worker process (database/sqlite/workers.py): `python -m` this module with the file.

It opens a read-only connection and a read transaction, says it is ready, then renders
the id ranges asked for on stdin and answers on stdout, in pickles: ("chunk", data,
rows, first id, last id), ("deferred", low, high) for a window the parent reads itself,
("end",) after each range, ("error", exception). It imports only what it needs, and
turns SQLite's memory statistics off before SQLite starts (they cost a global mutex
and a few percent of every allocation).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import pickle
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

SQLITE_CONFIG_MEMSTATUS = 9
BUSY_SECONDS = 0.2  # cannot start reading at once (a writer's lock): the parent reads alone


def _memory_statistics_off() -> None:
    """Best effort: SQLite as it is otherwise."""
    name = ctypes.util.find_library("sqlite3")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0))


def _send(out: BinaryIO, answer: Any) -> None:
    pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def main(path: str) -> None:
    _memory_statistics_off()
    import sqlite3

    from bgw_pipeline.core.database.sqlite.rows import MMAP_BYTES, sqlite_chunks
    from bgw_pipeline.core.database.sqlite.workers import Deferred
    from bgw_pipeline.core.model.entities import ENTITIES_BY_NAME

    def defer(low: bytes | None, high: bytes | None) -> Iterator[Deferred]:
        yield Deferred(low, high)

    requests, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_SECONDS
        )
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}").close()
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        _send(out, ("failed", str(exc)))
        return
    _send(out, ("ready",))
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        if request is None:
            return
        name, low, below = request
        try:
            for piece in sqlite_chunks(conn, ENTITIES_BY_NAME[name], defer, start=low, stop=below):
                if isinstance(piece, Deferred):
                    _send(out, ("deferred", piece.low, piece.high))
                else:
                    _send(out, ("chunk", piece.data, piece.rows, piece.first_id, piece.last_id))
            _send(out, ("end",))
        except Exception as exc:  # noqa: BLE001 - raised in the parent, where the range is read
            try:
                _send(out, ("error", exc))
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                _send(out, ("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


if __name__ == "__main__":
    main(sys.argv[1])
