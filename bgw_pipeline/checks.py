"""Asset checks: the staged tables are sound, and the archive matches its own metadata."""

from datetime import UTC, datetime

import dagster as dg

from bgw_pipeline.core.archive_catalog import list_archives
from bgw_pipeline.core.archive_reader import ArchiveLimits, open_archive, verify_archive
from bgw_pipeline.core.entities import ALL_ENTITIES, CORE_ENTITIES, ENTITIES_BY_NAME, Entity
from bgw_pipeline.core.guards import shrinkage, staleness
from bgw_pipeline.core.integrity import IntegrityResult, duplicate_ids, orphan_references
from bgw_pipeline.core.restore_drill import run_restore_drill
from bgw_pipeline.core.staging import staged_path
from bgw_pipeline.names import (
    ARCHIVE_VERIFIED_CHECK,
    EXPORT_ARCHIVE,
    FRESHNESS_CHECK,
    REFERENCES_CHECK,
    RESTORE_CHECK,
    SHRINKAGE_CHECK,
    UNIQUE_IDS_CHECK,
)
from bgw_pipeline.resources import ArchiveStore, Operations

GAMES = ENTITIES_BY_NAME["games"]


def _result(outcome: IntegrityResult, what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=outcome.passed,
        description=None if outcome.passed else f"{outcome.violations} {what}",
        metadata={
            "violations": outcome.violations,
            "sample": dg.MetadataValue.json(outcome.sample),
        },
    )


def _unique_ids_check(entity: Entity) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=entity.name, name=UNIQUE_IDS_CHECK)
    def unique_ids(archive_store: ArchiveStore) -> dg.AssetCheckResult:
        """Every row has its own id: no id appears twice in the extracted table."""
        path = staged_path(archive_store.staging_dir, entity)
        return _result(duplicate_ids(path), "ids occur more than once")

    return unique_ids


def _references_check(entity: Entity) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=entity.name, name=REFERENCES_CHECK, additional_deps=[GAMES.name])
    def references_to_games(archive_store: ArchiveStore) -> dg.AssetCheckResult:
        """Every game this table points to exists among the extracted games."""
        staging = archive_store.staging_dir
        outcome = orphan_references(
            staged_path(staging, entity), "game_id", staged_path(staging, GAMES)
        )
        return _result(outcome, "rows point to a game that does not exist")

    return references_to_games


def _latest_archive_name(context: dg.AssetCheckExecutionContext) -> str | None:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(EXPORT_ARCHIVE))
    if event is None or event.asset_materialization is None:
        return None
    return str(event.asset_materialization.metadata["archive_name"].value)


@dg.asset_check(asset=EXPORT_ARCHIVE, name=ARCHIVE_VERIFIED_CHECK, blocking=True)
def archive_matches_metadata(
    context: dg.AssetCheckExecutionContext, archive_store: ArchiveStore
) -> dg.AssetCheckResult:
    """The ZIP re-opens and every member matches the checksums and counts in metadata.json."""
    name, storage = _latest_archive_name(context), archive_store.storage()
    if name is None:
        return dg.AssetCheckResult(passed=False, description="export_archive has no archive yet")
    with storage.local_copy(name) as path:
        report = verify_archive(path, ArchiveLimits.unlimited())
    storage.update_status(name, verified=report.ok, counts=report.counts, checksum=report.checksum)
    return dg.AssetCheckResult(
        passed=report.ok,
        description="archive verified" if report.ok else "; ".join(report.problems[:10]),
        metadata={
            "archive": storage.location(name),
            "checksum": report.checksum or "",
            "members_checked": report.members_checked,
            "problems": dg.MetadataValue.json(report.problems[:50]),
        },
    )


@dg.asset_check(asset=EXPORT_ARCHIVE, name=SHRINKAGE_CHECK)
def no_sudden_shrinkage(
    context: dg.AssetCheckExecutionContext, archive_store: ArchiveStore, operations: Operations
) -> dg.AssetCheckResult:
    """No table lost more rows since the previous good backup than SHRINK_ALERT_PCT allows."""
    name, storage = _latest_archive_name(context), archive_store.storage()
    if name is None:
        return dg.AssetCheckResult(passed=False, description="no archive to compare")
    with storage.local_copy(name) as path, open_archive(path, ArchiveLimits.unlimited()) as reader:
        current = {e.name: reader.count_rows(e) for e in CORE_ENTITIES}
    entries = list_archives(storage)
    previous = next((e for e in entries if e.name != name and e.status.good), None)
    before = (previous.status.counts or {}) if previous else {}
    problems = shrinkage(before, current, operations.shrink_alert_pct)
    storage.update_status(name, shrink_alert=bool(problems))
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) or "row counts as expected",
        metadata={
            "previous_archive": previous.name if previous else "",
            "counts": dg.MetadataValue.json(current),
        },
    )


@dg.asset_check(asset=EXPORT_ARCHIVE, name=FRESHNESS_CHECK)
def newest_good_backup_is_fresh(
    archive_store: ArchiveStore, operations: Operations
) -> dg.AssetCheckResult:
    """The newest good backup is younger than BACKUP_MAX_AGE_HOURS."""
    newest = next((e for e in list_archives(archive_store.storage()) if e.status.good), None)
    when = newest.created_at if newest else None
    problem = staleness(when, datetime.now(UTC), operations.backup_max_age_hours)
    return dg.AssetCheckResult(
        passed=problem is None,
        description=problem or f"newest good backup: {newest.name if newest else ''}",
        metadata={"newest_good": newest.name if newest else ""},
    )


@dg.asset_check(asset=EXPORT_ARCHIVE, name=RESTORE_CHECK)
def archive_restores(
    context: dg.AssetCheckExecutionContext, archive_store: ArchiveStore
) -> dg.AssetCheckResult:
    """The archive restores into a scratch database with the same counts and checksum."""
    name = _latest_archive_name(context)
    if name is None:
        return dg.AssetCheckResult(passed=False, description="no archive to restore")
    report = run_restore_drill(archive_store.storage(), name)
    return dg.AssetCheckResult(
        passed=report.passed,
        description="restored: counts, references and checksum match"
        if report.passed
        else "; ".join(report.problems),
        metadata={"counts": dg.MetadataValue.json(report.counts)},
    )


ASSET_CHECKS = [
    *(_unique_ids_check(entity) for entity in ALL_ENTITIES),
    *(_references_check(ENTITIES_BY_NAME[name]) for name in ("events", "price_history")),
    archive_matches_metadata,
    no_sudden_shrinkage,
    newest_good_backup_is_fresh,
    archive_restores,
]
