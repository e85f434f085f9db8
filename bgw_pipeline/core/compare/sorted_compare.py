"""The first pass of an import when both sides come sorted by id: the archive's rows
against the database's own export of the same rows, byte for byte, without hashing.

The spec writes a member's rows sorted by id, and the export encodes a database row in
exactly the bytes an unchanged archive row holds, rows joined by `,\\n` on both sides.
So the member's row region and the database's encoded rows are compared as two byte
streams: a span of equal bytes is a run of unchanged rows (one `memcmp`, no row split),
and only where the streams part is a row looked at, by its id: an id on both sides whose
text differs is an update, an id only in the archive is new, an id only in the database
is left alone. The hashes of the other first pass (compare/archive_keys.py, compare/row_keys.py)
find the same rows at the cost of an MD5 of every row on both sides. The texts of the rows in
question are kept while they fit a budget, so the member need not be read again.

A member not in that shape (a row not in the export's form, ids that are not lowercase
or not ascending, another header or ending) raises `NotComparable` before anything is
decided from it; the caller then hashes that entity instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from bgw_pipeline.core.archive.reader import ArchiveReader
from bgw_pipeline.core.compare.event_days import EventDays
from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk
from bgw_pipeline.core.model.entities import EVENTS, Entity

TEXT_BUDGET_BYTES = 64 << 20  # rows in question kept per entity (1% of L's prices: 2 MB)
READ_BYTES = 1 << 20
# Bytes compared at once: from a few rows after a difference, doubling while equal.
FIRST_STEP_BYTES, LAST_STEP_BYTES = 4 << 10, 1 << 20
_SEPARATOR = b",\n"
ROW_ID = re.compile(rb'\{"id":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"')
_EVENT_DAY = re.compile(rb'"created_at":"([0-9]{4}-[0-9]{2}-[0-9]{2})T')


class NotComparable(Exception):
    """This member cannot be walked in id order beside the database."""


@dataclass
class ComparedEntity:
    """What walking one entity's member beside the database found (ids as ASCII bytes;
    the database's own, when collected, as Arrow arrays)."""

    rows: int = 0
    open_ids: list[bytes] = field(default_factory=list)  # new or different rows
    existing_ids: list[bytes] = field(default_factory=list)  # of those, the database's
    database_ids: list[pa.Array] = field(default_factory=list)  # all of them, when asked
    texts: list[bytes] | None = field(default_factory=list)  # the open rows' texts
    text_bytes: int = 0

    @property
    def open_rows(self) -> int:
        return len(self.open_ids)

    def keep(self, row_id: bytes, text: bytes, exists: bool) -> None:
        """A row in question: its id and text, and whether the database has its id."""
        self.open_ids.append(row_id)
        if exists:
            self.existing_ids.append(row_id)
        if self.texts is not None:
            self.text_bytes += len(text)
            if self.text_bytes > TEXT_BUDGET_BYTES:
                self.texts = None  # the second pass reads the member again
            else:
                self.texts.append(text)


class _Stream:
    """A byte stream with a read position, refilled from `more` (None: no more)."""

    def __init__(self, more: Callable[[], bytes | None], separator: bytes = b"") -> None:
        self._more = more
        self._separator = separator  # after every block
        self.data = b""
        self.pos = 0
        self.done = False

    def ahead(self) -> int:
        return len(self.data) - self.pos

    def fill(self, wanted: int) -> None:
        """Have at least `wanted` bytes after the position, unless the stream ends first."""
        if self.done or self.ahead() >= wanted:
            return
        parts: list[bytes | memoryview] = [memoryview(self.data)[self.pos :]]
        have = self.ahead()
        while have < wanted and (block := self._more()) is not None:
            parts.append(block)
            have += len(block) + len(self._separator)
            if self._separator:
                parts.append(self._separator)
        self.done = have < wanted
        self.data, self.pos = b"".join(parts), 0

    def row_end(self) -> int:
        """The end of the row at the position (before its separator), reading on as needed."""
        while (end := self.data.find(_SEPARATOR, self.pos)) < 0 and not self.done:
            self.fill(2 * self.ahead() + READ_BYTES)
        if end < 0:
            raise NotComparable("a row without its separator")
        return end


def _archive_blocks(reader: ArchiveReader, entity: Entity) -> Iterator[bytes]:
    """The member's row region, every row followed by `,\\n` (the last one too)."""
    stream = reader.open_member(entity.member)
    header = b'{"' + entity.name.encode() + b'":['
    data = stream.read(READ_BYTES)
    while b"\n" not in data and (block := stream.read(READ_BYTES)):
        data += block
    first, _, pending = data.partition(b"\n")
    if first == header + b"]}" and not (pending + stream.read()).strip():
        return  # no rows
    if first != header:
        raise NotComparable("not the export's header line")
    while block := stream.read(READ_BYTES):
        # The member's ending is in its last bytes: the last block read is held back.
        if len(block) >= 16:
            if pending:
                yield pending
            pending = block
        else:
            pending += block
    ending = pending.rstrip()
    if not ending.endswith(b"\n]}"):
        raise NotComparable("not the export's ending")
    yield ending[:-3] + _SEPARATOR


class _DatabaseBlocks:
    """The database's encoded rows, a block at a time (rows joined by `,\\n`); counts
    the rows read, and keeps every id when asked (the games: references)."""

    def __init__(self, chunks: Iterable[EncodedChunk], ids: list[pa.Array] | None) -> None:
        self._chunks = iter(chunks)
        self._ids = ids
        self.rows = 0

    def __call__(self) -> bytes | None:
        chunk = next(self._chunks, None)
        if chunk is None:
            return None
        self.rows += chunk.rows
        if self._ids is not None:
            ids = [line[7:43] for line in chunk.data.split(_SEPARATOR)]
            self._ids.append(id_array(ids))
        return chunk.data


