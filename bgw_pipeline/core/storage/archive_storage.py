"""Where archives live: one interface, a local folder or an S3-compatible bucket.

Archives are always written to a local work folder first (atomically); `store` then
makes them durable in the storage, sealed with age when a key is set (files/sealing.py),
and `local_copy` gives them back as plain ZIPs. Status sidecars (`<archive>.status.json`) and
"an import is reading this" markers live in the same storage, so retention sees them
wherever the archives are.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from bgw_pipeline.core.archive.format import ARCHIVE_PREFIX, ARCHIVE_SUFFIX
from bgw_pipeline.core.files.atomic_files import atomic_write
from bgw_pipeline.core.files.sealing import ArchiveKey, opened, seal
from bgw_pipeline.core.files.work_folders import work_folder
from bgw_pipeline.core.model.errors import NotFoundError

STATUS_SUFFIX = ".status.json"
IN_USE = ".in_use/"
IN_USE_TTL_SECONDS = 12 * 3600


@dataclass
class ArchiveStatus:
    """Facts recorded about one archive by the checks."""

    verified: bool | None = None
    shrink_alert: bool | None = None
    restorable: bool | None = None
    counts: dict[str, int] | None = None
    checksum: str | None = None
    # Why: what verification or the restore drill found, which tables shrank and how much.
    verify_problems: list[str] | None = None
    drill_problems: list[str] | None = None
    shrinkage: list[str] | None = None

    @property
    def good(self) -> bool:
        return bool(self.verified) and not self.shrink_alert


@dataclass(frozen=True)
class StoredArchive:
    """One archive in the storage."""

    name: str
    size_bytes: int
    modified: float


def is_archive_name(name: str) -> bool:
    return (
        name.startswith(ARCHIVE_PREFIX)
        and name.endswith(ARCHIVE_SUFFIX)
        and "/" not in name
        and "\\" not in name
    )


def check_archive_name(name: str) -> str:
    """Refuse anything that is not a plain archive name (path traversal included)."""
    if not is_archive_name(name) or name.startswith(".") or ".." in name:
        raise NotFoundError(f"no archive named {name[:80]!r}")
    return name


class ArchiveStorage(ABC):
    """The operations every archive storage offers."""

    description: str
    key: ArchiveKey | None = None  # seal archives at rest (BGW_ARCHIVE_KEY_FILE)

    @abstractmethod
    def list_archives(self) -> list[StoredArchive]: ...

    @abstractmethod
    def store(self, local: Path) -> str:
        """Make a finished local archive durable; returns where it now is."""

    @abstractmethod
    def delete(self, name: str) -> None: ...

    @abstractmethod
    def _read_object(self, key: str) -> bytes | None: ...

    @abstractmethod
    def _write_object(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def _delete_object(self, key: str) -> None: ...

    @abstractmethod
    def _list_keys(self, prefix: str) -> list[tuple[str, float]]: ...

    @abstractmethod
    @contextmanager
    def _stored_copy(self, name: str) -> Iterator[Path]:
        """A local file with the stored bytes (sealed or not), while the block runs."""

    @contextmanager
    def local_copy(self, name: str) -> Iterator[Path]:
        """A local file with the archive's plain ZIP, for as long as the block runs;
        a sealed archive is decrypted and authenticated whole first (ArchiveError if it
        fails, or if no key is set)."""
        with self._stored_copy(name) as stored, opened(stored, self.key) as plain:
            yield plain

    @contextmanager
    def _bytes_to_store(self, local: Path) -> Iterator[Path]:
        """The file to store for the finished archive `local`: itself, or a sealed copy."""
        if self.key is None:
            yield local
            return
        with work_folder("bgw-seal-") as folder:
            sealed = folder / local.name
            with atomic_write(sealed, durable=False) as fh:
                seal(local, fh, self.key)
            yield sealed

    def location(self, name: str) -> str:
        return name

    def read_status(self, name: str) -> ArchiveStatus:
        data = self._read_object(name + STATUS_SUFFIX)
        if data is None:
            return ArchiveStatus()
        raw = orjson.loads(data)
        return ArchiveStatus(**{k: raw.get(k) for k in ArchiveStatus.__dataclass_fields__})

    def update_status(self, name: str, **changes: object) -> ArchiveStatus:
        status = self.read_status(name)
        for key, value in changes.items():
            setattr(status, key, value)
        self._write_object(name + STATUS_SUFFIX, orjson.dumps(asdict(status)))
        return status

    @contextmanager
    def reading(self, name: str) -> Iterator[None]:
        """Mark an archive as being read (an import, a drill): retention leaves it alone."""
        key = f"{IN_USE}{name}.{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            self._write_object(key, b"")
        except OSError:  # a read-only place cannot lose the archive to retention either
            yield
            return
        try:
            yield
        finally:
            self._delete_object(key)

    def in_use(self) -> set[str]:
        """Archives being read now; markers older than 12 hours are taken as abandoned."""
        names = set()
        for key, modified in self._list_keys(IN_USE):
            if time.time() - modified < IN_USE_TTL_SECONDS:
                names.add(key.removeprefix(IN_USE).rsplit(".", 1)[0])
        return names


class LocalStorage(ArchiveStorage):
    """Archives in a folder (EXPORT_PATH)."""

    def __init__(self, folder: Path, key: ArchiveKey | None = None) -> None:
        self.folder = folder
        self.description = str(folder)
        self.key = key

    def list_archives(self) -> list[StoredArchive]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            if is_archive_name(path.name) and path.is_file():
                stat = path.stat()
                found.append(StoredArchive(path.name, stat.st_size, stat.st_mtime))
        return found

    def store(self, local: Path) -> str:
        target = self.folder / local.name
        with self._bytes_to_store(local) as source:
            if source.resolve() != target.resolve():  # sealed, or written elsewhere
                with atomic_write(target) as fh, open(source, "rb") as src:
                    shutil.copyfileobj(src, fh, 1 << 20)
        return str(target)

    def delete(self, name: str) -> None:
        (self.folder / check_archive_name(name)).unlink(missing_ok=True)
        self._delete_object(name + STATUS_SUFFIX)

    def location(self, name: str) -> str:
        return str(self.folder / name)

    def _read_object(self, key: str) -> bytes | None:
        path = self.folder / key
        return path.read_bytes() if path.exists() else None

    def _write_object(self, key: str, data: bytes) -> None:
        with atomic_write(self.folder / key, durable=False) as fh:
            fh.write(data)

    def _delete_object(self, key: str) -> None:
        (self.folder / key).unlink(missing_ok=True)

    def _list_keys(self, prefix: str) -> list[tuple[str, float]]:
        folder = self.folder / prefix
        if not folder.is_dir():
            return []
        return [(prefix + p.name, p.stat().st_mtime) for p in folder.iterdir()]

    @contextmanager
    def _stored_copy(self, name: str) -> Iterator[Path]:
        path = self.folder / check_archive_name(name)
        if not path.exists():
            raise NotFoundError(f"no archive {name} in {self.folder}")
        yield path


@contextmanager
def temporary_download() -> Iterator[Path]:
    """A private temporary folder for downloaded archives, removed afterwards."""
    with work_folder("bgw-download-") as folder:
        yield folder
