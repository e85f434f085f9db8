"""A full backup: the archive, every table's snapshot files and the games CSV, from one read.

This is what backup_job runs (the schedule, `make run`, the UI, the HTTP API): the same
core path as `bgw export`, with the snapshot files written from the rows on their way
into the archive (snapshot_tee.py), so a backup costs about one export.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bgw_pipeline.core.archive_writer import ProgressCallback
from bgw_pipeline.core.entities import ALL_ENTITIES
from bgw_pipeline.core.export import ExportResult, open_export_source, write_archive_file
from bgw_pipeline.core.snapshot_tee import SnapshotFiles, SnapshotTee

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

    @property
    def games_csv_rows(self) -> int:
        return self.snapshots["games"].rows


def backup_database(
    engine: Engine,
    folders: BackupFolders,
    include_raw_data: bool = False,
    created_at: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> BackupResult:
    """Archive one consistent snapshot of the database and write its snapshot files.

    Every table gets JSON, CSV and Parquet snapshot files (raw data too, even when the
    archive leaves it out); all of them, the games CSV and the archive show one state.
    """
    snapshot_id = uuid.uuid4().hex
    with open_export_source(engine) as source:
        tee = SnapshotTee(
            source, folders.snapshots_dir, folders.games_csv, snapshot_id, also_read=ALL_ENTITIES
        )
        export = write_archive_file(
            tee, folders.archive_dir, include_raw_data, created_at, progress
        )
        tee.finish_remaining()
    return BackupResult(export, dict(tee.files), folders.games_csv, snapshot_id)
