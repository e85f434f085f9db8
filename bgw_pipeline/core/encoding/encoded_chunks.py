"""Archive rows as ready-made bytes, a chunk at a time, from any table source.

The archive writer asks for chunks of encoded rows. A PostgreSQL snapshot has the
server build them (database/postgres/row_json_sql.py, database/postgres/rows.py) while this process
compresses; any other source (SQLite, staged Parquet) goes through the reference encoder in
encoding/row_encoding.py. Both give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import orjson

from bgw_pipeline.core.encoding.row_encoding import encode_rows
from bgw_pipeline.core.model.entities import Entity
from bgw_pipeline.core.model.errors import SourceDataError
from bgw_pipeline.core.model.values import canonical_json_text

if TYPE_CHECKING:
    import pyarrow as pa


ENCODE_ROWS = 2_000  # rows encoded and handed on at a time by the reference path


@dataclass(frozen=True)
class EncodedChunk:
    """Rows of one entity, each a JSON object, joined by `,\\n` (no trailing separator)."""

    data: bytes
    rows: int
    first_id: str
    last_id: str


@runtime_checkable
class EncodedSource(Protocol):
    """A source that can hand out encoded rows itself (faster than Arrow batches)."""

    def encoded_chunks(self, entity: Entity) -> Iterator[EncodedChunk]: ...


class ArchiveSource(Protocol):
    """What the archive writer reads: row counts, and rows in id order, either encoded
    already (`EncodedSource`) or as Arrow batches (`batches(entity)`, the reference path)."""

    def count(self, entity: Entity) -> int: ...


def chunks_from_batches(
    entity: Entity, batches: Iterable[pa.RecordBatch]
) -> Iterator[EncodedChunk]:
    """The reference path: encode Arrow batches row by row (ids must be unique, ascending)."""
    last_id: str | None = None
    for batch in batches:
        # A few thousand rows at a time: each is held here as Python values, encoded
        # rows and their join at once, which for wide rows (games with descriptions,
        # raw pages) cost hundreds of megabytes per 20,000-row batch.
        for start in range(0, batch.num_rows, ENCODE_ROWS):
            rows = list(encode_rows(entity, batch.slice(start, ENCODE_ROWS)))
            for row_id, _ in rows:
                if last_id is not None and row_id <= last_id:
                    raise SourceDataError(
                        f"{entity.name}: ids are not unique and ascending as read ({last_id!r}"
                        f" then {row_id!r}); is an id stored in a non-canonical form?"
                    )
                last_id = row_id
            joined = b",\n".join(r for _, r in rows)
            yield EncodedChunk(joined, len(rows), rows[0][0], rows[-1][0])


def canonical_json_bytes(text: str, where: str) -> bytes:
    """Compact JSON of a JSON column's text, as the reference encoder writes it.

    Keys are sorted: PostgreSQL's jsonb reorders them and SQLite keeps them as written,
    and the same data must give the same bytes (and checksum) from either.
    """
    try:
        return orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, TypeError):
        return canonical_json_text(text, where).encode()


def encoded_chunks(entity: Entity, source: Any) -> Iterator[EncodedChunk]:
    """Chunks of `entity` from a source: its own encoder if it has one, else the reference."""
    if isinstance(source, EncodedSource):
        return source.encoded_chunks(entity)
    return chunks_from_batches(entity, source.batches(entity))
