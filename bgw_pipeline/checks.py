"""Asset checks: the extracted tables are sound, and the archive verifies and restores.

The table checks run inside the backup op, on the Parquet snapshot it just wrote (DuckDB
on the files). The archive checks are one step of their own, so an operator can re-run
them on the newest archive from the UI without a new backup; inside it the verification
and the restore drill run side by side, each mostly in C (zlib, SHA-256, SQLite).
"""

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import dagster as dg

from bgw_pipeline.core.archive_catalog import list_archives
from bgw_pipeline.core.archive_reader import ArchiveLimits, verify_archive
from bgw_pipeline.core.archive_verification import VerificationReport
from bgw_pipeline.core.entities import ALL_ENTITIES, CORE_ENTITIES, ENTITIES_BY_NAME
from bgw_pipeline.core.guards import shrinkage, staleness
from bgw_pipeline.core.integrity import IntegrityResult, duplicate_ids, orphan_references
from bgw_pipeline.core.restore_drill import DrillReport, run_restore_drill
from bgw_pipeline.core.snapshot_tee import SnapshotFiles
from bgw_pipeline.core.storage import ArchiveStorage
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
REFERENCING = ("events", "price_history")

EXTRACT_CHECK_SPECS = [
    *(
        dg.AssetCheckSpec(
            UNIQUE_IDS_CHECK,
            asset=e.name,
            description="Every row has its own id: no id appears twice in the extracted table.",
        )
        for e in ALL_ENTITIES
    ),
    *(
        dg.AssetCheckSpec(
            REFERENCES_CHECK,
            asset=name,
            additional_deps=[GAMES.name],
            description="Every game this table points to exists among the extracted games.",
        )
        for name in REFERENCING
    ),
]


def _result(asset: str, check: str, outcome: IntegrityResult, what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=check,
        passed=outcome.passed,
        description=None if outcome.passed else f"{outcome.violations} {what}",
        metadata={
            "violations": outcome.violations,
            "sample": dg.MetadataValue.json(outcome.sample),
        },
    )


def extract_check_results(files: Mapping[str, SnapshotFiles]) -> Iterator[dg.AssetCheckResult]:
    """The table checks, on the Parquet snapshot files of one backup."""
    for entity in ALL_ENTITIES:
        outcome = duplicate_ids(files[entity.name].parquet_path)
        yield _result(entity.name, UNIQUE_IDS_CHECK, outcome, "ids occur more than once")
    games = files[GAMES.name].parquet_path
    for name in REFERENCING:
        outcome = orphan_references(files[name].parquet_path, "game_id", games)
        yield _result(name, REFERENCES_CHECK, outcome, "rows point to a game that does not exist")


def _latest_archive_name(context: dg.AssetCheckExecutionContext) -> str | None:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(EXPORT_ARCHIVE))
    if event is None or event.asset_materialization is None:
        return None
    return str(event.asset_materialization.metadata["archive_name"].value)


ARCHIVE_CHECK_SPECS = [
    dg.AssetCheckSpec(
        ARCHIVE_VERIFIED_CHECK,
        asset=EXPORT_ARCHIVE,
        blocking=True,
        description="The ZIP re-opens and every member matches the checksums and counts in "
        "metadata.json.",
    ),
    dg.AssetCheckSpec(
        SHRINKAGE_CHECK,
        asset=EXPORT_ARCHIVE,
        description="No table lost more rows since the previous good backup than "
        "SHRINK_ALERT_PCT allows.",
    ),
    dg.AssetCheckSpec(
        RESTORE_CHECK,
        asset=EXPORT_ARCHIVE,
        description="The archive restores into a scratch database with the same counts and "
        "checksum.",
    ),
]


def _verify(storage: ArchiveStorage, name: str) -> VerificationReport:
    with storage.local_copy(name) as path:
        return verify_archive(path, ArchiveLimits.unlimited())


def _verified(
    storage: ArchiveStorage, name: str, report: VerificationReport
) -> dg.AssetCheckResult:
    storage.update_status(name, verified=report.ok, counts=report.counts, checksum=report.checksum)
    return dg.AssetCheckResult(
        check_name=ARCHIVE_VERIFIED_CHECK,
        passed=report.ok,
        description="archive verified" if report.ok else "; ".join(report.problems[:10]),
        metadata={
            "archive": storage.location(name),
            "checksum": report.checksum or "",
            "members_checked": report.members_checked,
            "problems": dg.MetadataValue.json(report.problems[:50]),
        },
    )


def _shrinkage(
    storage: ArchiveStorage, name: str, counts: Mapping[str, int], shrink_alert_pct: float
) -> dg.AssetCheckResult:
    current = {e.name: counts[e.name] for e in CORE_ENTITIES if e.name in counts}
    previous = next((e for e in list_archives(storage) if e.name != name and e.status.good), None)
    before = (previous.status.counts or {}) if previous else {}
    problems = shrinkage(before, current, shrink_alert_pct)
    storage.update_status(name, shrink_alert=bool(problems))
    return dg.AssetCheckResult(
        check_name=SHRINKAGE_CHECK,
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) or "row counts as expected",
        metadata={
            "previous_archive": previous.name if previous else "",
            "counts": dg.MetadataValue.json(current),
        },
    )


def _restores(report: DrillReport) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=RESTORE_CHECK,
        passed=report.passed,
        description="restored: counts, references and checksum match"
        if report.passed
        else "; ".join(report.problems),
        metadata={"counts": dg.MetadataValue.json(report.counts)},
    )


@dg.multi_asset_check(specs=ARCHIVE_CHECK_SPECS, name="archive_checks")
def archive_checks(
    context: dg.AssetCheckExecutionContext, archive_store: ArchiveStore, operations: Operations
) -> Iterator[dg.AssetCheckResult]:
    """The newest archive verifies against its metadata, kept its rows, and restores."""
    name, storage = _latest_archive_name(context), archive_store.storage()
    if name is None:
        for spec in ARCHIVE_CHECK_SPECS:
            yield dg.AssetCheckResult(
                check_name=spec.name, passed=False, description="export_archive has no archive yet"
            )
        return
    # The drill's bulk load reads every member once, hashing and counting what it loads:
    # that pass is the verification too. Only a drill that restored some other way (or
    # stopped early) leaves the archive to be verified on its own.
    restored = run_restore_drill(storage, name)
    verification = restored.verification or _verify(storage, name)
    yield _verified(storage, name, verification)
    yield _shrinkage(storage, name, verification.counts, operations.shrink_alert_pct)
    yield _restores(restored)


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


ASSET_CHECKS = [archive_checks, newest_good_backup_is_fresh]
