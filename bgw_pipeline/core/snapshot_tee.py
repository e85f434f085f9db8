"""Snapshot files written from the rows on their way into the archive: one read, every format.

A backup used to stage every table as Parquet, then read the staged rows again for the
archive, for each snapshot format and for the CSV, encoding them in Python each time.
Here the archive writer pulls each table's encoded rows through `SnapshotTee`, which
copies them, unchanged, into the table's JSON snapshot (the archive's own encoding) and
parses them once in Arrow's C++ reader for the Parquet and CSV files. Every file then
shows exactly the state the archive holds, and the database is read once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bgw_pipeline.core.arrow_tables import arrow_schema
from bgw_pipeline.core.atomic_files import atomic_write
from bgw_pipeline.core.csv_export import GAMES_CSV_HEADER, csv_header, csv_rows
from bgw_pipeline.core.encoded_arrow import BATCH_BYTES, table_from_encoded
from bgw_pipeline.core.encoded_chunks import EncodedChunk, encoded_chunks
from bgw_pipeline.core.entities import GAMES, Entity

SNAPSHOT_ID_KEY = b"bgw.snapshot_id"
MAX_CONVERTING = 2  # batches of encoded rows waiting for the worker thread


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


class _EntityFiles:
    """One entity's snapshot files, open while its rows pass; published only when complete."""

    def __init__(
        self,
        entity: Entity,
        snapshots_dir: Path,
        games_csv: Path | None,
        snapshot_id: str,
        worker: ThreadPoolExecutor,
    ) -> None:
        self.entity = entity
        self._worker = worker
        self._converting: deque[Future[None]] = deque()
        self.rows = 0
        self._stack = ExitStack()
        self._paths = snapshot_paths(snapshots_dir, entity)
        json_path, csv_path, parquet_path = self._paths
        self._json = self._stack.enter_context(atomic_write(json_path, durable=False))
        self._csv = self._stack.enter_context(atomic_write(csv_path, durable=False))
        self._csv.write(csv_header(entity.column_names))
        self._games_csv = None
        if games_csv is not None:
            self._games_csv = self._stack.enter_context(atomic_write(games_csv, durable=False))
            self._games_csv.write(csv_header(GAMES_CSV_HEADER))
        schema = arrow_schema(entity).with_metadata({SNAPSHOT_ID_KEY: snapshot_id.encode()})
        parquet_file = self._stack.enter_context(atomic_write(parquet_path, durable=False))
        self._parquet = self._stack.enter_context(
            pq.ParquetWriter(parquet_file, schema, compression="zstd")
        )
        self._schema = schema
        self._snapshot_id = snapshot_id
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._json.write(b'{"' + entity.name.encode() + b'":[')

    def add(self, chunk: EncodedChunk) -> None:
        self._json.write((b"\n" if self.rows == 0 else b",\n") + chunk.data)
        self.rows += chunk.rows
        self._pending.append(chunk.data)
        self._pending_bytes += len(chunk.data)
        if self._pending_bytes >= BATCH_BYTES:
            self._flush()

    def _flush(self) -> None:
        """Hand the gathered rows to the worker thread: Arrow's parse, the Parquet and CSV
        encoding release the GIL, so they run beside the archive's compression. At most
        MAX_CONVERTING batches wait, so memory stays bounded whatever the table's size."""
        if not self._pending:
            return
        data = b",\n".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        while len(self._converting) >= MAX_CONVERTING:
            self._converting.popleft().result()
        self._converting.append(self._worker.submit(self._convert, data))

    def _convert(self, data: bytes) -> None:
        table = table_from_encoded(self.entity, data)
        self._parquet.write_table(table.replace_schema_metadata(self._schema.metadata))
        for batch in table.to_batches():
            self._csv.write(csv_rows(self.entity.column_names, batch))
            if self._games_csv is not None:
                self._games_csv.write(csv_rows(GAMES_CSV_HEADER, batch))

    def _drain(self) -> None:
        while self._converting:
            self._converting.popleft().result()

    def finish(self) -> SnapshotFiles:
        self._flush()
        self._drain()
        self._json.write(b"\n]}\n" if self.rows else b"]}\n")
        self._stack.close()  # closes the Parquet writer first, then publishes each file
        json_path, csv_path, parquet_path = self._paths
        return SnapshotFiles(
            self.entity.name, self.rows, json_path, csv_path, parquet_path, self._snapshot_id
        )

    def abandon(self, exc: BaseException) -> None:
        """Remove the partial files: the block ends with the error that stopped the rows."""
        for future in self._converting:
            future.cancel()
        wait(self._converting)
        self._stack.__exit__(type(exc), exc, exc.__traceback__)


class SnapshotTee:
    """An archive source that writes each entity's snapshot files from the rows it hands on.

    Args:
        source: the database snapshot (anything `encoded_chunks` reads).
        snapshots_dir: the snapshot files' folder.
        games_csv: the analysts' games CSV (the API's 16 columns), written with games.
        snapshot_id: recorded in every Parquet file, to tell one backup's files from another's.
        also_read: entities outside the archive (raw data when it is left out) that still
            get snapshot files; `finish_remaining` reads them after the archive.
    """

    def __init__(
        self,
        source: Any,
        snapshots_dir: Path,
        games_csv: Path,
        snapshot_id: str,
        also_read: Sequence[Entity] = (),
    ) -> None:
        self._source = source
        self._dir = snapshots_dir
        self._games_csv = games_csv
        self._snapshot_id = snapshot_id
        self._also_read = tuple(also_read)
        self.files: dict[str, SnapshotFiles] = {}
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="bgw-snapshot-files")

    def close(self) -> None:
        """Stop the worker thread (the files are finished or abandoned by then)."""
        self._worker.shutdown(wait=True, cancel_futures=True)

    def count(self, entity: Entity) -> int:
        return int(self._source.count(entity))

    def prefetch(self, entities: Sequence[Entity]) -> None:
        """Read ahead the archive's entities, then the ones only the snapshots need."""
        prefetch = getattr(self._source, "prefetch", None)
        if prefetch is not None:
            prefetch([*entities, *(e for e in self._also_read if e not in entities)])

    def encoded_chunks(self, entity: Entity) -> Iterator[EncodedChunk]:
        games_csv = self._games_csv if entity == GAMES else None
        files = _EntityFiles(entity, self._dir, games_csv, self._snapshot_id, self._worker)
        try:
            for chunk in encoded_chunks(entity, self._source):
                files.add(chunk)
                yield chunk
        except BaseException as exc:
            files.abandon(exc)
            raise
        self.files[entity.name] = files.finish()

    def finish_remaining(self) -> None:
        """Snapshot files of the entities the archive left out."""
        for entity in self._also_read:
            if entity.name not in self.files:
                for _ in self.encoded_chunks(entity):
                    pass
