"""A full export to a folder: write to a hidden temporary file, then rename atomically.

Nobody ever sees a partial archive under its final name: a crash leaves at most a
`.partial` file, which the next export removes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bgw_pipeline.core.archive_format import archive_name
from bgw_pipeline.core.archive_writer import ArchiveWriter, ProgressCallback
from bgw_pipeline.core.errors import ExportError
from bgw_pipeline.core.snapshot import TableSource, open_snapshot

PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True)
class ExportResult:
    """A finished archive and what it holds."""

    path: Path
    size_bytes: int
    checksum: str
    created_at: str
    counts: dict[str, int]
    include_raw_data: bool
    duration_seconds: float
    metadata: dict[str, Any]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _final_path(out_dir: Path, created_at: datetime) -> Path:
    path = out_dir / archive_name(created_at)
    suffix = 1
    while path.exists():
        path = out_dir / archive_name(created_at).replace(".zip", f"_{suffix}.zip")
        suffix += 1
    return path


def remove_stale_partials(out_dir: Path) -> list[Path]:
    """Delete `.partial` files left by exports that crashed; they are never valid archives."""
    removed = []
    for path in out_dir.glob(f".*{PARTIAL_SUFFIX}"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def write_archive_file(
    source: TableSource,
    out_dir: Path,
    include_raw_data: bool,
    created_at: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> ExportResult:
    """Write an archive of `source` into `out_dir` atomically.

    Args:
        source: where the rows come from (a database snapshot or staged tables).
        out_dir: the archive folder; created if missing.
        include_raw_data: add raw_items and listings.
        created_at: the archive's creation time (now, in UTC, by default).
        progress: called with (entity, rows written, rows in total).
    """
    started = time.monotonic()
    created = (created_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out_dir)
    final = _final_path(out_dir, created)
    partial = out_dir / f".{final.name}.{os.getpid()}{PARTIAL_SUFFIX}"
    try:
        with open(partial, "wb") as fh:
            contents = ArchiveWriter(fh, created, include_raw_data, progress).write(source)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, final)
        _fsync_dir(out_dir)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ExportError(f"could not write the archive in {out_dir}: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ExportResult(
        path=final,
        size_bytes=final.stat().st_size,
        checksum=contents.checksum,
        created_at=contents.metadata["created_at"],
        counts=contents.counts,
        include_raw_data=include_raw_data,
        duration_seconds=round(time.monotonic() - started, 3),
        metadata=contents.metadata,
    )


def export_database(
    engine: Engine,
    out_dir: Path,
    include_raw_data: bool = False,
    created_at: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> ExportResult:
    """Export one consistent snapshot of the database to an archive in `out_dir`."""
    with open_snapshot(engine) as snapshot:
        return write_archive_file(snapshot, out_dir, include_raw_data, created_at, progress)
