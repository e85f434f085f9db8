"""Where archives, staged tables, snapshot files and CSVs live (local disk)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field


class ArchiveStore(dg.ConfigurableResource):
    """The export folder (EXPORT_PATH): archives at the top, work files in sub-folders."""

    export_path: str = Field(description="Folder for archives and snapshots (EXPORT_PATH).")

    @property
    def archive_dir(self) -> Path:
        return Path(self.export_path)

    @property
    def staging_dir(self) -> Path:
        return Path(self.export_path) / ".staging"

    @property
    def snapshots_dir(self) -> Path:
        return Path(self.export_path) / "snapshots"

    @property
    def csv_dir(self) -> Path:
        return Path(self.export_path) / "csv"
