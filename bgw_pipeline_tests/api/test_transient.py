"""A transient failure met by an HTTP request answers 503 with Retry-After at once: the
backoff belongs to scheduled runs, no request sleeps through it. `bgw backup` says why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from bgw_pipeline_tests.api.live_server import live_server, server_env

# Nothing listens on port 1 of loopback: every connection is refused at once.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/bgw"


def test_an_export_with_the_database_down_answers_503_with_retry_after(tmp_path: Path) -> None:
    env = server_env(tmp_path, UNREACHABLE) | {"RETRY_BASE_DELAY_SECONDS": "900"}
    with live_server(env, tmp_path) as base:
        # With the schedule's 15-minute backoff slept in the request, this would time out.
        answer = requests.get(f"{base}/api/v1/export/full", timeout=120)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "60"
        assert answer.json()["detail"].startswith("temporarily unavailable")


def test_bgw_backup_with_the_database_down_says_why_at_once(tmp_path: Path) -> None:
    env = server_env(tmp_path, UNREACHABLE) | {"RETRY_BASE_DELAY_SECONDS": "900"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "bgw"), "backup"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "backup_job failed" in done.stdout
    assert "cannot reach the database" in done.stdout, done.stdout
    assert "retrying in" not in done.stdout + done.stderr, "no retry slept at the terminal"


def test_an_export_while_another_backup_runs_answers_409(tmp_path: Path) -> None:
    from bgw_pipeline_tests.api.live_server import demo_database
    from bgw_pipeline_tests.core.backup.test_lock import HOLD

    env = server_env(tmp_path, demo_database(tmp_path, 0.02))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, env["EXPORT_PATH"]], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with live_server(env, tmp_path) as base:
            answer = requests.get(f"{base}/api/v1/export/full", timeout=120)
            assert answer.status_code == 409, answer.text
            assert "another backup is running" in answer.json()["detail"]
    finally:
        holder.kill()
        holder.wait()
