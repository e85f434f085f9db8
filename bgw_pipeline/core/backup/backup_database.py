"""A full backup: the archive, every table's snapshot files and the games CSV, from one read.

This is what backup_job runs (the schedule, `make run`, the UI, the HTTP API): the same
core path as `bgw export`, with the JSON snapshots written from the rows on their way
into the archive (export/snapshot_tee.py) and the Parquet and CSV files from those
(export/snapshot_formats.py) as the archive's restore drill parses it, so a backup costs about
one export and one drill.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bgw_pipeline.core.archive.writer import ProgressCallback
from bgw_pipeline.core.backup.lock import one_backup_at_a_time
from bgw_pipeline.core.export.archive_export import (
    ExportResult,
    open_export_source,
    write_archive_file,
)
from bgw_pipeline.core.export.snapshot_formats import SnapshotFormats
from bgw_pipeline.core.export.snapshot_tee import SnapshotFiles, SnapshotTee
from bgw_pipeline.core.model.entities import ALL_ENTITIES

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

GAMES_CSV_NAME = "games.csv"


@dataclass(frozen=True)
class BackupFolders:
    """Where a backup writes: archives, snapshot files, analysts' CSV files."""

    archive_dir: Path
    snapshots_dir: Path
    csv_dir: Path

    @property
    def games_csv(self) -> Path:
        return self.csv_dir / GAMES_CSV_NAME


@dataclass(frozen=True)
class BackupResult:
    """The archive and the files written beside it, all of one database state."""

    export: ExportResult
    snapshots: dict[str, SnapshotFiles]
    games_csv: Path
    snapshot_id: str
    alongside: object = None  # what `alongside` returned (the archive's checks)

    @property
    def games_csv_rows(self) -> int:
        return self.snapshots["games"].rows


def backup_database(
    engine: Engine,
    folders: BackupFolders,
    include_raw_data: bool = False,
    created_at: datetime | None = None,
    progress: ProgressCallback | None = None,
    alongside: Callable[[ExportResult, SnapshotFormats], object] | None = None,
) -> BackupResult:
    """Archive one consistent snapshot of the database and write its snapshot files.

    One backup at a time per archive folder (backup/lock.py): another raises
    BackupRunningError. Every table gets JSON, CSV and Parquet snapshot files (raw data
    too, even when the archive leaves it out); all of them, the games CSV and the
    archive show one state. The database is read once, into the archive and the JSON
    snapshots; its transaction ends there. Then `alongside(export, formats)` runs (the
    archive's checks: storing it, verifying and restoring it): its restore drill parses
    every archive member anyway and hands the tables to `formats` for the Parquet and
    CSV files, so the rows are parsed once for both. Whatever it did not write (raw data
    outside the archive, all of it without a drill) is written from the JSON snapshots.
    Its value is `BackupResult.alongside`.
    """
    with one_backup_at_a_time(folders.archive_dir):
        return _backup(engine, folders, include_raw_data, created_at, progress, alongside)


def _backup(
    engine: Engine,
    folders: BackupFolders,
    include_raw_data: bool,
    created_at: datetime | None,
    progress: ProgressCallback | None,
    alongside: Callable[[ExportResult, SnapshotFormats], object] | None,
) -> BackupResult:
    snapshot_id = uuid.uuid4().hex
    with open_export_source(engine) as source:
        tee = SnapshotTee(source, folders.snapshots_dir, also_read=ALL_ENTITIES)
        try:
            export = write_archive_file(
                tee, folders.archive_dir, include_raw_data, created_at, progress
            )
            tee.finish_remaining()
        except BaseException:
            tee.abandon()
            raise
    formats = SnapshotFormats(tee.pending, folders.snapshots_dir, folders.games_csv, snapshot_id)
    try:
        outcome = alongside(export, formats) if alongside is not None else None
        snapshots = formats.finish()
    except BaseException:
        formats.abandon()
        raise
    return BackupResult(export, snapshots, folders.games_csv, snapshot_id, outcome)
