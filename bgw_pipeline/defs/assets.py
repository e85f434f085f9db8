"""The backup assets: every table, its snapshot files, the ZIP archive and the games CSV.

One op materializes them all because one read of the database produces them all
(core/backup/backup_database.py): each still shows in the UI as its own asset with its own metadata
and lineage. The same op evaluates every check (checks.py): the archive's restore drill runs
beside the writing of the snapshot files instead of after it.
"""

from collections.abc import Iterable, Iterator

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.backup.backup_database import BackupFolders, BackupResult, backup_database
from bgw_pipeline.core.backup.progress_tap import ProgressTap
from bgw_pipeline.core.export.archive_export import ExportResult
from bgw_pipeline.core.export.snapshot_formats import SnapshotFormats
from bgw_pipeline.core.model.entities import ALL_ENTITIES, GAMES
from bgw_pipeline.core.operations.ledger import record_export
from bgw_pipeline.defs.catalog import (
    CODE_VERSION,
    OWNERS,
    archive_tables,
    column_schema,
    tags,
    timestamp,
)
from bgw_pipeline.defs.catalog import location as location_value
from bgw_pipeline.defs.checks import (
    ARCHIVE_CHECK_SPECS,
    EXTRACT_CHECK_SPECS,
    archive_check_results,
    extract_check_results,
    no_archive_results,
    snapshot_parquet_files,
)
from bgw_pipeline.defs.names import (
    ARCHIVE_GROUP,
    CSV_GROUP,
    EXPORT_ARCHIVE,
    EXTRACT_GROUP,
    GAMES_CSV,
    SNAPSHOT_GROUP,
    snapshot_key,
)
from bgw_pipeline.defs.progress import progress_listener
from bgw_pipeline.defs.resources import ArchiveStore, BgwDatabase, Operations
from bgw_pipeline.defs.retrying import retry_transient

TABLE_DESCRIPTIONS = {
    "games": "Board games watched in Russian shops, with their current price.",
    "rules": "Notification rules that decide which price changes reach users.",
    "events": "Events about games: sales, releases, pre-orders, restocks, price drops.",
    "price_history": "Every price seen for each game in each shop over time.",
    "raw_items": "Raw items as the scraper parsed them, before normalisation.",
    "listings": "Raw listing pages as the scraper fetched them.",
}

# A tuple: the defs folder's loader would take a module-level list of specs for assets.
BACKUP_SPECS = (
    *(
        dg.AssetSpec(e.name, group_name=EXTRACT_GROUP, description=TABLE_DESCRIPTIONS[e.name],
                     kinds={"sql"}, owners=OWNERS, tags=tags("extract"), code_version=CODE_VERSION,
                     metadata={"dagster/column_schema": column_schema(e)})
        for e in ALL_ENTITIES
    ),
    *(
        dg.AssetSpec(
            snapshot_key(e.name),
            group_name=SNAPSHOT_GROUP,
            deps=[e.name],
            kinds={"json", "csv", "parquet"},
            description=f"The {e.name} table as JSON, CSV and Parquet files for analysts.",
            owners=OWNERS, tags=tags("snapshot"), code_version=CODE_VERSION,
            metadata={"dagster/column_schema": column_schema(e)},
        )
        for e in ALL_ENTITIES
    ),
    dg.AssetSpec(
        EXPORT_ARCHIVE,
        group_name=ARCHIVE_GROUP,
        deps=[e.name for e in ALL_ENTITIES],
        kinds={"zip"},
        description="The full BGW backup: a versioned ZIP with a checksum, ready to restore "
        "anywhere.",
        owners=OWNERS, tags=tags("archive"), code_version=CODE_VERSION,
    ),
    dg.AssetSpec(
        GAMES_CSV,
        group_name=CSV_GROUP,
        deps=[GAMES.name],
        kinds={"csv"},
        description="All games as an Excel-safe CSV file, in the columns of the API's games "
        "export.",
        owners=OWNERS, tags=tags("csv"), code_version=CODE_VERSION,
    ),
)  # fmt: skip


class ExportArchiveConfig(dg.Config):
    """Options of one backup."""

    include_raw_data: bool = Field(
        default=False, description="Also archive raw_items and listings (raw scraping data)."
    )


def archive_metadata(result: ExportResult) -> dict[str, object]:
    """What the UI shows for an archive (also read back by checks and the HTTP layer)."""
    metadata: dict[str, object] = {
        "path": location_value(result.path),
        "archive_name": result.path.name,
        "size_bytes": result.size_bytes,
        "size_mb": round(result.size_bytes / 1_000_000, 3),
        "checksum": result.checksum,
        "created_at": timestamp(result.created_at),
        "tables": archive_tables(result.counts, result.metadata.get("files") or {}),
        "include_raw_data": result.include_raw_data,
        "duration_seconds": result.duration_seconds,
        "dagster/row_count": sum(result.counts.values()),
        "counts": dg.MetadataValue.json(result.counts),
    }
    for entity, count in result.counts.items():
        metadata[f"rows_{entity}"] = count
    return metadata


