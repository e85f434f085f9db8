"""Encoding Arrow batches as archive JSON rows, in the value forms the spec fixes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from bgw_pipeline.core.model.entities import Entity, Kind
from bgw_pipeline.core.model.errors import SourceDataError
from bgw_pipeline.core.model.values import format_timestamp

if TYPE_CHECKING:
    import pyarrow as pa


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


def iter_sorted_rows(
    entity: Entity, batches: Iterable[pa.RecordBatch]
) -> Iterator[tuple[str, bytes]]:
    """Encoded rows of all batches, refusing ids that are not unique and ascending.

    The archive promises rows sorted by id; a database that returns them otherwise (for
    example an id stored in upper case) must not produce an archive that breaks it.
    """
    last_id: str | None = None
    for batch in batches:
        for row_id, encoded in encode_rows(entity, batch):
            if last_id is not None and row_id <= last_id:
                raise SourceDataError(
                    f"{entity.name}: ids are not unique and ascending as read "
                    f"({last_id!r} then {row_id!r}); is an id stored in a non-canonical form?"
                )
            last_id = row_id
            yield row_id, encoded


def iter_entity_json(
    entity: Entity, rows: Iterable[tuple[str, bytes]]
) -> Iterator[tuple[bytes, int]]:
    """The pieces of an entity's JSON document `{"<entity>":[...]}`, one row per line.

    Yields (bytes, rows so far). The one-row-per-line layout keeps the file readable and
    lets a reader parse it line by line instead of as one huge object.
    """
    yield b'{"' + entity.name.encode() + b'":[', 0
    count = 0
    for _row_id, encoded in rows:
        yield (b"\n" if count == 0 else b",\n") + encoded, count + 1
        count += 1
    yield (b"\n]}\n" if count else b"]}\n"), count
