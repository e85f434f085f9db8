"""Metrics count runs from every door and survive a restart of the API."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import requests

from bgw_pipeline.defs import names
from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env
from bgw_pipeline_tests.dagster_resources import local_definitions


def _value(text: str, pattern: str) -> float:
    match = re.search(rf"^{pattern} ([0-9.e+-]+)$", text, re.M)
    assert match, f"{pattern} not in:\n{text}"
    return float(match.group(1))


def test_metrics_from_dagster_and_http_survive_a_restart(tmp_path: Path) -> None:
    db_url = demo_database(tmp_path, 0.02)
    env = server_env(tmp_path, db_url)

    # One backup from Dagster itself, on the instance the API uses.
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        job = local_definitions(db_url, tmp_path).resolve_job_def(names.BACKUP_JOB)
        assert job.execute_in_process(instance=instance).success

    full_ok = r'export_operations_total\{status="success",type="full"\}'
    with live_server(env, tmp_path) as base:
        assert requests.get(f"{base}/api/v1/export/full", timeout=120).status_code == 200
        assert requests.get(f"{base}/api/v1/export/games/csv", timeout=60).status_code == 200
        text = requests.get(f"{base}/metrics", timeout=60).text
        assert _value(text, full_ok) == 2
        assert _value(text, r'export_operations_total\{status="success",type="csv"\}') >= 1
        assert _value(text, "export_data_bytes_total") > 0
        assert 0 <= _value(text, "bgw_newest_good_backup_age_seconds") < 3600
        same = requests.get(f"{base}/api/v1/export/metrics", timeout=60).text
        assert _value(same, full_ok) == 2

    with live_server(env, tmp_path) as base:  # a restarted API
        assert _value(requests.get(f"{base}/metrics", timeout=60).text, full_ok) == 2


def test_refused_uploads_count_as_failed_imports_and_every_request_is_counted(
    tmp_path: Path,
) -> None:
    db_url = demo_database(tmp_path, 0.02)
    env = server_env(tmp_path, db_url) | {"MAX_IMPORT_MB": "1"}
    failed = r'import_operations_total\{status="failed",type="full"\}'
    with live_server(env, tmp_path) as base:
        before = _value(requests.get(f"{base}/metrics", timeout=60).text, failed)
        upload = f"{base}/api/v1/export/full"
        not_zip = requests.post(upload, files={"file": ("a.zip", b"plain text")}, timeout=60)
        assert not_zip.status_code == 400
        big = requests.post(upload, files={"file": ("b.zip", b"0" * (3 << 20))}, timeout=60)
        assert big.status_code == 413
        assert requests.get(f"{base}/no/such/page", timeout=60).status_code == 404
        text = requests.get(f"{base}/metrics", timeout=60).text
    assert _value(text, failed) == before + 2
    refused = "bgw_import_uploads_refused_total"
    assert _value(text, rf'{refused}\{{reason="not_zip"\}}') == 1
    assert _value(text, rf'{refused}\{{reason="too_large"\}}') == 1
    requests_total = "bgw_http_requests_total"
    post = r'method="POST",route="/api/v1/export/full"'
    assert _value(text, rf'{requests_total}\{{{post},status="400"\}}') == 1
    assert _value(text, rf'{requests_total}\{{{post},status="413"\}}') == 1
    assert _value(text, rf'{requests_total}\{{method="GET",route="unmatched",status="404"\}}') == 1
    assert _value(text, rf'{requests_total}\{{method="GET",route="/metrics",status="200"\}}') >= 1
    assert "/no/such/page" not in text, "raw paths never become labels"
    count = r'bgw_http_request_duration_seconds_count\{method="POST",route="/api/v1/export/full"\}'
    assert _value(text, count) == 2
