"""Jobs: what an operator launches from the UI, a schedule or a sensor."""

from __future__ import annotations

import dagster as dg

from bgw_pipeline.csv_ops import price_history_csv
from bgw_pipeline.import_ops import import_archive
from bgw_pipeline.names import (
    ARCHIVE_GROUP,
    BACKUP_JOB,
    CSV_GROUP,
    EXTRACT_GROUP,
    IMPORT_JOB,
    PRICE_HISTORY_CSV_JOB,
    SNAPSHOT_GROUP,
    UNDO_IMPORT_JOB,
)
from bgw_pipeline.undo_ops import undo_import_op

backup_job = dg.define_asset_job(
    name=BACKUP_JOB,
    selection=dg.AssetSelection.groups(EXTRACT_GROUP, SNAPSHOT_GROUP, ARCHIVE_GROUP, CSV_GROUP),
    description="Full backup: extract every table, write snapshots, the ZIP archive and CSV.",
    tags={"bgw/kind": "backup"},
)


@dg.job(name=PRICE_HISTORY_CSV_JOB, tags={"bgw/kind": "csv"})
def price_history_csv_job() -> None:
    """Price history of one game as a CSV file for analysts (Excel-safe)."""
    price_history_csv()


@dg.job(name=IMPORT_JOB, tags={"bgw/kind": "import"})
def import_archive_job() -> None:
    """Import an archive: validate it, show the changes, and write them only when asked."""
    import_archive()


@dg.job(name=UNDO_IMPORT_JOB, tags={"bgw/kind": "import"})
def undo_import_job() -> None:
    """Undo one applied import from its safety archive."""
    undo_import_op()
