"""The API in this process (FastAPI's TestClient) on a folder of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bgw_pipeline.api import context
from bgw_pipeline.api.app import create_app


def api_client(monkeypatch: pytest.MonkeyPatch, root: Path, tokens: str) -> Iterator[TestClient]:
    """A client of the app on `root` (database, exports, inbox, DAGSTER_HOME) with these
    BGW_API_TOKENS; the app's cached settings and engine are dropped afterwards."""
    monkeypatch.setenv("BGW_DATABASE_URL", f"sqlite:///{root / 'bgw.db'}")
    monkeypatch.setenv("EXPORT_PATH", str(root / "exports"))
    monkeypatch.setenv("IMPORT_INBOX", str(root / "inbox"))
    monkeypatch.setenv("DAGSTER_HOME", str(root))
    monkeypatch.setenv("BGW_API_TOKENS", tokens)
    context.settings.cache_clear()
    context.engine.cache_clear()
    try:
        with TestClient(create_app()) as client:
            yield client
    finally:
        context.engine().dispose()
        context.settings.cache_clear()
        context.engine.cache_clear()
