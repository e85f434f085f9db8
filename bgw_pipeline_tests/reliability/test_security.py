"""Security: formula injection in every CSV, SQL injection in the HTTP parameters,
secrets kept out of everything a user or a log sees, archive names that cannot escape."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import requests
import sqlalchemy as sa

from bgw_pipeline.core.backup.backup_database import BackupFolders, backup_database
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import ensure_schema
from bgw_pipeline.core.database.snapshot import open_snapshot
from bgw_pipeline.core.export.csv_files import (
    FORMULA_STARTS,
    write_games_csv_batches,
    write_price_history_csv_file,
)
from bgw_pipeline.core.model.entities import GAMES, PRICE_HISTORY
from bgw_pipeline_tests.api.live_server import live_server, server_env
from bgw_pipeline_tests.factories import insert, make_game, make_price
from bgw_pipeline_tests.reliability.tally import record
from bgw_pipeline_tests.s3_server import ACCESS_KEY, SECRET_KEY, new_bucket

FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@SUM(1)", "\t=1", "\r=1", "\uff1d1+1",
            '=HYPERLINK("http://evil.example","x")', "=cmd|' /C calc'!A0"]  # fmt: skip
PASSWORD = "Pw-never-shown-4417"


def _formula_database(url: str) -> str:
    engine = create_engine(url)
    ensure_schema(engine)
    now = datetime.now(UTC).replace(microsecond=0)
    games = [
        make_game(
            title=f,
            normalized_title=f"formula {i}",
            description=f,
            publisher=f,
            category=f,
            url=f,
            playing_time=f,
        )
        for i, f in enumerate(FORMULAS)
    ]
    insert(engine, "games", games)
    prices = [make_price(games[0], store=f, url=f, recorded_at=now - timedelta(days=i + 1))
              for i, f in enumerate(FORMULAS)]  # fmt: skip
    insert(engine, "price_history", prices)
    engine.dispose()
    return str(games[0]["id"])


def _cells(data: bytes) -> list[str]:
    text = data.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _neutral(data: bytes) -> bool:
    cells = _cells(data)
    return bool(cells) and not any(c.startswith(FORMULA_STARTS) for c in cells)


def test_every_csv_neutralizes_formulas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bgw.db'}"
    game_id = _formula_database(url)
    engine = create_engine(url)
    outputs: dict[str, bytes] = {}
    folders = BackupFolders(tmp_path / "out", tmp_path / "snapshots", tmp_path / "csv")
    backup = backup_database(engine, folders)
    for entity in (GAMES, PRICE_HISTORY):
        outputs[f"snapshot {entity.name}.csv"] = backup.snapshots[entity.name].csv_path.read_bytes()
    outputs["games_csv asset"] = backup.games_csv.read_bytes()
    with open_snapshot(engine) as snapshot:
        buffer = io.BytesIO()
        write_games_csv_batches(snapshot.batches(GAMES), buffer)
        outputs["games csv from database batches"] = buffer.getvalue()
    path, _rows = write_price_history_csv_file(engine, tmp_path / "ph", game_id, 365)
    outputs["price_history_csv job"] = Path(path).read_bytes()
    engine.dispose()
    with live_server(server_env(tmp_path, url), tmp_path) as base:
        outputs["HTTP games csv"] = requests.get(
            f"{base}/api/v1/export/games/csv", timeout=60
        ).content
        outputs["HTTP price csv"] = requests.get(
            f"{base}/api/v1/export/price-history/{game_id}/csv", timeout=60
        ).content
    failed = []
    for name, data in outputs.items():
        ok = _neutral(data) and any("'=1+1" in c for c in _cells(data))
        record("security", f"formula injection neutralized: {name}", ok)
        if not ok:
            failed.append(name)
    assert not failed, failed


INJECTIONS = ["1 OR 1=1", "' OR '1'='1", "'; DROP TABLE games;--", "1); DELETE FROM games;--",
              "00000000-0000-0000-0000-000000000000' OR 'x'='x", "%27%20OR%201%3D1",
              "00000000-0000-0000-0000-000000000000,' UNION SELECT * FROM rules--"]  # fmt: skip


def test_sql_injection_in_game_ids_and_game_id(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bgw.db'}"
    _formula_database(url)
    statuses = []
    with live_server(server_env(tmp_path, url), tmp_path) as base:
        api = f"{base}/api/v1/export"
        for payload in INJECTIONS:
            many = requests.get(f"{api}/games/csv", params={"game_ids": payload}, timeout=60)
            one = requests.get(f"{api}/price-history/{quote(payload, safe='')}/csv", timeout=60)
            days = requests.get(f"{api}/price-history/{quote(payload, safe='')}/csv",
                                params={"days": "1;DROP TABLE games"}, timeout=60)  # fmt: skip
            statuses += [many.status_code, one.status_code, days.status_code]
    with sqlite3.connect(tmp_path / "bgw.db") as conn:
        games = conn.execute("SELECT count(*) FROM games").fetchone()[0]
    ok = games == len(FORMULAS) and all(400 <= s < 500 for s in statuses)
    record("security", f"SQL injection in game_ids/game_id/days ({len(statuses)} requests)", ok,
           statuses=sorted(set(statuses)))  # fmt: skip
    assert ok, (games, statuses)


def test_secrets_never_show(postgres_url: str, s3_endpoint: str, tmp_path: Path) -> None:
    secret_url = sa.make_url(postgres_url).set(password=PASSWORD).render_as_string(False)
    engine = create_engine(secret_url)
    ensure_schema(engine)
    engine.dispose()
    bucket = new_bucket(s3_endpoint)
    env = server_env(tmp_path, secret_url, S3_ENABLED="true", S3_ENDPOINT=s3_endpoint,
                     S3_BUCKET=bucket.bucket, S3_ACCESS_KEY=ACCESS_KEY, S3_SECRET_KEY=SECRET_KEY,
                     S3_REGION="us-east-1")  # fmt: skip
    seen: dict[str, str] = {}
    with live_server(env, tmp_path) as base:
        for path in ("/", "/metrics", "/health", "/api/v1/export/backups", "/openapi.json",
                     "/api/v1/export/full", "/api/v1/export/games/csv?game_ids=nope",
                     "/api/v1/export/backups/..%2F..%2Fetc%2Fpasswd"):  # fmt: skip
            seen[f"HTTP {path}"] = requests.get(f"{base}{path}", timeout=120).text
        seen["HTTP bad upload"] = requests.post(
            f"{base}/api/v1/export/full", files={"file": ("x.zip", b"nope")}, timeout=60
        ).text
    seen["server log"] = "\n".join(
        p.read_text(errors="replace") for p in tmp_path.glob("api-*.log")
    )
    home = tmp_path / "home"
    seen["Dagster run storage (configs, events, metadata)"] = "\n".join(
        p.read_bytes().decode("latin-1") for p in home.rglob("*") if p.is_file()
    )
    bad = sa.make_url(secret_url).set(port=1).render_as_string(False)
    cli = subprocess.run([sys.executable, "-m", "bgw_pipeline.cli", "export", "--url", bad],
                         capture_output=True, text=True, check=False)  # fmt: skip
    seen["CLI error"] = cli.stdout + cli.stderr
    failed = []
    for where, text in seen.items():
        ok = bool(text) and PASSWORD not in text and SECRET_KEY not in text
        record("security", f"no secret in {where}", ok)
        if not ok:
            failed.append(where)
    assert "archive" in seen["HTTP /api/v1/export/backups"]
    assert not failed, failed


def test_archive_names_in_urls_cannot_escape(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bgw.db'}"
    _formula_database(url)
    (tmp_path / "secret.txt").write_text("root:x:0:0")
    names = ["../secret.txt", "..%2Fsecret.txt", "%2e%2e%2fsecret.txt", "..\\secret.txt",
             "/etc/passwd", "%2Fetc%2Fpasswd", "bgw_backup_20240101T000000Z.zip%00.txt",
             "\u2024\u2024%2Fsecret.txt", "bgw_backup_20240101T000000Z.zip%2F..%2F..%2Fsecret.txt",
             "....//secret.txt"]  # fmt: skip
    answers = []
    with live_server(server_env(tmp_path, url), tmp_path) as base:
        for name in names:
            answer = requests.get(f"{base}/api/v1/export/backups/{name}", timeout=30)
            answers.append((name, answer.status_code, "root:" in answer.text))
    ok = all(400 <= status < 500 and not leaked for _n, status, leaked in answers)
    record("security", f"archive names cannot escape the archive folder ({len(names)} tries)", ok)
    assert ok, answers
