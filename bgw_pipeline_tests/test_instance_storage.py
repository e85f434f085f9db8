"""deploy/dagster.yaml: Dagster's instance storage in PostgreSQL, against the local server."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.defs import names
from bgw_pipeline_tests.dagster_resources import local_definitions

ROOT = Path(__file__).resolve().parents[1]


def test_runs_are_recorded_in_postgresql(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sa.make_url(postgres_url)
    monkeypatch.setenv("DAGSTER_PG_USERNAME", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_DB", url.database or "")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")

    bgw_db = f"sqlite:///{tmp_path / 'bgw.db'}"
    engine = create_engine(bgw_db)
    fill_demo_database(engine, scale=0.02)
    engine.dispose()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # Dagster's own `concurrency:` block: runs queue, one backup at a time.
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 4
        assert queue.tag_concurrency_limits == [{"key": "bgw/kind", "value": "backup", "limit": 1}]
        job = local_definitions(bgw_db, tmp_path).resolve_job_def(names.BACKUP_JOB)
        result = job.execute_in_process(instance=instance)
        assert result.success
        assert instance.get_run_by_id(result.run_id) is not None

    pg = sa.create_engine(postgres_url)
    with pg.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT count(*) FROM runs WHERE run_id = :id"), {"id": result.run_id}
        ).scalar_one()
    pg.dispose()
    assert stored == 1
