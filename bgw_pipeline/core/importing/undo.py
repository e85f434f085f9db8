"""Undo of an applied import: the rows it overwrote come back, the rows it created go.

Before an apply writes anything, the database's current version of every row it will
overwrite, and the ids of every row it will create, are saved as a safety archive
`<import_id>.zip` (importing/undo_archive.py). Undo replays that archive in one transaction.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bgw_pipeline.core.archive.row_validation import validate_rows
from bgw_pipeline.core.database.bulk_load import upsert_batches
from bgw_pipeline.core.database.engines import connect
from bgw_pipeline.core.database.schema import table_for
from bgw_pipeline.core.importing.undo_archive import CREATED_MEMBER, UNDONE_SUFFIX, undo_path
from bgw_pipeline.core.model.entities import ENTITIES_BY_NAME, WRITE_ORDER, Entity
from bgw_pipeline.core.model.errors import BgwError, NotFoundError


def undo_import(engine: Engine, undo_dir: Path, import_id: str) -> dict[str, dict[str, int]]:
    """Restore what import `import_id` overwrote and delete what it created, atomically.

    Returns:
        Per entity: rows restored and rows deleted.
    Raises:
        NotFoundError: there is no safety archive for that import (or it was undone).
        BgwError: the undo would break the database (for example, rows added since the
            import refer to a game it created); nothing was changed.
    """
    path = undo_path(undo_dir, import_id)
    if not path.exists():
        done = path.with_name(path.name + UNDONE_SUFFIX)
        hint = " (it was already undone)" if done.exists() else ""
        raise NotFoundError(f"no undo archive for {import_id}{hint}")
    result: dict[str, dict[str, int]] = {}
    with zipfile.ZipFile(path) as zf:
        created = orjson.loads(zf.read(CREATED_MEMBER))
        try:
            with connect(engine) as conn, conn.begin():
                for entity in reversed(WRITE_ORDER):  # children before parents
                    ids = created.get(entity.name, [])
                    result.setdefault(entity.name, {"restored": 0, "deleted": 0})
                    result[entity.name]["deleted"] = _delete(conn, entity, ids)
                for entity in WRITE_ORDER:
                    member = f"{entity.name}.json"
                    if member not in zf.namelist():
                        continue
                    rows = orjson.loads(zf.read(member))[entity.name]
                    checked = validate_rows(ENTITIES_BY_NAME[entity.name], rows)
                    if checked.errors:
                        raise BgwError(
                            f"undo archive of {import_id} holds rows that cannot be restored "
                            f"({checked.errors[0].message}); nothing was changed"
                        )
                    result[entity.name]["restored"] = upsert_batches(conn, entity, [checked.batch])
        except sa.exc.IntegrityError as exc:
            raise BgwError(
                f"undo of {import_id} would break references in the database (rows added "
                f"since the import point to rows it created); nothing was changed: {exc.orig}"
            ) from None
    path.rename(path.with_name(path.name + UNDONE_SUFFIX))
    return {name: counts for name, counts in result.items() if any(counts.values())}


def _delete(conn: sa.Connection, entity: Entity, ids: list[str]) -> int:
    table = table_for(entity)
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        deleted += conn.execute(sa.delete(table).where(table.c.id.in_(chunk))).rowcount
    return deleted
