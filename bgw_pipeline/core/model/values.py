"""Canonical value forms shared by the database layer, the archive and the CSV files.

The archive fixes how values look (spec: ARCHIVE_FORMAT.md, "Values"); the database drivers
return them in several shapes. These functions are the one place that maps between them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from bgw_pipeline.core.model.errors import SourceDataError


def canonical_uuid(value: Any) -> str:
    """Lowercase 36-character form of a UUID given as text or `uuid.UUID`."""
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value)
    parsed = uuid.UUID(text)
    canonical = str(parsed)
    if len(text) != 36:
        raise ValueError(f"not a canonical UUID: {text!r}")
    return canonical


def parse_timestamp(value: Any) -> datetime:
    """An aware UTC datetime from a datetime or an ISO 8601 / SQLite timestamp string.

    Naive values are taken as UTC (the BGW schema stores every timestamp in UTC).
    """
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """RFC 3339 UTC with `Z`; fractional seconds only when non-zero (trailing zeros cut)."""
    dt = parse_timestamp(value)
    # strftime's %Y does not pad years before 1000; RFC 3339 needs four digits.
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    if dt.microsecond:
        text += f".{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_sqlite_timestamp(value: datetime) -> str:
    """SQLAlchemy's SQLite DateTime text form, in UTC: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    dt = parse_timestamp(value)
    return f"{dt.year:04d}-" + dt.strftime("%m-%d %H:%M:%S.") + f"{dt.microsecond:06d}"


def dumps_json(value: Any) -> str:
    """Compact JSON text of a value; integers outside 64 bits fall back to the stdlib."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
        )


def loads_json(text: str | bytes) -> Any:
    """Parse JSON text; integers outside 64 bits fall back to the stdlib."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def canonical_json_text(value: Any, where: str) -> str:
    """Compact JSON text for a JSON column value read from the database.

    Args:
        value: a parsed JSON value (PostgreSQL jsonb) or JSON text (SQLite TEXT).
        where: names the table, row and column in the error if the text is not JSON.
    """
    if isinstance(value, (str, bytes)):
        try:
            value = loads_json(value)
        except ValueError as exc:
            raise SourceDataError(f"{where}: stored text is not valid JSON ({exc})") from exc
    return dumps_json(value)
