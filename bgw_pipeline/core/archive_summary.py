"""The archive summary: the API document's `POST /export/summary` result.

Computed without touching the database, from a reader that already refused unsafe
archives: version, created_at, checksum, size_mb, contents, compatibility, and a
preview (a few games, and the range of event dates).
"""

from __future__ import annotations

from typing import Any

from bgw_pipeline.core.archive_reader import ArchiveReader
from bgw_pipeline.core.entities import CORE_ENTITIES, EVENTS, GAMES, RAW_ENTITIES, Entity
from bgw_pipeline.core.values import parse_timestamp

SAMPLE_GAMES = 5


def _event_date_range(reader: ArchiveReader) -> dict[str, str | None]:
    earliest = latest = None
    for chunk in reader.iter_rows(EVENTS):
        for row in chunk:
            try:
                moment = parse_timestamp(row["created_at"])
            except (KeyError, TypeError, ValueError):
                continue
            earliest = moment if earliest is None or moment < earliest else earliest
            latest = moment if latest is None or moment > latest else latest
    return {
        "earliest_event": earliest.date().isoformat() if earliest else None,
        "latest_event": latest.date().isoformat() if latest else None,
    }


def _sample_games(reader: ArchiveReader) -> list[dict[str, Any]]:
    sample: list[dict[str, Any]] = []
    for chunk in reader.iter_rows(GAMES):
        for row in chunk:
            if isinstance(row, dict):
                sample.append({k: row.get(k) for k in ("title", "store", "price")})
            if len(sample) >= SAMPLE_GAMES:
                return sample
    return sample


def summarize_archive(reader: ArchiveReader, size_bytes: int) -> dict[str, Any]:
    """The seed's summary of an archive.

    Args:
        reader: an open, safety-checked archive.
        size_bytes: the archive file's size.
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
            "date_range": _event_date_range(reader),
        },
    }
