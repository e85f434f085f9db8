"""A sliding-window rate limit that every process using one folder shares.

Several API processes (uvicorn workers, a restart, two launches) must count one client's
exports together, so the events live in a small SQLite file next to the archives, not in
a process's memory. `BEGIN IMMEDIATE` makes each check-and-record one step across
processes: two requests cannot both take the last allowance. The window survives a
restart. Like the metrics ledger and the backup lock, the file is per machine: SQLite
over a network share is not safe, so hosts sharing an S3 bucket each keep their own.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

WINDOW_NAME = ".bgw_rate_limits.sqlite"


class SharedRateWindow:
    """At most `limit` events per `window` seconds per key, across processes."""

    def __init__(self, folder: Path, limit: int, window: float = 3600.0) -> None:
        self.path = folder / WINDOW_NAME
        self.limit = limit
        self.window = window

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS events (key TEXT NOT NULL, at REAL NOT NULL)")
        conn.execute("CREATE INDEX IF NOT EXISTS events_by_key ON events (key, at)")
        return conn

    def check(self, *keys: str, now: float | None = None) -> float | None:
        """Record one event under every key if each is under its limit; else record
        nothing and return the seconds until the fullest key allows the next one.

        Wall-clock time (not monotonic): the window is shared by processes and restarts.
        """
        now = time.time() if now is None else now
        start = now - self.window
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM events WHERE at <= ?", (start,))
            wait = None
            for key in keys:
                count, oldest = conn.execute(
                    "SELECT count(*), min(at) FROM events WHERE key = ? AND at > ?", (key, start)
                ).fetchone()
                if count >= self.limit:
                    since = now - oldest if oldest is not None else 0.0
                    key_wait = max(1.0, self.window - since)
                    wait = key_wait if wait is None else max(wait, key_wait)
            if wait is None:
                conn.executemany("INSERT INTO events VALUES (?, ?)", [(k, now) for k in keys])
            conn.execute("COMMIT")
            return wait
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
