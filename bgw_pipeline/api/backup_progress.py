"""What the backup this API process runs is doing now, for the web page's "Export now".

The page's POST /api/v1/export/backups waits for the whole run; meanwhile the page asks
GET /api/v1/export/backup/progress for the run's id (to link it in the Dagster UI), how
long it has run, and the rows of each table written to the archive and loaded back by the
restore drill. A run appears once it reports its first rows, so a backup refused at once
(another one holds the lock) never shows. Kept per process, like the runs themselves.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bgw_pipeline.core.archive.writer import ProgressCallback

KEPT_RUNS = 8  # finished runs remembered, newest last


@dataclass
class _Run:
    run_id: str
    started: float = field(default_factory=time.monotonic)
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)
    ended: float | None = None
    success: bool | None = None


_LOCK = threading.Lock()
_RUNS: dict[str, _Run] = {}


def listener(run_id: str) -> ProgressCallback:
    """The progress callback of run `run_id`: safe from any thread."""
    started = time.monotonic()

    def heard(label: str, done: int, total: int) -> None:
        with _LOCK:
            run = _RUNS.setdefault(run_id, _Run(run_id, started))
            run.tables[label] = (done, total)

    return heard


def finished(run_id: str, success: bool) -> None:
    """Run `run_id` ended; the oldest finished runs are forgotten."""
    with _LOCK:
        run = _RUNS.get(run_id)
        if run is None:
            return
        run.ended, run.success = time.monotonic(), success
        done = [r for r in _RUNS.values() if r.ended is not None]
        for old in done[:-KEPT_RUNS]:
            del _RUNS[old.run_id]


def current(dagster_ui_url: str) -> dict[str, Any]:
    """The running backup (else the last one), as the progress route answers."""
    with _LOCK:
        runs = list(_RUNS.values())
        running = [r for r in runs if r.ended is None]
        run = running[-1] if running else (runs[-1] if runs else None)
        if run is None:
            return {"running": False, "run_id": None}
        end = run.ended if run.ended is not None else time.monotonic()
        return {
            "running": run.ended is None,
            "success": run.success,
            "run_id": run.run_id,
            "run_url": f"{dagster_ui_url}/runs/{run.run_id}",
            "elapsed_seconds": round(end - run.started, 1),
            "tables": [
                {"name": name, "rows": done, "total": total}
                for name, (done, total) in run.tables.items()
            ],
        }
