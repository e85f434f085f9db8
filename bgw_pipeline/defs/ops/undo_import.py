"""The op behind undo_import_job: put back what one applied import changed."""

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.importing.importer import ImportFolders
from bgw_pipeline.core.importing.undo import undo_import
from bgw_pipeline.core.model.errors import BgwError
from bgw_pipeline.defs.resources import ArchiveStore, BgwDatabase
from bgw_pipeline.defs.table_changes import log_table_changes


class UndoImportConfig(dg.Config):
    """Which import to undo."""

    import_id: str = Field(description="The import_id from the import's report.")


@dg.op
def undo_import_op(
    context: dg.OpExecutionContext,
    config: UndoImportConfig,
    database: BgwDatabase,
    archive_store: ArchiveStore,
) -> dg.Output[str]:
    """Restore the rows an import overwrote and delete the rows it created, all or nothing."""
    folders = ImportFolders(archive_store.archive_dir)
    try:
        with database.open_engine() as engine:
            counts = undo_import(engine, folders.undo, config.import_id)
    except BgwError as exc:
        raise dg.Failure(description=str(exc)) from exc
    context.log.info(f"undo of {config.import_id}: {counts}")
    why = f"import {config.import_id} undone"
    log_table_changes(context, counts, why, {"import_id": config.import_id})
    return dg.Output(config.import_id, metadata={"changes": dg.MetadataValue.json(counts)})
