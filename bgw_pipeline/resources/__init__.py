"""Dagster resources, and the one place that picks them from the environment."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from bgw_pipeline.names import (
    DATABASE_RESOURCE,
    INBOX_RESOURCE,
    OPERATIONS_RESOURCE,
    STORE_RESOURCE,
)
from bgw_pipeline.resources.archive_store import ArchiveStore
from bgw_pipeline.resources.database import BgwDatabase
from bgw_pipeline.resources.import_inbox import ImportInbox
from bgw_pipeline.resources.operations import Operations
from bgw_pipeline.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_EXPORT_PATH,
    DEFAULT_IMPORT_INBOX,
    OperationsSettings,
    Settings,
    load_env_file,
)


def _env_or_default(name: str, default: str) -> Any:
    # EnvVar keeps the value (a password in a URL) out of the UI and the run config;
    # it is only used when the variable is set, so a fresh checkout runs with defaults.
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else default


def build_resources() -> dict[str, Any]:
    """The resources for the environment this process runs in (local files by default).

    Every value is first read and checked by the settings module, as the command line and
    the API read it: an invalid one (`S3_ENABLED=ture`) stops the code location with the
    same error instead of being taken for a default.
    """
    load_env_file()
    settings = Settings.from_env()
    return {
        DATABASE_RESOURCE: BgwDatabase(
            url=_env_or_default("BGW_DATABASE_URL", DEFAULT_DATABASE_URL)
        ),
        STORE_RESOURCE: _archive_store(settings),
        INBOX_RESOURCE: ImportInbox(
            path=_env_or_default("IMPORT_INBOX", DEFAULT_IMPORT_INBOX),
            max_import_mb=settings.max_import_mb,
        ),
        OPERATIONS_RESOURCE: _operations(OperationsSettings.from_env()),
    }


def _archive_store(settings: Settings) -> ArchiveStore:
    return ArchiveStore(
        export_path=_env_or_default("EXPORT_PATH", DEFAULT_EXPORT_PATH),
        s3_enabled=settings.s3_enabled,
        s3_bucket=_env_or_default("S3_BUCKET", ""),
        s3_endpoint=_env_or_default("S3_ENDPOINT", ""),
        s3_access_key=_env_or_default("S3_ACCESS_KEY", ""),
        s3_secret_key=_env_or_default("S3_SECRET_KEY", ""),
        s3_region=_env_or_default("S3_REGION", "us-east-1"),
    )


def _operations(settings: OperationsSettings) -> Operations:
    return Operations(
        retry_max_tries=settings.retry_max_tries,
        retry_base_delay_seconds=settings.retry_base_delay_seconds,
        retry_max_delay_seconds=settings.retry_max_delay_seconds,
        retention_days=settings.retention_days,
        keep_daily=settings.keep_daily,
        keep_weekly=settings.keep_weekly,
        keep_monthly=settings.keep_monthly,
        shrink_alert_pct=settings.shrink_alert_pct,
        backup_max_age_hours=settings.backup_max_age_hours,
    )


__all__ = ["ArchiveStore", "BgwDatabase", "ImportInbox", "Operations", "build_resources"]
