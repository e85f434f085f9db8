"""What every handler needs: the settings, the database, the archive storage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy.engine import Engine

from bgw_pipeline.core.archive.reader import ArchiveLimits
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.operations.rate_window import SharedRateWindow
from bgw_pipeline.core.storage.archive_storage import ArchiveStorage
from bgw_pipeline.core.storage.s3_settings import S3Settings
from bgw_pipeline.settings import Settings

EXPORT_TIMEOUT_SECONDS = 300


@cache
def settings() -> Settings:
    return Settings.from_env()


def export_limiter() -> SharedRateWindow:
    """Exports per hour per address and per token, shared by every API process that uses
    this EXPORT_PATH, and kept across restarts."""
    return SharedRateWindow(settings().export_path, settings().api_exports_per_hour, 3600)


@cache
def engine() -> Engine:
    return create_engine(settings().database_url)


def limits() -> ArchiveLimits:
    return ArchiveLimits(max_archive_bytes=settings().max_import_mb * 1024 * 1024)


def s3_settings() -> S3Settings:
    return settings().s3()


def storage() -> ArchiveStorage:
    return settings().archive_storage()


@contextmanager
def connection() -> Iterator[object]:
    with engine().connect() as conn:
        yield conn
