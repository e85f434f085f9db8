"""Reading an archive safely: metadata, versions, checksums and rows in chunks.

`open_archive` refuses unsafe or broken archives before anything else happens; the
reader then hands out rows chunk by chunk (never a whole table at once for archives in
this project's one-row-per-line layout) and can verify every member's checksum.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from isal import isal_zlib

from bgw_pipeline.core.archive.format import METADATA_MEMBER, check_version
from bgw_pipeline.core.archive.json_keys import refuse_repeated_keys
from bgw_pipeline.core.archive.lines import (
    iter_table_lines,
    iter_table_rows,
    line_id,
    member_has_line_layout,
    parse_lines,
)
from bgw_pipeline.core.archive.safety import (
    MB,
    ArchiveLimits,
    CountingReader,
    UnpackBudget,
    check_declared_sizes,
    check_member_name,
)
from bgw_pipeline.core.archive.verification import VerificationReport, verify_members
from bgw_pipeline.core.files.sealing import is_sealed
from bgw_pipeline.core.model.entities import CORE_ENTITIES, ENTITIES_BY_NAME, RAW_ENTITIES, Entity
from bgw_pipeline.core.model.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    ChecksumMismatchError,
    IncompatibleVersionError,
    NotFoundError,
)

__all__ = ["ArchiveLimits", "ArchiveReader", "VerificationReport", "open_archive", "verify_archive"]

CHECKSUM_FORMAT = re.compile(r"^sha256:[0-9a-f]{64}$")
DEFAULT_CHUNK_ROWS = 20_000


class ArchiveReader:
    """An open, safety-checked archive."""

    def __init__(
        self,
        zf: zipfile.ZipFile,
        archive_bytes: int,
        limits: ArchiveLimits,
        path: Path | None = None,
    ) -> None:
        self._zf = zf
        self.path = path
        self.limits = limits
        self._infos = {i.filename: i for i in zf.infolist() if not i.is_dir()}
        self._budget = UnpackBudget(limits.uncompressed_budget(archive_bytes))
        # SHA-256 and size of members read to the end while `collect_digests` was on.
        self.collect_digests = False
        self._digests: dict[str, tuple[str, int]] = {}
        self.metadata = self._read_metadata()
        self.compatibility = check_version(self.metadata.get("version"))

    @property
    def checksum(self) -> str:
        return str(self.metadata.get("checksum", ""))

    @property
    def version_warnings(self) -> list[str]:
        compatible, _match, warnings = self.compatibility
        return warnings if compatible else []

    def unpacked_bytes(self) -> int:
        """What the members declare they unpack to, in all."""
        return sum(info.file_size for info in self._infos.values())

    def member_names(self) -> list[str]:
        return list(self._infos)

    def entities(self) -> tuple[Entity, ...]:
        """What an import of this archive reads: the core entities, and the raw ones
        that have members here."""
        raw = tuple(e for e in RAW_ENTITIES if any(n.startswith(e.member) for n in self._infos))
        return CORE_ENTITIES + raw

    def require_compatible(self) -> None:
        compatible, _match, warnings = self.compatibility
        if not compatible:
            raise IncompatibleVersionError(f"{'; '.join(warnings)}; nothing was imported")

    def open_member(self, name: str) -> CountingReader:
        info = self._infos[name]
        try:
            stream = self._zf.open(info)
        except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError) as exc:
            raise ArchiveError(f"member {name} is corrupt: {exc}") from None
        if info.compress_type == zipfile.ZIP_DEFLATED:
            # ISA-L inflates the same deflate about twice as fast.
            stream._decompressor = isal_zlib.decompressobj(-15)  # type: ignore[attr-defined]
        on_digest = None
        if self.collect_digests:
            on_digest = self._keep_digest
            # The member's SHA-256, taken on this read, is checked against metadata.json
            # before anything is written or reported; a CRC-32 of the same bytes adds
            # nothing to it (about 0.3 s at L).
            stream._expected_crc = None  # type: ignore[attr-defined]
        return CountingReader(stream, info, self._budget, on_digest)

    def _keep_digest(self, name: str, sha256: str, size: int) -> None:
        self._digests[name] = (sha256, size)

    @property
    def digests(self) -> dict[str, tuple[str, int]]:
        """SHA-256 and size of the members read to the end with `collect_digests` on."""
        return dict(self._digests)

    def add_digests(self, digests: dict[str, tuple[str, int]]) -> None:
        """Digests another reader of the same file took (another process's pass)."""
        self._digests.update(digests)

    def unpacked_bytes_of(self, entity_name: str) -> int:
        """What the entity's member(s) declare they unpack to."""
        entity = ENTITIES_BY_NAME[entity_name]
        return sum(self._infos[name].file_size for name in self.members_of(entity))

    def digest(self, name: str) -> tuple[str, int]:
        """A member's SHA-256 and size: from the pass that read it, or read now."""
        if name not in self._digests:
            sha, size, stream = hashlib.sha256(), 0, self.open_member(name)
            while chunk := stream.read():
                sha.update(chunk)
                size += len(chunk)
            self._digests[name] = (sha.hexdigest(), size)
        return self._digests[name]

    def read_member_bytes(self, name: str, max_bytes: int = 64 * MB) -> bytes:
        if name not in self._infos:
            raise ArchiveError(f"member {name} is missing")
        if self._infos[name].file_size > max_bytes:
            raise ArchiveTooLargeError(f"member {name} is larger than {max_bytes} bytes")
        stream, parts = self.open_member(name), []
        while chunk := stream.read():
            parts.append(chunk)
        return b"".join(parts)

    def _read_metadata(self) -> dict[str, Any]:
        if METADATA_MEMBER not in self._infos:
            raise ArchiveError("metadata.json is missing: this is not a BGW export archive")
        try:
            text = self.read_member_bytes(METADATA_MEMBER, max_bytes=16 * MB)
            metadata = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ArchiveError(f"metadata.json is not valid JSON: {exc}") from None
        refuse_repeated_keys(text, metadata, METADATA_MEMBER)
        if not isinstance(metadata, dict):
            raise ArchiveError("metadata.json must be a JSON object")
        if not isinstance(metadata.get("contents"), dict):
            raise ArchiveError("metadata.json has no 'contents' object")
        if not isinstance(metadata.get("checksum"), str) or not CHECKSUM_FORMAT.match(
            metadata["checksum"]
        ):
            raise ArchiveError("metadata.json 'checksum' must be 'sha256:' and 64 hex digits")
        return metadata

    def members_of(self, entity: Entity) -> list[str]:
        """The names of the entity's member(s) in this archive."""
        if entity.one_file_per_row:
            return sorted(n for n in self._infos if n.startswith(entity.member))
        return [entity.member] if entity.member in self._infos else []

    def iter_rows(
        self,
        entity: Entity,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        keep: Callable[[str | None], bool] | None = None,
    ) -> Iterator[list[Any]]:
        """The entity's rows as parsed JSON, in chunks of at most `chunk_rows`.

        `keep`, given a row's id as written (None when the row is not in the export's own
        form), says whether to parse it; rows it refuses are skipped unparsed.
        """
        if entity.one_file_per_row:
            chunk: list[Any] = []
            for lines in self.iter_row_lines(entity, chunk_rows) or ():
                kept = lines if keep is None else [t for t in lines if keep(line_id(t))]
                chunk.extend(parse_lines(entity.member, kept))
                if len(chunk) >= chunk_rows:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
            return
        if entity.member not in self._infos:
            raise ArchiveError(f"member {entity.member} is missing")
        yield from iter_table_rows(self, entity, chunk_rows, keep)

    def iter_row_lines(
        self, entity: Entity, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> Iterator[list[bytes]] | None:
        """Each row's JSON text, unparsed, in chunks; None when the member is not written
        one row per line (then only `iter_rows` can read it)."""
        if entity.one_file_per_row:
            return self._listing_lines(entity, chunk_rows)
        if entity.member not in self._infos:
            raise ArchiveError(f"member {entity.member} is missing")
        if not member_has_line_layout(self, entity):
            return None
        return iter_table_lines(self, entity, chunk_rows)

    def has_line_layout(self, entity: Entity) -> bool:
        """The entity's member is written one row per line (the export's own layout)."""
        return entity.member in self._infos and member_has_line_layout(self, entity)

    def _listing_lines(self, entity: Entity, chunk_rows: int) -> Iterator[list[bytes]]:
        chunk: list[bytes] = []
        for name in self.members_of(entity):
            chunk.append(self.read_member_bytes(name).strip())
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def count_rows(self, entity: Entity) -> int:
        if entity.one_file_per_row:
            return len(self.members_of(entity))
        return sum(len(chunk) for chunk in self.iter_rows(entity))

    def verify(
        self, count_rows: bool = False, row_counts: Mapping[str, int] | None = None
    ) -> VerificationReport:
        """Recompute every member's SHA-256 and size; compare with metadata.json (and the
        row counts, counted now or given: verify_members).

        A member already read to the end with `collect_digests` on is not read again."""
        return verify_members(self, count_rows, row_counts)

    def require_verified(self) -> None:
        report = self.verify()
        if not report.ok:
            raise ChecksumMismatchError("; ".join(report.problems[:5]) + "; nothing was imported")


@contextmanager
def open_archive(path: Path, limits: ArchiveLimits | None = None) -> Iterator[ArchiveReader]:
    """Open `path` after refusing anything unsafe (spec: "Limits on input").

    Raises:
        ArchiveError: not a ZIP, unsafe names, unknown members, broken metadata.
        ArchiveTooLargeError: over the size limit, or a zip bomb.
        NotFoundError: no file at `path`.
    """
    limits = limits or ArchiveLimits()
    if not path.is_file():
        raise NotFoundError(f"no archive at {path}")
    size = path.stat().st_size
    if size > limits.max_archive_bytes:
        raise ArchiveTooLargeError(
            f"{path.name} is {size / MB:.1f} MB, "
            f"over the {limits.max_archive_bytes / MB:.0f} MB limit"
        )
    if size == 0:
        raise ArchiveError(f"{path.name} is empty, not a ZIP archive")
    try:
        zf = zipfile.ZipFile(path)
    except Exception as exc:  # noqa: BLE001 - any failure to read the directory means the same
        # zipfile raises BadZipFile, but also NotImplementedError (a "version 6.4" entry),
        # EOFError, struct.error... on hostile bytes: all are "not a readable ZIP".
        if is_sealed(path):
            raise ArchiveError(
                f"{path.name} is encrypted (age): it opens with the key in "
                "BGW_ARCHIVE_KEY_FILE, through bgw import or bgw inspect"
            ) from None
        raise ArchiveError(f"{path.name} is not a ZIP archive (or is truncated): {exc}") from None
    with zf:
        infos = zf.infolist()
        for info in infos:
            check_member_name(info)
        check_declared_sizes(infos, size, limits)
        yield ArchiveReader(zf, size, limits, path)


def verify_archive(path: Path, limits: ArchiveLimits | None = None) -> VerificationReport:
    """Verify an archive member by member against its metadata.json (nothing raised for
    data differences; they are listed in the report)."""
    with open_archive(path, limits) as reader:
        return reader.verify(count_rows=True)
