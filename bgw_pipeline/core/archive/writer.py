"""Writing the export archive: members streamed straight into the ZIP, then metadata.json.

The bytes are deterministic: members in a fixed order, fixed entry timestamps (the
archive's `created_at`), fixed permissions and one compression level, so the same data
exported at the same `created_at` gives the same file.
"""

from __future__ import annotations

import contextlib
import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import orjson
from isal import isal_zlib

from bgw_pipeline.core.archive.format import METADATA_MEMBER, build_metadata
from bgw_pipeline.core.encoding.encoded_chunks import ArchiveSource, encoded_chunks
from bgw_pipeline.core.model.entities import Entity, entities_for, listing_member
from bgw_pipeline.core.model.errors import SourceDataError
from bgw_pipeline.core.model.values import parse_timestamp

ProgressCallback = Callable[[str, int, int], None]
PROGRESS_EVERY = 100_000
FLUSH_BYTES = 1 << 20
ISAL_LEVEL = 2  # ISA-L's default; output within about 15% of zlib level 6


@dataclass
class ArchiveContents:
    """What an archive holds: its metadata and the facts a caller reports."""

    metadata: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def checksum(self) -> str:
        return str(self.metadata["checksum"])


class _HashingMember:
    """A ZIP member being written, with its SHA-256 and byte count kept on the way."""

    def __init__(
        self, zf: zipfile.ZipFile, name: str, date_time: tuple[int, ...], compress: bool = True
    ) -> None:
        info = zipfile.ZipInfo(name, date_time=date_time)  # type: ignore[arg-type]
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.create_system = 3
        info.external_attr = 0o100644 << 16
        self.name = name
        self._handle = zf.open(info, "w")
        if compress:
            # ISA-L writes standard deflate (any unzip reads it) about ten times faster
            # than zlib level 6, for slightly bigger output; zipfile has no hook for it.
            self._handle._compressor = isal_zlib.compressobj(  # type: ignore[attr-defined]
                ISAL_LEVEL, isal_zlib.DEFLATED, -15
            )
        self._pending = bytearray()
        self._sha = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> None:
        # The compressor always gets exactly FLUSH_BYTES at a time, however the rows came
        # in (one row, a slice of megabytes): its output then depends on the bytes alone,
        # so the same data gives the same file. Small rows gather in a buffer first.
        view = memoryview(data)
        if self._pending:
            take = FLUSH_BYTES - len(self._pending)
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) < FLUSH_BYTES:
                return
            self._emit(self._pending)
            self._pending = bytearray()
        while len(view) >= FLUSH_BYTES:
            self._emit(view[:FLUSH_BYTES])
            view = view[FLUSH_BYTES:]
        self._pending += view

    def _emit(self, block: bytes | bytearray | memoryview) -> None:
        self._sha.update(block)
        self.bytes += len(block)
        self._handle.write(block)

    def close(self) -> dict[str, Any]:
        if self._pending:
            self._emit(self._pending)
        self._handle.close()
        return {"sha256": self._sha.hexdigest(), "bytes": self.bytes}


def _zip_date_time(created_at: datetime) -> tuple[int, int, int, int, int, int]:
    dt = parse_timestamp(created_at)
    return (max(dt.year, 1980), dt.month, dt.day, dt.hour, dt.minute, dt.second)


class DiscardedBytes:
    """A write-only file that keeps nothing: zipfile then streams (no seeking back), and
    an archive's checksum and counts come out without the archive (the drill's re-export)."""

    def __init__(self) -> None:
        self._position = 0

    def write(self, data: bytes) -> int:
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass


