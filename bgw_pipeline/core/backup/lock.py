"""One backup at a time, whatever door started it (the schedule, the UI, `bgw backup`,
the HTTP API): a lock file beside the archives, held for the whole backup.

The daemon's run queue only orders the runs it launches itself; `bgw backup` and the
API run backup_job in their own processes. An flock is released by the kernel when its
holder dies, so a crashed backup never leaves the next one locked out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bgw_pipeline.core.files.atomic_files import try_lock
from bgw_pipeline.core.model.errors import BackupRunningError

LOCK_NAME = ".bgw_backup.lock"


@contextmanager
def one_backup_at_a_time(folder: Path) -> Iterator[None]:
    """Hold the backup lock of `folder` (EXPORT_PATH) or raise BackupRunningError."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if try_lock(fd) is False:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            raise BackupRunningError(
                f"another backup is running ({holder or 'holder unknown'}); "
                "one backup at a time: try again when it has finished"
            )
        os.ftruncate(fd, 0)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        os.pwrite(fd, f"pid {os.getpid()}, since {since}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
