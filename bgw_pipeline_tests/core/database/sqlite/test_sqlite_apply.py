"""An apply on SQLite reads the database beside worker processes, as its dry run does,
and stops them before it writes: the same rows written, the commit not held back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import ensure_schema
from bgw_pipeline.core.database.sqlite import workers as sqlite_workers
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline_tests.factories import small_database


def test_an_apply_reads_with_worker_processes_and_writes_every_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_workers, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(sqlite_workers, "START_MIN_TOTAL_ROWS", 1)
    engine = create_engine(f"sqlite:///{tmp_path / 'bgw.db'}")
    ensure_schema(engine)
    small_database(engine)
    archive = export_database(engine, tmp_path / "out", include_raw_data=True)
    with engine.begin() as conn:  # the database drifts from the archive
        conn.exec_driver_sql("UPDATE price_history SET price = price + 7")
        conn.exec_driver_sql("UPDATE games SET title = title || ' (old)'")
    started: list[Any] = []
    real_start = sqlite_workers.WorkerPool.start

    def spy(probe: Any, *args: Any, **kwargs: Any) -> Any:
        pool = real_start(probe, *args, **kwargs)
        started.append(pool)
        return pool

    monkeypatch.setattr(sqlite_workers.WorkerPool, "start", spy)
    folders = ImportFolders(tmp_path / "work")
    # Workers left reading would hold the commit back until SQLite's busy timeout, and
    # the apply would fail: they are stopped before the first write.
    report = run_import(engine, archive.path, folders, ImportOptions(dry_run=False))
    assert report.applied, report.message
    applies = [p for p in started if p is not None]
    assert applies, "the apply's reads went to worker processes"
    again = export_database(engine, tmp_path / "again", include_raw_data=True)
    assert again.checksum == archive.checksum, "every change written"
    with engine.connect() as conn:
        assert not conn.exec_driver_sql(
            "SELECT count(*) FROM games WHERE title LIKE '%(old)'"
        ).scalar_one()
    engine.dispose()
