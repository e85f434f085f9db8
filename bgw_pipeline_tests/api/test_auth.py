"""API tokens: who may read, who may write, and that a refused request changes nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from fastapi.testclient import TestClient

from bgw_pipeline.api import context
from bgw_pipeline.api.auth import needed_role
from bgw_pipeline.api.serve import check_bind
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import ensure_schema
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.model.errors import ConfigError
from bgw_pipeline.settings import ApiToken, Settings
from bgw_pipeline_tests.api.clients import api_client
from bgw_pipeline_tests.api.live_server import live_server, server_env
from bgw_pipeline_tests.factories import small_database

READ_TOKEN = "read-token-0123456789abcdef"
WRITE_TOKEN = "write-token-0123456789abcdef"


@pytest.fixture
def secured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    yield from api_client(monkeypatch, tmp_path, f"read:{READ_TOKEN},write:{WRITE_TOKEN}")


@pytest.fixture
def open_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    yield from api_client(monkeypatch, tmp_path, "")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_tokens_the_api_is_open(open_api: TestClient) -> None:
    assert open_api.get("/api/v1/export/backups").status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, _bearer("wrong-token-0123456789"), {"Authorization": READ_TOKEN}]
)
def test_no_or_a_wrong_token_gets_401_with_a_challenge(secured: TestClient, headers: dict) -> None:
    for path in ("/api/v1/export/backups", "/api/v1/export/games/csv", "/metrics"):
        answer = secured.get(path, headers=headers)
        assert answer.status_code == 401, path
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert READ_TOKEN not in answer.text and WRITE_TOKEN not in answer.text


def test_a_read_token_reads_and_health_and_the_page_stay_open(secured: TestClient) -> None:
    assert secured.get("/api/v1/export/backups", headers=_bearer(READ_TOKEN)).status_code == 200
    assert secured.get("/metrics", headers=_bearer(READ_TOKEN)).status_code == 200
    assert secured.get("/health").status_code in (200, 503)
    assert "BGW_API_TOKENS" in secured.get("/").text  # the page asks for a token


def test_the_export_rate_limit_counts_per_token(
    secured: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token that used its exports from elsewhere gets 429 here, from a fresh address
    (the limit is checked before any backup runs)."""
    limiter = context.export_limiter()
    monkeypatch.setattr(limiter, "limit", 1)
    monkeypatch.setattr(context, "export_limiter", lambda: limiter)
    assert limiter.check(f"token:{ApiToken('read', READ_TOKEN).id}") is None  # used up
    answer = secured.get("/api/v1/export/full", headers=_bearer(READ_TOKEN))
    assert answer.status_code == 429 and "Retry-After" in answer.headers
    assert READ_TOKEN not in answer.text


def _rows(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM games")).scalar_one()
    engine.dispose()
    return int(count)


def test_a_read_token_cannot_apply_and_nothing_changes(tmp_path: Path) -> None:
    """On a real server (its Dagster definitions read this environment): 403 for a read
    token on every spelling of an apply, and the database is untouched; a dry run is a
    read; the write token applies."""
    source = create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    ensure_schema(source)
    small_database(source)
    archive = export_database(source, tmp_path / "out").path
    source.dispose()
    url = f"sqlite:///{tmp_path / 'bgw.db'}"
    target = create_engine(url)
    ensure_schema(target)
    target.dispose()
    tokens = f"read:{READ_TOKEN},write:{WRITE_TOKEN}"
    with live_server(server_env(tmp_path, url, BGW_API_TOKENS=tokens), tmp_path) as base:

        def upload(query: str, token: str) -> int:
            with archive.open("rb") as f:
                answer = requests.post(f"{base}/api/v1/export/full{query}",
                                       files={"file": (archive.name, f, "application/zip")},
                                       headers=_bearer(token), timeout=120)  # fmt: skip
            assert answer.status_code in (200, 403), answer.text
            return answer.status_code

        for query in ("?dry_run=false", "?dry_run=0", "?dry_run=maybe"):
            assert upload(query, READ_TOKEN) == 403
        assert _rows(url) == 0
        assert upload("", READ_TOKEN) == 200  # a dry run is a read
        assert _rows(url) == 0
        assert upload("?dry_run=false", WRITE_TOKEN) == 200
        assert _rows(url) == 3
        log = "".join(p.read_text(errors="replace") for p in tmp_path.glob("api-*.log"))
        assert READ_TOKEN not in log and WRITE_TOKEN not in log


@pytest.mark.parametrize(
    ("method", "path", "query", "role"),
    [
        ("GET", "/health", b"", None),
        ("GET", "/", b"", None),
        ("POST", "/", b"", "read"),
        ("GET", "/api/v1/export/full", b"dry_run=false", "read"),
        ("POST", "/api/v1/export/full", b"", "read"),
        ("POST", "/api/v1/export/full", b"dry_run=True", "read"),
        ("POST", "/api/v1/export/full", b"dry_run=false", "write"),
        ("POST", "/api/v1/export/full", b"dry_run=true&dry_run=off", "write"),
        ("POST", "/api/v1/export/summary", b"", "read"),
        ("GET", "/anything/else", b"", "read"),
    ],
)
def test_the_role_each_request_needs(
    method: str, path: str, query: bytes, role: str | None
) -> None:
    assert needed_role(method, path, query) == role


@pytest.mark.parametrize(
    ("tokens", "words"),
    [
        ("admin:" + READ_TOKEN, "read:TOKEN"),
        ("read:short", "16 characters"),
        ("read:", "read:TOKEN"),
    ],
)
def test_a_bad_token_setting_is_refused_clearly(
    monkeypatch: pytest.MonkeyPatch, tokens: str, words: str
) -> None:
    monkeypatch.setenv("BGW_API_TOKENS", tokens)
    with pytest.raises(ConfigError, match=words) as caught:
        Settings.from_env()
    assert READ_TOKEN not in str(caught.value)


def _settings(**values: object) -> Settings:
    return Settings(database_url="sqlite://", export_path=Path("."), import_inbox=Path("."),
                    max_import_mb=1, **values)  # type: ignore[arg-type]  # fmt: skip


def test_an_open_api_binds_loopback_only() -> None:
    check_bind(_settings(api_host="127.0.0.1"))
    check_bind(_settings(api_host="::1"))
    with pytest.raises(ConfigError, match="BGW_API_TOKENS.*BGW_API_ALLOW_UNAUTHENTICATED"):
        check_bind(_settings(api_host="0.0.0.0"))
    check_bind(_settings(api_host="0.0.0.0", api_allow_unauthenticated=True))


def test_bgw_api_refuses_an_open_public_bind(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "API_HOST": "0.0.0.0", "BGW_API_TOKENS": ""}
    done = subprocess.run([sys.executable, "-m", "bgw_pipeline.cli", "api"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 3  # a configuration error
    assert "BGW_API_TOKENS" in done.stderr and "Traceback" not in done.stderr
