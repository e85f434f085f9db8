"""The archive's JSON rows, built by SQLite itself: a chunk of rows per query.

The reference encoder (encoding/row_encoding.py) turns every value into a Python object and
back; on SQLite most of an export's time went there. Here one query per window of ids
has SQLite render each row with `json_object` (its string escapes and integer forms
are orjson's, byte for byte: tested) and join the window's rows, so Python handles a
chunk, not a value. The SQL, and what it cannot render, is row_sql.py's; a window it
cannot render exactly is read by the reference encoder instead.

All of it runs on the snapshot's own connection, inside its one read transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bgw_pipeline.core.database.sqlite.row_sql import (
    ID_LENGTH,
    MARK,
    chunk_query,
    json_columns,
    text_columns,
)
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk, canonical_json_bytes
from bgw_pipeline.core.model.entities import Entity
from bgw_pipeline.core.model.errors import SourceDataError

CHUNK_ROWS = 2_000
# The file memory-mapped up to 256 MiB: a database of that size is read without a read()
# per page (about 10% of the export at M), and the mapped pages, which count in the
# process's RSS, stay bounded above it. At L (a 1 GiB file) a full mapping saved 12% of
# the export and put 942 MiB in its RSS; at 256 MiB it takes as long as unmapped, 262 MiB.
MMAP_BYTES = 256 << 20
# (low, high]: the rows with ids above `low` up to `high` (their stored bytes; None: from
# the start, to the end), as the reference encoder's chunks.
Fallback = Callable[[bytes | None, bytes | None], Iterator[EncodedChunk]]


def sqlite_chunks(
    conn: sqlite3.Connection,
    entity: Entity,
    fallback: Fallback,
    rows: int = CHUNK_ROWS,
    start: bytes | None = None,
    stop: bytes | None = None,
) -> Iterator[Any]:
    """The entity's archive rows in chunks, as the reference encoder gives them: all of
    them, or those with ids above `start` and below `stop` (bounds that are no id, such
    as a prefix: database/sqlite/workers.py reads such ranges side by side).

    `ids_fit(conn, entity)` must hold. A window SQLite cannot render exactly is read
    through `fallback` instead (whatever it yields is handed on); after a query error (a
    blob in a text column), the rest of the range.
    """
    query = chunk_query(entity, rows, text_columns(conn, entity), bounded=stop is not None)
    low: bytes | None = start
    last_id: str | None = None
    with _mapped(conn):
        while True:
            params = (low or b"",) if stop is None else (low or b"", stop)
            try:
                cursor = conn.execute(query, params)
                try:
                    count, rendered, data, ids = cursor.fetchone()
                finally:
                    cursor.close()
            except sqlite3.OperationalError:
                count, chunks, high = None, fallback(low, stop), None
            else:
                if not count:
                    return
                high = ids[-ID_LENGTH:]
                chunk = _chunk(entity, count, rendered, data, ids)
                chunks = iter([chunk]) if chunk is not None else fallback(low, high)
            try:
                for piece in chunks:
                    if isinstance(piece, EncodedChunk):
                        check_order(entity, last_id, piece)
                        last_id = piece.last_id
                    yield piece
            finally:  # a fallback's reads end here, not whenever the collector finds them
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            if high is None:
                return
            low = high


def check_order(entity: Entity, last_id: str | None, chunk: EncodedChunk) -> None:
    """Refuse a chunk whose first id is not above the last id before it."""
    if last_id is not None and chunk.first_id <= last_id:
        raise SourceDataError(
            f"{entity.name}: ids are not unique and ascending as read ({last_id!r} then "
            f"{chunk.first_id!r}); is an id stored in a non-canonical form?"
        )


@contextmanager
def _mapped(conn: sqlite3.Connection) -> Iterator[None]:
    """The database file memory-mapped while the rows are read (looking rows up by id in
    a file the page cache does not hold costs a read() each otherwise); then as before.
    The mapping changes how pages are read, never which: WAL pages still come from the WAL."""
    before = int(conn.execute("PRAGMA mmap_size").fetchone()[0])
    if before < MMAP_BYTES:
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}").close()
    try:
        yield
    finally:
        if before < MMAP_BYTES:
            conn.execute(f"PRAGMA mmap_size = {before}").close()


def _chunk(
    entity: Entity, count: int, rendered: int, data: bytes | None, ids: bytes
) -> EncodedChunk | None:
    """The window's chunk, or None when the reference encoder must read it instead."""
    if rendered != count or data is None or len(ids) != ID_LENGTH * count:
        return None
    try:
        text = data.decode("utf-8")
        id_list = ids.decode("ascii")
    except UnicodeDecodeError:
        return None
    split = [id_list[i : i + ID_LENGTH] for i in range(0, len(id_list), ID_LENGTH)]
    # The ids as joined are the rows' order: strictly ascending, as the index reads them.
    if not all(map(str.__lt__, split, split[1:])):
        return None
    columns = json_columns(entity)
    if columns:
        pieces = text.split(MARK)
        if len(pieces) != 2 * len(columns) * count + 1:
            return None  # a stored JSON text held the mark itself
        try:
            for index in range(1, len(pieces), 2):
                column = columns[(index // 2) % len(columns)]
                where = f"{entity.name}.{column.name}"
                pieces[index] = canonical_json_bytes(pieces[index], where).decode()
        except (SourceDataError, ValueError, TypeError):
            return None  # the reference encoder reports it
        data = "".join(pieces).encode()
    return EncodedChunk(data, count, split[0], split[-1])


def threads_allowed(conn: sqlite3.Connection) -> bool:
    """Whether another thread may use the connection (SQLAlchemy allows it for a file
    database, not for `:memory:`)."""
    allowed: list[bool] = []

    def probe() -> None:
        try:
            conn.execute("SELECT 1").close()
            allowed.append(True)
        except sqlite3.ProgrammingError:
            allowed.append(False)

    thread = threading.Thread(target=probe, name="bgw-sqlite-probe")
    thread.start()
    thread.join()
    return allowed == [True]
