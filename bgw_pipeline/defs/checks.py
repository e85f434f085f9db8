"""Asset checks: the extracted tables are sound, and the archive verifies and restores.

All of them run inside the backup op: the table checks on the Parquet snapshot it just
wrote (DuckDB on the files), the archive checks (the restore drill, whose pass over the
archive is the verification too) on a thread of their own while the snapshot files are
written (core/backup/backup_database.py). Selected on their own in the UI, they check the newest
archive and snapshot files without a new backup.
"""

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from bgw_pipeline.core.archive.reader import ArchiveLimits, verify_archive
from bgw_pipeline.core.archive.verification import VerificationReport
from bgw_pipeline.core.backup.drill_load import TableTap
from bgw_pipeline.core.backup.guards import shrinkage, staleness
from bgw_pipeline.core.backup.integrity import IntegrityResult, duplicate_ids, orphan_references
from bgw_pipeline.core.backup.restore_drill import DrillReport, run_restore_drill
from bgw_pipeline.core.export.snapshot_tee import snapshot_paths
from bgw_pipeline.core.model.entities import ALL_ENTITIES, CORE_ENTITIES, ENTITIES_BY_NAME
from bgw_pipeline.core.model.errors import BgwError
from bgw_pipeline.core.storage.archive_storage import ArchiveStorage
from bgw_pipeline.core.storage.catalog import list_archives
from bgw_pipeline.defs.names import (
    ARCHIVE_VERIFIED_CHECK,
    EXPORT_ARCHIVE,
    FRESHNESS_CHECK,
    REFERENCES_CHECK,
    RESTORE_CHECK,
    SHRINKAGE_CHECK,
    UNIQUE_IDS_CHECK,
)
from bgw_pipeline.defs.resources import ArchiveStore, Operations

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


def snapshot_parquet_files(snapshots_dir: Path) -> dict[str, Path]:
    """The Parquet snapshot files the last backup left in `snapshots_dir`."""
    return {e.name: snapshot_paths(snapshots_dir, e)[2] for e in ALL_ENTITIES}


def _missing(asset: str, check: str, path: Path) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset, check_name=check, passed=False, description=f"no snapshot file {path}"
    )


def extract_check_results(parquet: Mapping[str, Path]) -> Iterator[dg.AssetCheckResult]:
    """The table checks, on the Parquet snapshot files of one backup."""
    games = parquet[GAMES.name]
    for entity in ALL_ENTITIES:
        path = parquet[entity.name]
        if not path.exists():
            yield _missing(entity.name, UNIQUE_IDS_CHECK, path)
            continue
        outcome = duplicate_ids(path)
        yield _result(entity.name, UNIQUE_IDS_CHECK, outcome, "ids occur more than once")
    for name in REFERENCING:
        if not (parquet[name].exists() and games.exists()):
            yield _missing(name, REFERENCES_CHECK, parquet[name])
            continue
        outcome = orphan_references(parquet[name], "game_id", games)
        yield _result(name, REFERENCES_CHECK, outcome, "rows point to a game that does not exist")


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
    """The archive checked alone; one that cannot even be opened (a damaged ZIP, a sealed
    archive that fails its authentication) is a failed check with the reason, not a
    failed step: the UI and `bgw archives` then say what is wrong with it."""
    try:
        with storage.local_copy(name) as path:
            return verify_archive(path, ArchiveLimits.unlimited())
    except BgwError as exc:
        return VerificationReport(ok=False, problems=[str(exc)])


def _verified(
    storage: ArchiveStorage, name: str, report: VerificationReport
) -> dg.AssetCheckResult:
    storage.update_status(
        name,
        verified=report.ok,
        counts=report.counts,
        checksum=report.checksum,
        verify_problems=report.problems[:5],
    )
    return dg.AssetCheckResult(
        asset_key=EXPORT_ARCHIVE,
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
    storage.update_status(name, shrink_alert=bool(problems), shrinkage=problems)
    return dg.AssetCheckResult(
        asset_key=EXPORT_ARCHIVE,
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
        asset_key=EXPORT_ARCHIVE,
        check_name=RESTORE_CHECK,
        passed=report.passed,
        description="restored: counts, references and checksum match"
        if report.passed
        else "; ".join(report.problems),
        metadata={"counts": dg.MetadataValue.json(report.counts)},
    )


def archive_check_results(
    storage: ArchiveStorage, name: str, shrink_alert_pct: float, tap: TableTap | None = None
) -> list[dg.AssetCheckResult]:
    """The archive's checks: it verifies against its metadata, kept its rows, and restores.

    The drill's bulk load reads every member once, hashing and counting what it loads:
    that pass is the verification too, and hands its tables to `tap`. Only a drill that
    restored some other way (or stopped early) leaves the archive to be verified alone.
    """
    restored = run_restore_drill(storage, name, tap)
    verification = restored.verification or _verify(storage, name)
    return [
        _verified(storage, name, verification),
        _shrinkage(storage, name, verification.counts, shrink_alert_pct),
        _restores(restored),
    ]


def no_archive_results() -> list[dg.AssetCheckResult]:
    """The archive's checks when there is no archive to check."""
    return [
        dg.AssetCheckResult(
            asset_key=EXPORT_ARCHIVE,
            check_name=spec.name,
            passed=False,
            description="export_archive has no archive yet",
        )
        for spec in ARCHIVE_CHECK_SPECS
    ]


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
