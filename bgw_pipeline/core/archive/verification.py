"""Checking an archive against its metadata.json: members, sizes, SHA-256, checksum, counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bgw_pipeline.core.archive.format import METADATA_MEMBER, archive_checksum
from bgw_pipeline.core.model.entities import ALL_ENTITIES, CORE_ENTITIES, RAW_ITEMS, Entity


class VerifiedArchive(Protocol):
    """What verification reads of an open archive (reader.py's ArchiveReader): said here,
    so that the reader can verify itself without the two modules importing each other."""

    metadata: dict[str, Any]

    def member_names(self) -> list[str]: ...
    def digest(self, name: str) -> tuple[str, int]: ...
    def members_of(self, entity: Entity) -> list[str]: ...
    def count_rows(self, entity: Entity) -> int: ...


@dataclass
class VerificationReport:
    """Every member checked against metadata.json: what differs, if anything."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    checksum: str | None = None
    members_checked: int = 0


def verify_members(
    reader: VerifiedArchive, count_rows: bool = False, row_counts: Mapping[str, int] | None = None
) -> VerificationReport:
    """Recompute every member's SHA-256 and size (or take them from the pass that read the
    member) and compare them, the archive checksum and, with `count_rows`, the row counts
    with metadata.json: counted here, or `row_counts` as a pass that parsed every row of
    the members (the drill's load) counted them."""
    names = reader.member_names()  # in the ZIP's order, so problems come in that order
    present = set(names)
    problems: list[str] = []
    include_raw = bool(reader.metadata["contents"].get("include_raw_data", False))
    for entity in CORE_ENTITIES + ((RAW_ITEMS,) if include_raw else ()):
        if entity.member not in present:
            problems.append(f"member {entity.member} is missing")
    files = reader.metadata.get("files") if isinstance(reader.metadata.get("files"), dict) else None
    digests: dict[str, str] = {}
    for name in names:
        if name == METADATA_MEMBER:
            continue
        digests[name], size = reader.digest(name)
        if files is not None:
            expected = files.get(name)
            if not isinstance(expected, dict):
                problems.append(f"{name}: not listed in metadata.json files")
            elif expected.get("sha256") != digests[name]:
                problems.append(f"{name}: sha256 differs from metadata.json (content changed)")
            elif expected.get("bytes") != size:
                problems.append(f"{name}: size {size} differs from metadata.json")
    if files is not None:
        problems.extend(
            f"{n}: listed in metadata.json but missing" for n in files if n not in present
        )
    checksum = archive_checksum(digests)
    if checksum != reader.metadata["checksum"]:
        problems.append(f"archive checksum {checksum} differs from metadata.json")
    counts: dict[str, int] = {}
    if count_rows or row_counts is not None:
        for entity in ALL_ENTITIES:
            if not reader.members_of(entity):
                continue
            if row_counts is not None and entity.name in row_counts:
                counts[entity.name] = row_counts[entity.name]
            else:
                counts[entity.name] = reader.count_rows(entity)
            declared = reader.metadata["contents"].get(entity.count_key)
            if declared is not None and declared != counts[entity.name]:
                problems.append(
                    f"{entity.member}: {counts[entity.name]} rows, metadata.json says {declared}"
                )
    return VerificationReport(not problems, problems, counts, checksum, len(digests))
