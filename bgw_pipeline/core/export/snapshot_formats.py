"""Parquet and CSV snapshot files from the archive's own rows, in Arrow's C++ code.

The rows are the archive's (the JSON snapshot holds the same bytes, export/snapshot_tee.py),
parsed once by Arrow's JSON reader a block at a time and written as Parquet (zstd) and as
CSV (export/csv_columns.py, column-wise), so memory stays bounded whatever the table's size and
every format shows the archive's state. The parse is shared with the restore drill when
it runs (SnapshotFormats), else done here from the JSON snapshot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bgw_pipeline.core.encoding.encoded_arrow import BATCH_BYTES, table_from_encoded
from bgw_pipeline.core.export.csv_files import GAMES_CSV_HEADER, csv_header, csv_rows
from bgw_pipeline.core.export.snapshot_tee import PendingJson, SnapshotFiles, snapshot_paths
from bgw_pipeline.core.files.atomic_files import atomic_write
from bgw_pipeline.core.files.read_ahead import ReadAhead
from bgw_pipeline.core.model.arrow_tables import arrow_schema
from bgw_pipeline.core.model.entities import GAMES, Entity

SNAPSHOT_ID_KEY = b"bgw.snapshot_id"
MAX_WRITING = 2  # tables handed over by a reader, waiting to be written


def snapshot_row_blocks(json_path: Path, block_bytes: int = BATCH_BYTES) -> Iterator[bytes]:
    """The rows of a JSON snapshot file, about `block_bytes` at a time, each block the row
    texts joined by `,\\n` (what `table_from_encoded` reads). A row holds no raw newline,
    so a block cut after a newline ends between two rows."""
    with open(json_path, "rb") as fh:
        header = fh.readline()  # {"name":[
        if header.rstrip(b"\n").endswith(b"]}"):  # no rows: {"name":[]}
            return
        carry = b""
        while block := fh.read(block_bytes):
            block = carry + block
            cut = block.rfind(b"\n") + 1
            carry, block = block[cut:], block[:cut]
            if block:
                yield _rows_only(block)
        if carry:
            raise RuntimeError(f"{json_path.name} ends inside a row")


def _rows_only(block: bytes) -> bytes:
    """A block of whole lines without its separators: the `,` after each row but the last
    and the closing line `]}` (never a row's whole line: a row starts with `{`)."""
    if block == b"]}\n":
        return b""
    block = block[:-4] if block.endswith(b"\n]}\n") else block[:-1]
    return block.removesuffix(b",")


def _tables(entity: Entity, json_path: Path) -> Iterator[pa.Table]:
    for data in snapshot_row_blocks(json_path):
        if data:
            yield table_from_encoded(entity, data)


class _EntityFormats:
    """One entity's Parquet and CSV files (and the analysts' games CSV, for games), open
    while its tables pass; published with the entity's JSON snapshot when complete."""

    def __init__(
        self, pending: PendingJson, snapshots_dir: Path, games_csv: Path | None, snapshot_id: str
    ) -> None:
        self.pending = pending
        self.rows = 0
        self._snapshot_id = snapshot_id
        entity = pending.entity
        self._paths = snapshot_paths(snapshots_dir, entity)
        self._schema = arrow_schema(entity).with_metadata({SNAPSHOT_ID_KEY: snapshot_id.encode()})
        self._stack = ExitStack()
        self._csv = self._stack.enter_context(atomic_write(self._paths[1], durable=False))
        self._csv.write(csv_header(entity.column_names))
        self._games = None
        if games_csv is not None:
            self._games = self._stack.enter_context(atomic_write(games_csv, durable=False))
            self._games.write(csv_header(GAMES_CSV_HEADER))
        parquet_file = self._stack.enter_context(atomic_write(self._paths[2], durable=False))
        self._parquet = self._stack.enter_context(
            pq.ParquetWriter(parquet_file, self._schema, compression="zstd")
        )

    def add(self, table: pa.Table) -> None:
        self._parquet.write_table(table.replace_schema_metadata(self._schema.metadata))
        self.rows += table.num_rows
        columns = self.pending.entity.column_names
        for batch in table.to_batches():
            self._csv.write(csv_rows(columns, batch))
            if self._games is not None:
                self._games.write(csv_rows(GAMES_CSV_HEADER, batch))

    @property
    def complete(self) -> bool:
        return self.rows == self.pending.rows

    def publish(self) -> SnapshotFiles:
        """Close the Parquet writer, publish each file, then the JSON snapshot."""
        self._stack.close()
        self.pending.publish()
        json_path, csv_path, parquet_path = self._paths
        entity = self.pending.entity.name
        return SnapshotFiles(
            entity, self.rows, json_path, csv_path, parquet_path, self._snapshot_id
        )

    def abandon(self) -> None:
        """Remove the partial Parquet and CSV files (the JSON snapshot stays pending)."""
        exc = RuntimeError("abandoned")
        self._stack.__exit__(type(exc), exc, None)


class SnapshotFormats:
    """The Parquet and CSV files of every pending JSON snapshot, written from the first
    read of the rows that offers them, else from the JSON snapshot itself.

    The restore drill parses every archive member once for its bulk load; handed this
    object (`begin`, `add`, `end` per entity, on its reading thread), it writes the same
    tables to the snapshot files on a thread of its own while SQLite stores them: the
    rows are parsed once for both. `finish` then writes whatever no reader completed
    (entities outside the archive, a drill that stopped early or did not run) from the
    entity's JSON snapshot. An entity's files are published only whole: the rows counted
    equal the JSON's.
    """

    def __init__(
        self,
        pending: dict[str, PendingJson],
        snapshots_dir: Path,
        games_csv: Path,
        snapshot_id: str,
    ) -> None:
        self._pending = pending
        self._dir = snapshots_dir
        self._games_csv = games_csv
        self._snapshot_id = snapshot_id
        self._current: _EntityFormats | None = None
        self._current_failed = False
        # The reader's tables are written on a thread of their own (Parquet's and the
        # CSV's encoders let go of the GIL), at most MAX_WRITING behind the reader.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="bgw-snapshot-files")
        self._writing: deque[Future[None]] = deque()
        self.files: dict[str, SnapshotFiles] = {}

    def _open(self, pending: PendingJson) -> _EntityFormats:
        games_csv = self._games_csv if pending.entity == GAMES else None
        return _EntityFormats(pending, self._dir, games_csv, self._snapshot_id)

    # begin, add and end never raise into the reader: the drill's verdict is its own. An
    # entity whose files failed is written again by `finish`, which raises what it meets.

    def begin(self, entity: Entity) -> None:
        """A reader starts on `entity`'s rows (any entity it began before is dropped)."""
        self.abort()
        pending = self._pending.get(entity.name)
        if pending is not None and entity.name not in self.files:
            try:
                self._current = self._open(pending)
            except Exception:  # noqa: BLE001 - finish() writes it again and says why
                self._current = None

    def add(self, entity: Entity, table: pa.Table) -> None:
        current = self._current
        if current is None or current.pending.entity != entity or self._current_failed:
            return
        while len(self._writing) >= MAX_WRITING:
            self._settle(self._writing.popleft())
        self._writing.append(self._writer.submit(current.add, table))

    def _settle(self, future: Future[None]) -> None:
        try:
            future.result()
        except Exception:  # noqa: BLE001 - finish() writes it again and says why
            self._current_failed = True

    def _drain(self) -> None:
        while self._writing:
            self._settle(self._writing.popleft())

    def end(self, entity: Entity) -> None:
        """The reader has passed all of `entity`'s rows: published if they are all there."""
        self._drain()
        current, self._current = self._current, None
        failed, self._current_failed = self._current_failed, False
        if current is None or current.pending.entity != entity:
            return
        try:
            if current.complete and not failed:
                self.files[entity.name] = current.publish()
                return
        except Exception:  # noqa: BLE001 - finish() writes it again and says why
            pass
        current.abandon()

    def abort(self) -> None:
        """The reader stopped inside an entity: its partial files are removed."""
        self._drain()
        self._current_failed = False
        current, self._current = self._current, None
        if current is not None:
            current.abandon()

    def finish(self) -> dict[str, SnapshotFiles]:
        """Every entity's files, the missing ones written from their JSON snapshots (a block
        parsed on a worker thread while this one writes the last), in the archive's order."""
        self.abort()
        self._writer.shutdown(wait=True)
        for name, pending in self._pending.items():
            if name in self.files:
                continue
            files = self._open(pending)
            try:
                for table in ReadAhead(_tables(pending.entity, pending.partial), name="bgw-parse"):
                    files.add(table)
            except BaseException:
                files.abandon()
                raise
            if not files.complete:
                files.abandon()
                raise RuntimeError(f"{name}: {files.rows} rows read back of {pending.rows}")
            self.files[name] = files.publish()
        return {name: self.files[name] for name in self._pending}

    def abandon(self) -> None:
        """Remove every unpublished file (the backup failed)."""
        self.abort()
        self._writer.shutdown(wait=True)
        for name, pending in self._pending.items():
            if name not in self.files:
                pending.abandon()
