"""The web page's view of a running backup: its run, its time so far and its rows per
table, archived and then loaded back by the restore drill (GET /backup/progress)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from bgw_pipeline.api import backup_progress
from bgw_pipeline.core.backup.progress_tap import ProgressTap
from bgw_pipeline.core.model.entities import Entity
from bgw_pipeline_tests.api.clients import api_client
from bgw_pipeline_tests.api.live_server import demo_database

WAIT = 60
PROGRESS = "/api/v1/export/backup/progress"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    demo_database(tmp_path, 0.02)
    monkeypatch.setenv("DAGSTER_UI_URL", "http://dagster.test:3000")
    monkeypatch.setattr(backup_progress, "_RUNS", {})  # no run of another test in this process
    yield from api_client(monkeypatch, tmp_path, tokens="")


def test_a_running_backup_shows_its_run_and_rows_then_its_end(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert client.get(PROGRESS).json() == {"running": False, "run_id": None}
    held, release = threading.Event(), threading.Event()
    real_end = ProgressTap.end

    def end_then_hold(self: ProgressTap, entity: Entity) -> None:
        real_end(self, entity)
        if entity.name == "games":  # the drill has loaded the games back
            held.set()
            assert release.wait(WAIT), "the test never let the backup go on"

    monkeypatch.setattr(ProgressTap, "end", end_then_hold)
    answer: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: answer.update(made=client.post("/api/v1/export/backups", timeout=WAIT * 2))
    )
    thread.start()
    try:
        assert held.wait(WAIT), "the backup's drill never reached the games"
        now = client.get(PROGRESS).json()
    finally:
        release.set()
        thread.join(WAIT * 2)
    with sa.create_engine(f"sqlite:///{tmp_path / 'bgw.db'}").connect() as conn:
        games = conn.exec_driver_sql("SELECT count(*) FROM games").scalar_one()
    assert now["running"] is True and now["success"] is None
    assert uuid.UUID(now["run_id"]) and now["elapsed_seconds"] >= 0
    assert now["run_url"] == f"http://dagster.test:3000/runs/{now['run_id']}"
    rows = {t["name"]: (t["rows"], t["total"]) for t in now["tables"]}
    assert rows["games"] == rows["drill games"] == (games, games)
    assert "drill price_history" not in rows  # loaded after the games: not yet
    made = answer["made"]
    assert made.status_code == 200, made.text
    assert made.json()["run_id"] == now["run_id"]
    after = client.get(PROGRESS).json()
    assert after["run_id"] == now["run_id"] and after["running"] is False
    assert after["success"] is True
    assert {t["name"] for t in after["tables"]} >= {"price_history", "drill price_history"}
