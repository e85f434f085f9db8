"""Resources for Dagster tests: a real database and folders under the test's tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bgw_pipeline.definitions import build_definitions
from bgw_pipeline.defs import names
from bgw_pipeline.defs.resources import ArchiveStore, BgwDatabase, ImportInbox, Operations
from bgw_pipeline.run_backup import archive_materialization


def local_resources(db_url: str, root: Path, settle_seconds: float = 0.0) -> dict[str, Any]:
    return {
        names.DATABASE_RESOURCE: BgwDatabase(url=db_url),
        names.STORE_RESOURCE: ArchiveStore(export_path=str(root / "exports")),
        names.INBOX_RESOURCE: ImportInbox(
            path=str(root / "inbox"), max_import_mb=100, settle_seconds=settle_seconds
        ),
        names.OPERATIONS_RESOURCE: Operations(
            retry_max_tries=3, retry_base_delay_seconds=0, retry_max_delay_seconds=0
        ),
    }


def local_definitions(db_url: str, root: Path, settle_seconds: float = 0.0) -> Any:
    return build_definitions(local_resources(db_url, root, settle_seconds))


def archive_path(result: Any) -> Path:
    """Where the run's export_archive materialization put its archive."""
    materialization = archive_materialization(result)
    return Path(str(materialization.metadata["path"].value))
