"""The API document's own client code, pasted unchanged, against a live server."""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
import requests

from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env
from bgw_pipeline_tests.archive_spec import check_archive_against_spec

# ---- pasted from the API document (Python section), unchanged ----
# fmt: off
base_url = "http://localhost:8000/api/v1"

# Полный экспорт
def export_full_backup():
    response = requests.get(f"{base_url}/export/full", params={
        "include_raw_data": True
    })

    if response.status_code == 200:
        timestamp = datetime.now().strftime("%Y%m%d_%H%M%S")
        filename = f"bgw_backup_{timestamp}.zip"

        with open(filename, "wb") as f:
            f.write(response.content)
        print(f"экспорт сохранен: {filename}")
    else:
        print(f"Ошибка экспорта: {response.status_code}")

# Импорт с проверкой
def import_backup(file_path, dry_run=True):
    with open(file_path, "rb") as f:
        files = {"file": f}
        params = {"dry_run": dry_run}

        response = requests.post(f"{base_url}/export/full",
                               files=files, params=params)
        result = response.json()

        if dry_run:
            print("Анализ импорта:")
            print(json.dumps(result["summary"], indent=2))
            if result.get("warnings"):
                print("Предупреждения:", result["warnings"])
        else:
            print("Импорт выполнен:", result["success"])

# экспорт конкретных игр в CSV
def export_games_csv(game_ids):
    ids_str = ",".join(game_ids)
    response = requests.get(f"{base_url}/export/games/csv",
                          params={"game_ids": ids_str})

    if response.status_code == 200:
        filename = "selected_games.csv"
        with open(filename, "w", encoding="utf-8") as f:
            f.write(response.text)
        print(f"CSV сохранен: {filename}")
# fmt: on
# ---- end of the pasted code ----


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    db_url = demo_database(tmp_path, 0.05)
    with live_server(server_env(tmp_path, db_url), tmp_path) as base:
        monkeypatch.setattr(f"{__name__}.base_url", f"{base}/api/v1")
        monkeypatch.chdir(tmp_path)
        yield base


def test_the_documents_python_client_works_unchanged(server: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    export_full_backup()
    out = capsys.readouterr().out
    assert "экспорт сохранен" in out
    (saved,) = tmp_path.glob("bgw_backup_*_*.zip")
    rows = check_archive_against_spec(saved)
    assert rows["listings"], "include_raw_data=True reached the export"

    import_backup(str(saved), dry_run=True)
    out = capsys.readouterr().out
    assert "Анализ импорта:" in out and '"skipped"' in out
    import_backup(str(saved), dry_run=False)
    assert "Импорт выполнен: True" in capsys.readouterr().out

    games = rows["games"][:2]
    export_games_csv([g["id"] for g in games])
    text = (tmp_path / "selected_games.csv").read_text(encoding="utf-8")
    assert text.lstrip("\ufeff").startswith("id,title,store,price,url,")
    assert all(g["id"] in text for g in games)


def test_summary_and_bad_input(server: str, tmp_path: Path) -> None:
    archive = tmp_path / "x.zip"
    response = requests.get(f"{server}/api/v1/export/full", timeout=120)
    archive.write_bytes(response.content)
    with open(archive, "rb") as fh:
        summary = requests.post(f"{server}/api/v1/export/summary", files={"file": fh}, timeout=60)
    assert summary.status_code == 200
    body = summary.json()
    assert body["compatibility"]["compatible"] is True and body["version"] == "1.0.0"
    assert set(body["preview"]) == {"sample_games", "date_range"}

    bad = requests.post(f"{server}/api/v1/export/summary", files={"file": ("a.zip", b"not a zip")},
                        timeout=30)  # fmt: skip
    assert bad.status_code == 400 and "not a ZIP" in bad.json()["detail"]
    bad_import = requests.post(f"{server}/api/v1/export/full", files={"file": ("a.txt", b"hello")},
                               timeout=30)  # fmt: skip
    assert bad_import.status_code == 400 and "not a ZIP" in bad_import.json()["detail"]

    for url, status in [
        ("/api/v1/export/price-history/not-a-uuid/csv", 422),
        ("/api/v1/export/price-history/550e8400-e29b-41d4-a716-446655440000/csv", 404),
        ("/api/v1/export/price-history/550e8400-e29b-41d4-a716-446655440000/csv?days=0", 422),
        ("/api/v1/export/price-history/550e8400-e29b-41d4-a716-446655440000/csv?days=x", 422),
        ("/api/v1/export/games/csv?game_ids=1;DROP TABLE games", 422),
        ("/api/v1/export/backups/..%2F..%2Fetc%2Fpasswd", 404),
        ("/api/v1/export/backups/bgw_backup_19990101T000000Z.zip", 404),
    ]:
        answer = requests.get(server + url, timeout=30)
        assert answer.status_code == status, (url, answer.text)
        assert isinstance(answer.json()["detail"], str) and answer.json()["detail"]

    listing = requests.get(f"{server}/api/v1/export/backups", timeout=30).json()
    assert listing["count"] >= 1
    first = listing["archives"][0]
    download = requests.get(server + first["download_url"], timeout=30)
    assert download.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(download.content)).testzip() is None
    assert requests.get(f"{server}/health", timeout=30).json()["status"] == "ok"
    page = requests.get(f"{server}/", timeout=30)
    assert page.status_code == 200 and "Экспорт сейчас" in page.text


def test_uploads_over_the_limit_get_413_and_exports_are_rate_limited(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'bgw.db'}"
    env = server_env(tmp_path, db_url, MAX_IMPORT_MB="1", API_EXPORTS_PER_HOUR="2")
    with live_server(env, tmp_path) as base:
        big = os.urandom(3 * 1024 * 1024)
        refused = requests.post(f"{base}/api/v1/export/full", files={"file": ("big.zip", big)},
                                timeout=60)  # fmt: skip
        assert refused.status_code == 413 and "limit" in refused.json()["detail"]
        answers = [requests.get(f"{base}/api/v1/export/full", timeout=120) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert int(answers[2].headers["Retry-After"]) > 0
