"""The inbox sensor watching an S3 prefix, and the import run that settles the object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import sqlalchemy as sa

from bgw_pipeline.definitions import build_definitions
from bgw_pipeline.defs import names
from bgw_pipeline.defs.resources import ArchiveStore, ImportInbox
from bgw_pipeline.defs.sensors import import_inbox_sensor
from bgw_pipeline_tests.archive_builder import seed_archive
from bgw_pipeline_tests.dagster_resources import local_resources
from bgw_pipeline_tests.s3_server import ACCESS_KEY, SECRET_KEY, new_bucket


def test_an_object_in_the_s3_inbox_is_imported_once_and_settled(
    engine: sa.Engine, db_url: str, tmp_path: Path, s3_endpoint: str
) -> None:
    s3 = new_bucket(s3_endpoint)
    client = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY, region_name="us-east-1")  # fmt: skip
    archive = seed_archive(tmp_path / "seed.zip")
    client.upload_file(str(archive), s3.bucket, "inbox/apply/seed.zip")

    resources: dict[str, Any] = local_resources(db_url, tmp_path)
    resources[names.STORE_RESOURCE] = ArchiveStore(
        export_path=str(tmp_path / "exports"), s3_bucket=s3.bucket, s3_endpoint=s3_endpoint,
        s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY,
    )  # fmt: skip
    resources[names.INBOX_RESOURCE] = ImportInbox(path=f"s3://{s3.bucket}/inbox/", settle_seconds=0)

    first = import_inbox_sensor(dg.build_sensor_context(resources=resources))
    (request,) = first.run_requests
    assert request.run_key.startswith("apply:")
    config = request.run_config["ops"]["import_archive"]["config"]
    assert config == {"archive": f"s3://{s3.bucket}/inbox/apply/seed.zip", "dry_run": False}
    again = import_inbox_sensor(dg.build_sensor_context(resources=resources, cursor=first.cursor))
    assert not again.run_requests and "already imported" in str(again.skip_reason)

    job = build_definitions(resources).resolve_job_def(names.IMPORT_JOB)
    result = job.execute_in_process(
        run_config=request.run_config, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3.bucket)["Contents"]}
    assert "inbox/apply/seed.zip" not in keys
    assert {"inbox/processed/seed.zip", "inbox/processed/seed.zip.report.json"} <= keys
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM games").scalar_one() == 1
