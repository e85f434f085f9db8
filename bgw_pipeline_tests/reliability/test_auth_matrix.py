"""Security: every endpoint x (no token, wrong token, read token, write token) on a live
server with tokens, each answer and the database checked after it; then the tokens
searched for in the server's log, the Dagster run storage, the export folder and the
pages a browser sees."""

from __future__ import annotations

import hashlib
from pathlib import Path

import requests
import sqlalchemy as sa

from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env
from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive
from bgw_pipeline_tests.reliability.tally import record

READ = "read-token-of-the-matrix-5f1e0c"
WRITE = "write-token-of-the-matrix-9a7d3b"
WRONG = "wrong-token-of-the-matrix-000000"
WHO = {"no token": None, "wrong token": WRONG, "read token": READ, "write token": WRITE}
TABLES = ("games", "rules", "events", "price_history", "raw_items", "listings")


def _state(url: str) -> str:
    """A digest of every row of every table: any change at all changes it."""
    engine = sa.create_engine(url)
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in TABLES:
            for row in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id"):
                digest.update(repr(tuple(row)).encode())
    engine.dispose()
    return digest.hexdigest()


def _endpoints(base: str, game_id: str, archive: bytes, name: str) -> dict[str, tuple]:
    api = f"{base}/api/v1/export"
    upload = {"file": ("matrix.zip", archive)}
    # name: (method, url, files, what a read token gets, what a write token gets)
    return {
        "GET /full": ("GET", f"{api}/full", None, 200, 200),
        "POST /full (dry run)": ("POST", f"{api}/full", upload, 200, 200),
        "POST /full?dry_run=false": ("POST", f"{api}/full?dry_run=false", upload, 403, 200),
        "POST /summary": ("POST", f"{api}/summary", upload, 200, 200),
        "GET /backups": ("GET", f"{api}/backups", None, 200, 200),
        "POST /backups": ("POST", f"{api}/backups", None, 200, 200),
        "GET /backups/{name}": ("GET", f"{api}/backups/{name}", None, 200, 200),
        "GET /backup/progress": ("GET", f"{api}/backup/progress", None, 200, 200),
        "GET /games/csv": ("GET", f"{api}/games/csv", None, 200, 200),
        "GET /price-history/{id}/csv": (
            "GET", f"{api}/price-history/{game_id}/csv", None, 200, 200),
        "GET /export/metrics": ("GET", f"{api}/metrics", None, 200, 200),
        "GET /metrics": ("GET", f"{base}/metrics", None, 200, 200),
    }  # fmt: skip


def test_every_endpoint_answers_every_caller_as_it_should(tmp_path: Path) -> None:
    url = demo_database(tmp_path, 0.02)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        game_id = conn.exec_driver_sql("SELECT id FROM games ORDER BY id LIMIT 1").scalar_one()
    engine.dispose()
    title = "Игра матрицы доступа"
    new_game = SEED_GAME | {"title": title, "normalized_title": title}
    archive = build_archive(tmp_path / "matrix.zip", [new_game]).read_bytes()
    env = server_env(tmp_path, url, BGW_API_TOKENS=f"read:{READ},write:{WRITE}",
                     API_EXPORTS_PER_HOUR="1000")  # fmt: skip
    wrong: list[str] = []
    pages: list[str] = []
    with live_server(env, tmp_path) as base:
        made = requests.post(f"{base}/api/v1/export/backups", timeout=240,
                             headers={"Authorization": f"Bearer {READ}"})  # fmt: skip
        assert made.status_code == 200, made.text
        endpoints = _endpoints(base, str(game_id), archive, made.json()["name"])
        for endpoint, (method, target, files, read_gets, write_gets) in endpoints.items():
            for who, token in WHO.items():
                before = _state(url)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                answer = requests.request(method, target, files=files, headers=headers,
                                          timeout=240)  # fmt: skip
                expected = {"read token": read_gets, "write token": write_gets}.get(who, 401)
                changed = _state(url) != before
                may_change = who == "write token" and endpoint == "POST /full?dry_run=false"
                ok = answer.status_code == expected and changed == may_change
                if expected == 401:
                    ok = ok and answer.headers.get("WWW-Authenticate", "").startswith("Bearer")
                ok = ok and all(t not in answer.text for t in (READ, WRITE, WRONG))
                record("security", f"{endpoint} with {who}: {answer.status_code}", ok,
                       expected=expected, db_changed=changed)  # fmt: skip
                if not ok:
                    wrong.append(f"{endpoint} / {who}: {answer.status_code} (want {expected}), "
                                 f"database changed: {changed}")  # fmt: skip
                pages.append(answer.text if "csv" not in endpoint else "")
        for open_path in ("/health", "/", "/docs", "/openapi.json"):
            for who, token in WHO.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                answer = requests.get(f"{base}{open_path}", headers=headers, timeout=60)
                ok = answer.status_code in (200, 503) if open_path == "/health" else (
                    answer.status_code == 200)  # fmt: skip
                record("security", f"GET {open_path} (open) with {who}", ok)
                if not ok:
                    wrong.append(f"{open_path} / {who}: {answer.status_code}")
                pages.append(answer.text)
    searched = {
        "server log": "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("api-*.log")),
        "Dagster run storage": "\n".join(p.read_bytes().decode("latin-1")
                                         for p in (tmp_path / "home").rglob("*") if p.is_file()),
        "export folder (ledger, reports, rate window)": "\n".join(
            p.read_bytes().decode("latin-1") for p in (tmp_path / "exports").rglob("*")
            if p.is_file() and not p.name.endswith((".zip", ".parquet"))),
        "pages and answers": "\n".join(pages),
    }  # fmt: skip
    for where, text in searched.items():
        ok = bool(text) and all(t not in text for t in (READ, WRITE, WRONG))
        record("security", f"no API token in {where}", ok)
        if not ok:
            wrong.append(f"a token appears in {where}")
    assert not wrong, wrong
