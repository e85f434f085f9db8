"""Snapshot files for analysts: each entity as JSON, CSV and Parquet in one folder.

The JSON is encoded exactly like the archive member (same values, same layout); the CSV
follows the same Excel-safe rules as the API's CSV exports; the Parquet keeps the types.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from bgw_pipeline.core.arrow_tables import arrow_schema
from bgw_pipeline.core.atomic_files import atomic_write
from bgw_pipeline.core.csv_export import write_entity_csv
from bgw_pipeline.core.entities import Entity
from bgw_pipeline.core.row_encoding import iter_entity_json, iter_sorted_rows
from bgw_pipeline.core.snapshot import TableSource


@dataclass(frozen=True)
class SnapshotFiles:
    """The three files written for one entity."""

    entity: str
    rows: int
    json_path: Path
    csv_path: Path
    parquet_path: Path

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.json_path, self.csv_path, self.parquet_path))


def write_snapshot_files(entity: Entity, source: TableSource, out_dir: Path) -> SnapshotFiles:
    """Write `<entity>.json`, `.csv` and `.parquet` into `out_dir`, each atomically.

    Args:
        entity: which table.
        source: the rows (a staged snapshot, so all three files describe one state).
        out_dir: the snapshots folder.
    """
    json_path = out_dir / f"{entity.name}.json"
    csv_path = out_dir / f"{entity.name}.csv"
    parquet_path = out_dir / f"{entity.name}.parquet"

    rows = 0
    with atomic_write(json_path, durable=False) as fh:
        pieces = iter_entity_json(entity, iter_sorted_rows(entity, source.batches(entity)))
        for piece, count in pieces:
            fh.write(piece)
            rows = count

    with atomic_write(csv_path, durable=False) as fh:
        write_entity_csv(entity, source.batches(entity), fh)

    with (
        atomic_write(parquet_path, durable=False) as fh,
        pq.ParquetWriter(fh, arrow_schema(entity), compression="zstd") as writer,
    ):
        for batch in source.batches(entity):
            writer.write_batch(batch)

    return SnapshotFiles(entity.name, rows, json_path, csv_path, parquet_path)
