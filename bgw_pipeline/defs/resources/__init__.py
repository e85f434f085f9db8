"""Dagster resources, and the one place that picks them from the environment."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from bgw_pipeline.defs.names import (
    DATABASE_RESOURCE,
    INBOX_RESOURCE,
    OPERATIONS_RESOURCE,
    STORE_RESOURCE,
)
from bgw_pipeline.defs.resources.archive_store import ArchiveStore
from bgw_pipeline.defs.resources.database import BgwDatabase
from bgw_pipeline.defs.resources.import_inbox import ImportInbox
from bgw_pipeline.defs.resources.operations import Operations
from bgw_pipeline.settings import (
    DEFAULT_DATABASE_URL,
    OperationsSettings,
    Settings,
    load_env_file,
)


def _secret(name: str, default: str) -> Any:
    # EnvVar keeps a secret (a password in a URL, an S3 key) out of the UI and the run
    # config; it is only used when the variable is set, so a fresh checkout runs with
    # defaults. It hands over the raw text: the resources strip it as the settings do.
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else default


def build_resources() -> dict[str, Any]:
    """The resources for the environment this process runs in (local files by default).

    Every value is read and checked by the settings module, as the command line and the
    API read it: an invalid one (`S3_ENABLED=ture`) stops the code location with the same
    error instead of being taken for a default, and a valid one means the same at every
    door (bgw_pipeline_tests/test_one_configuration.py walks .env.example to prove it).
    Only the secrets go by EnvVar, to stay out of the UI.
    """
    load_env_file()
    settings = Settings.from_env()
    return {
        DATABASE_RESOURCE: BgwDatabase(url=_secret("BGW_DATABASE_URL", DEFAULT_DATABASE_URL)),
        STORE_RESOURCE: _archive_store(settings),
        INBOX_RESOURCE: ImportInbox(
            path=settings.import_inbox,
            max_import_mb=settings.max_import_mb,
        ),
        OPERATIONS_RESOURCE: _operations(settings.operations or OperationsSettings.from_env()),
    }


def _archive_store(settings: Settings) -> ArchiveStore:
    return ArchiveStore(
        export_path=str(settings.export_path),
        s3_enabled=settings.s3_enabled,
        s3_bucket=settings.s3_bucket,
        s3_endpoint=settings.s3_endpoint,
        s3_access_key=_secret("S3_ACCESS_KEY", ""),
        s3_secret_key=_secret("S3_SECRET_KEY", ""),
        s3_region=settings.s3_region,
        s3_sse=settings.s3_sse,
        archive_key_file=str(settings.archive_key.path) if settings.archive_key else "",
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
