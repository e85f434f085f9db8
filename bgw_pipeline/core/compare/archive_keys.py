"""The first pass of an import: every archive row's id and hash, without parsing rows.

A member written one row per line is read in blocks; each line in the export's own form
(`{"id":"<36 characters>",...}`) gives its id by position and its MD5 by one hashlib call,
which is several times cheaper than parsing it. Other lines follow the same rules as the
parser (stripped, one trailing comma dropped), so both passes agree on every id: the
second pass selects the rows to parse by these ids.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from bgw_pipeline.core.archive.lines import line_id
from bgw_pipeline.core.archive.reader import ArchiveReader
from bgw_pipeline.core.compare.diff_store import DiffStore
from bgw_pipeline.core.compare.event_days import EventDays
from bgw_pipeline.core.compare.line_keys import canonical_heads, line_key_batch
from bgw_pipeline.core.compare.row_keys import archive_key_batches, fast_md5
from bgw_pipeline.core.model.entities import EVENTS, Entity
from bgw_pipeline.core.model.errors import ArchiveError

BLOCK_BYTES = 8 << 20
_PREFIX = b'{"id":"'


def _row_text(line: bytes) -> bytes:
    """What the parser reads of a line: stripped, without one trailing comma."""
    if line[:7] == _PREFIX and line[-1:] in (b"}", b","):
        return line[:-1] if line[-1:] == b"," else line
    text = line.strip()
    return text[:-1] if text.endswith(b",") else text


def _batch(texts: list[bytes]) -> pa.RecordBatch:
    ids = [line_id(t) for t in texts]
    hashes = [
        None if i is None else fast_md5(t).hexdigest() for i, t in zip(ids, texts, strict=True)
    ]
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array(hashes, pa.string()),
            pa.nulls(len(ids), pa.string()),
        ],
        names=["id", "h", "nk"],
    )


def _fast_texts(region: bytes) -> list[bytes] | None:
    """The rows of a region whose every line ends with a comma, split in one call.

    Such a line starting with `{` reads the same stripped (as the parser reads it), so the
    split gives exactly the parser's row texts; `line_key_batch` checks the starts.
    """
    if not region.endswith(b",\n"):
        return None
    texts = region.split(b",\n")[:-1]
    return texts if len(texts) == region.count(b"\n") else None


def _slow_texts(lines: list[bytes], entity: Entity, closed: bool) -> tuple[list[bytes], bool]:
    """Row texts of lines that may hold the closing `]}`; whether the member is closed."""
    texts: list[bytes] = []
    for line in lines:
        if closed:
            if line.strip():
                raise ArchiveError(f"{entity.member} has data after its closing ']}}'")
        elif line[:1] == b"]" and line.strip() == b"]}":
            closed = True
        else:
            texts.append(_row_text(line))
    return texts, closed


def _row_text_blocks(reader: ArchiveReader, entity: Entity) -> Iterator[list[bytes]]:
    """The member's row texts, as the parser reads them, a block of lines at a time."""
    stream = reader.open_member(entity.member)
    carry, started, closed = b"", False, False
    while True:
        block = stream.read(BLOCK_BYTES)
        data = carry + block
        if block:
            cut = data.rfind(b"\n") + 1
            region, carry = data[:cut], data[cut:]
        else:
            region, carry = (data + b"\n" if data else b""), b""
        if not started and region:
            header, region = region.split(b"\n", 1)
            started, closed = True, header.strip().endswith(b"]}")
        texts = None if closed else _fast_texts(region)
        if texts is None:
            texts, closed = _slow_texts(region.split(b"\n")[:-1], entity, closed)
        if texts:
            yield texts
        if not block:
            break
    if not closed:
        raise ArchiveError(f"{entity.member} ends before its closing ']}}': truncated?")


def _line_batches(
    reader: ArchiveReader, entity: Entity, days: EventDays | None
) -> Iterator[pa.RecordBatch]:
    for texts in _row_text_blocks(reader, entity):
        if days is not None:
            days.see_block(texts)
        batch = line_key_batch(texts)
        yield batch if batch is not None else _batch([_row_text(t) for t in texts])


def texts_in_question(
    reader: ArchiveReader, entity: Entity, wanted: set[str], all_canonical: bool = False
) -> Iterator[list[bytes]] | None:
    """The second pass: the row texts whose id is in `wanted` or that have no id in the
    export's form (those were never compared), unparsed; None when the member is not
    written one row per line. A block of canonical rows is filtered with one set lookup
    per row, the texts read exactly as the first pass read them. `all_canonical`: the
    first pass found an id at the start of every line, so the starts need no check."""
    if entity.one_file_per_row or not reader.has_line_layout(entity):
        return None
    wanted_ids = {row_id.encode("ascii") for row_id in wanted}

    def blocks() -> Iterator[list[bytes]]:
        for texts in _row_text_blocks(reader, entity):
            if all_canonical or canonical_heads(texts) is not None:
                kept = [t for t in texts if t[7:43] in wanted_ids]
            else:
                rows = [_row_text(t) for t in texts]
                kept = [t for t in rows if (i := line_id(t)) is None or i in wanted]
            if kept:
                yield kept

    return blocks()


def key_batches(
    reader: ArchiveReader, entity: Entity, days: EventDays | None = None
) -> Iterator[pa.RecordBatch]:
    """(id, h, null) of every archive row of `entity`; `days` collects the events' dates."""
    if entity.one_file_per_row or not reader.has_line_layout(entity):
        if days is not None and entity is EVENTS:
            days.earliest = days.latest = None  # not known without parsing: summary parses
        return archive_key_batches(reader, entity)
    return _line_batches(reader, entity, days if entity is EVENTS else None)


def load_archive_keys(
    store: DiffStore, reader: ArchiveReader, entity: Entity, days: EventDays | None = None
) -> int:
    """Fill `ak_<entity>` (id, h, null) with every archive row; return the row count."""
    return store.load_keys(f"ak_{entity.name}", key_batches(reader, entity, days))
