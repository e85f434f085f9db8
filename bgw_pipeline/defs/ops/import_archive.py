"""The op behind import_archive_job: a thin layer over the core importer."""

from enum import StrEnum
from pathlib import Path

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.errors import BgwError
from bgw_pipeline.core.storage.source import archive_source
from bgw_pipeline.defs.resources import ArchiveStore, BgwDatabase, ImportInbox
from bgw_pipeline.defs.table_changes import log_table_changes


class OnError(StrEnum):
    """What an apply does with rows that have errors."""

    abort = "abort"
    skip = "skip"


class ImportArchiveConfig(dg.Config):
    """Which archive, and whether to write."""

    archive: str = Field(description="The ZIP archive to import: a path or an s3:// URI.")
    dry_run: bool = Field(default=True, description="Only report what would change (default).")
    on_error: OnError = Field(
        default=OnError.abort,
        description="abort: any row error means nothing is written; skip: write the valid rows.",
    )


def _report_metadata(body: dict[str, object], path: Path) -> dict[str, object]:
    summary = body["summary"]
    rows = [
        dg.TableRecord({"entity": name, **counts})  # type: ignore[arg-type]
        for name, counts in summary.items()  # type: ignore[union-attr]
    ]
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(c, "int" if c != "entity" else "string")
            for c in ("entity", "new", "updated", "skipped", "errors")
        ]
    )
    changes = body.get("changes") or {}
    lines = [
        f"| {c['label']} | {c['column']} | {c['old']} | {c['new']} |"
        for items in changes.values()  # type: ignore[union-attr]
        for c in items
    ][:50]
    table = "| row | column | old | new |\n|---|---|---|---|\n" + "\n".join(lines)
    return {
        "archive_summary": dg.MetadataValue.json(body.get("archive") or {}),
        "changes": dg.MetadataValue.md(table if lines else "no updated rows"),
        "report": dg.MetadataValue.path(str(path)),
        "import_id": body["import_id"],
        "summary": dg.MetadataValue.table(rows, schema=schema),
        "warnings": dg.MetadataValue.json(body["warnings"]),
        "errors": dg.MetadataValue.json(body["errors"]),
        "fingerprint": str(body.get("fingerprint") or ""),
        "duration_seconds": body["duration_seconds"],
        "message": str(body.get("message", "")),
    }


@dg.op
def import_archive(
    context: dg.OpExecutionContext,
    config: ImportArchiveConfig,
    database: BgwDatabase,
    archive_store: ArchiveStore,
    import_inbox: ImportInbox,
) -> dg.Output[str]:
    """Validate an archive, show what would change in the BGW database, and apply it if asked."""
    archive = Path(config.archive)
    folders = ImportFolders(archive_store.archive_dir)
    options = ImportOptions(
        dry_run=config.dry_run,
        on_error=config.on_error.value,
        limits=import_inbox.limits,
        key=archive_store.key(),
    )
    report_path: Path | None = None
    succeeded = False
    failure: str | None = None
    try:
        with (
            archive_source(config.archive, archive_store.s3_settings()) as local,
            database.open_engine() as engine,
        ):
            report = run_import(engine, local, folders, options)
        report_path = folders.reports / f"{report.import_id}.json"
        body = report.as_dict()
        for line in report.change_lines():
            context.log.info(line)
        context.log.info(report.message)
        if not report.success:
            raise dg.Failure(
                description=report.message, metadata=_report_metadata(body, report_path)
            )
        succeeded = True
        if report.applied:
            changed = {
                t: {k: c.get(k, 0) for k in ("new", "updated")} for t, c in report.summary.items()
            }
            log_table_changes(context, changed, f"import {report.import_id} applied",
                              {"import_id": report.import_id, "archive": archive.name})  # fmt: skip
        return dg.Output(report.import_id, metadata=_report_metadata(body, report_path))
    except BgwError as exc:
        failure = f"{archive.name}: {exc}"
        raise dg.Failure(description=failure) from exc
    finally:
        inbox = import_inbox.inbox(archive_store.s3_settings())
        moved = inbox.settle(config.archive, succeeded, report_path, failure)
        if moved is not None:
            context.log.info(f"moved {archive.name} to {moved}")
