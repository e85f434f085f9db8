"""No caller waits on another's run: while an export runs, dry runs, summaries and CSVs are
served, and the server's own stdout stays its own (no run's log capture takes it)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bgw_pipeline.core.backup import backup_database as backup_module
from bgw_pipeline_tests.api.clients import api_client
from bgw_pipeline_tests.api.live_server import demo_database
from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive

WAIT = 60


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    demo_database(tmp_path, 0.02)  # tmp_path / "bgw.db", where api_client points
    yield from api_client(monkeypatch, tmp_path, tokens="")


class HeldExport:
    """Holds the first backup inside the backup lock until `release` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        real = backup_module._backup
        calls: list[int] = []

        def held(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 1:
                self.entered.set()  # the run has started and holds the backup lock
                assert self.release.wait(WAIT), "the test never let the export go on"
            return real(*args, **kwargs)

        monkeypatch.setattr(backup_module, "_backup", held)
        self.answer: dict[str, Any] = {}

    def start(self, client: TestClient) -> threading.Thread:
        def run() -> None:
            self.answer["export"] = client.get("/api/v1/export/full", timeout=WAIT * 2)

        thread = threading.Thread(target=run)
        thread.start()
        assert self.entered.wait(WAIT), "the export never started"
        return thread


def test_dry_runs_summaries_and_csvs_are_served_while_an_export_runs(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    held = HeldExport(monkeypatch)
    stdout_before = os.fstat(1).st_ino
    exporter = held.start(client)
    try:
        archive = build_archive(tmp_path / "upload.zip", [SEED_GAME]).read_bytes()
        dry_run = client.post("/api/v1/export/full", files={"file": ("a.zip", archive)})
        assert dry_run.status_code == 200, dry_run.text
        assert dry_run.json()["dry_run"] is True
        summary = client.post("/api/v1/export/summary", files={"file": ("a.zip", archive)})
        assert summary.status_code == 200, summary.text
        games = client.get("/api/v1/export/games/csv")
        assert games.status_code == 200, games.text
        assert not held.answer, "the export finished before it was let go"
    finally:
        held.release.set()
        exporter.join(WAIT * 2)
    assert held.answer["export"].status_code == 200, held.answer["export"].text
    assert held.answer["export"].content.startswith(b"PK")
    assert os.fstat(1).st_ino == stdout_before, "a run's log capture kept the server's stdout"


def test_a_second_export_while_one_runs_answers_409_at_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One backup at a time holds inside one API process too, now that runs go side by side."""
    held = HeldExport(monkeypatch)
    exporter = held.start(client)
    try:
        second = client.get("/api/v1/export/full")
        assert second.status_code == 409, second.text
        assert "another backup is running" in second.json()["detail"]
    finally:
        held.release.set()
        exporter.join(WAIT * 2)
    assert held.answer["export"].status_code == 200, held.answer["export"].text


def test_with_one_place_a_dry_run_waits_for_the_export_to_finish(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """API_CONCURRENT_RUNS bounds the runs at once: with 1, the dry run takes its turn."""
    demo_database(tmp_path, 0.02)
    monkeypatch.setenv("API_CONCURRENT_RUNS", "1")
    for client in api_client(monkeypatch, tmp_path, tokens=""):
        held = HeldExport(monkeypatch)
        exporter = held.start(client)
        archive = build_archive(tmp_path / "upload.zip", [SEED_GAME]).read_bytes()
        dry: dict[str, Any] = {}

        def dry_run(c: TestClient = client, body: bytes = archive, out: dict = dry) -> None:
            out["answer"] = c.post("/api/v1/export/full", files={"file": ("a.zip", body)})

        runner = threading.Thread(target=dry_run)
        runner.start()
        runner.join(3)
        waited = runner.is_alive()  # still waiting for the export's place
        held.release.set()
        exporter.join(WAIT * 2)
        runner.join(WAIT * 2)
        assert waited, "with one place the dry run did not wait for the export"
        assert dry["answer"].status_code == 200, dry["answer"].text
