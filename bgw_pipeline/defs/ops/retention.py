"""The op behind retention_job: delete archives no rule keeps, and say why each stays."""

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.storage.catalog import apply_retention
from bgw_pipeline.defs.resources import ArchiveStore, Operations


class RetentionConfig(dg.Config):
    """Whether to delete, or only list what would go."""

    dry_run: bool = Field(default=False, description="List what would be deleted; delete nothing.")


@dg.op
def apply_retention_op(
    context: dg.OpExecutionContext,
    config: RetentionConfig,
    archive_store: ArchiveStore,
    operations: Operations,
) -> dg.Output[list[str]]:
    """Delete archives older than RETENTION_DAYS unless a rule keeps them."""
    decisions = apply_retention(
        archive_store.storage(), operations.retention, datetime.now(UTC), config.dry_run
    )
    deleted = [d.entry.name for d in decisions if not d.keep]
    verb = "would delete" if config.dry_run else "deleted"
    for name in deleted:
        context.log.info(f"{verb} {name}")
    rows = [
        dg.TableRecord(
            {
                "archive": d.entry.name,
                "size_bytes": d.entry.size_bytes,
                "decision": "keep" if d.keep else verb,
                "why": "; ".join(d.reasons) or "older than the retention period",
            }
        )
        for d in decisions
    ]
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("archive", "string"),
            dg.TableColumn("size_bytes", "int"),
            dg.TableColumn("decision", "string"),
            dg.TableColumn("why", "string"),
        ]
    )
    return dg.Output(
        deleted,
        metadata={
            "dry_run": config.dry_run,
            "deleted": len(deleted) if not config.dry_run else 0,
            "freed_bytes": sum(d.entry.size_bytes for d in decisions if not d.keep),
            "decisions": dg.MetadataValue.table(rows, schema=schema),
        },
    )
