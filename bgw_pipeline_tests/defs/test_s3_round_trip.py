"""Export, list, import from s3:// and retention through Dagster, with archives in S3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from bgw_pipeline.core.storage.s3_storage import S3Settings, S3Storage
from bgw_pipeline.definitions import build_definitions
from bgw_pipeline.defs import names
from bgw_pipeline.defs.resources import ArchiveStore
from bgw_pipeline.run_backup import archive_materialization
from bgw_pipeline_tests.dagster_resources import local_resources
from bgw_pipeline_tests.factories import dump_database, small_database
from bgw_pipeline_tests.s3_server import ACCESS_KEY, SECRET_KEY, new_bucket


def _s3_definitions(db_url: str, root: Path, s3: S3Settings) -> dg.Definitions:
    resources: dict[str, Any] = local_resources(db_url, root)
    resources[names.STORE_RESOURCE] = ArchiveStore(
        export_path=str(root / "exports"),
        s3_enabled=True,
        s3_bucket=s3.bucket,
        s3_endpoint=s3.endpoint or "",
        s3_access_key=s3.access_key or "",
        s3_secret_key=s3.secret_key or "",
    )
    return build_definitions(resources)


def _all_text(instance: dg.DagsterInstance) -> str:
    texts = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            texts.append(str(entry))
        texts.append(str(run.run_config))
    return "\n".join(texts)


def test_s3_backup_import_and_retention_without_leaking_secrets(
    engine: sa.Engine, db_url: str, tmp_path: Path, s3_endpoint: str
) -> None:
    counts = small_database(engine)
    s3 = new_bucket(s3_endpoint)
    defs = _s3_definitions(db_url, tmp_path, s3)
    instance = dg.DagsterInstance.ephemeral()

    backup = defs.resolve_job_def(names.BACKUP_JOB).execute_in_process(instance=instance)
    assert backup.success
    assert all(c.passed for c in backup.get_asset_check_evaluations())
    materialization = archive_materialization(backup)
    uri = str(materialization.metadata["path"].value)
    assert uri.startswith(f"s3://{s3.bucket}/bgw_backup_")
    assert not list((tmp_path / "exports").glob("bgw_backup_*.zip")), "only in S3"
    storage = S3Storage(s3)
    (stored,) = storage.list_archives()
    assert storage.read_status(stored.name).good
    assert storage.read_status(stored.name).restorable

    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM price_history")
    before = dump_database(engine)
    job = defs.resolve_job_def(names.IMPORT_JOB)
    config = {"ops": {"import_archive": {"config": {"archive": uri, "dry_run": False}}}}
    imported = job.execute_in_process(run_config=config, instance=instance)
    assert imported.success
    after = dump_database(engine)
    assert after != before and len(after["price_history"]) == counts["price_history"]

    retention = defs.resolve_job_def(names.RETENTION_JOB).execute_in_process(instance=instance)
    assert retention.output_for_node("apply_retention_op") == []  # the newest good stays

    logged = _all_text(instance)
    assert SECRET_KEY not in logged and ACCESS_KEY not in logged
