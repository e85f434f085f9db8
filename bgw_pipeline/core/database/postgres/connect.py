"""Connecting to PostgreSQL with psycopg alone, for a process that needs nothing more.

An export from PostgreSQL has the server encode its rows: it needs connections, not an
ORM. Loading SQLAlchemy costs about 0.2 s of a 1 s medium export, so the export opens its
connections here (database/postgres/snapshot.py); everything else goes through database.py. The
same URLs work in both: an SQLAlchemy URL for PostgreSQL is a libpq URI once its driver
name is dropped (`postgresql+psycopg://` becomes `postgresql://`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bgw_pipeline.core.model.errors import ConfigError, DatabaseUnavailableError

if TYPE_CHECKING:
    import psycopg

# The schemes this module takes; any other URL (another driver) goes through SQLAlchemy.
_SCHEME = re.compile(r"^(postgresql|postgres)(\+psycopg)?://", re.IGNORECASE)
_PASSWORD = re.compile(r"^([^:/?#]+://[^:/?#@]*):([^@/?#]*)@")


def is_postgres_url(url: str) -> bool:
    """Whether psycopg can take this URL directly (PostgreSQL through psycopg 3)."""
    return bool(_SCHEME.match(url))


def libpq_url(url: str) -> str:
    """The URL as libpq reads it: `postgresql://...`, without SQLAlchemy's driver name."""
    if not is_postgres_url(url):
        raise ConfigError("not a PostgreSQL URL (expected postgresql://user:password@host/db)")
    return _SCHEME.sub("postgresql://", url, count=1)


def redact_postgres_url(url: str) -> str:
    """The URL with its password shown as `***`, for messages."""
    return _PASSWORD.sub(r"\1:***@", url, count=1)


def _password(url: str) -> str | None:
    found = _PASSWORD.match(url)
    return found.group(2) if found and found.group(2) else None


def connect_postgres(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A psycopg connection to `url`; "cannot connect" becomes a retryable error and a
    malformed URL a settings error, neither showing the password."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    conninfo = libpq_url(url)
    try:
        port = str(conninfo_to_dict(conninfo).get("port") or "0")
        if not all(p.strip().isdigit() for p in port.split(",")):
            raise psycopg.ProgrammingError(f"invalid port {_scrubbed(port, url)!r}")
        return psycopg.connect(conninfo, **kwargs)
    except psycopg.OperationalError as exc:
        reason = _scrubbed(str(exc).strip().splitlines()[0] if str(exc).strip() else "", url)
        raise DatabaseUnavailableError(
            f"cannot reach the database {redact_postgres_url(url)}: {reason or 'connection failed'}"
        ) from None
    except psycopg.ProgrammingError as exc:  # libpq refused the URI itself
        raise ConfigError(
            f"BGW_DATABASE_URL is not a valid PostgreSQL URL: {_scrubbed(str(exc), url)} "
            "(expected postgresql://user:password@host/db)"
        ) from None


def _scrubbed(message: str, url: str) -> str:
    password = _password(url)
    return message.replace(password, "***") if password else message


class DirectConnection:
    """A psycopg connection with the few methods the row reader calls on SQLAlchemy's
    pooled connections (database/postgres/rows.py), so it takes either."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.driver_connection = conn

    def rollback(self) -> None:
        self.driver_connection.rollback()

    def invalidate(self) -> None:
        """Drop a connection whose transaction is aborted (there is no pool to return it to)."""
        self.driver_connection.close()

    def close(self) -> None:
        self.driver_connection.close()
