"""Checking archive rows against the BGW schema before anything touches the database.

A row that breaks the schema (a type, a CHECK, a missing required column, an invalid rule)
becomes a `RowError` naming the entity, the row id and the reason; valid rows come out
as canonical Arrow batches (the same forms the export reads from the database).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import pyarrow as pa

from bgw_pipeline.core.model.arrow_tables import arrow_schema
from bgw_pipeline.core.model.entities import Column, Entity, Kind
from bgw_pipeline.core.model.values import dumps_json, parse_timestamp

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
EVENT_KINDS = frozenset({"release", "sale", "preorder", "restock", "price_drop", "announcement"})
RULE_LOGIC = frozenset({"AND", "OR"})
DEFAULTS: dict[tuple[str, str], Any] = {
    ("games", "synonyms"): [],
    ("games", "in_watchlist"): False,
    ("rules", "channels"): [],
    ("rules", "cooldown_hours"): 0,
    ("rules", "active"): True,
    ("events", "processed"): False,
    ("price_history", "discount_pct"): 0,
    ("listings", "content_type"): "text/html",
}
# Column CHECKs of the spec's DDL: (entity, column) -> (minimum, maximum).
INT_RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("games", "price"): (0, INT32_MAX),
    ("games", "players_min"): (1, INT32_MAX),
    ("games", "year"): (1800, 2200),
    ("rules", "cooldown_hours"): (0, INT32_MAX),
    ("events", "price"): (0, INT32_MAX),
    ("events", "previous_price"): (0, INT32_MAX),
    ("events", "discount_pct"): (0, 100),
    ("price_history", "price"): (0, INT32_MAX),
    ("price_history", "previous_price"): (0, INT32_MAX),
    ("price_history", "discount_pct"): (0, 100),
}


# `null` in a NOT NULL JSON column is the JSON value null (jsonb holds it), not a
# missing value: the export writes both the same way, so the import must read it back.
JSON_NULL = object()


@dataclass(frozen=True)
class RowError:
    """One row that cannot be imported, and why."""

    entity: str
    row_id: str | None
    reason: str

    @property
    def message(self) -> str:
        # An id is normally 36 characters; a hostile one could be megabytes: cut it.
        row_id = self.row_id or "<no id>"
        if len(row_id) > 60:
            row_id = f"{row_id[:60]}… ({len(row_id)} characters)"
        return f"{self.entity} {row_id}: {self.reason}"


@dataclass
class ValidatedRows:
    """The outcome of checking one chunk of rows."""

    batch: pa.RecordBatch
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown_columns: set[str] = field(default_factory=set)


class _Invalid(ValueError):
    pass


CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value: Any) -> str:
    if isinstance(value, str) and CANONICAL_UUID.fullmatch(value):
        return value  # the usual case, checked without building a UUID object
    if not isinstance(value, str) or len(value) != 36:
        raise _Invalid(f"not a UUID: {value!r:.60}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _Invalid(f"not a UUID: {value!r:.60}") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected text, got {type(value).__name__}")
    if "\x00" in value:
        raise _Invalid("text contains a NUL character")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"expected a whole number, got {value!r:.60}")
    if not INT32_MIN <= value <= INT32_MAX:
        raise _Invalid(f"{value} is out of the INTEGER range")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {value!r:.60}")
    return value


def _json(value: Any) -> str:
    try:
        return dumps_json(value)
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"not a JSON value ({exc})") from None


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Invalid(f"expected an RFC 3339 timestamp, got {value!r:.60}")
    try:
        return parse_timestamp(value)
    except ValueError:
        raise _Invalid(f"not an RFC 3339 timestamp: {value!r:.60}") from None


_CONVERTERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.UUID: _uuid,
    Kind.TEXT: _text,
    Kind.INT: _int,
    Kind.BOOL: _bool,
    Kind.JSON: _json,
    Kind.TIMESTAMP: _timestamp,
}


def check_string_list(value: Any, what: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"{what} must be a JSON array of strings")


def check_conditions(value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise _Invalid("conditions must be a non-empty JSON array")
    for item in value:
        if not isinstance(item, dict) or not {"field", "op", "value"} <= set(item):
            raise _Invalid('each condition must be an object with "field", "op" and "value"')
        if not isinstance(item["field"], str) or not item["field"]:
            raise _Invalid("a condition's field must be a non-empty string")
        if not isinstance(item["op"], str) or not item["op"].strip():
            raise _Invalid("a condition's op must be a non-empty string")


@cache
def _ranges(entity_name: str) -> list[tuple[str, int, int]]:
    return [(column, low, high) for (name, column), (low, high) in INT_RANGES.items()
            if name == entity_name]  # fmt: skip


def _check_semantics(entity: Entity, row: Mapping[str, Any]) -> None:
    """The CHECK constraints and JSON shapes of the spec's DDL."""
    for column, low, high in _ranges(entity.name):
        value = row.get(column)
        if value is not None and not low <= value <= high:
            raise _Invalid(f"{column}={value} is outside {low}..{high}")
    if entity.name == "games":
        if not row["title"]:
            raise _Invalid("title is empty")
        low, high = row.get("players_min"), row.get("players_max")
        if low is not None and high is not None and high < low:
            raise _Invalid(f"players_max={high} is below players_min={low}")
        check_string_list(row["synonyms"], "synonyms")
    elif entity.name == "rules":
        if not row["name"]:
            raise _Invalid("name is empty")
        if row["logic"] not in RULE_LOGIC:
            raise _Invalid(f"logic must be AND or OR, got {row['logic']!r:.20}")
        check_string_list(row["channels"], "channels")
        check_conditions(row["conditions"])
    elif entity.name == "events" and row["kind"] not in EVENT_KINDS:
        raise _Invalid(f"unknown event kind {row['kind']!r:.30}")


