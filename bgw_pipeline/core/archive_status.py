"""What is known about each archive, kept next to it as `<archive>.status.json`.

Checks write here (verified against its metadata, shrinkage alert, restore drill), and
retention reads it: only a verified archive without a shrinkage alert counts as "good".
A sidecar file works the same on local disk and in object storage, and survives a
Dagster instance being wiped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from bgw_pipeline.core.atomic_files import atomic_write

STATUS_SUFFIX = ".status.json"
IN_USE_DIR = ".in_use"


@dataclass
class ArchiveStatus:
    """Facts recorded about one archive."""

    verified: bool | None = None
    shrink_alert: bool | None = None
    restorable: bool | None = None
    counts: dict[str, int] | None = None

    @property
    def good(self) -> bool:
        return bool(self.verified) and not self.shrink_alert


def status_path(archive: Path) -> Path:
    return archive.with_name(archive.name + STATUS_SUFFIX)


def read_status(archive: Path) -> ArchiveStatus:
    path = status_path(archive)
    if not path.exists():
        return ArchiveStatus()
    data = orjson.loads(path.read_bytes())
    return ArchiveStatus(**{k: data.get(k) for k in ArchiveStatus.__dataclass_fields__})


def update_status(archive: Path, **changes: object) -> ArchiveStatus:
    """Record new facts about an archive, keeping the others."""
    status = read_status(archive)
    for key, value in changes.items():
        setattr(status, key, value)
    with atomic_write(status_path(archive), durable=False) as fh:
        fh.write(orjson.dumps(asdict(status), option=orjson.OPT_INDENT_2))
    return status


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def archive_in_use(archive: Path) -> Iterator[None]:
    """Mark an archive as being read (by an import), so retention leaves it alone."""
    marker = archive.parent / IN_USE_DIR / f"{archive.name}.{os.getpid()}"
    try:
        marker.parent.mkdir(exist_ok=True)
        marker.touch()
    except OSError:  # a read-only folder: nothing to protect it from there either
        yield
        return
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def archives_in_use(folder: Path) -> set[str]:
    """Names of archives an import is reading now (stale markers of dead processes ignored)."""
    names = set()
    marker_dir = folder / IN_USE_DIR
    if not marker_dir.is_dir():
        return names
    for marker in marker_dir.iterdir():
        name, _, pid = marker.name.rpartition(".")
        if pid.isdigit() and _pid_alive(int(pid)):
            names.add(name)
    return names
