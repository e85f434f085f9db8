"""The hourly export limit holds across API processes and restarts on one EXPORT_PATH."""

from __future__ import annotations

from pathlib import Path

import requests

from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env


def test_two_api_processes_count_one_clients_exports_together(tmp_path: Path) -> None:
    env = server_env(tmp_path, demo_database(tmp_path, 0.02), API_EXPORTS_PER_HOUR="1")
    with live_server(env, tmp_path) as first, live_server(env, tmp_path) as second:
        assert first.pid != second.pid
        answer = requests.post(f"{first}/api/v1/export/backups", timeout=240)
        assert answer.status_code == 200, answer.text
        refused = requests.get(f"{second}/api/v1/export/full", timeout=240)
        assert refused.status_code == 429, refused.text
        assert 3000 < int(refused.headers["Retry-After"]) <= 3600
    with live_server(env, tmp_path) as restarted:
        assert requests.get(f"{restarted}/api/v1/export/full", timeout=240).status_code == 429
