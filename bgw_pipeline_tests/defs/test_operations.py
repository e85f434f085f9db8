"""Retries, retention and the guards, run through Dagster on an ephemeral instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from bgw_pipeline.core.storage.archive_states import archive_state
from bgw_pipeline.core.storage.archive_storage import LocalStorage
from bgw_pipeline.defs import names
from bgw_pipeline_tests.dagster_resources import archive_path, local_definitions
from bgw_pipeline_tests.factories import small_database


def _events(result: dg.ExecuteInProcessResult, kind: str) -> list[dg.DagsterEvent]:
    return [e for e in result.all_events if e.event_type_value == kind]


def test_an_unreachable_database_is_retried_then_fails_clearly(tmp_path: Path) -> None:
    url = "postgresql://bgw:secret-pw@127.0.0.1:1/bgw"
    job = local_definitions(url, tmp_path).resolve_job_def(names.BACKUP_JOB)
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    assert len(_events(result, "STEP_UP_FOR_RETRY")) == 2  # 3 tries in the test resources
    failure = result.failure_data_for_node(names.EXPORT_ARCHIVE)
    assert failure is not None
    message = str(failure.error)
    assert "gave up after 3 tries" in message and "cannot reach the database" in message
    assert "secret-pw" not in message


def test_bad_input_is_never_retried(tmp_path: Path) -> None:
    job = local_definitions("mysql://x@127.0.0.1/x", tmp_path).resolve_job_def(names.BACKUP_JOB)
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    assert not _events(result, "STEP_UP_FOR_RETRY")


def test_a_shrunk_backup_warns_and_is_not_good(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    small_database(engine)
    defs = local_definitions(db_url, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def(names.BACKUP_JOB)
    first = job.execute_in_process(instance=instance)
    with engine.begin() as conn:
        for table in ("listings", "raw_items", "events", "price_history"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    second = job.execute_in_process(instance=instance, raise_on_error=False)
    assert second.success, "a WARN check does not fail the run"
    (shrink,) = [
        e for e in second.get_asset_check_evaluations() if e.check_name == names.SHRINKAGE_CHECK
    ]
    assert not shrink.passed and shrink.severity == dg.AssetCheckSeverity.WARN
    assert "price_history: 4 -> 0 rows" in (shrink.description or "")
    paths = [archive_path(r) for r in (first, second)]
    storage = LocalStorage(tmp_path / "exports")
    assert storage.read_status(paths[0].name).good
    assert not storage.read_status(paths[1].name).good
    # In words, what is true of each: the second restores, it is only much smaller.
    assert archive_state(storage.read_status(paths[0].name)).words == "verified and restorable"
    shrunk = archive_state(storage.read_status(paths[1].name))
    assert shrunk.code == "shrunk"
    assert shrunk.words.startswith("restores, but much smaller than the backup before it: ")
    assert "price_history: 4 -> 0 rows (-100%)" in shrunk.details


def test_retention_job_dry_run_then_delete(engine: sa.Engine, db_url: str, tmp_path: Path) -> None:
    small_database(engine)
    defs = local_definitions(db_url, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    defs.resolve_job_def(names.BACKUP_JOB).execute_in_process(instance=instance)
    old = tmp_path / "exports" / "bgw_backup_20200101T070000Z.zip"
    old.write_bytes(b"an old archive")
    retention = defs.resolve_job_def(names.RETENTION_JOB)
    dry = retention.execute_in_process(
        instance=instance,
        run_config={"ops": {"apply_retention_op": {"config": {"dry_run": True}}}},
    )
    assert dry.output_for_node("apply_retention_op") == [old.name] and old.exists()
    real = retention.execute_in_process(instance=instance)
    assert real.output_for_node("apply_retention_op") == [old.name] and not old.exists()
    assert len(list((tmp_path / "exports").glob("bgw_backup_*.zip"))) == 1


def test_freshness_check_fails_without_a_good_backup(tmp_path: Path) -> None:
    defs = local_definitions(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    job = defs.resolve_job_def(names.FRESHNESS_JOB)
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and "no good backup" in (evaluation.description or "")
