"""Integrity checks over a backup's Parquet snapshot files, run in DuckDB on the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class IntegrityResult:
    """The outcome of one check: how many rows break it, and a few of them."""

    passed: bool
    violations: int
    sample: list[str] = field(default_factory=list)


def _parquet(path: Path) -> str:
    # Paths are ours (the snapshots folder), but quote them properly all the same.
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def duplicate_ids(table: Path) -> IntegrityResult:
    """Ids that occur more than once in a table's Parquet snapshot."""
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT id, count(*) AS n FROM {_parquet(table)} GROUP BY id HAVING n > 1 ORDER BY id"
        ).fetchall()
    return IntegrityResult(not rows, len(rows), [f"{r[0]} x{r[1]}" for r in rows[:SAMPLE_SIZE]])


def orphan_references(child: Path, column: str, parent: Path) -> IntegrityResult:
    """Child rows whose `column` is set but names no row of the parent table."""
    with duckdb.connect() as con:
        ((count, sample),) = con.execute(
            f"""
            WITH orphans AS (
                SELECT c.id, c.{column} AS ref FROM {_parquet(child)} c
                WHERE c.{column} IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM {_parquet(parent)} p WHERE p.id = c.{column})
            )
            SELECT count(*), list(id || ' -> ' || ref ORDER BY id)[1:{SAMPLE_SIZE}] FROM orphans
            """
        ).fetchall()
    return IntegrityResult(count == 0, int(count), list(sample or []))
