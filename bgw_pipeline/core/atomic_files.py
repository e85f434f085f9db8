"""Writing files so that nobody ever sees a half-written one under its final name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PARTIAL_SUFFIX = ".partial"


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def partial_path(final: Path) -> Path:
    """The hidden temporary name a file is written under before its rename."""
    return final.parent / f".{final.name}.{os.getpid()}{PARTIAL_SUFFIX}"


@contextmanager
def atomic_write(final: Path, durable: bool = True) -> Iterator[BinaryIO]:
    """Write to a hidden `.partial` file; rename it to `final` only if the block succeeds.

    Args:
        final: the file's final path; its folder is created if missing.
        durable: fsync the file and the folder (for archives; snapshots can skip it).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(final)
    try:
        with open(partial, "wb") as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(partial, final)
        if durable:
            fsync_dir(final.parent)
    finally:
        partial.unlink(missing_ok=True)


def remove_stale_partials(folder: Path) -> list[Path]:
    """Delete `.partial` files left by writers that crashed; they are never valid files."""
    removed = []
    for path in folder.glob(f".*{PARTIAL_SUFFIX}"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed
