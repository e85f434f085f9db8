"""The first pass in id order for an entity written one member per row (the listings).

The export writes each row as its own member, `<folder><id>.json`, holding the row's
encoded bytes and a newline; members sort by name, so by id. Walking them beside the
database's encoded rows finds the rows in question as compare/sorted_compare.py does for one
member: a member whose bytes are the database row's and a newline is unchanged; any
other is in question, new when the database lacks its id. Each member is read to its
end, so its SHA-256 is taken on the same read (checked before anything is written).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bgw_pipeline.core.archive.reader import ArchiveReader
from bgw_pipeline.core.compare.sorted_compare import ROW_ID, ComparedEntity, NotComparable
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk
from bgw_pipeline.core.model.entities import Entity


def _database_rows(chunks: Iterable[EncodedChunk]) -> Iterator[tuple[bytes, bytes]]:
    for chunk in chunks:
        for line in chunk.data.split(b",\n"):
            yield line[7:43], line


def compare_row_files(
    reader: ArchiveReader, entity: Entity, database: Iterable[EncodedChunk]
) -> ComparedEntity:
    """Walk the entity's members beside `database` (its encoded rows in id order).

    Raises NotComparable when a member is not one row in the export's form, or the ids
    do not ascend with the member names (nothing is known then: hash the entity).
    """
    found = ComparedEntity()
    rows = _database_rows(database)
    current = next(rows, None)
    last_id = b""
    for name in reader.members_of(entity):
        data = reader.read_member_bytes(name)
        text = data.strip()
        if not ROW_ID.match(text) or data != text + b"\n" or b"\n" in text:
            raise NotComparable(f"{name} is not one row in the export's form")
        row_id = text[7:43]
        if row_id <= last_id:
            raise NotComparable("ids not ascending")
        last_id = row_id
        while current is not None and current[0] < row_id:
            current = next(rows, None)  # a database row the archive does not have
        exists = current is not None and current[0] == row_id
        if current is None or current != (row_id, text):
            found.keep(row_id, text, exists)
        found.rows += 1
    for _ in rows:  # read to the end, so the reads ahead go on to the next table
        pass
    return found
