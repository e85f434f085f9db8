"""Refusing unsafe archives before reading them: names, links, sizes, zip bombs.

Nothing here trusts a ZIP header: declared sizes are checked up front, and the bytes
actually decompressed are counted again while reading (`CountingReader`).
"""

from __future__ import annotations

import hashlib
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from isal import isal_zlib

from bgw_pipeline.core.archive.format import ALLOWED_DIRECTORIES, METADATA_MEMBER
from bgw_pipeline.core.model.entities import CORE_ENTITIES, RAW_ITEMS
from bgw_pipeline.core.model.errors import ArchiveError, ArchiveTooLargeError

MB = 1024 * 1024
GB = 1024 * MB
LISTING_NAME = re.compile(r"^raw_data/listings/[0-9a-fA-F-]{36}\.json$")
FIXED_MEMBERS = frozenset([METADATA_MEMBER, RAW_ITEMS.member, *(e.member for e in CORE_ENTITIES)])


@dataclass(frozen=True)
class ArchiveLimits:
    """Input limits (spec: "Limits on input"); all configurable."""

    max_archive_bytes: int = 100 * MB
    max_ratio: int = 20
    max_total_uncompressed: int = 2 * GB

    @classmethod
    def unlimited(cls) -> ArchiveLimits:
        """For our own archives (verification after export): no size limits."""
        return cls(max_archive_bytes=1 << 62, max_ratio=1 << 30, max_total_uncompressed=1 << 62)

    def uncompressed_budget(self, archive_bytes: int) -> int:
        """Uncompressed total allowed: 20x the archive or 2 GB, whichever is lower."""
        return min(self.max_ratio * max(archive_bytes, 1), self.max_total_uncompressed)


def check_member_name(info: zipfile.ZipInfo) -> None:
    """Refuse absolute paths, `..`, backslashes, links, odd directories and unknown members."""
    name = info.filename
    shown = repr(name)[:120]
    if not name:  # zipfile's own is_dir() fails on it
        raise ArchiveError("a member has an empty name")
    if "\\" in name or "\x00" in name or ":" in name:
        raise ArchiveError(f"member {shown}: backslashes, drive letters and NUL are not allowed")
    if name.startswith("/") or name.startswith("~"):
        raise ArchiveError(f"member {shown}: absolute paths are not allowed")
    if ".." in name.split("/"):
        raise ArchiveError(f"member {shown}: '..' is not allowed in member paths")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"member {shown}: symbolic links are not allowed")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"member {shown}: encrypted members are not allowed")
    if info.is_dir():
        if name not in ALLOWED_DIRECTORIES:
            raise ArchiveError(f"member {shown}: no directories other than raw_data/ allowed")
        return
    if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        raise ArchiveError(f"member {shown}: compression must be deflate")
    if name not in FIXED_MEMBERS and not LISTING_NAME.match(name):
        raise ArchiveError(
            f"unexpected member {shown}: an archive holds only metadata.json, games.json, "
            "rules.json, events.json, price_history.json and raw_data/"
        )


def check_declared_sizes(
    infos: list[zipfile.ZipInfo], archive_bytes: int, limits: ArchiveLimits
) -> None:
    """Refuse before reading when the headers already promise too much."""
    names = [i.filename for i in infos]
    if len(names) != len(set(names)):
        dup = next(n for n in names if names.count(n) > 1)
        raise ArchiveError(f"member {dup!r} appears more than once")
    declared = sum(i.file_size for i in infos)
    budget = limits.uncompressed_budget(archive_bytes)
    if declared > budget:
        raise ArchiveTooLargeError(
            f"the archive would unpack to {declared} bytes, over the limit of {budget} bytes "
            f"({limits.max_ratio}x its size or {limits.max_total_uncompressed} bytes)"
        )


class UnpackBudget:
    """Bytes the archive unpacks to, against the limit.

    Each member counts once, at the most bytes any read of it reached: an import reads
    members more than once (verify, then rows), and that must not count as a bigger archive.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._seen: dict[str, int] = {}

    def spend(self, member: str, read_so_far: int) -> None:
        grown = read_so_far - self._seen.get(member, 0)
        if grown <= 0:
            return
        self._seen[member] = read_so_far
        self.used += grown
        if self.used > self.limit:
            raise ArchiveTooLargeError(
                f"while reading {member}: the archive unpacks to more than {self.limit} bytes "
                "(zip bomb?); refused"
            )


class CountingReader:
    """A member's decompressed stream that counts bytes and refuses lying headers."""

    def __init__(
        self,
        raw: IO[bytes],
        info: zipfile.ZipInfo,
        budget: UnpackBudget,
        on_digest: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self._raw = raw
        self._info = info
        self._budget = budget
        self.count = 0
        # Hash while reading, so a pass that reads a member anyway also checks it.
        self._sha = hashlib.sha256() if on_digest else None
        self._on_digest = on_digest

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._raw.read(size if size and size > 0 else 1 << 20)
        except (
            zipfile.BadZipFile,
            EOFError,
            OSError,
            ValueError,
            zlib.error,
            isal_zlib.error,
        ) as exc:
            raise ArchiveError(f"member {self._info.filename} is corrupt: {exc}") from None
        self.count += len(data)
        self._budget.spend(self._info.filename, self.count)
        if self.count > self._info.file_size:
            raise ArchiveError(f"member {self._info.filename} is larger than its header declares")
        if not data and self.count != self._info.file_size:
            raise ArchiveError(
                f"member {self._info.filename} holds {self.count} bytes, "
                f"its header declares {self._info.file_size}"
            )
        if self._sha is not None and self._on_digest is not None:
            if data:
                self._sha.update(data)
            else:  # read to the end: the member's digest is known
                self._on_digest(self._info.filename, self._sha.hexdigest(), self.count)
                self._sha = None
        return data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
