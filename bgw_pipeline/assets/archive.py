"""The export archive asset: the versioned, checksummed ZIP backup."""

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.entities import entities_for
from bgw_pipeline.core.export import ExportResult, write_archive_file
from bgw_pipeline.core.ledger import record_export
from bgw_pipeline.core.staging import StagedTables
from bgw_pipeline.names import ARCHIVE_GROUP, EXPORT_ARCHIVE, EXTRACT_KEYS
from bgw_pipeline.resources import ArchiveStore, Operations
from bgw_pipeline.retrying import retry_transient


class ExportArchiveConfig(dg.Config):
    """Options of one export."""

    include_raw_data: bool = Field(
        default=False, description="Also archive raw_items and listings (raw scraping data)."
    )


def archive_metadata(result: ExportResult) -> dict[str, object]:
    """What the UI shows for an archive (also read back by checks and the HTTP layer)."""
    metadata: dict[str, object] = {
        "path": dg.MetadataValue.path(str(result.path)),
        "archive_name": result.path.name,
        "size_bytes": result.size_bytes,
        "size_mb": round(result.size_bytes / 1_000_000, 3),
        "checksum": result.checksum,
        "created_at": result.created_at,
        "include_raw_data": result.include_raw_data,
        "duration_seconds": result.duration_seconds,
        "dagster/row_count": sum(result.counts.values()),
        "counts": dg.MetadataValue.json(result.counts),
    }
    for entity, count in result.counts.items():
        metadata[f"rows_{entity}"] = count
    return metadata


@dg.asset(
    key=EXPORT_ARCHIVE,
    group_name=ARCHIVE_GROUP,
    deps=list(EXTRACT_KEYS),
    kinds={"zip"},
)
def export_archive(
    context: dg.AssetExecutionContext,
    config: ExportArchiveConfig,
    archive_store: ArchiveStore,
    operations: Operations,
) -> dg.MaterializeResult:
    """The full BGW backup: a versioned ZIP with a checksum, ready to restore anywhere."""
    with retry_transient(context.op_execution_context, operations):
        source = StagedTables(archive_store.staging_dir, entities_for(config.include_raw_data))
        result = write_archive_file(
            source,
            archive_store.archive_dir,
            config.include_raw_data,
            progress=lambda name, done, total: context.log.info(f"archived {name}: {done}/{total}"),
        )
        location = archive_store.storage().store(result.path)
        record_export(archive_store.archive_dir, "full", "success", result.size_bytes)
    context.log.info(f"archive stored: {location} ({result.size_bytes} bytes)")
    metadata = archive_metadata(result)
    metadata["path"] = dg.MetadataValue.path(location)
    return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(result.checksum))