def _reader(blocks: Iterator[bytes]) -> Callable[[], bytes | None]:
    return lambda: next(blocks, None)


class _Walk:
    """Both streams, positioned at the start of a row each."""

    def __init__(
        self, archive: _Stream, database: _Stream, found: ComparedEntity, days: EventDays | None
    ) -> None:
        self.archive, self.database, self.found, self.days = archive, database, found, days
        self.last_id = b""
        # Rows are counted from the database's side: equal spans hold its rows.
        self.archive_only = 0
        self.database_only = 0

    def _take_archive(
        self, end: int, first_id: bytes, last_start: int, encoded: bool = False
    ) -> None:
        """Pass the archive over complete rows, up to `end` (just after a separator);
        `encoded`: they are the database's own encoding."""
        a = self.archive
        if first_id <= self.last_id:
            raise NotComparable("ids not ascending")
        self.last_id = a.data[last_start + 7 : last_start + 43]
        if self.days is not None:
            self.days.see_region(a.data, a.pos, end, encoded)
        a.pos = end

    def equal_rows(self, length: int) -> bool:
        """Pass both streams over the complete rows in their first `length` bytes, which
        are equal: the database's own rows, so in the export's form and in id order."""
        a, d = self.archive, self.database
        boundary = a.data.rfind(_SEPARATOR, a.pos, a.pos + length)
        if boundary < 0:
            return False
        before = a.data.rfind(_SEPARATOR, a.pos, boundary)
        last_start = before + 2 if before >= 0 else a.pos
        taken = boundary + 2 - a.pos
        self._take_archive(boundary + 2, a.data[a.pos + 7 : a.pos + 43], last_start, True)
        d.pos += taken
        return True

    def one_row(self) -> None:
        """Settle the row at the archive's position against the database's."""
        a, d = self.archive, self.database
        end = a.row_end()
        if not ROW_ID.match(a.data, a.pos) or a.data.find(b"\n", a.pos, end) >= 0:
            raise NotComparable("a row not in the export's form")
        row_id, text = a.data[a.pos + 7 : a.pos + 43], a.data[a.pos : end]
        exists = same = False
        if d.ahead():
            d_end = d.row_end()
            d_id = d.data[d.pos + 7 : d.pos + 43]
            if d_id < row_id:  # a database row the archive does not have: left alone
                d.pos = d_end + 2
                self.database_only += 1
                return
            exists = d_id == row_id
            same = exists and text == d.data[d.pos : d_end]
            if exists:
                d.pos = d_end + 2
        self._take_archive(end + 2, row_id, a.pos)
        self.archive_only += not exists
        if not (exists and same):
            self.found.keep(row_id, text, exists)


def _walk(walk: _Walk) -> None:
    """Both streams to the end of the archive's."""
    a, d = walk.archive, walk.database
    step = FIRST_STEP_BYTES
    while True:
        a.fill(step)
        d.fill(step)
        if not a.ahead():
            return
        n = min(a.ahead(), d.ahead(), step)
        same = 0
        # startswith compares in place; slicing both sides would copy every byte twice.
        if n and a.data.startswith(memoryview(d.data)[d.pos : d.pos + n], a.pos):
            same = n
        elif n:
            left = np.frombuffer(a.data, np.uint8, n, a.pos)
            right = np.frombuffer(d.data, np.uint8, n, d.pos)
            same = int(np.argmax(left != right))
        if same and walk.equal_rows(same):
            step = min(2 * step, LAST_STEP_BYTES) if same == n else FIRST_STEP_BYTES
        elif same == n == step:
            step *= 2  # a row longer than the step, equal so far: look further
        else:
            walk.one_row()
            step = FIRST_STEP_BYTES


def compare_sorted(
    reader: ArchiveReader,
    entity: Entity,
    database: Iterable[EncodedChunk],
    days: EventDays | None = None,
    all_database_ids: bool = False,
) -> ComparedEntity:
    """Walk the entity's member beside `database` (its encoded rows in id order).

    Raises NotComparable when the member is not in the export's own layout with
    ascending lowercase ids (nothing is known then: hash the entity instead).
    `all_database_ids` also collects the id of every database row (references need them).
    """
    if entity.one_file_per_row or not reader.has_line_layout(entity):
        raise NotComparable("not one row per line")
    found = ComparedEntity()
    archive = _Stream(_reader(_archive_blocks(reader, entity)))
    blocks = _DatabaseBlocks(database, found.database_ids if all_database_ids else None)
    rows = _Stream(blocks, _SEPARATOR)  # every row followed by `,\\n`, as the archive's
    walk = _Walk(archive, rows, found, days if entity is EVENTS else None)
    _walk(walk)
    unread = rows.data.count(b"\n", rows.pos)
    found.rows = blocks.rows - unread - walk.database_only + walk.archive_only
    while blocks() is not None:  # read to the end, so the reads ahead go on to the next table
        pass
    return found


def id_array(ids: list[bytes]) -> pa.Array:
    """Ids (ASCII bytes) as an Arrow string array: the binary array's buffers, checked
    to be UTF-8, not a cast (which loads pyarrow.compute, about 0.07 s of a dry run)."""
    binary = pa.array(ids, pa.binary())
    text = pa.Array.from_buffers(pa.string(), len(binary), binary.buffers(), binary.null_count)
    text.validate(full=True)  # raises on bytes that are not UTF-8
    return text
