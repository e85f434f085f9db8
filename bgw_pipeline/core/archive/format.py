"""Constants and pure functions of the archive format (spec: ARCHIVE_FORMAT.md)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bgw_pipeline.core.model.entities import Entity, entities_for
from bgw_pipeline.core.model.values import format_timestamp

FORMAT_VERSION = "1.0.0"
VERSION_FORMAT = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
CREATED_BY = "BGW Export Service"
METADATA_MEMBER = "metadata.json"
ALLOWED_DIRECTORIES = ("raw_data/", "raw_data/listings/")
ARCHIVE_PREFIX = "bgw_backup_"
ARCHIVE_SUFFIX = ".zip"


def manifest_text(member_sha256: Mapping[str, str]) -> str:
    """The manifest: one `<member>\\t<sha256>\\n` line per member, sorted by UTF-8 bytes."""
    names = sorted(member_sha256, key=lambda name: name.encode("utf-8"))
    return "".join(f"{name}\t{member_sha256[name]}\n" for name in names)


def archive_checksum(member_sha256: Mapping[str, str]) -> str:
    """`sha256:<hex>` of the manifest; covers every data byte, not compression or time."""
    digest = hashlib.sha256(manifest_text(member_sha256).encode("utf-8")).hexdigest()
    return f"sha256:{digest}"


def build_metadata(
    created_at: datetime,
    counts: Mapping[str, int],
    files: Mapping[str, Mapping[str, Any]],
    include_raw_data: bool,
) -> dict[str, Any]:
    """metadata.json as the spec shows it, with this project's `files` addition."""
    contents: dict[str, Any] = {}
    for entity in entities_for(include_raw_data):
        contents[entity.count_key] = counts[entity.name]
    contents["include_raw_data"] = include_raw_data
    # The spec lists the core counts first, then include_raw_data, then the raw counts.
    ordered = {k: v for k, v in contents.items() if not k.startswith(("raw_items", "listings"))}
    ordered.update({k: v for k, v in contents.items() if k.startswith(("raw_items", "listings"))})
    return {
        "version": FORMAT_VERSION,
        "created_at": format_timestamp(created_at),
        "created_by": CREATED_BY,
        "checksum": archive_checksum({name: f["sha256"] for name, f in files.items()}),
        "contents": ordered,
        "files": {name: dict(files[name]) for name in sorted(files)},
    }


def archive_name(created_at: datetime) -> str:
    """A file name that sorts by creation time: `bgw_backup_20240115T123000Z.zip`."""
    return f"{ARCHIVE_PREFIX}{created_at.strftime('%Y%m%dT%H%M%SZ')}{ARCHIVE_SUFFIX}"


def wrapper_key(entity: Entity) -> str:
    """The top-level key of an entity's JSON member: `{"games": [...]}`."""
    return entity.name


def check_version(version: Any) -> tuple[bool, bool, list[str]]:
    """(compatible, version_match, warnings) of an archive version (spec: Versions)."""
    ours = tuple(int(p) for p in FORMAT_VERSION.split("."))
    match = VERSION_FORMAT.match(version) if isinstance(version, str) else None
    if match is None:
        return False, False, [f"unparsable archive version {version!r:.40}"]
    theirs = tuple(int(p) for p in match.groups())
    if theirs[0] != ours[0]:
        return (
            False,
            False,
            [f"unsupported major version {version} (this importer reads {ours[0]}.x)"],
        )
    if theirs == ours:
        return True, True, []
    if theirs > ours:
        return True, False, [f"Import from newer version {version}"]
    return True, False, []
