"""The archive's JSON row, built by PostgreSQL itself: one SQL expression per entity.

Encoding in the server moves the per-value work off Python's single thread onto the
database's own process (the second core of a small host) and hands the export finished
bytes. The expressions give exactly the bytes of the reference encoder in
encoding/row_encoding.py (tested against it): keys in column order, no spaces, strings escaped
as JSON (`to_json` escapes like orjson), timestamps as RFC 3339 UTC with `Z` and
fractional seconds only when non-zero.

JSON columns are the exception: `jsonb::text` is not compact and keeps number forms the
reference encoder normalizes, so a row with JSON columns comes back as segments with the
JSON values between them, and Python canonicalizes just those values.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bgw_pipeline.core.model.entities import Column, Entity, Kind


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def value_sql(column: Column) -> str:
    """SQL text of one column's JSON value (never NULL: a missing value is `null`)."""
    col = ident(column.name)
    if column.kind is Kind.UUID:
        expr = f"'\"' || {col}::text || '\"'"
    elif column.kind is Kind.TEXT:
        expr = f"to_json({col}::text)::text"
    elif column.kind is Kind.INT:
        expr = f"{col}::text"
    elif column.kind is Kind.BOOL:
        expr = f"CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END"
    elif column.kind is Kind.TIMESTAMP:
        expr = _timestamp_sql(col)
    else:
        raise ValueError(f"{column.name}: JSON columns are canonicalized outside SQL")
    return f"coalesce({expr}, 'null')"


# Timestamps the archive can hold: RFC 3339 has four-digit years and no infinity.
_FIRST_TIME = "'0001-01-01 00:00:00+00'::timestamptz"
_END_OF_TIME = "'10000-01-01 00:00:00+00'::timestamptz"
OUT_OF_RANGE = "bgw: timestamp out of the archive's range"


def in_archive_range(col: str, value: str, value_type: str = "text") -> str:
    """`value` for a timestamp column `col` the archive can hold, NULL for NULL; any other
    value (infinity, BC, past 9999) stops the read with an error that names it (a failed
    cast is the one way plain SQL has to raise). `value_type` is the type of `value`."""
    error = f"({_literal(OUT_OF_RANGE + ': ')} || {col}::text)::int::text::{value_type}"
    return (
        f"CASE WHEN {col} >= {_FIRST_TIME} AND {col} < {_END_OF_TIME} THEN {value} "
        f"WHEN {col} IS NOT NULL THEN {error} END"
    )


def _timestamp_sql(col: str) -> str:
    """`"YYYY-MM-DDTHH:MM:SS[.ffffff]Z"`: JSON's own timestamp form (ISO 8601 with fractional
    seconds only when non-zero, trailing zeros cut) plus `Z`; `to_char` costs three times
    as much. Only years 1 to 9999 (in_archive_range)."""
    return in_archive_range(col, f"left(to_json({col} AT TIME ZONE 'UTC')::text, -1) || 'Z\"'")


@dataclass(frozen=True)
class RowSql:
    """An entity's row as SQL: literal/value segments around its JSON columns.

    `segments` has one more element than `json_columns`; the row is
    segments[0] + json[0] + segments[1] + ... + segments[-1].
    """

    segments: tuple[str, ...]
    json_columns: tuple[str, ...]


def row_sql(entity: Entity) -> RowSql:
    """The SQL expressions that build `entity`'s archive row."""
    segments: list[str] = []
    json_columns: list[str] = []
    parts: list[str] = []
    for index, column in enumerate(entity.columns):
        key = ("{" if index == 0 else ",") + f'"{column.name}":'
        parts.append(_literal(key))
        if column.kind is Kind.JSON:
            segments.append(" || ".join(parts))
            json_columns.append(f"{ident(column.name)}::text")
            parts = []
        else:
            parts.append(value_sql(column))
    parts.append("'}'")
    segments.append(" || ".join(parts))
    return RowSql(tuple(segments), tuple(json_columns))


def range_filter(low: str | None, high: str | None) -> str:
    conditions = []
    if low is not None:
        conditions.append(f"id >= {_literal(str(uuid.UUID(low)))}::uuid")
    if high is not None:
        conditions.append(f"id < {_literal(str(uuid.UUID(high)))}::uuid")
    return f"WHERE {' AND '.join(conditions)} " if conditions else ""


def slice_copy_query(entity: Entity, low: str | None, high: str | None, prefix: int) -> str:
    """Binary COPY of an entity without JSON columns, ids in [low, high): one record per
    group of ids sharing their first `prefix` hex digits, in id order, holding (rows,
    the group's finished rows joined by `,\\n`).

    The server sorts the slice once and sends a stream of blocks of a few hundred rows,
    not one message per row (costly to receive) nor one huge value (held three times over
    by the client library), so a slice can be big and the table is scanned fewer times.
    A hex prefix orders as the UUID does; the aggregate's own ORDER BY orders each group.
    The count lets the reader prove no row was dropped (string_agg skips NULLs).
    """
    sql = row_sql(entity)
    if sql.json_columns:
        raise ValueError(f"{entity.name} has JSON columns; use slice_rows_query")
    rows = (
        f'SELECT id, {sql.segments[0]} AS j, left(id::text, {int(prefix)}) COLLATE "C" AS b '
        f"FROM {ident(entity.name)} {range_filter(low, high)}"
    )
    return (
        f"COPY (SELECT count(*), string_agg(j, E',\\n' ORDER BY id) FROM ({rows}) s "
        "GROUP BY b ORDER BY b) TO STDOUT (FORMAT binary)"
    )


def slice_rows_query(entity: Entity, low: str | None, high: str | None) -> str:
    """Rows with ids in [low, high) as (id, segment, json, segment, ..., segment), in id order."""
    sql = row_sql(entity)
    columns = ["id::text"]
    for index, segment in enumerate(sql.segments):
        columns.append(f"convert_to({segment}, 'UTF8')")
        if index < len(sql.json_columns):
            columns.append(sql.json_columns[index])
    return (
        f"SELECT {', '.join(columns)} FROM {ident(entity.name)} "
        f"{range_filter(low, high)}ORDER BY id"
    )
