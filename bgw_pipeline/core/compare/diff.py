"""Classifying every archive row against the database, in DuckDB (spec: import semantics).

Per entity each row is new, updated, skipped (identical, or a natural-key duplicate under
another id) or an error. A game skipped as a duplicate stands in for the existing game it
duplicates: rows of the archive that point to it are pointed at the existing game, so a
merge from another BGW instance keeps their price history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from bgw_pipeline.core.compare.diff_store import DiffStore, compare_columns
from bgw_pipeline.core.compare.natural_keys import (
    NaturalKeyRows,
    database_natural_keys,
    rehash_moved_keys,
)
from bgw_pipeline.core.compare.row_keys import NATURAL_KEYS
from bgw_pipeline.core.model.entities import Entity

REFERENCES_GAMES = frozenset({"events", "price_history"})
LABEL_COLUMNS = {"games": "title", "rules": "name", "events": "title"}
CHANGE_SAMPLE_ROWS = 20
WRITE_STATUSES = ("new", "updated")


@dataclass
class EntityDiff:
    """The counts of one entity, as the API reports them, and a sample of the changes."""

    entity: str
    new: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "new": self.new,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": self.errors,
        }


@dataclass
class DiffResult:
    """What an import would do; the rows to write stay in the DuckDB store."""

    store: DiffStore
    entities: dict[str, EntityDiff]
    warnings: list[str]
    errors: list[str]
    fingerprint: str

    def rows_to_write(self, entity: Entity) -> Iterator[pa.RecordBatch]:
        """New and updated rows, archive values (game ids already pointed at the kept game)."""
        return self.store.batches(
            f"SELECT a.* FROM arcm_{entity.name} a JOIN cls_{entity.name} c USING (id) "
            f"WHERE c.status IN {WRITE_STATUSES} ORDER BY a.id",
            entity,
        )

    def rows_overwritten(self, entity: Entity) -> Iterator[pa.RecordBatch]:
        """The database's current version of every row the import updates (for undo)."""
        return self.store.batches(
            f"SELECT d.* FROM db_{entity.name} d JOIN cls_{entity.name} c USING (id) "
            f"WHERE c.status = 'updated' ORDER BY d.id",
            entity,
        )

    def created_ids(self, entity: Entity) -> list[str]:
        rows = self.store.con.execute(
            f"SELECT id FROM cls_{entity.name} WHERE status = 'new' ORDER BY id"
        ).fetchall()
        return [r[0] for r in rows]

    @property
    def total_errors(self) -> int:
        return sum(d.errors for d in self.entities.values())

    @property
    def total_writes(self) -> int:
        return sum(d.new + d.updated for d in self.entities.values())


def _remapped_source(store: DiffStore, entity: Entity) -> None:
    """`arcm_<entity>`: archive rows with game ids pointed at the game that is kept."""
    if entity.name in REFERENCES_GAMES:
        store.con.execute(
            f"CREATE OR REPLACE TABLE arcm_{entity.name} AS "
            f"SELECT a.* REPLACE (coalesce(m.target_id, a.game_id) AS game_id) "
            f"FROM arc_{entity.name} a LEFT JOIN game_targets m ON m.id = a.game_id"
        )
        if NATURAL_KEYS.get(entity.name):
            rehash_moved_keys(store, entity)
    else:
        store.con.execute(
            f"CREATE OR REPLACE TABLE arcm_{entity.name} AS SELECT * FROM arc_{entity.name}"
        )