def _materializations(backup: BackupResult, where: str) -> Iterator[dg.MaterializeResult]:
    for name, files in backup.snapshots.items():
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                "dagster/row_count": files.rows,
                "snapshot_id": files.snapshot_id,
                "parquet": dg.MetadataValue.path(str(files.parquet_path)),
            },
        )
    for name, files in backup.snapshots.items():
        yield dg.MaterializeResult(
            asset_key=snapshot_key(name),
            metadata={
                "dagster/row_count": files.rows,
                "json": dg.MetadataValue.path(str(files.json_path)),
                "csv": dg.MetadataValue.path(str(files.csv_path)),
                "parquet": dg.MetadataValue.path(str(files.parquet_path)),
                "total_bytes": files.total_bytes,
                "snapshot_id": files.snapshot_id,
            },
        )
    metadata = archive_metadata(backup.export)
    metadata["path"] = location_value(where)
    yield dg.MaterializeResult(
        asset_key=EXPORT_ARCHIVE,
        metadata=metadata,
        data_version=dg.DataVersion(backup.export.checksum),
    )
    yield dg.MaterializeResult(
        asset_key=GAMES_CSV,
        metadata={
            "path": dg.MetadataValue.path(str(backup.games_csv)),
            "dagster/row_count": backup.games_csv_rows,
            "size_bytes": backup.games_csv.stat().st_size,
        },
    )


Result = dg.MaterializeResult | dg.AssetCheckResult


def _selected(context: dg.AssetExecutionContext, results: Iterable[Result]) -> Iterator[Result]:
    """Only what the run selected: Dagster refuses results it did not ask for."""
    for result in results:
        if isinstance(result, dg.AssetCheckResult):
            key = dg.AssetCheckKey(dg.AssetKey.from_coercible(result.asset_key), result.check_name)
            if key in context.selected_asset_check_keys:
                yield result
        elif dg.AssetKey.from_coercible(result.asset_key) in context.selected_asset_keys:
            yield result


def _archive_checks_selected(context: dg.AssetExecutionContext) -> bool:
    names = {spec.name for spec in ARCHIVE_CHECK_SPECS}
    return any(key.name in names for key in context.selected_asset_check_keys)


def _newest_archive_name(context: dg.AssetExecutionContext) -> str | None:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(EXPORT_ARCHIVE))
    if event is None or event.asset_materialization is None:
        return None
    return str(event.asset_materialization.metadata["archive_name"].value)


def _checks_of_newest(
    context: dg.AssetExecutionContext, archive_store: ArchiveStore, operations: Operations
) -> Iterator[Result]:
    """Checks selected without the assets (from the UI): the newest archive and snapshot
    files are checked again, nothing is read from the database."""
    if _archive_checks_selected(context):
        name = _newest_archive_name(context)
        if name is None:
            yield from no_archive_results()
        else:
            storage = archive_store.storage()
            yield from archive_check_results(storage, name, operations.shrink_alert_pct)
    yield from extract_check_results(snapshot_parquet_files(archive_store.snapshots_dir))


ALL_CHECK_SPECS = [*EXTRACT_CHECK_SPECS, *ARCHIVE_CHECK_SPECS]


@dg.multi_asset(
    name=EXPORT_ARCHIVE, specs=BACKUP_SPECS, check_specs=ALL_CHECK_SPECS, can_subset=True
)
def backup_assets(
    context: dg.AssetExecutionContext,
    config: ExportArchiveConfig,
    database: BgwDatabase,
    archive_store: ArchiveStore,
    operations: Operations,
) -> Iterator[Result]:
    """Read every BGW table from one consistent snapshot into the archive and snapshot files."""
    if not context.selected_asset_keys:
        yield from _selected(context, _checks_of_newest(context, archive_store, operations))
        return
    if unselected := set(context.assets_def.keys) - set(context.selected_asset_keys):
        context.log.warning(
            "one read of the database writes every backup asset; recorded only the selected "
            f"ones, not {sorted(k.to_user_string() for k in unselected)}"
        )
    folders = BackupFolders(
        archive_store.archive_dir, archive_store.snapshots_dir, archive_store.csv_dir
    )
    storage = archive_store.storage()
    run_archive_checks = _archive_checks_selected(context)
    listener = progress_listener()

    def archived(name: str, done: int, total: int) -> None:
        context.log.info(f"archived {name}: {done}/{total}")
        if listener is not None:
            listener(name, done, total)

    def store_and_check(
        export: ExportResult, formats: SnapshotFormats
    ) -> tuple[str, list[dg.AssetCheckResult]]:
        location = storage.store(export.path)
        if not run_archive_checks:
            return location, []
        pct = operations.shrink_alert_pct
        tap = formats if listener is None else ProgressTap(formats, listener, export.counts)
        return location, archive_check_results(storage, export.path.name, pct, tap)

    with (
        retry_transient(context.op_execution_context, operations),
        database.open_engine() as engine,
    ):
        backup = backup_database(
            engine,
            folders,
            config.include_raw_data,
            progress=archived,
            alongside=store_and_check,
        )
        location, archive_checks = backup.alongside  # type: ignore[misc]
        record_export(archive_store.archive_dir, "full", "success", backup.export.size_bytes)
        record_export(archive_store.archive_dir, "csv", "success", backup.games_csv.stat().st_size)
    context.log.info(f"archive stored: {location} ({backup.export.size_bytes} bytes)")
    yield from _selected(
        context,
        [
            *_materializations(backup, location),
            *extract_check_results({n: f.parquet_path for n, f in backup.snapshots.items()}),
            *archive_checks,
        ],
    )
