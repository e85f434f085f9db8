"""GET /api/v1/export/backups: each archive with its state in the same words as `bgw`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bgw_pipeline.core.storage.archive_states import archive_state
from bgw_pipeline.core.storage.archive_storage import LocalStorage
from bgw_pipeline_tests.api.clients import api_client


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    yield from api_client(monkeypatch, tmp_path, "")


def test_a_shrunk_archive_is_listed_as_restoring_but_smaller(
    client: TestClient, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    names = ["bgw_backup_20261201T070000Z.zip", "bgw_backup_20261202T070000Z.zip"]
    for name in names:
        (exports / name).write_bytes(b"PK\x05\x06" + b"\0" * 18)
    storage = LocalStorage(exports)
    storage.update_status(names[0], verified=True, restorable=True, shrink_alert=False)
    storage.update_status(names[1], verified=True, restorable=True, shrink_alert=True,
                          shrinkage=["games: 1250 -> 12 rows (-99%)"])  # fmt: skip
    listed = client.get("/api/v1/export/backups").json()["archives"]
    shrunk, good = listed
    assert shrunk["state"] == "shrunk" and shrunk["good"] is False
    assert shrunk["state_words"] == (
        "restores, but much smaller than the backup before it: games: 1250 -> 12 rows (-99%)"
    )
    assert shrunk["state_details"] == ["games: 1250 -> 12 rows (-99%)"]
    assert good["state"] == "restorable" and good["state_words"] == "verified and restorable"
    for item in listed:
        assert item["state_words"] == archive_state(storage.read_status(item["name"])).words
