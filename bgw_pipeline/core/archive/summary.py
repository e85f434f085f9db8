"""The archive summary: the API document's `POST /export/summary` result.

Computed without touching the database, from a reader that already refused unsafe
archives: version, created_at, checksum, size_mb, contents, compatibility, and a
preview (a few games, and the range of event dates).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bgw_pipeline.core.archive.reader import ArchiveLimits, ArchiveReader, open_archive
from bgw_pipeline.core.files.sealing import ArchiveKey, opened
from bgw_pipeline.core.model.entities import CORE_ENTITIES, EVENTS, GAMES, RAW_ENTITIES, Entity
from bgw_pipeline.core.model.values import parse_timestamp

SAMPLE_GAMES = 5


_CREATED_AT = b'"created_at":"'
_DAY = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\Z")


def _event_days(reader: ArchiveReader) -> Iterator[str]:
    """Each event's UTC day. Rows in the export's own form are read without parsing."""
    lines = reader.iter_row_lines(EVENTS) if reader.has_line_layout(EVENTS) else None
    if lines is None:
        for chunk in reader.iter_rows(EVENTS):
            for row in chunk:
                day = _day_of(row)
                if day:
                    yield day
        return
    for chunk in lines:
        for line in chunk:
            start = line.rfind(_CREATED_AT) + len(_CREATED_AT)
            end = line.find(b'"', start)
            if start >= len(_CREATED_AT) and _DAY.match(line[start:end]):
                yield line[start : start + 10].decode()
            else:
                try:
                    day = _day_of(orjson.loads(line))
                except orjson.JSONDecodeError:
                    day = None
                if day:
                    yield day


def _day_of(row: Any) -> str | None:
    try:
        return parse_timestamp(row["created_at"]).date().isoformat()
    except (KeyError, TypeError, ValueError):
        return None


def _event_date_range(reader: ArchiveReader) -> dict[str, str | None]:
    earliest = latest = None
    for day in _event_days(reader):
        earliest = day if earliest is None or day < earliest else earliest
        latest = day if latest is None or day > latest else latest
    return {"earliest_event": earliest, "latest_event": latest}


def _sample_games(reader: ArchiveReader) -> list[dict[str, Any]]:
    sample: list[dict[str, Any]] = []
    for chunk in reader.iter_rows(GAMES, chunk_rows=SAMPLE_GAMES):  # parse no more than shown
        for row in chunk:
            if isinstance(row, dict):
                sample.append({k: row.get(k) for k in ("title", "store", "price")})
            if len(sample) >= SAMPLE_GAMES:
                return sample
    return sample


def summarize_archive(
    reader: ArchiveReader, size_bytes: int, event_days: tuple[str | None, str | None] | None = None
) -> dict[str, Any]:
    """The seed's summary of an archive.

    Args:
        reader: an open, safety-checked archive.
        size_bytes: the archive file's size.
        event_days: the events' first and last day when already known (an import finds
            them on its way through the rows); read from the archive otherwise.
    """
    metadata = reader.metadata
    declared = metadata.get("contents") if isinstance(metadata.get("contents"), dict) else {}
    raw = any(
        name.startswith(entity.member) for entity in RAW_ENTITIES for name in reader.member_names()
    )

    def count(entity: Entity) -> Any:
        # Counting parses the member: only when metadata.json does not say.
        return (
            declared[entity.count_key]
            if entity.count_key in declared
            else reader.count_rows(entity)
        )

    contents: dict[str, Any] = {e.count_key: count(e) for e in CORE_ENTITIES}
    contents["includes_raw_data"] = bool(declared.get("include_raw_data", raw))
    if raw:
        for entity in RAW_ENTITIES:
            contents[entity.count_key] = count(entity)
    compatible, version_match, warnings = reader.compatibility
    return {
        "version": metadata.get("version"),
        "created_at": metadata.get("created_at"),
        "checksum": metadata.get("checksum"),
        "size_mb": round(size_bytes / (1024 * 1024), 2),
        "contents": contents,
        "compatibility": {
            "compatible": compatible,
            "version_match": version_match,
            "warnings": warnings,
        },
        "preview": {
            "sample_games": _sample_games(reader),
            "date_range": (
                {"earliest_event": event_days[0], "latest_event": event_days[1]}
                if event_days and event_days[0]
                else _event_date_range(reader)
            ),
        },
    }


def summarize_archive_file(
    path: Path, limits: ArchiveLimits, key: ArchiveKey | None = None
) -> dict[str, Any]:
    """The summary of the archive at `path` (decrypted first when it is sealed at rest):
    what `bgw inspect` prints and `POST /summary` answers."""
    with opened(path, key) as plain, open_archive(plain, limits) as reader:
        return summarize_archive(reader, plain.stat().st_size)
