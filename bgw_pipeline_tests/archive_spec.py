"""An archive reader written from ARCHIVE_FORMAT.md alone, to check the writer against it.

It imports nothing from bgw_pipeline: if the writer and this file disagree, one of them
misreads the spec.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

COLUMNS = {
    "games": ["id", "title", "normalized_title", "description", "store", "price", "url",
              "image_url", "players_min", "players_max", "playing_time", "age", "publisher",
              "year", "category", "bgg_id", "synonyms", "in_watchlist", "created_at", "updated_at"],
    "rules": ["id", "name", "description", "logic", "conditions", "channels", "cooldown_hours",
              "active", "created_at"],
    "events": ["id", "game_id", "kind", "title", "description", "price", "previous_price",
               "discount_pct", "url", "store", "image_url", "processed", "created_at"],
    "price_history": ["id", "game_id", "store", "price", "previous_price", "discount_pct", "url",
                      "recorded_at"],
    "raw_items": ["id", "store", "url", "payload", "fetched_at"],
    "listings": ["id", "store", "url", "page", "content_type", "content", "fetched_at"],
}  # fmt: skip
UUIDS = {"id", "game_id"}
TIMESTAMPS = {"created_at", "updated_at", "recorded_at", "fetched_at"}
JSONB = {"synonyms", "conditions", "channels", "payload"}
BOOLEANS = {"in_watchlist", "active", "processed"}
INTEGERS = {"price", "players_min", "players_max", "year", "bgg_id", "cooldown_hours",
            "previous_price", "discount_pct", "page"}  # fmt: skip
CORE_MEMBERS = {"games.json": "games", "rules.json": "rules", "events.json": "events",
                "price_history.json": "price_history"}  # fmt: skip
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?Z$")
LISTING_RE = re.compile(r"^raw_data/listings/([0-9a-f-]{36})\.json$")


def _check_row(table: str, row: Any) -> None:
    assert isinstance(row, dict), f"{table}: row is not an object"
    assert list(row) == COLUMNS[table], f"{table}: keys {list(row)}"
    for key, value in row.items():
        if value is None:
            continue
        if key in UUIDS:
            assert isinstance(value, str) and UUID_RE.match(value), f"{table}.{key}={value!r}"
        elif key in TIMESTAMPS:
            assert isinstance(value, str) and TS_RE.match(value), f"{table}.{key}={value!r}"
        elif key in JSONB:
            assert isinstance(value, (list, dict)), f"{table}.{key} is not an array/object"
        elif key in BOOLEANS:
            assert isinstance(value, bool), f"{table}.{key}={value!r}"
        elif key in INTEGERS:
            assert isinstance(value, int) and not isinstance(value, bool), f"{table}.{key}"
        else:
            assert isinstance(value, str), f"{table}.{key}={value!r}"


def _decode(data: bytes, name: str) -> Any:
    assert not data.startswith(b"\xef\xbb\xbf"), f"{name} has a BOM"
    return json.loads(data.decode("utf-8"))


def check_archive_against_spec(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Assert every point of the archive format; return the rows per table."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert len(names) == len(set(names)), "duplicate members"
        data = {i.filename: zf.read(i) for i in infos if not i.is_dir()}
    metadata = _decode(data["metadata.json"], "metadata.json")
    created = metadata["created_at"]
    assert TS_RE.match(created)
    stamp = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
    raw = metadata["contents"]["include_raw_data"]
    expected = set(CORE_MEMBERS) | {"metadata.json"}
    if raw:
        expected.add("raw_data/raw_items.json")
    listing_members = {n for n in data if LISTING_RE.match(n)}
    assert set(data) == expected | listing_members, set(data) ^ (expected | listing_members)
    assert raw or not listing_members
    for info in infos:
        assert not info.filename.startswith("/") and ".." not in info.filename.split("/")
        assert not stat.S_ISLNK(info.external_attr >> 16)
        assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename
        assert info.date_time == (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute,
                                  stamp.second - stamp.second % 2), info.filename  # fmt: skip
        if info.is_dir():
            assert info.filename in ("raw_data/", "raw_data/listings/")

    rows: dict[str, list[dict[str, Any]]] = {}
    members = dict(CORE_MEMBERS)
    if raw:
        members["raw_data/raw_items.json"] = "raw_items"
    for member, table in members.items():
        document = _decode(data[member], member)
        assert list(document) == [table], f"{member}: wrapper {list(document)}"
        rows[table] = document[table]
    if raw:
        rows["listings"] = []
        for name in sorted(listing_members):
            row = _decode(data[name], name)
            assert row["id"] == LISTING_RE.match(name).group(1)
            rows["listings"].append(row)
    for table, table_rows in rows.items():
        for row in table_rows:
            _check_row(table, row)
        ids = [r["id"] for r in table_rows]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), f"{table} not sorted by id"
        assert metadata["contents"][f"{table}_count"] == len(table_rows), table

    assert metadata["version"] == "1.0.0"
    hashes = {n: hashlib.sha256(b).hexdigest() for n, b in data.items() if n != "metadata.json"}
    manifest = "".join(f"{n}\t{hashes[n]}\n" for n in sorted(hashes, key=lambda n: n.encode()))
    assert metadata["checksum"] == "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    assert metadata["files"] == {n: {"sha256": h, "bytes": len(data[n])} for n, h in hashes.items()}
    return rows
