"""Arrow record batches from archive rows already encoded: a table read once feeds every format.

A backup reads each table once, as the archive's JSON rows (built by PostgreSQL or
SQLite itself). The snapshot Parquet and CSV files need the same rows as typed Arrow
columns; parsing the encoded rows again in Arrow's C++ JSON reader costs a fraction of a
second read from the database, and guarantees that every format shows the one state the
archive holds.

Arrow's reader types a JSON column's value (an array, an object) instead of keeping its
text, so those columns (games' synonyms, rules' conditions, raw payloads) are taken from
orjson's parse of the same rows, in their compact sorted-key form: exactly the archive's.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.json as pa_json

from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk
from bgw_pipeline.core.model.arrow_tables import arrow_schema
from bgw_pipeline.core.model.entities import Column, Entity, Kind
from bgw_pipeline.core.model.errors import SourceDataError
from bgw_pipeline.core.model.values import dumps_json, loads_json

BATCH_BYTES = 8 << 20  # rows gathered before one parse: few calls, bounded memory
BLOCK_BYTES = 4 << 20  # the JSON reader's block: rows are parsed in parallel per block


def _parse_options(entity: Entity) -> pa_json.ParseOptions:
    plain = [
        f for f, c in zip(arrow_schema(entity), entity.columns, strict=True) if c.kind != Kind.JSON
    ]
    return pa_json.ParseOptions(
        explicit_schema=pa.schema(plain), unexpected_field_behavior="ignore"
    )


def _json_columns(data: bytes, columns: list[Column]) -> list[pa.Array]:
    """The JSON columns' values, each in its compact sorted-key text, parsed a row at a
    time (a row holds no raw newline, so `,\\n` only ever separates rows): the dicts of one
    row live at a time, not of a whole batch (raw payloads: 160 MiB at L)."""
    if not columns:
        return []
    values: list[list[str | None]] = [[] for _ in columns]
    for line in data.split(b",\n"):
        row = loads_json(line)
        for column, out in zip(columns, values, strict=True):
            value = row.get(column.name)
            # A JSON column is never NULL in the schema: `null` there is the JSON value null.
            out.append(None if value is None and column.nullable else dumps_json(value))
    return [pa.array(v, pa.string()) for v in values]


def table_from_encoded(entity: Entity, data: bytes) -> pa.Table:
    """The rows of `data` (archive rows joined by `,\\n`) as a table of the entity's schema."""
    schema = arrow_schema(entity)
    if not data:
        return schema.empty_table()
    lines = data.replace(b",\n", b"\n")  # a JSON row holds no raw newline: one row a line
    try:
        parsed = pa_json.read_json(
            io.BytesIO(lines),
            read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES),
            parse_options=_parse_options(entity),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceDataError(f"{entity.name}: rows could not be read as Arrow: {exc}") from exc
    json_columns = [c for c in entity.columns if c.kind is Kind.JSON]
    json_arrays = dict(zip(json_columns, _json_columns(data, json_columns), strict=True))
    columns = [
        json_arrays[column]
        if column in json_arrays
        else parsed.column(column.name).combine_chunks()
        for column in entity.columns
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def batches_from_chunks(entity: Entity, chunks: Iterable[EncodedChunk]) -> Iterator[pa.RecordBatch]:
    """Record batches of about BATCH_BYTES of encoded rows each, in the chunks' order."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk.data)
        size += len(chunk.data)
        if size >= BATCH_BYTES:
            yield from table_from_encoded(entity, b",\n".join(pending)).to_batches()
            pending, size = [], 0
    if pending:
        yield from table_from_encoded(entity, b",\n".join(pending)).to_batches()