class ArchiveWriter:
    """Writes one archive to a binary file object; `compress=False` stores the members
    (for `DiscardedBytes`, where only the checksum matters)."""

    def __init__(
        self,
        fileobj: IO[bytes] | DiscardedBytes,
        created_at: datetime,
        include_raw_data: bool,
        progress: ProgressCallback | None = None,
        compress: bool = True,
    ) -> None:
        self._compress = compress
        self._zf = zipfile.ZipFile(fileobj, "w", zipfile.ZIP_DEFLATED, allowZip64=True)  # type: ignore[arg-type]
        self._created_at = parse_timestamp(created_at).replace(microsecond=0)
        self._date_time = _zip_date_time(self._created_at)
        self._include_raw = include_raw_data
        self._progress = progress
        self._files: dict[str, dict[str, Any]] = {}
        self._counts: dict[str, int] = {}

    def write(self, source: ArchiveSource) -> ArchiveContents:
        """Write every entity from `source`, then metadata.json; close the ZIP."""
        entities = entities_for(self._include_raw)
        prefetch = getattr(source, "prefetch", None)
        if prefetch is not None:  # a database snapshot reads the next table ahead
            prefetch(entities)
        try:
            for entity in entities:
                if entity.one_file_per_row:
                    self._write_row_files(entity, source)
                else:
                    self._write_table_member(entity, source)
            metadata = build_metadata(
                self._created_at, self._counts, self._files, self._include_raw
            )
            member = _HashingMember(self._zf, METADATA_MEMBER, self._date_time, self._compress)
            member.write(orjson.dumps(metadata, option=orjson.OPT_INDENT_2) + b"\n")
            member.close()
        except BaseException:
            # The archive is abandoned (its .partial file is removed by the caller): close
            # quietly so the error that stopped it is the one reported.
            self._zf._writing = False  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                self._zf.close()
            raise
        self._zf.close()
        return ArchiveContents(metadata=metadata, counts=dict(self._counts))

    def _total(self, entity: Entity, source: ArchiveSource) -> int:
        # Only progress needs the total: a PostgreSQL source counts the rows when asked.
        return source.count(entity) if self._progress is not None else 0

    def _report(self, entity: Entity, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(entity.name, done, total)

    def _write_table_member(self, entity: Entity, source: ArchiveSource) -> None:
        total = self._total(entity, source)
        member = _HashingMember(self._zf, entity.member, self._date_time, self._compress)
        member.write(b'{"' + entity.name.encode() + b'":[')
        rows, last_id, reported = 0, None, 0
        for chunk in encoded_chunks(entity, source):
            if last_id is not None and chunk.first_id <= last_id:
                raise SourceDataError(
                    f"{entity.name}: ids are not unique and ascending as read "
                    f"({last_id!r} then {chunk.first_id!r})"
                )
            member.write(b"\n" if rows == 0 else b",\n")
            member.write(chunk.data)
            rows += chunk.rows
            last_id = chunk.last_id
            if rows - reported >= PROGRESS_EVERY:
                self._report(entity, rows, total)
                reported = rows
        member.write(b"\n]}\n" if rows else b"]}\n")
        self._files[entity.member] = member.close()
        self._counts[entity.name] = rows
        self._report(entity, rows, total)

    def _write_row_files(self, entity: Entity, source: ArchiveSource) -> None:
        total = self._total(entity, source)
        rows, last_id = 0, ""
        for chunk in encoded_chunks(entity, source):
            # A JSON row holds no raw newline, so ",\n" only ever separates rows; each row
            # starts with its id, `{"id":"<36 characters>"`.
            for encoded in chunk.data.split(b",\n"):
                row_id = encoded[7:43].decode()
                if row_id <= last_id:
                    raise SourceDataError(f"{entity.name}: ids are not unique and ascending")
                last_id = row_id
                member = _HashingMember(
                    self._zf, listing_member(row_id), self._date_time, self._compress
                )
                member.write(encoded + b"\n")
                self._files[member.name] = member.close()
                rows += 1
                if rows % PROGRESS_EVERY == 0:
                    self._report(entity, rows, total)
        self._counts[entity.name] = rows
        self._report(entity, rows, total)
