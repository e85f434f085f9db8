"""Jobs: what an operator launches from the UI, a schedule or a sensor."""

from __future__ import annotations

import dagster as dg

from bgw_pipeline.defs.names import (
    ARCHIVE_GROUP,
    BACKUP_JOB,
    CSV_GROUP,
    DRILL_JOB,
    EXPORT_ARCHIVE,
    EXTRACT_GROUP,
    FRESHNESS_CHECK,
    FRESHNESS_JOB,
    IMPORT_JOB,
    PRICE_HISTORY_CSV_JOB,
    RETENTION_JOB,
    SNAPSHOT_GROUP,
    UNDO_IMPORT_JOB,
)
from bgw_pipeline.defs.ops.import_archive import import_archive
from bgw_pipeline.defs.ops.price_history_csv import price_history_csv
from bgw_pipeline.defs.ops.restore_drill import restore_drill_op
from bgw_pipeline.defs.ops.retention import apply_retention_op
from bgw_pipeline.defs.ops.undo_import import undo_import_op

FRESHNESS = dg.AssetCheckKey(dg.AssetKey(EXPORT_ARCHIVE), FRESHNESS_CHECK)

backup_job = dg.define_asset_job(
    name=BACKUP_JOB,
    # Freshness watches the archive from outside; run inside the backup it would race
    # the verification that makes the new archive count as good.
    selection=dg.AssetSelection.groups(EXTRACT_GROUP, SNAPSHOT_GROUP, ARCHIVE_GROUP, CSV_GROUP)
    - dg.AssetSelection.checks(FRESHNESS),
    description="Full backup: every table read once into the ZIP archive, snapshots and CSV, "
    "then verified and restored in a scratch database.",
    tags={"bgw/kind": "backup"},
)


backup_freshness_job = dg.define_asset_job(
    name=FRESHNESS_JOB,
    selection=dg.AssetSelection.checks(FRESHNESS),
    description="Alert when the newest good backup is older than BACKUP_MAX_AGE_HOURS.",
)


@dg.job(name=RETENTION_JOB, tags={"bgw/kind": "retention"})
def retention_job() -> None:
    """Delete old archives, never the newest good or verified one, nor one being imported."""
    apply_retention_op()


@dg.job(name=DRILL_JOB, tags={"bgw/kind": "drill"})
def restore_drill_job() -> None:
    """Prove the newest archive restores: scratch database, counts, references, checksum."""
    restore_drill_op()


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
