"""Writing files so that nobody ever sees a half-written one under its final name.

A file is written under a hidden `.partial` name that is unique to its writer and locked
by it (`flock`) for as long as it writes; only a finished file is renamed to its final
name. The lock is how a crash leftover is told from a file still being written by a
concurrent writer (another export into the same folder, in another process or
container): the kernel drops the lock when its holder dies, so an unlocked `.partial`
is a leftover, and a locked one is never touched.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    """A hidden temporary name for `final`, unique to this writer: the process id alone
    repeats across containers that share a folder, and across threads."""
    token = uuid.uuid4().hex[:12]
    return final.parent / f".{final.name}.{os.getpid()}.{token}{PARTIAL_SUFFIX}"


def try_lock(fd: int) -> bool | None:
    """Take the exclusive lock on an open file without waiting: True if taken, False if
    another holder has it, None where the filesystem has no locks (some network mounts),
    where nobody can tell a live writer from a dead one."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def holds_own_lock(fd: int) -> bool:
    """For a writer that has just created `fd`'s file: whether it may go on with it. Not
    if a sweep holds it or has already deleted it; yes without locks (as before them)."""
    return try_lock(fd) is not False and os.fstat(fd).st_nlink > 0


def _open_locked(final: Path) -> tuple[Path, BinaryIO]:
    """Create and lock a new partial file for `final`.

    A sweep (remove_stale_partials) may find the file between its creation and its lock,
    take it for a leftover and delete it; the file is then created again under a new name.
    """
    while True:
        partial = partial_path(final)
        try:
            fh = open(partial, "xb")  # noqa: SIM115 - handed to the caller, closed there
        except FileExistsError:  # the random part repeated: draw again
            continue
        if holds_own_lock(fh.fileno()):
            return partial, fh
        fh.close()  # a sweep holds it or has deleted it


@dataclass
class NewFile:
    """A file being written by atomic_new_file; `path` is the name it was published
    under (the first choice until then)."""

    file: BinaryIO
    path: Path


def _numbered(first_choice: Path, number: int) -> Path:
    if number == 0:
        return first_choice
    return first_choice.with_name(f"{first_choice.stem}_{number}{first_choice.suffix}")


def _publish_new(partial: Path, first_choice: Path) -> Path:
    """Give `partial` the first free name among first_choice, its `_1`, `_2`... variants,
    never replacing a file: another writer may have taken the name while this one wrote."""
    for number in itertools.count():
        candidate = _numbered(first_choice, number)
        try:
            os.link(partial, candidate)  # fails if the name exists: no overwrite
        except FileExistsError:
            continue
        except OSError:  # a filesystem without hard links: check, then rename
            if candidate.exists():
                continue
            os.replace(partial, candidate)
            return candidate
        partial.unlink()
        return candidate
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def _finish(fh: BinaryIO, durable: bool) -> None:
    fh.flush()
    if durable:
        os.fsync(fh.fileno())


@contextmanager
def _written(final: Path, durable: bool, publish: Callable[[Path], Path]) -> Iterator[NewFile]:
    """The shared body of both writers: a locked partial, finished and published by
    `publish(partial)` (which returns the path it took) while still locked, or removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    partial, fh = _open_locked(final)
    try:
        with fh:
            written = NewFile(fh, final)
            yield written
            _finish(fh, durable)
            written.path = publish(partial)  # still locked here: no sweep can take it
    finally:
        partial.unlink(missing_ok=True)
    if durable:
        fsync_dir(final.parent)


@contextmanager
def atomic_write(final: Path, durable: bool = True) -> Iterator[BinaryIO]:
    """Write to a hidden `.partial` file; rename it to `final` (replacing any file of that
    name) only if the block succeeds.

    Args:
        final: the file's final path; its folder is created if missing.
        durable: fsync the file and the folder (for archives; snapshots can skip it).
    """

    def replace(partial: Path) -> Path:
        os.replace(partial, final)
        return final

    with _written(final, durable, replace) as written:
        yield written.file


@contextmanager
def atomic_new_file(first_choice: Path, durable: bool = True) -> Iterator[NewFile]:
    """Like atomic_write, for a file that must never replace another (an archive): it is
    published as `first_choice`, or as `<stem>_1<suffix>`, `_2`... if that name is taken
    by the time it is finished. `NewFile.path` says which."""

    def publish(partial: Path) -> Path:
        return _publish_new(partial, first_choice)

    with _written(first_choice, durable, publish) as written:
        yield written


def remove_stale_partials(folder: Path) -> list[Path]:
    """Delete `.partial` files left by writers that crashed; they are never valid files.
    A partial still locked by its writer (a concurrent export) is left alone."""
    removed = []
    for path in folder.glob(f".*{PARTIAL_SUFFIX}"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # finished or removed meanwhile
            continue
        try:
            if try_lock(fd) is True:  # nobody writes it: its writer is gone
                path.unlink(missing_ok=True)
                removed.append(path)
        finally:
            os.close(fd)  # releases the lock
    return removed
