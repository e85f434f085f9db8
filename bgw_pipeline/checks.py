"""Asset checks: the staged tables are sound, and the archive matches its own metadata."""

from pathlib import Path

import dagster as dg

from bgw_pipeline.core.archive_reader import ArchiveLimits, verify_archive
from bgw_pipeline.core.entities import ALL_ENTITIES, ENTITIES_BY_NAME, Entity
from bgw_pipeline.core.integrity import IntegrityResult, duplicate_ids, orphan_references
from bgw_pipeline.core.staging import staged_path
from bgw_pipeline.names import (
    ARCHIVE_VERIFIED_CHECK,
    EXPORT_ARCHIVE,
    REFERENCES_CHECK,
    UNIQUE_IDS_CHECK,
)
from bgw_pipeline.resources import ArchiveStore

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


@dg.asset_check(asset=EXPORT_ARCHIVE, name=ARCHIVE_VERIFIED_CHECK, blocking=True)
def archive_matches_metadata(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """The ZIP re-opens and every member matches the checksums and counts in metadata.json."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey(EXPORT_ARCHIVE))
    if event is None or event.asset_materialization is None:
        return dg.AssetCheckResult(passed=False, description="export_archive has no archive yet")
    path = Path(str(event.asset_materialization.metadata["path"].value))
    report = verify_archive(path, ArchiveLimits.unlimited())
    return dg.AssetCheckResult(
        passed=report.ok,
        description="archive verified" if report.ok else "; ".join(report.problems[:10]),
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "checksum": report.checksum or "",
            "members_checked": report.members_checked,
            "problems": dg.MetadataValue.json(report.problems[:50]),
        },
    )


ASSET_CHECKS = [
    *(_unique_ids_check(entity) for entity in ALL_ENTITIES),
    *(_references_check(ENTITIES_BY_NAME[name]) for name in ("events", "price_history")),
    archive_matches_metadata,
]
