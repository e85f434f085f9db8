"""Snapshot assets: each BGW table as JSON, CSV and Parquet files for analysts."""

import dagster as dg

from bgw_pipeline.core.entities import ALL_ENTITIES, Entity
from bgw_pipeline.core.snapshot_files import write_snapshot_files
from bgw_pipeline.core.staging import StagedTables
from bgw_pipeline.names import SNAPSHOT_GROUP, snapshot_key
from bgw_pipeline.resources import ArchiveStore


def _snapshot_asset(entity: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        key=snapshot_key(entity.name),
        group_name=SNAPSHOT_GROUP,
        deps=[entity.name],
        kinds={"json", "csv", "parquet"},
        description=f"The {entity.name} table as JSON, CSV and Parquet files for analysts.",
    )
    def snapshot(archive_store: ArchiveStore) -> dg.MaterializeResult:
        source = StagedTables(archive_store.staging_dir, (entity,))
        files = write_snapshot_files(entity, source, archive_store.snapshots_dir)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": files.rows,
                "json": dg.MetadataValue.path(str(files.json_path)),
                "csv": dg.MetadataValue.path(str(files.csv_path)),
                "parquet": dg.MetadataValue.path(str(files.parquet_path)),
                "total_bytes": files.total_bytes,
                "snapshot_id": source.snapshot_id,
            }
        )

    return snapshot


SNAPSHOT_ASSETS = [_snapshot_asset(entity) for entity in ALL_ENTITIES]
