"""Opening the BGW database: one place that knows SQLite's and PostgreSQL's quirks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bgw_pipeline.core.model.errors import ConfigError, DatabaseUnavailableError


def normalize_url(url: str) -> str:
    """Use psycopg 3 for a bare `postgresql://` URL (the driver this project ships)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - never leak an unparsable URL either
        return "<unparsable database URL>"


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the BGW database.

    SQLite gets real transactions (pysqlite defers BEGIN, which would break the snapshot
    read and the all-or-nothing import), foreign keys and a busy timeout. Its parent
    folder is created so that a fresh checkout works with the default URL.

    Args:
        url: an SQLAlchemy URL (`sqlite:///path` or `postgresql://...`).
        **kwargs: passed to `sqlalchemy.create_engine`.
    """
    try:
        parsed = make_url(normalize_url(url))
    except (sa.exc.ArgumentError, ValueError):
        # The parser's message repeats the URL, password included: never show it.
        raise ConfigError(
            "BGW_DATABASE_URL is not a valid database URL "
            "(expected sqlite:///path/to/file.db or postgresql://user:password@host/db)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://"
        )
    return sa.create_engine(parsed, pool_pre_ping=True, **kwargs)


def _sqlite_engine(parsed: sa.URL, **kwargs: Any) -> Engine:
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, connect_args={"timeout": 30}, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers ask for BEGIN IMMEDIATE so that the read-then-write of an import holds
        # the write lock from its first read.
        conn.exec_driver_sql(conn.get_execution_options().get("bgw_sqlite_begin", "BEGIN"))

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def connect(engine: Engine) -> Iterator[sa.Connection]:
    """A connection, with "cannot connect" turned into a retryable, password-free error."""
    try:
        conn = engine.connect()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        raise DatabaseUnavailableError(
            f"cannot reach the database {redact_url(engine.url.render_as_string(False))}: {reason}"
        ) from None
    with conn:
        yield conn
