"""Natural keys in the diff: which database rows hold a key that a row in question has.

A row of the archive that is new under its id may still duplicate a database row by its
natural key (a game's normalized title and store, a price's game, store and moment);
`nk` is the MD5 of those values in the export's JSON forms (compare/row_keys.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pyarrow as pa

from bgw_pipeline.core.compare.diff_store import DiffStore
from bgw_pipeline.core.compare.row_keys import NATURAL_KEYS, natural_key_hashes
from bgw_pipeline.core.model.arrow_tables import arrow_schema
from bgw_pipeline.core.model.entities import Entity

# (entity, key column names, wanted key values) -> the database rows holding those values
NaturalKeyRows = Callable[[Entity, Sequence[str], pa.Table], Iterator[pa.RecordBatch]]


def rehash_moved_keys(store: DiffStore, entity: Entity) -> None:
    """Natural-key hashes of rows whose game id was just pointed at the kept game."""
    keys = NATURAL_KEYS[entity.name]
    moved = (
        store.con.sql(
            f"SELECT m.id, {', '.join(f'm.{k}' for k in keys)} FROM arcm_{entity.name} m "
            f"JOIN arc_{entity.name} a USING (id) WHERE m.game_id IS DISTINCT FROM a.game_id"
        )
        .to_arrow_table()
        .combine_chunks()
    )
    if not moved.num_rows:
        return
    schema = arrow_schema(entity)
    batch = pa.RecordBatch.from_arrays(
        [moved.column(k).chunk(0).cast(schema.field(k).type) for k in keys], names=list(keys)
    )
    fixed = pa.table({"id": moved.column("id").chunk(0), "nk": natural_key_hashes(entity, batch)})
    store.con.register("_moved", fixed)
    table = f"arcm_{entity.name}"
    store.con.execute(f"UPDATE {table} SET nk = _moved.nk FROM _moved WHERE {table}.id = _moved.id")
    store.con.unregister("_moved")


def database_natural_keys(
    store: DiffStore, entity: Entity, natural_key_rows: NaturalKeyRows | None
) -> None:
    """`dbnk_<entity>` (id, nk): the database rows whose natural key a row in question
    could collide with. Either every row's hash, loaded with the keys, or, when those were
    not hashed up front, the rows holding one of the natural keys of `arcm_` (after game
    remapping), looked up by value."""
    name, keys = entity.name, NATURAL_KEYS[entity.name]
    if natural_key_rows is None:
        store.con.execute(
            f"CREATE OR REPLACE TABLE dbnk_{name} AS SELECT id, nk FROM dbk_{name} "
            "WHERE nk IS NOT NULL"
        )
        return
    # A key that a row of `db_` holds is held by that row alone (keys are unique in the
    # database), and its hash is loaded already: only the other keys are looked up.
    columns = ", ".join(keys)
    same_key = " AND ".join(f"a.{k} = d.{k}" for k in keys)
    store.con.execute(
        f"CREATE OR REPLACE TABLE dbnk_{name} AS SELECT d.id, d.nk FROM db_{name} d "
        f"WHERE EXISTS (SELECT 1 FROM arcm_{name} a WHERE {same_key})"
    )
    wanted = store.con.sql(
        f"SELECT DISTINCT {columns} FROM arcm_{name} EXCEPT SELECT {columns} FROM db_{name}"
    ).to_arrow_table()
    if not wanted.num_rows:
        return
    for batch in natural_key_rows(entity, keys, wanted):
        found = pa.table({"id": batch.column("id"), "nk": natural_key_hashes(entity, batch)})
        store.con.register("_found", found)
        store.con.execute(f"INSERT INTO dbnk_{name} SELECT id, nk FROM _found")
        store.con.unregister("_found")
