"""Archives sealed at rest, through the doors people use: a backup run by the API is
stored encrypted and still verified and restorable; its download is the plain ZIP; an
upload of the sealed file imports with the key, and is refused clearly without it or
once a byte has changed."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bgw_pipeline.core.files.sealing import is_sealed, write_key_file
from bgw_pipeline.core.storage.archive_storage import LocalStorage
from bgw_pipeline_tests.api.clients import api_client
from bgw_pipeline_tests.api.live_server import demo_database
from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive


@pytest.fixture
def sealed_backup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple]:
    demo_database(tmp_path, 0.02)
    monkeypatch.setenv("BGW_ARCHIVE_KEY_FILE", str(write_key_file(tmp_path / "archive.key").path))
    for client in api_client(monkeypatch, tmp_path, tokens=""):
        made = client.post("/api/v1/export/backups")
        assert made.status_code == 200, made.text
        yield client, made.json(), tmp_path / "exports" / made.json()["name"]


def test_the_stored_archive_is_sealed_verified_and_downloads_plain(sealed_backup: tuple) -> None:
    client, made, stored = sealed_backup
    assert is_sealed(stored)
    (listed,) = client.get("/api/v1/export/backups").json()["archives"]
    assert listed["state"] == "restorable", listed  # the drill opened the sealed archive
    download = client.get(made["download_url"])
    assert download.status_code == 200 and download.content.startswith(b"PK")
    with zipfile.ZipFile(io.BytesIO(download.content)) as plain:  # the plain archive, whole
        assert plain.testzip() is None and "metadata.json" in plain.namelist()
    full = client.get("/api/v1/export/full")
    assert full.status_code == 200 and full.content.startswith(b"PK")


def test_an_upload_of_the_sealed_file_imports_with_the_key(sealed_backup: tuple) -> None:
    client, _made, stored = sealed_backup
    answer = client.post("/api/v1/export/full", files={"file": (stored.name, stored.read_bytes())})
    assert answer.status_code == 200, answer.text
    assert answer.json()["success"] is True and answer.json()["dry_run"] is True
    summary = client.post(
        "/api/v1/export/summary", files={"file": (stored.name, stored.read_bytes())}
    )
    assert summary.status_code == 200 and summary.json()["contents"]["games_count"] > 0


def test_a_changed_byte_is_refused_before_any_row_is_read(sealed_backup: tuple) -> None:
    client, _made, stored = sealed_backup
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    answer = client.post("/api/v1/export/full", files={"file": (stored.name, bytes(data))})
    assert answer.status_code == 400, answer.text
    assert "changed or damaged after it was encrypted" in answer.json()["detail"]


def test_without_the_key_a_sealed_upload_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    demo_database(tmp_path, 0.02)
    (tmp_path / "kept").mkdir()
    sealed = LocalStorage(tmp_path / "kept", key=write_key_file(tmp_path / "archive.key"))
    archive = build_archive(tmp_path / "kept" / "bgw_backup_20261207T000000Z.zip", [SEED_GAME])
    sealed.store(archive)
    assert is_sealed(archive)
    monkeypatch.delenv("BGW_ARCHIVE_KEY_FILE", raising=False)
    for client in api_client(monkeypatch, tmp_path, tokens=""):
        answer = client.post(
            "/api/v1/export/full", files={"file": (archive.name, archive.read_bytes())}
        )
        assert answer.status_code == 400, answer.text
        assert "is encrypted (age)" in answer.json()["detail"]
        assert "BGW_ARCHIVE_KEY_FILE" in answer.json()["detail"]
