"""The import inbox and the limits of an import, as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.archive.reader import ArchiveLimits
from bgw_pipeline.core.storage.inbox import DEFAULT_SETTLE_SECONDS, Inbox, LocalInbox
from bgw_pipeline.core.storage.s3_settings import S3Settings


class ImportInbox(dg.ConfigurableResource):
    """Where archives to import are dropped (IMPORT_INBOX), and how big they may be."""

    path: str = Field(
        description="The inbox (IMPORT_INBOX): a folder or s3://bucket/prefix/; apply/ applies."
    )
    max_import_mb: int = Field(default=100, description="Largest archive accepted, in MB.")
    settle_seconds: float = Field(
        default=DEFAULT_SETTLE_SECONDS,
        description="A file must be unchanged this long before it is picked up.",
    )

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def inbox(self, s3: S3Settings) -> Inbox:
        """The inbox: a local folder, or `s3://bucket/prefix/` reached with `s3`'s endpoint."""
        if self.path.startswith("s3://"):
            from bgw_pipeline.core.storage.s3_inbox import S3Inbox  # boto3: only when used

            return S3Inbox(self.path, s3)
        return LocalInbox(Path(self.path))

    @property
    def limits(self) -> ArchiveLimits:
        return ArchiveLimits(max_archive_bytes=self.max_import_mb * 1024 * 1024)
