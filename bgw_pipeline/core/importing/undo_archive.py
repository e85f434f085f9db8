"""The safety archive an apply writes before it writes: the rows it will overwrite, and
the ids of those it will create (`<import_id>.zip`; importing/undo.py replays it). Kept apart from
the replay so that an apply on PostgreSQL, which runs over psycopg alone, need not load
SQLAlchemy to write it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from bgw_pipeline.core.encoding.row_encoding import iter_entity_json, iter_sorted_rows
from bgw_pipeline.core.files.atomic_files import atomic_write
from bgw_pipeline.core.model.entities import Entity
from bgw_pipeline.core.model.errors import NotFoundError

if TYPE_CHECKING:
    from bgw_pipeline.core.compare.diff import DiffResult

CREATED_MEMBER = "created.json"
INFO_MEMBER = "undo.json"
UNDONE_SUFFIX = ".undone"


def undo_path(undo_dir: Path, import_id: str) -> Path:
    if "/" in import_id or "\\" in import_id or import_id.startswith("."):
        raise NotFoundError(f"no import {import_id!r}")
    return undo_dir / f"{import_id}.zip"


def save_undo_archive(
    undo_dir: Path, import_id: str, diff: DiffResult, entities: Iterable[Entity]
) -> Path:
    """Write the safety archive of an apply that is about to write."""
    path = undo_path(undo_dir, import_id)
    created: dict[str, list[str]] = {}
    with atomic_write(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for entity in entities:
            created[entity.name] = diff.created_ids(entity)
            with zf.open(f"{entity.name}.json", "w") as member:
                rows = iter_sorted_rows(entity, diff.rows_overwritten(entity))
                for piece, _count in iter_entity_json(entity, rows):
                    member.write(piece)
        zf.writestr(CREATED_MEMBER, orjson.dumps(created))
        info = {"import_id": import_id, "saved_at": datetime.now(UTC).isoformat()}
        zf.writestr(INFO_MEMBER, orjson.dumps(info))
    return path
