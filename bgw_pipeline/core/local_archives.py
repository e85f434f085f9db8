"""The archives in a local folder, as retention and the guards see them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bgw_pipeline.core.archive_format import ARCHIVE_PREFIX, ARCHIVE_SUFFIX
from bgw_pipeline.core.archive_status import archives_in_use, read_status, status_path
from bgw_pipeline.core.retention import (
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


def list_archives(folder: Path) -> list[ArchiveEntry]:
    """Every archive in the folder with its status, newest first."""
    if not folder.is_dir():
        return []
    busy = archives_in_use(folder)
    entries = []
    for path in folder.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}"):
        stat = path.stat()
        entries.append(
            ArchiveEntry(
                name=path.name,
                created_at=archive_created_at(path.name, stat.st_mtime),
                size_bytes=stat.st_size,
                status=read_status(path),
                in_use=path.name in busy,
            )
        )
    return sorted(entries, key=lambda e: (e.created_at, e.name), reverse=True)


def apply_retention(
    folder: Path, policy: RetentionPolicy, now: datetime, dry_run: bool
) -> list[RetentionDecision]:
    """Decide for every archive in `folder`; delete the ones no rule keeps (unless dry run)."""
    decisions = plan_retention(list_archives(folder), policy, now)
    if not dry_run:
        for decision in decisions:
            if not decision.keep:
                archive = folder / decision.entry.name
                archive.unlink(missing_ok=True)
                status_path(archive).unlink(missing_ok=True)
    return decisions
