"""Staged tables: one database snapshot written as Parquet, for the Dagster assets.

Extracting every table in one step and staging it lets the downstream assets (snapshot
files, archive, CSV, checks) run separately and still describe one database state. Each
file carries the id of the snapshot it came from; reading a set whose ids disagree fails
instead of mixing states.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Engine

from bgw_pipeline.core.arrow_tables import arrow_schema
from bgw_pipeline.core.atomic_files import atomic_write
from bgw_pipeline.core.entities import ALL_ENTITIES, Entity
from bgw_pipeline.core.errors import ExportError
from bgw_pipeline.core.schema import ensure_schema
from bgw_pipeline.core.snapshot import open_snapshot

SNAPSHOT_ID_KEY = b"bgw.snapshot_id"


@dataclass(frozen=True)
class StagedTable:
    """One entity of a staged snapshot."""

    entity: str
    path: Path
    rows: int
    snapshot_id: str


def staged_path(staging_dir: Path, entity: Entity) -> Path:
    return staging_dir / f"{entity.name}.parquet"


def stage_database(
    engine: Engine, staging_dir: Path, progress: Callable[[str, int], None] | None = None
) -> dict[str, StagedTable]:
    """Read one consistent snapshot of every table into Parquet files in `staging_dir`.

    Args:
        engine: the BGW database.
        staging_dir: where the Parquet files go; each is replaced atomically.
        progress: called with (entity name, rows staged) after each table.
    """
    staging_dir.mkdir(parents=True, exist_ok=True)
    snapshot_id = uuid.uuid4().hex
    staged: dict[str, StagedTable] = {}
    ensure_schema(engine)
    with open_snapshot(engine) as snapshot:
        for entity in ALL_ENTITIES:
            final = staged_path(staging_dir, entity)
            schema = arrow_schema(entity).with_metadata({SNAPSHOT_ID_KEY: snapshot_id.encode()})
            rows = 0
            with (
                atomic_write(final, durable=False) as fh,
                pq.ParquetWriter(fh, schema, compression="zstd") as writer,
            ):
                for batch in snapshot.batches(entity):
                    writer.write_batch(batch.replace_schema_metadata(schema.metadata))
                    rows += batch.num_rows
            staged[entity.name] = StagedTable(entity.name, final, rows, snapshot_id)
            if progress is not None:
                progress(entity.name, rows)
    return staged


class StagedTables:
    """A `TableSource` over the staged Parquet files of one snapshot."""

    def __init__(self, staging_dir: Path, entities: tuple[Entity, ...] = ALL_ENTITIES) -> None:
        self._dir = staging_dir
        self._files: dict[str, pq.ParquetFile] = {}
        ids = set()
        for entity in entities:
            path = staged_path(staging_dir, entity)
            if not path.exists():
                raise ExportError(
                    f"no staged {entity.name} table at {path}: materialize the extract assets first"
                )
            parquet = pq.ParquetFile(path)
            metadata = parquet.schema_arrow.metadata or {}
            ids.add(metadata.get(SNAPSHOT_ID_KEY, b"?").decode())
            self._files[entity.name] = parquet
        if len(ids) > 1:
            raise ExportError(
                "the staged tables come from different database snapshots (another backup "
                "ran at the same time?); materialize the extract assets again"
            )
        self.snapshot_id = ids.pop() if ids else ""

    def count(self, entity: Entity) -> int:
        return self._files[entity.name].metadata.num_rows

    def batches(self, entity: Entity) -> Iterator[pa.RecordBatch]:
        schema = arrow_schema(entity)
        for batch in self._files[entity.name].iter_batches(batch_size=20_000):
            yield batch.replace_schema_metadata(None).cast(schema)
