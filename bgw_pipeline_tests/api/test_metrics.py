"""Metrics count runs from every door and survive a restart of the API."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import requests

from bgw_pipeline import names
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
