"""Names of everything that shows in the Dagster UI: asset keys, groups, jobs, checks.

Constants in one module so that code, tests, sensors and the HTTP layer never spell a
name twice.
"""

from __future__ import annotations

from bgw_pipeline.core.model.entities import ALL_ENTITIES

# Groups
EXTRACT_GROUP = "bgw_extract"
SNAPSHOT_GROUP = "bgw_snapshots"
ARCHIVE_GROUP = "bgw_archive"
CSV_GROUP = "bgw_csv"

# Assets: one extract asset per table, named like the table.
EXTRACT_KEYS: tuple[str, ...] = tuple(entity.name for entity in ALL_ENTITIES)
EXPORT_ARCHIVE = "export_archive"
GAMES_CSV = "games_csv"


def snapshot_key(entity_name: str) -> str:
    """The snapshot-files asset of an entity: `games_snapshot`."""
    return f"{entity_name}_snapshot"


# Jobs
BACKUP_JOB = "backup_job"
PRICE_HISTORY_CSV_JOB = "price_history_csv_job"
IMPORT_JOB = "import_archive_job"
UNDO_IMPORT_JOB = "undo_import_job"
RETENTION_JOB = "retention_job"
FRESHNESS_JOB = "backup_freshness_job"
DRILL_JOB = "restore_drill_job"

# Schedules
BACKUP_SCHEDULE = "backup_schedule"
RETENTION_SCHEDULE = "retention_schedule"
FRESHNESS_SCHEDULE = "backup_freshness_schedule"
DRILL_SCHEDULE = "restore_drill_schedule"

# Sensors
IMPORT_INBOX_SENSOR = "import_inbox_sensor"

# Checks
UNIQUE_IDS_CHECK = "unique_ids"
REFERENCES_CHECK = "references_to_games"
ARCHIVE_VERIFIED_CHECK = "archive_matches_metadata"
SHRINKAGE_CHECK = "no_sudden_shrinkage"
FRESHNESS_CHECK = "newest_good_backup_is_fresh"
RESTORE_CHECK = "archive_restores"

# Resources
DATABASE_RESOURCE = "database"
STORE_RESOURCE = "archive_store"
INBOX_RESOURCE = "import_inbox"
OPERATIONS_RESOURCE = "operations"

# Run tags
# A caller waits for this run (the HTTP API, `bgw backup`): a transient failure then ends
# the run at once, for the caller to try again later, instead of sleeping through the
# retry schedule meant for scheduled runs.
CALLER_WAITS_TAG = "bgw/caller_waits"
