"""The archives in a storage as retention and the guards see them (with their status)."""

from __future__ import annotations

from datetime import UTC, datetime

from bgw_pipeline.core.archive.format import ARCHIVE_PREFIX, ARCHIVE_SUFFIX
from bgw_pipeline.core.storage.archive_storage import ArchiveStorage
from bgw_pipeline.core.storage.retention import (
    ArchiveEntry,
    RetentionDecision,
    RetentionPolicy,
    plan_retention,
)


def archive_created_at(name: str, fallback: float) -> datetime:
    """The UTC time in an archive's name (`bgw_backup_20240115T123000Z.zip`)."""
    stem = name.removeprefix(ARCHIVE_PREFIX).removesuffix(ARCHIVE_SUFFIX)[:16]
    try:
        return datetime.strptime(stem, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(fallback, UTC)


def list_archives(storage: ArchiveStorage) -> list[ArchiveEntry]:
    """Every archive in the storage with its status, newest first."""
    busy = storage.in_use()
    entries = [
        ArchiveEntry(
            name=item.name,
            created_at=archive_created_at(item.name, item.modified),
            size_bytes=item.size_bytes,
            status=storage.read_status(item.name),
            in_use=item.name in busy,
        )
        for item in storage.list_archives()
    ]
    return sorted(entries, key=lambda e: (e.created_at, e.name), reverse=True)


def apply_retention(
    storage: ArchiveStorage, policy: RetentionPolicy, now: datetime, dry_run: bool
) -> list[RetentionDecision]:
    """Decide for every archive; delete the ones no rule keeps (unless a dry run)."""
    decisions = plan_retention(list_archives(storage), policy, now)
    if not dry_run:
        for decision in decisions:
            if not decision.keep:
                storage.delete(decision.entry.name)
    return decisions
