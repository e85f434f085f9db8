"""The op behind restore_drill_job: prove the newest archive restores."""

import dagster as dg

from bgw_pipeline.core.backup.restore_drill import run_restore_drill
from bgw_pipeline.core.storage.catalog import list_archives
from bgw_pipeline.defs.resources import ArchiveStore


@dg.op
def restore_drill_op(
    context: dg.OpExecutionContext, archive_store: ArchiveStore
) -> dg.Output[bool]:
    """Restore the newest archive into a scratch database and compare it with the archive."""
    storage = archive_store.storage()
    entries = list_archives(storage)
    if not entries:
        raise dg.Failure(description=f"no archive in {storage.description} to drill")
    report = run_restore_drill(storage, entries[0].name)
    metadata = {
        "archive": report.archive,
        "counts": dg.MetadataValue.json(report.counts),
        "checksum": report.checksum or "",
        "restored_checksum": report.restored_checksum or "",
        "problems": dg.MetadataValue.json(report.problems),
    }
    if not report.passed:
        raise dg.Failure(
            description=f"restore drill of {report.archive} failed: {'; '.join(report.problems)}",
            metadata=metadata,
        )
    context.log.info(f"{report.archive} restores: checksum {report.restored_checksum}")
    return dg.Output(True, metadata=metadata)
