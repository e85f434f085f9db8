"""One import under way, and what it is told: where its files go and how it runs.

Its own module so that the importer and the steps it loads late (steps.py) both use
these without importing each other.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bgw_pipeline.core.archive.reader import ArchiveLimits
from bgw_pipeline.core.files.sealing import ArchiveKey
from bgw_pipeline.core.importing.report import ImportReport

OnError = Literal["abort", "skip"]


@dataclass(frozen=True)
class ImportFolders:
    """Where an import keeps its reports, plans and undo archives."""

    root: Path

    @property
    def reports(self) -> Path:
        return self.root / "import_reports"

    @property
    def plans(self) -> Path:
        return self.root / "import_plans"

    @property
    def undo(self) -> Path:
        return self.root / "import_undo"


@dataclass
class ImportOptions:
    """How to import."""

    dry_run: bool = True
    on_error: OnError = "abort"
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    use_saved_plan: bool = True
    key: ArchiveKey | None = None  # opens archives sealed at rest (BGW_ARCHIVE_KEY_FILE)


@dataclass(frozen=True)
class ImportRun:
    """One import under way: its archive (and that file's SHA-256, being taken), where
    its files go, how it runs, and the report it fills."""

    archive: Path
    archive_sha: Future[str]
    folders: ImportFolders
    options: ImportOptions
    report: ImportReport
