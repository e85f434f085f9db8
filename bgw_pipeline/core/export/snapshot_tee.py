"""JSON snapshot files written from the rows on their way into the archive: one read.

The archive writer pulls each table's encoded rows through `SnapshotTee`, which copies
them, unchanged, into the table's JSON snapshot (the archive's own encoding). The Parquet
and CSV files are written from that JSON afterwards (export/snapshot_formats.py), beside the
archive's checks: parsing and encoding them while the archive was written took a core
the export needs, and made the checks wait for all of it. Every file shows exactly the
state the archive holds, and the database is read once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bgw_pipeline.core.encoding.encoded_chunks import EncodedChunk, encoded_chunks
from bgw_pipeline.core.files.atomic_files import atomic_write
from bgw_pipeline.core.model.entities import Entity


@dataclass(frozen=True)
class SnapshotFiles:
    """The files written for one entity, and how many rows each holds."""

    entity: str
    rows: int
    json_path: Path
    csv_path: Path
    parquet_path: Path
    snapshot_id: str

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.json_path, self.csv_path, self.parquet_path))


def snapshot_paths(snapshots_dir: Path, entity: Entity) -> tuple[Path, Path, Path]:
    """Where an entity's JSON, CSV and Parquet snapshot files go."""
    base = snapshots_dir / entity.name
    return base.with_suffix(".json"), base.with_suffix(".csv"), base.with_suffix(".parquet")


class PendingJson:
    """One entity's JSON snapshot file: written while its rows pass into the archive, kept
    unpublished (a locked partial file) until its Parquet and CSV files are written from
    it, so an entity's three files appear together or not at all."""

    def __init__(self, entity: Entity, snapshots_dir: Path) -> None:
        self.entity = entity
        self.rows = 0
        self.path = snapshot_paths(snapshots_dir, entity)[0]
        self._stack = ExitStack()
        self._json = self._stack.enter_context(atomic_write(self.path, durable=False))
        self._json.write(b'{"' + entity.name.encode() + b'":[')

    def add(self, chunk: EncodedChunk) -> None:
        self._json.write((b"\n" if self.rows == 0 else b",\n") + chunk.data)
        self.rows += chunk.rows

    def complete(self) -> None:
        """The closing bracket; the file is then readable at `partial`, still unpublished."""
        self._json.write(b"\n]}\n" if self.rows else b"]}\n")
        self._json.flush()

    @property
    def partial(self) -> Path:
        return Path(self._json.name)

    def publish(self) -> None:
        self._stack.close()

    def abandon(self, exc: BaseException | None = None) -> None:
        """Remove the partial file."""
        if exc is None:
            exc = RuntimeError("abandoned")
        self._stack.__exit__(type(exc), exc, exc.__traceback__)


class SnapshotTee:
    """An archive source that writes each entity's JSON snapshot from the rows it hands on.

    Args:
        source: the database snapshot (anything `encoded_chunks` reads).
        snapshots_dir: the snapshot files' folder.
        also_read: entities outside the archive (raw data when it is left out) that still
            get snapshot files; `finish_remaining` reads them after the archive.
    """

    def __init__(self, source: Any, snapshots_dir: Path, also_read: Sequence[Entity] = ()) -> None:
        self._source = source
        self._dir = snapshots_dir
        self._also_read = tuple(also_read)
        self.pending: dict[str, PendingJson] = {}

    def count(self, entity: Entity) -> int:
        return int(self._source.count(entity))

    def prefetch(self, entities: Sequence[Entity]) -> None:
        """Read ahead the archive's entities, then the ones only the snapshots need."""
        prefetch = getattr(self._source, "prefetch", None)
        if prefetch is not None:
            prefetch([*entities, *(e for e in self._also_read if e not in entities)])

    def encoded_chunks(self, entity: Entity) -> Iterator[EncodedChunk]:
        files = PendingJson(entity, self._dir)
        try:
            for chunk in encoded_chunks(entity, self._source):
                files.add(chunk)
                yield chunk
            files.complete()
        except BaseException as exc:
            files.abandon(exc)
            raise
        self.pending[entity.name] = files

    def finish_remaining(self) -> None:
        """JSON snapshots of the entities the archive left out."""
        for entity in self._also_read:
            if entity.name not in self.pending:
                for _ in self.encoded_chunks(entity):
                    pass

    def abandon(self) -> None:
        """Remove every unpublished JSON snapshot (the backup failed)."""
        for files in self.pending.values():
            files.abandon()
        self.pending.clear()
