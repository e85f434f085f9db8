"""Private temporary folders that a killed process does not leave behind for good.

An import's work folder holds its DuckDB file and what DuckDB spills, hundreds of
megabytes for a big archive; a download or an upload holds a whole archive. A process
killed outright (SIGKILL, the kernel's OOM killer) cannot remove its folder, and a host
that imports every day would slowly fill its temporary disk. So each folder holds a
lock file, locked (`flock`) by its owner for as long as it works; the kernel drops the
lock when the owner dies. Opening a new folder first removes those of the same kind
whose lock is free. A folder whose owner is alive is never touched, nor one without a
lock file (being created, or not ours).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bgw_pipeline.core.files.atomic_files import holds_own_lock, try_lock

LOCK_NAME = ".bgw-owner.lock"


def remove_abandoned(prefix: str, parent: Path | None = None) -> list[Path]:
    """Remove the folders named `prefix*` in `parent` (the temporary folder) whose owner
    is gone; return them."""
    removed = []
    for folder in (parent or Path(tempfile.gettempdir())).glob(f"{prefix}*"):
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
        except OSError:  # no lock file (being created, or not ours), or not ours to read
            continue
        try:
            if try_lock(fd) is True:  # its owner is gone
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        finally:
            os.close(fd)
    return removed


def _new_locked_folder(prefix: str, parent: Path | None) -> tuple[Path, int]:
    while True:
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        fd = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        if holds_own_lock(fd):
            return folder, fd
        # Another process's sweep found the folder before its lock was taken and is
        # removing it: start over with a new one.
        os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def work_folder(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A new private folder named `prefix*` in `parent` (the temporary folder), removed on
    exit; the folders of the same kind that killed processes left are removed first."""
    remove_abandoned(prefix, parent)
    folder, fd = _new_locked_folder(prefix, parent)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # still locked: no sweep races this
        with contextlib.suppress(OSError):
            os.close(fd)
