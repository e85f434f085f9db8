"""Hand-made archives for tests, built with zipfile and hashlib only (spec: checksum)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

GAME_ID = "550e8400-e29b-41d4-a716-446655440000"
RULE_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
EVENT_ID = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"

SEED_GAME = {
    "id": GAME_ID,
    "title": "Громкое дело",
    "normalized_title": "Громкое дело",
    "description": "Экономическая стратегия...",
    "store": "Hobby Games",
    "price": 2990,
    "url": "https://hobbygames.ru/gromkoe-delo",
    "image_url": "https://hobbygames.ru/gromkoe-delo.jpg",
    "players_min": 2,
    "players_max": 5,
    "playing_time": "45-60",
    "age": "12+",
    "publisher": "Hobby Games",
    "year": 2023,
    "category": "Экономическая стратегия",
    "bgg_id": 12345,
    "synonyms": ["Поезд", "Ограбление поезда"],
    "in_watchlist": True,
    "created_at": "2024-01-01T12:00:00Z",
    "updated_at": "2024-01-15T14:30:00Z",
}
SEED_RULE = {
    "id": RULE_ID,
    "name": "Большие скидки",
    "description": "Уведомлять о скидках > 20%",
    "logic": "AND",
    "conditions": [
        {"field": "discount_pct", "op": ">=", "value": 20},
        {"field": "price", "op": "<=", "value": 5000},
    ],
    "channels": ["webpush", "telegram"],
    "cooldown_hours": 12,
    "active": True,
    "created_at": "2024-01-01T12:00:00Z",
}
SEED_EVENT = {
    "id": EVENT_ID,
    "game_id": GAME_ID,
    "kind": "sale",
    "title": "Громкое дело -25% на ограбление поезда!",
    "description": "Отличная скидка на популярную игру",
    "price": 2990,
    "previous_price": 3990,
    "discount_pct": 25,
    "url": "https://hobbygames.ru/gromkoe-delo",
    "store": "Hobby Games",
    "image_url": "https://hobbygames.ru/gromkoe-delo.jpg",
    "processed": True,
    "created_at": "2024-01-15T12:00:00Z",
}


def member_bytes(table: str, rows: list[dict[str, Any]], indent: int | None = 2) -> bytes:
    return json.dumps({table: rows}, ensure_ascii=False, indent=indent).encode("utf-8")


def build_archive(
    path: Path,
    games: list[dict[str, Any]] | None = None,
    rules: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    price_history: list[dict[str, Any]] | None = None,
    *,
    version: str = "1.0.0",
    with_files: bool = False,
    extra_members: dict[str, bytes] | None = None,
    replace_members: dict[str, bytes] | None = None,
    metadata_changes: dict[str, Any] | None = None,
) -> Path:
    """An archive in the seed's form (pretty-printed JSON, no `files` unless asked)."""
    tables = {"games": games or [], "rules": rules or [], "events": events or [],
              "price_history": price_history or []}  # fmt: skip
    members = {f"{t}.json": member_bytes(t, rows) for t, rows in tables.items()}
    members.update(extra_members or {})
    members.update(replace_members or {})
    hashes = {n: hashlib.sha256(b).hexdigest() for n, b in members.items()}
    manifest = "".join(f"{n}\t{hashes[n]}\n" for n in sorted(hashes, key=lambda n: n.encode()))
    metadata: dict[str, Any] = {
        "version": version,
        "created_at": "2024-01-15T12:30:00Z",
        "created_by": "BGW Export Service",
        "checksum": "sha256:" + hashlib.sha256(manifest.encode()).hexdigest(),
        "contents": {f"{t}_count": len(rows) for t, rows in tables.items()}
        | {"include_raw_data": False},
    }
    if with_files:
        metadata["files"] = {n: {"sha256": h, "bytes": len(members[n])} for n, h in hashes.items()}
    metadata.update(metadata_changes or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(metadata, ensure_ascii=False, indent=2))
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def seed_archive(path: Path, **kwargs: Any) -> Path:
    """The API document's own example rows."""
    return build_archive(path, [SEED_GAME], [SEED_RULE], [SEED_EVENT], **kwargs)


def write_with_digests(out: Path, metadata: dict[str, Any], members: dict[str, bytes]) -> Path:
    """An archive of these members whose metadata's `files` and checksum are made right
    (the export's own checksum: core/archive/format.py)."""
    from bgw_pipeline.core.archive.format import archive_checksum

    digests = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
    metadata["files"] = {n: {"sha256": digests[n], "bytes": len(d)} for n, d in members.items()}
    metadata["checksum"] = archive_checksum(digests)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        zout.writestr("metadata.json", json.dumps(metadata))
        for name, data in members.items():
            zout.writestr(name, data)
    return out