def _column_value(entity: Entity, col: Column, row: Mapping[str, Any]) -> Any:
    if col.name not in row or row[col.name] is None:
        if (entity.name, col.name) in DEFAULTS and col.name not in row:
            return DEFAULTS[(entity.name, col.name)]
        if col.nullable:
            return None
        if col.kind is Kind.JSON and col.name in row:
            return JSON_NULL  # a NOT NULL JSON column holding the JSON value null
        raise _Invalid(f"missing required column {col.name}")
    value = row[col.name]
    if col.kind is Kind.JSON:
        return value  # shape-checked below, serialized at the end
    try:
        return _CONVERTERS[col.kind](value)
    except _Invalid as exc:
        raise _Invalid(f"{col.name}: {exc}") from None


def _converters(entity: Entity) -> list[tuple[Column, Callable[[Any], Any] | None]]:
    """Each column and its converter (None for JSON, shape-checked and serialized later)."""
    return [(c, None if c.kind is Kind.JSON else _CONVERTERS[c.kind]) for c in entity.columns]


def _row_values(
    entity: Entity, plan: list[tuple[Column, Callable[[Any], Any] | None]], raw: Mapping[str, Any]
) -> dict[str, Any]:
    """The row's column values converted: a present, non-null value directly (the usual
    case, a third of the time of a general lookup), a missing or null one as the
    schema says (`_column_value`)."""
    values = {}
    for col, convert in plan:
        value = raw.get(col.name)
        if value is None:
            values[col.name] = _column_value(entity, col, raw)
        elif convert is None:
            values[col.name] = value
        else:
            try:
                values[col.name] = convert(value)
            except _Invalid as exc:
                raise _Invalid(f"{col.name}: {exc}") from None
    return values


def validate_rows(entity: Entity, rows: Sequence[Any]) -> ValidatedRows:
    """Check a chunk of archive rows; return the valid ones as a canonical batch.

    Args:
        entity: which table the rows belong to.
        rows: parsed JSON rows (normally dicts) of one chunk.
    """
    known = set(entity.column_names)
    plan = _converters(entity)
    columns: list[list[Any]] = [[] for _ in entity.columns]
    errors: list[RowError] = []
    warnings: list[str] = []
    unknown: set[str] = set()
    for raw in rows:
        row_id = raw.get("id") if isinstance(raw, dict) else None
        label = row_id if isinstance(row_id, str) else None
        if not isinstance(raw, dict):
            errors.append(RowError(entity.name, None, "row is not a JSON object"))
            continue
        unknown.update(k for k in raw if k not in known)
        try:
            values = _row_values(entity, plan, raw)
            _check_semantics(entity, values)
            for col in entity.columns:
                if col.kind is Kind.JSON and values[col.name] is not None:
                    value = values[col.name]
                    values[col.name] = _json(None if value is JSON_NULL else value)
        except _Invalid as exc:
            errors.append(RowError(entity.name, label, str(exc)))
            invalid_conditions = "condition" in str(exc)
            if entity.name == "rules" and invalid_conditions and isinstance(raw.get("name"), str):
                warnings.append(f"Rule with invalid conditions skipped: '{raw['name']}'")
            continue
        for index, col in enumerate(entity.columns):
            columns[index].append(values[col.name])
    schema = arrow_schema(entity)
    arrays = [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)]
    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
    return ValidatedRows(batch, errors, warnings, unknown)


def iter_validated(entity: Entity, chunks: Iterable[Sequence[Any]]) -> Iterable[ValidatedRows]:
    """Validate chunk by chunk, so memory stays bounded by one chunk."""
    for chunk in chunks:
        yield validate_rows(entity, chunk)
