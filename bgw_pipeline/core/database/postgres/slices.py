"""Reading one slice of a PostgreSQL table as encoded archive rows, in one of three ways.

- A table without JSON columns, big enough: as Arrow over ADBC, encoded in DuckDB here
  (database/postgres/arrow_rows.py), the server only sorting and sending binary rows.
- A smaller one: the server builds each row's JSON (database/postgres/row_json_sql.py) and sends
groups of
  rows joined, in one binary COPY.
- A table with JSON columns: the server builds the rows around the JSON values, which
  Python makes canonical.

A slice is an id range (`slice_bounds`); the ranges of a table cover every id once.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from bgw_pipeline.core.database.postgres.row_json_sql import (
    OUT_OF_RANGE,
    slice_copy_query,
    slice_rows_query,
)
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk, canonical_json_bytes
from bgw_pipeline.core.model.entities import Entity, Kind
from bgw_pipeline.core.model.errors import SourceDataError

if TYPE_CHECKING:
    from bgw_pipeline.core.database.postgres.arrow_rows import ArrowSession

GROUP_ROWS = 2_000  # rows per block a slice arrives in


def encodes_in_duckdb(entity: Entity) -> bool:
    """Whether the entity's rows can come as Arrow and be encoded in DuckDB: its values
    need no canonicalizing (no JSON columns)."""
    return all(c.kind is not Kind.JSON for c in entity.columns)


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


class SliceWorker:
    """One reading thread's connections: psycopg, and an ADBC session opened on first
    use (by that thread only) in the same snapshot."""

    def __init__(self, conn: Any, open_arrow: Callable[[], ArrowSession]) -> None:
        self.conn = conn
        self._open_arrow = open_arrow
        self._arrow: ArrowSession | None = None

    def arrow_session(self) -> ArrowSession:
        """This worker's ADBC session, opened on first use."""
        if self._arrow is None:
            self._arrow = self._open_arrow()
        return self._arrow

    def close(self) -> None:
        """Close the ADBC session, if one is open (the psycopg connection is the reader's)."""
        if self._arrow is not None:
            arrow, self._arrow = self._arrow, None
            with contextlib.suppress(Exception):
                arrow.close()


def read_slice(
    worker: SliceWorker,
    entity: Entity,
    low: str | None,
    high: str | None,
    prefix: int,
    as_arrow: bool,
) -> Iterator[EncodedChunk]:
    try:
        if as_arrow:  # a read stopped in mid-stream leaves an ADBC session usable
            yield from worker.arrow_session().read(entity, low, high)
        elif not encodes_in_duckdb(entity):  # JSON columns
            yield from _rows_slice(worker.conn, entity, low, high)
        else:
            yield from _copy_slice(worker.conn, entity, low, high, prefix)
    except Exception as exc:  # psycopg's or ADBC's: the message tells
        refusal = timestamp_refusal(entity, exc)
        if refusal is None:
            raise
        raise refusal from None


def timestamp_refusal(entity: Entity, exc: Exception) -> SourceDataError | None:
    """The error to raise for a read the server stopped at a timestamp the archive cannot
    hold (row_json_sql.OUT_OF_RANGE in its message), or None for any other failure."""
    message = str(exc)
    if OUT_OF_RANGE not in message:
        return None
    value = message.split(OUT_OF_RANGE + ": ", 1)[1].split('"', 1)[0]
    return SourceDataError(
        f"{entity.name}: a timestamp the archive cannot hold ({value}); "
        "the archive's timestamps are RFC 3339, years 1 to 9999"
    )


def id_prefix(rows: int) -> int:
    """Hex digits of the id that cut a table into groups of about GROUP_ROWS rows."""
    return max(1, min(8, math.ceil(math.log(max(rows, 1) / GROUP_ROWS, 16))))


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