def _classify(store: DiffStore, entity: Entity) -> None:
    """`cls_<entity>`: the status of each archive row still in question.

    `arcm_` holds the archive rows that are not unchanged, `db_` the database's version of
    those of them it has, `dbk_` the id and row hash of every database row (for
    references), `dbnk_` the natural-key hashes of the database rows that could collide.
    """
    name = entity.name
    has_key = bool(NATURAL_KEYS.get(name))
    partition = "s0.nk" if has_key else "s0.id"
    nk_join = "n.nk = s.nk AND n.id <> s.id" if has_key else "FALSE"
    nk_table = f"dbnk_{name}" if has_key else f"dbk_{name}"
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM d.{c}" for c in compare_columns(entity))
    ref_error = "FALSE"
    if name in REFERENCES_GAMES:
        ref_error = (
            "s.game_id IS NOT NULL AND s.game_id NOT IN (SELECT id FROM dbk_games) "
            "AND s.game_id NOT IN (SELECT id FROM cls_games WHERE status = 'new')"
        )
    store.con.execute(
        f"""
        CREATE OR REPLACE TABLE cls_{name} AS
        WITH s AS (
            SELECT s0.*,
                   row_number() OVER w AS nk_rank,
                   first_value(s0.id) OVER w AS nk_first
            FROM arcm_{name} s0
            -- Among archive rows sharing a natural key, the one already in the database
            -- keeps it; the others are duplicates of it.
            WINDOW w AS (
                PARTITION BY {partition}
                ORDER BY s0.id IN (SELECT id FROM dbk_{name}) DESC, s0.id
            )
        )
        SELECT s.id,
            CASE
                WHEN {ref_error} THEN 'error'
                WHEN d.id IS NULL AND (n.id IS NOT NULL OR s.nk_rank > 1) THEN 'duplicate'
                WHEN d.id IS NULL THEN 'new'
                WHEN n.id IS NOT NULL OR s.nk_rank > 1 THEN 'conflict'
                WHEN {differs} THEN 'updated'
                ELSE 'same'
            END AS status,
            CASE WHEN n.id IS NOT NULL THEN n.id WHEN s.nk_rank > 1 THEN s.nk_first END AS other_id,
            CASE WHEN d.id IS NULL THEN NULL ELSE md5(CAST(d AS VARCHAR)) END AS db_hash
        FROM s
        LEFT JOIN db_{name} d ON d.id = s.id
        LEFT JOIN {nk_table} n ON {nk_join}  -- natural keys are unique in the database
        """
    )
    if name == "games":
        store.con.execute(
            "CREATE OR REPLACE TABLE game_targets AS SELECT id, "
            "CASE WHEN status = 'duplicate' THEN other_id ELSE id END AS target_id "
            "FROM cls_games WHERE status <> 'error'"
        )


def _has_rows_in_question(store: DiffStore, entity: Entity) -> bool:
    return bool(store.con.execute(f"SELECT EXISTS (FROM arc_{entity.name})").fetchall()[0][0])


def _no_classes(store: DiffStore, entity: Entity) -> None:
    """The empty tables of an entity without rows in question, in two or three statements
    instead of a dozen (every entity but the prices, in a daily import of a day's prices)."""
    name = entity.name
    store.con.execute(f"CREATE OR REPLACE TABLE arcm_{name} AS FROM arc_{name}")
    store.con.execute(
        f"CREATE OR REPLACE TABLE cls_{name} "
        "(id VARCHAR, status VARCHAR, other_id VARCHAR, db_hash VARCHAR)"
    )
    if name == "games":
        store.con.execute("CREATE OR REPLACE TABLE game_targets (id VARCHAR, target_id VARCHAR)")


def _collect(
    store: DiffStore, entity: Entity, result: EntityDiff, warnings: list[str], errors: list[str]
) -> None:
    """Counts, warnings and errors of the rows in `cls_<entity>`."""
    name = entity.name
    counts = dict(
        store.con.execute(f"SELECT status, count(*) FROM cls_{name} GROUP BY status").fetchall()
    )
    result.new += counts.get("new", 0)
    result.updated += counts.get("updated", 0)
    result.skipped += counts.get("same", 0) + counts.get("duplicate", 0)
    result.errors += counts.get("error", 0) + counts.get("conflict", 0)
    label = LABEL_COLUMNS.get(name, "id")
    if name == "games":
        for (title,) in store.con.execute(
            "SELECT a.title FROM arc_games a JOIN cls_games c USING (id) "
            "WHERE c.status = 'duplicate' ORDER BY a.id"
        ).fetchall():
            warnings.append(f"Game with duplicate title skipped: '{title}'")
    elif counts.get("duplicate"):
        keys = ", ".join(NATURAL_KEYS.get(name, ("id",)))
        warnings.append(f"{name}: {counts['duplicate']} rows skipped as duplicates of ({keys})")
    for row_id, status, other, ref in store.con.execute(
        f"SELECT c.id, c.status, c.other_id, a.{'game_id' if name in REFERENCES_GAMES else 'id'} "
        f"FROM cls_{name} c JOIN arcm_{name} a USING (id) "
        "WHERE c.status IN ('error', 'conflict') ORDER BY c.id"
    ).fetchall():
        if status == "error":
            errors.append(
                f"{name} {row_id}: game {ref} is neither in the database nor in the archive"
            )
        else:
            errors.append(f"{name} {row_id}: would duplicate the natural key of {other}")
    result.changes = _change_sample(store, entity, label)


