"""Arrow schemas of the BGW entities and turning database rows into record batches."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from bgw_pipeline.core.model.entities import Entity, Kind

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


def batch_from_rows(
    entity: Entity, rows: Sequence[Sequence[Any]], columns: Sequence[str] | None = None
) -> pa.RecordBatch:
    """A record batch from row tuples in the entity's column order, or holding only the
    named `columns`, in that order (one chunk, not a table)."""
    schema = arrow_schema(entity)
    if columns is not None:
        schema = pa.schema([schema.field(name) for name in columns])
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=schema)
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class _NoPandas:
    """A meta-path entry under which `import pandas` fails."""

    @staticmethod
    def find_spec(name: str, *_: object) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not needed here")


def arrow_without_pandas() -> None:
    """Keep pyarrow from importing pandas (a fifth of a second) in a short-lived process.

    The first time pyarrow converts a Python list it imports pandas, only to check that
    it was not handed a DataFrame; an export or an import never hands it one. With
    `import pandas` failing for that one probe, pyarrow records pandas as absent for
    this process; pandas itself stays importable by anything that wants it afterwards.
    """
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    sys.meta_path.insert(0, _NoPandas)  # type: ignore[arg-type]
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(_NoPandas)  # type: ignore[arg-type]
