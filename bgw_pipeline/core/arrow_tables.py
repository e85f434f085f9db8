"""Arrow schemas of the BGW entities and turning database rows into record batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from bgw_pipeline.core.entities import Entity, Kind

ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.UUID: pa.string(),
    Kind.TEXT: pa.string(),
    Kind.INT: pa.int64(),
    Kind.BOOL: pa.bool_(),
    Kind.JSON: pa.string(),  # compact JSON text
    Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
}


def arrow_schema(entity: Entity) -> pa.Schema:
    """The Arrow schema every batch of this entity carries, in column order."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.kind], nullable=c.nullable) for c in entity.columns]
    )


def batch_from_rows(entity: Entity, rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    """A record batch from row tuples in the entity's column order (one chunk, not a table)."""
    schema = arrow_schema(entity)
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=schema)
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
