"""A DuckDB work database holding the archive's rows and the database's rows side by side.

Both sides arrive as canonical Arrow batches; JSON columns get a key-sorted copy so that
rows are compared by value (PostgreSQL's jsonb reorders keys, SQLite keeps them as
written), timestamps are compared as instants.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from bgw_pipeline.core.compare.row_keys import natural_key_hashes
from bgw_pipeline.core.model.arrow_tables import arrow_schema
from bgw_pipeline.core.model.entities import Entity, Kind

CMP_SUFFIX = "__cmp"


def json_compare_key(text: str | None) -> str | None:
    """JSON text with object keys sorted at every level: equal values, equal text."""
    if text is None:
        return None
    return orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS).decode()


def _json_columns(entity: Entity) -> list[str]:
    return [c.name for c in entity.columns if c.kind is Kind.JSON]


def with_compare_columns(entity: Entity, batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch plus a `<col>__cmp` column (sorted-key JSON) per JSON column, and `nk`."""
    batch = batch.append_column("nk", natural_key_hashes(entity, batch))
    for name in _json_columns(entity):
        keys = [json_compare_key(v) for v in batch.column(name).to_pylist()]
        batch = batch.append_column(f"{name}{CMP_SUFFIX}", pa.array(keys, type=pa.string()))
    return batch


def compare_columns(entity: Entity) -> list[str]:
    """The columns that decide whether two versions of a row are equal."""
    json_cols = set(_json_columns(entity))
    return [f"{c}{CMP_SUFFIX}" if c in json_cols else c for c in entity.column_names]


class DiffStore:
    """The DuckDB file that a diff works in; spills to disk instead of growing memory."""

    def __init__(self, path: Path | None = None, memory_limit: str = "512MB") -> None:
        self.con = duckdb.connect(str(path) if path else ":memory:")
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")
        if path is not None:
            # The file lives in the import's temporary folder and is deleted with it: a
            # checkpoint on close would write it out for nobody (about 0.08 s at L).
            self.con.execute("PRAGMA disable_checkpoint_on_shutdown")

    def close(self) -> None:
        self.con.close()

    def for_thread(self) -> DiffStore:
        """The same work database through a cursor of its own, for use on another thread."""
        view = object.__new__(DiffStore)
        view.con = self.con.cursor()
        return view

    def load(self, table: str, entity: Entity, batches: Iterable[pa.RecordBatch]) -> int:
        """Create `table` from the entity's batches (with compare columns); return rows."""
        rows = 0
        created = False
        for batch in batches:
            prepared = with_compare_columns(entity, batch)
            self.con.register("_incoming", prepared)
            if not created:
                self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _incoming")
                created = True
            else:
                self.con.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
            self.con.unregister("_incoming")
            rows += batch.num_rows
        if not created:
            empty = with_compare_columns(entity, _empty_batch(entity))
            self.con.register("_incoming", empty)
            self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _incoming")
            self.con.unregister("_incoming")
        return rows

    def load_keys(self, table: str, batches: Iterable[pa.RecordBatch]) -> int:
        """Create `table` (id, h, nk) from key batches; return its row count.

        A temporary table: millions of small keys go in three times faster than into the
        work file, and DuckDB still spills them to its temporary folder past the memory
        limit."""
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} (id VARCHAR, h VARCHAR, nk VARCHAR)"
        )
        for batch in batches:
            self.con.register("_keys", batch)
            self.con.execute(f"INSERT INTO {table} SELECT * FROM _keys")
            self.con.unregister("_keys")
        ((rows,),) = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()
        return int(rows)

    def batches(
        self, query: str, entity: Entity, chunk_rows: int = 20_000
    ) -> Iterator[pa.RecordBatch]:
        """Query results as canonical batches of the entity's columns, in chunks."""
        schema = arrow_schema(entity)
        # A cursor of its own, so the writer can stream while other queries run.
        reader = self.con.cursor().sql(query).to_arrow_reader(chunk_rows)
        for batch in reader:
            yield batch.select(schema.names).cast(schema)


def _empty_batch(entity: Entity) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=arrow_schema(entity))
