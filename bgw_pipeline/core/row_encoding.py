"""Encoding Arrow batches as archive JSON rows, in the value forms the spec fixes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pyarrow as pa

from bgw_pipeline.core.entities import Entity, Kind
from bgw_pipeline.core.values import format_timestamp


def _json_fragment(text: str | None) -> Any:
    return None if text is None else orjson.Fragment(text.encode("utf-8"))


def _timestamp(value: Any) -> str | None:
    return None if value is None else format_timestamp(value)


_FORMATTERS: dict[Kind, Callable[[Any], Any] | None] = {
    Kind.UUID: None,
    Kind.TEXT: None,
    Kind.INT: None,
    Kind.BOOL: None,
    Kind.JSON: _json_fragment,
    Kind.TIMESTAMP: _timestamp,
}


def _column_values(entity: Entity, batch: pa.RecordBatch) -> list[list[Any]]:
    columns = []
    for col in entity.columns:
        values = batch.column(col.name).to_pylist()
        formatter = _FORMATTERS[col.kind]
        columns.append(values if formatter is None else [formatter(v) for v in values])
    return columns


def encode_rows(entity: Entity, batch: pa.RecordBatch) -> Iterator[tuple[str, bytes]]:
    """(id, JSON object bytes) for each row of the batch, keys in column order."""
    names = entity.column_names
    columns = _column_values(entity, batch)
    ids = columns[0]
    for index, row in enumerate(zip(*columns, strict=True)):
        yield ids[index], orjson.dumps(dict(zip(names, row, strict=True)))