def _change_sample(store: DiffStore, entity: Entity, label: str) -> list[dict[str, Any]]:
    name = entity.name
    cols = entity.column_names
    query = (
        f"SELECT a.{label} AS label, "
        f"{', '.join(f'a.{c}' for c in cols)}, {', '.join(f'd.{c}' for c in cols)}, "
        f"{', '.join(f'a.{c} IS DISTINCT FROM d.{c}' for c in compare_columns(entity))} "
        f"FROM arcm_{name} a JOIN cls_{name} c USING (id) JOIN db_{name} d USING (id) "
        f"WHERE c.status = 'updated' ORDER BY a.id LIMIT {CHANGE_SAMPLE_ROWS}"
    )
    changes = []
    n = len(cols)
    for row in store.con.execute(query).fetchall():
        new, old, differs = row[1 : 1 + n], row[1 + n : 1 + 2 * n], row[1 + 2 * n :]
        for index, column in enumerate(cols):
            if differs[index]:
                changes.append(
                    {
                        "id": new[0],
                        "label": row[0],
                        "column": column,
                        "old": _show(old[index]),
                        "new": _show(new[index]),
                    }
                )
    return changes


def _show(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def diff_loaded(
    store: DiffStore,
    entities: tuple[Entity, ...],
    unchanged: dict[str, int] | None = None,
    natural_key_rows: NaturalKeyRows | None = None,
) -> DiffResult:
    """Classify the `arc_*` tables against the database tables already loaded in `store`.

    Args:
        store: holds `arc_<entity>` (valid archive rows still in question), `db_<entity>`
            (the database's version of those rows) and `dbk_<entity>` (every database
            row's id and row hash, and on SQLite its natural-key hash).
        entities: the entities the archive carries, parents first.
        unchanged: per entity, archive rows found identical by their hash (skipped).
        natural_key_rows: looks up database rows by natural-key values, when `dbk_` holds
            no natural-key hashes (see row_keys.database_key_batches).
    """
    unchanged = unchanged or {}
    results: dict[str, EntityDiff] = {}
    warnings: list[str] = []
    errors: list[str] = []
    digest = hashlib.sha256()
    for entity in entities:
        result = results[entity.name] = EntityDiff(entity.name)
        result.skipped += unchanged.get(entity.name, 0)
        part = "-"  # the part of an entity without rows in question
        if _has_rows_in_question(store, entity):
            _remapped_source(store, entity)
            if NATURAL_KEYS.get(entity.name):
                database_natural_keys(store, entity, natural_key_rows)
            _classify(store, entity)
            _collect(store, entity, result, warnings, errors)
            ((part,),) = store.con.execute(
                f"SELECT coalesce(md5(string_agg(id || ':' || status || ':' || "
                f"coalesce(db_hash, '-') || ':' || coalesce(other_id, '-'), ',' ORDER BY id)), "
                f"'-') FROM cls_{entity.name}"
            ).fetchall()
        else:
            _no_classes(store, entity)
        digest.update(f"{entity.name}={part};unchanged={unchanged.get(entity.name, 0)};".encode())
    return DiffResult(store, results, warnings, errors, f"sha256:{digest.hexdigest()}")
