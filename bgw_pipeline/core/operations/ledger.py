"""A durable tally of exports (kind, status, bytes), for metrics that survive restarts.

Runs of the Dagster jobs are already durable in the instance; CSV exports served by the
HTTP API, archive sizes and uploads refused before an import run began are recorded here,
in a small SQLite file next to the archives.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

LEDGER_NAME = ".bgw_metrics.sqlite"


def _connect(folder: Path) -> sqlite3.Connection:
    folder.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(folder / LEDGER_NAME, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS exports (at REAL, kind TEXT, status TEXT, bytes INTEGER)"
    )
    return conn


def record_export(folder: Path, kind: str, status: str, size_bytes: int = 0) -> None:
    """Append one export (kind `full` or `csv`, status `success` or `failed`)."""
    with _connect(folder) as conn:
        conn.execute(
            "INSERT INTO exports VALUES (?, ?, ?, ?)", (time.time(), kind, status, size_bytes)
        )
    conn.close()


def record_refused_import(folder: Path, reason: str) -> None:
    """An upload refused before any import run began (not a ZIP, over the size limit):
    no Dagster run records it, so this does, for the failed-imports metric."""
    record_export(folder, "import", f"refused:{reason}")


def export_totals(folder: Path) -> tuple[dict[tuple[str, str], int], int]:
    """(count per (kind, status), total bytes) of every export recorded."""
    if not (folder / LEDGER_NAME).exists():
        return {}, 0
    conn = _connect(folder)
    try:
        counts = {
            (kind, status): n
            for kind, status, n in conn.execute(
                "SELECT kind, status, count(*) FROM exports GROUP BY kind, status"
            )
        }
        (total,) = conn.execute("SELECT coalesce(sum(bytes), 0) FROM exports").fetchone()
    finally:
        conn.close()
    return counts, int(total)
