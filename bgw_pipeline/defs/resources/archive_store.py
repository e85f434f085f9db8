"""Where archives live (a local folder, or S3 when S3_ENABLED), and the local work folders."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dagster as dg
from pydantic import Field

from bgw_pipeline.core.files.sealing import ArchiveKey
from bgw_pipeline.core.storage.archive_storage import ArchiveStorage, LocalStorage
from bgw_pipeline.core.storage.s3_settings import S3Settings


class ArchiveStore(dg.ConfigurableResource):
    """Archives in EXPORT_PATH, or in an S3-compatible bucket; work files always local."""

    export_path: str = Field(description="Local folder for archives and snapshots (EXPORT_PATH).")
    s3_enabled: bool = Field(default=False, description="Keep archives in S3 (S3_ENABLED).")
    s3_bucket: str = Field(default="", description="S3_BUCKET")
    s3_endpoint: str = Field(default="", description="S3_ENDPOINT, e.g. http://minio:9000")
    s3_access_key: str = Field(default="", description="S3_ACCESS_KEY (secret)")
    s3_secret_key: str = Field(default="", description="S3_SECRET_KEY (secret)")
    s3_region: str = Field(default="us-east-1", description="S3_REGION")
    s3_prefix: str = Field(default="", description="Key prefix for archives in the bucket.")
    s3_sse: str = Field(default="", description="S3_SSE: server-side encryption (AES256, aws:kms)")
    archive_key_file: str = Field(
        default="", description="BGW_ARCHIVE_KEY_FILE: age key file sealing archives at rest"
    )

    @property
    def archive_dir(self) -> Path:
        """Where a new archive is written first (and kept, without S3)."""
        return Path(self.export_path)

    @property
    def snapshots_dir(self) -> Path:
        return Path(self.export_path) / "snapshots"

    @property
    def csv_dir(self) -> Path:
        return Path(self.export_path) / "csv"

    def s3_settings(self) -> S3Settings:
        settings = S3Settings.from_values(  # the keys stripped, as the settings read them
            self.s3_bucket,
            self.s3_endpoint,
            self.s3_access_key.strip(),
            self.s3_secret_key.strip(),
            self.s3_region,
            self.s3_sse,
        )
        return replace(settings, prefix=self.s3_prefix)

    def key(self) -> ArchiveKey | None:
        """The key that seals and opens archives, if one is set."""
        return ArchiveKey.load(Path(self.archive_key_file)) if self.archive_key_file else None

    def storage(self) -> ArchiveStorage:
        """The archive storage this deployment uses."""
        if self.s3_enabled:
            from bgw_pipeline.core.storage.s3_storage import S3Storage  # boto3: only when used

            return S3Storage(self.s3_settings(), key=self.key())
        return LocalStorage(self.archive_dir, key=self.key())
