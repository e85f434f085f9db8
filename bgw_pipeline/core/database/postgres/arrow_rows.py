"""Reading a PostgreSQL slice as Arrow and encoding its rows in DuckDB.

The server's cheapest way to hand over rows is binary COPY: ADBC's PostgreSQL driver
reads it straight into Arrow columns, with no per-row work in Python and almost none in
the server. DuckDB then builds each row's archive JSON from those columns, vectorized and
outside the GIL. At L, price history costs 0.7 CPU-seconds to read and 1.5 to encode
here, against 4.4 for the server to build its JSON text (database/postgres/row_json_sql.py) and
aggregate it; the whole export went from 16.0 to 12.9 CPU-seconds, server and client together.

The bytes are the reference encoder's (encoding/row_encoding.py), tested against it. DuckDB
escapes a few control characters with upper-case hex digits where the reference uses
lower case, so a row that may hold one of those is encoded by the reference (orjson)
instead. Only entities without JSON columns come this way: their values need no
canonicalizing. An import also fetches the database's rows in question this way
(rows_by_ids_query), as Arrow in the core's types.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from bgw_pipeline.core.database.postgres.row_json_sql import ident, in_archive_range, range_filter
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk
from bgw_pipeline.core.model.entities import Column, Entity, Kind

_SEPARATOR = ",\n"
CHUNK_ROWS = 2_000  # rows per chunk handed on
BATCH_BYTES = 4 << 20  # Arrow bytes per batch read: big enough that DuckDB's fixed cost per
# query is small, small enough that two readers hold little
_PG_TYPES = {
    Kind.UUID: "uuid",
    Kind.TEXT: "text",
    Kind.INT: "bigint",
    Kind.BOOL: "boolean",
    Kind.TIMESTAMP: "timestamptz",
}


def _select_sql(column: Column, uuid_as_text: bool = False) -> str:
    """The column as the server sends it: cast to the kind's type (a no-op on the BGW
    schema), a UUID as its text when asked; a timestamp outside years 1 to 9999 stops the
    read with an error naming it."""
    col = ident(column.name)
    if column.kind is Kind.UUID and uuid_as_text:
        return f"{col}::text AS {col}"
    if column.kind is not Kind.TIMESTAMP:
        return f"{col}::{_PG_TYPES[column.kind]} AS {col}"
    return f"{in_archive_range(col, f'{col}::timestamptz', 'timestamptz')} AS {col}"


def arrow_slice_query(entity: Entity, low: str | None, high: str | None) -> str:
    """The entity's rows with ids in [low, high), typed, in id order."""
    columns = ", ".join(_select_sql(c) for c in entity.columns)
    return f"SELECT {columns} FROM {ident(entity.name)} {range_filter(low, high)}ORDER BY id"


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def rows_by_ids_query(entity: Entity, ids: Sequence[str]) -> str:
    """The entity's rows with these ids (lowercase UUID text, checked: they are written
    into the query as an array literal), in id order, in the core's Arrow types."""
    for row_id in ids:
        if not _UUID.fullmatch(row_id):
            raise ValueError(f"not a lowercase UUID: {row_id!r}")
    columns = ", ".join(_select_sql(c, uuid_as_text=True) for c in entity.columns)
    array = "'{" + ",".join(ids) + "}'::uuid[]"
    return (
        f"SELECT {columns} FROM {ident(entity.name)} "
        f"WHERE id IN (SELECT unnest({array})) ORDER BY id"
    )


def _field_sql(column: Column) -> str:
    """The column as a field of the row's struct: as it is, but a timestamp (arriving
    without its zone, in UTC: see _naive_utc) as its RFC 3339 text. DuckDB's own text of
    a timestamp already cuts a zero fraction and trailing zeros, as the reference does;
    it has a space where RFC 3339 has `T` (the only space: the server lets through years
    1 to 9999 only, four digits each) and no zone. A quarter of the cost of strftime."""
    col = ident(column.name)
    if column.kind is not Kind.TIMESTAMP:
        return f"{col} := {col}"
    return f"{col} := replace({col}::VARCHAR, ' ', 'T') || 'Z'"


def encoding_query(entity: Entity, table: str) -> str:
    """DuckDB SQL of `table`'s rows as archive rows, each followed by `,\\n`, in the
    table's order: the row as a struct, written by DuckDB's JSON writer (keys in column
    order, no spaces, like the reference).

    That writer escapes a few control characters with upper-case hex digits; a row that
    may hold one (a backslash, `u00`, in its text) is written again by the reference encoder.
    """
    fields = ", ".join(_field_sql(c) for c in entity.columns)
    return (
        r"SELECT CASE WHEN contains(r, '\u00') THEN bgw_reference_json(r) ELSE r END "
        f"|| ',' || chr(10) AS j FROM (SELECT to_json(struct_pack({fields}))::VARCHAR AS r "
        f"FROM {table})"
    )


