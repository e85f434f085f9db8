"""The API as a real server process on loopback, with its own database and folders."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bgw_pipeline_tests.s3_server import free_port


def demo_database(root: Path, scale: float) -> str:
    """A SQLite demo database under `root`; returns its URL."""
    from bgw_pipeline.core.database.engines import create_engine
    from bgw_pipeline.core.demo.data import fill_demo_database

    url = f"sqlite:///{root / 'bgw.db'}"
    engine = create_engine(url)
    fill_demo_database(engine, scale=scale)
    engine.dispose()
    return url


def server_env(root: Path, db_url: str, **extra: str) -> dict[str, str]:
    (root / "home").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BGW_DATABASE_URL": db_url,
        "EXPORT_PATH": str(root / "exports"),
        "IMPORT_INBOX": str(root / "inbox"),
        "DAGSTER_HOME": str(root / "home"),
        "RETRY_MAX_TRIES": "1",
    }
    env.update(extra)
    return env


class ServerURL(str):
    """The base URL, carrying the server's process id."""

    pid: int


@contextmanager
def live_server(env: dict[str, str], cwd: Path) -> Iterator[ServerURL]:
    """uvicorn serving bgw_pipeline.api:app on 127.0.0.1; yields the base URL."""
    port = free_port()
    log_path = cwd / f"api-{port}.log"  # a file, not a pipe: a full pipe would block the server
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bgw_pipeline.api:app", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = ServerURL(f"http://127.0.0.1:{port}")
    base.pid = process.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/openapi.json", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"API did not start: {log_path.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
