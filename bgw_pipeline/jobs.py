"""Jobs: what an operator launches from the UI, a schedule or a sensor."""

from __future__ import annotations

import dagster as dg

from bgw_pipeline.csv_ops import price_history_csv
from bgw_pipeline.names import (
    ARCHIVE_GROUP,
    BACKUP_JOB,
    CSV_GROUP,
    EXTRACT_GROUP,
    PRICE_HISTORY_CSV_JOB,
    SNAPSHOT_GROUP,
)

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