def _reference_json(row: str) -> str:
    """The row as the reference encoder writes it: same keys and values, its escapes."""
    return orjson.dumps(orjson.loads(row)).decode()


def new_encoder() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for one reading thread (one DuckDB thread: the readers are
    the parallelism)."""
    con = duckdb.connect(config={"threads": 1})
    con.create_function("bgw_reference_json", _reference_json, ["VARCHAR"], "VARCHAR")
    return con


def _naive_utc(batch: pa.RecordBatch) -> pa.Table:
    """The batch with its timestamps as zone-less UTC (the same microseconds): DuckDB
    formats those without asking for a time zone."""
    arrays = []
    for field, array in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            array = array.cast(pa.timestamp(field.type.unit))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=batch.schema.names)


def _chunks(encoded: pa.Array) -> Iterator[EncodedChunk]:
    """The encoded rows (every one followed by `,\\n`) as chunks of CHUNK_ROWS rows,
    each without its last separator: a reader ahead holds a few small chunks, not
    whole batches."""
    if encoded.null_count:
        raise ValueError("a row did not encode")
    _, offsets_buffer, data = encoded.buffers()
    offset_type = np.int64 if pa.types.is_large_string(encoded.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[encoded.offset :]
    view = memoryview(data)
    for first in range(0, len(encoded), CHUNK_ROWS):
        last = min(first + CHUNK_ROWS, len(encoded)) - 1
        start, last_start = int(offsets[first]), int(offsets[last])
        body = view[start : int(offsets[last + 1]) - len(_SEPARATOR)].tobytes()
        last_start -= start
        last_id = body[last_start + 7 : last_start + 43].decode()
        yield EncodedChunk(body, last - first + 1, body[7:43].decode(), last_id)


def encode_batch(
    con: duckdb.DuckDBPyConnection, entity: Entity, batch: pa.RecordBatch
) -> Iterator[EncodedChunk]:
    """The batch's rows as archive JSON, in the batch's order, in chunks of CHUNK_ROWS."""
    rows = _naive_utc(batch)  # noqa: F841 - read by name in the query below
    encoded = con.sql(encoding_query(entity, "rows")).to_arrow_table()
    for array in encoded.column(0).chunks:
        yield from _chunks(array)


class ArrowSession:
    """One ADBC connection inside a given exported snapshot, and its DuckDB encoder.

    ADBC's low-level API: its DB-API module would import pandas, a fixed cost that
    matters to a small export."""

    def __init__(self, url: str, snapshot_id: str, settings: Sequence[str]) -> None:
        import adbc_driver_manager
        import adbc_driver_postgresql

        self._database = adbc_driver_postgresql.connect(url)
        self._connection = adbc_driver_manager.AdbcConnection(self._database)
        self._statement = adbc_driver_manager.AdbcStatement(self._connection)
        self._encoder: duckdb.DuckDBPyConnection | None = None
        # Autocommit: the transaction is begun here, where the snapshot can be set.
        for sql in ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                    f"SET TRANSACTION SNAPSHOT '{snapshot_id}'", *settings):  # fmt: skip
            self._statement.set_sql_query(sql)
            self._statement.execute_update()
        self._statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})

    @property
    def encoder(self) -> duckdb.DuckDBPyConnection:
        if self._encoder is None:
            self._encoder = new_encoder()
        return self._encoder

    def read(self, entity: Entity, low: str | None, high: str | None) -> Iterator[EncodedChunk]:
        """A slice of the entity, encoded a record batch at a time."""
        self._statement.set_sql_query(arrow_slice_query(entity, low, high))
        stream, _ = self._statement.execute_query()
        with pa.RecordBatchReader.from_stream(stream) as reader:
            for batch in reader:
                yield from encode_batch(self.encoder, entity, batch)

    def table(self, sql: str) -> pa.Table:
        """The whole result of a query (a bounded one) as Arrow."""
        self._statement.set_sql_query(sql)
        stream, _ = self._statement.execute_query()
        with pa.RecordBatchReader.from_stream(stream) as reader:
            return reader.read_all()

    def close(self) -> None:
        """End the transaction and close both connections."""
        try:
            self._statement.close()
            self._connection.close()
            self._database.close()
        finally:
            if self._encoder is not None:
                self._encoder.close()
