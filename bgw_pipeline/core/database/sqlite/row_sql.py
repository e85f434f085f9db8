"""The SQL that has SQLite render a chunk of the archive's JSON rows itself.

What SQL cannot give in the reference encoder's form is handled so:

* timestamps: the stored text ('YYYY-MM-DD HH:MM:SS.ffffff', SQLAlchemy's form, or with
  a 'T') is rewritten in SQL to RFC 3339, trailing zeros of the fraction cut;
* JSON columns: SQLite keeps keys and number forms as written, so their text comes
  between two unit separators (json_object escapes every control character, so the
  mark never occurs elsewhere) and Python (rows.py) makes just those values canonical;
* any value whose stored form the SQL does not render exactly as the reference would
  (a timestamp in another form, an upper-case UUID, text in an INTEGER column, a blob,
  invalid UTF-8...) makes its row NULL, or the query fail: that window is then read by
  the reference encoder instead. Ids that are not lower-case 36-character text send the
  whole table to the reference encoder (their order and uniqueness are then its to check).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from bgw_pipeline.core.model.entities import Column, Entity, Kind

ID_LENGTH = 36
MARK = "\x1f"  # around a JSON column's stored text in a rendered row

# 'YYYY-MM-DD HH:MM:SS.ffffff' or with a 'T', digits where digits belong.
_TIMESTAMP_GLOB = (
    "[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]:[0-5][0-9]." + "[0-9]" * 6
)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check(column: Column, text_affinity: bool) -> str:
    """SQL true when the stored value renders exactly as the reference encoder's.

    A column of TEXT affinity holds only text, blobs and NULLs; a blob makes json_object
    fail (the query's error sends the table's rest to the reference encoder).
    """
    col = _ident(column.name)
    kind = column.kind
    text = "" if text_affinity else f"typeof({col}) = 'text' AND "
    if kind is Kind.TEXT:  # json_object writes any text as orjson does
        check = f"{col} IS NOT NULL" if text_affinity else f"typeof({col}) = 'text'"
    elif kind is Kind.INT:
        check = f"typeof({col}) = 'integer'"
    elif kind is Kind.BOOL:  # the reference reads any number as bool(value)
        check = f"typeof({col}) = 'integer' AND {col} IN (0, 1)"
    elif kind is Kind.UUID:  # the reference lower-cases (Python's lower, not only ASCII)
        check = f"{text}{col} = lower({col}) AND length({col}) = length(CAST({col} AS BLOB))"
    elif kind is Kind.TIMESTAMP:
        # Digits where the form has them, and fields in range: month, hour, year (the
        # archive holds 0001-9999), and a day up to 28 as such. Days 29 to 31 go through
        # strftime's normalization (Feb 30 becomes Mar 1: the text then differs and the
        # window is read the slow way); the fraction is left out of it (SQLite rounds it
        # to milliseconds).
        seconds = f"replace(substr({col}, 1, 19), 'T', ' ')"
        check = (
            f"typeof({col}) = 'text' AND {col} GLOB '{_TIMESTAMP_GLOB}' "
            f"AND substr({col}, 1, 4) <> '0000' AND substr({col}, 6, 2) BETWEEN '01' AND '12' "
            f"AND substr({col}, 12, 2) <= '23' AND (substr({col}, 9, 2) BETWEEN '01' AND '28' "
            f"OR strftime('%Y-%m-%d %H:%M:%S', {seconds}, '+0 seconds') = {seconds})"
        )
    else:  # JSON: any text; Python parses it
        check = f"{col} IS NOT NULL"
    if column.nullable and check == f"{col} IS NOT NULL":
        return ""
    return f"({col} IS NULL OR {check})" if column.nullable else f"({check})"


def _value(column: Column) -> str:
    """SQL of the value json_object is given for a column (NULL gives null)."""
    col = _ident(column.name)
    if column.kind is Kind.BOOL:
        return f"CASE {col} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END"
    if column.kind is Kind.TIMESTAMP:
        return f"replace(rtrim(rtrim({col}, '0'), '.'), ' ', 'T') || 'Z'"
    return col


def row_sql(entity: Entity, text_columns: frozenset[str] = frozenset()) -> str:
    """SQL of an entity's archive row; NULL when a value is not in a form it renders.

    Without JSON columns one json_object. Otherwise the runs of other columns go
    through json_object, its braces cut, and each JSON column's text is put between
    MARKs for Python to make canonical.
    """
    # The ids are checked once for the table (ids_fit).
    found = (_check(c, c.name in text_columns) for c in entity.columns if c.name != "id")
    checks = " AND ".join(check for check in found if check)
    if json_columns(entity):
        members: list[str] = []
        run: list[Column] = []
        for column in (*entity.columns, None):
            if column is not None and column.kind is not Kind.JSON:
                run.append(column)
                continue
            if run:
                members.append(f"ltrim(rtrim({_json_object(run)}, '}}'), '{{')")
                run = []
            if column is not None:
                col = _ident(column.name)
                text = f"CASE WHEN {col} IS NULL THEN 'null' ELSE CAST({col} AS TEXT) END"
                key = _literal('"' + column.name + '":' + MARK)
                members.append(f"{key} || {text} || '{MARK}'")
        body = "'{' || " + " || ',' || ".join(members) + " || '}'"
    else:
        body = _json_object(entity.columns)
    return f"CASE WHEN {checks} THEN {body} END"


def _json_object(columns: Sequence[Column]) -> str:
    return "json_object(" + ", ".join(f"{_literal(c.name)}, {_value(c)}" for c in columns) + ")"


def json_columns(entity: Entity) -> tuple[Column, ...]:
    return tuple(c for c in entity.columns if c.kind is Kind.JSON)


def chunk_query(
    entity: Entity, rows: int, text_columns: frozenset[str] = frozenset(), bounded: bool = False
) -> str:
    """The next `rows` rows after an id (bound as its stored bytes; `bounded`: and below a
    second one), in id order: their count, how many rendered, the rendered rows joined by
    `,\n` and the ids end to end, both as bytes (their UTF-8 is checked here: Python must
    not decode a value first)."""
    below = " AND id < CAST(? AS TEXT)" if bounded else ""
    return (
        "SELECT count(*), count(j), CAST(group_concat(j, ',\n') AS BLOB), "
        "CAST(group_concat(id, '') AS BLOB) "
        f"FROM (SELECT id, {row_sql(entity, text_columns)} AS j FROM {_ident(entity.name)} "
        f"WHERE id > CAST(? AS TEXT){below} ORDER BY id LIMIT {int(rows)})"
    )


def odd_ids_query(entity: Entity) -> str:
    """How many ids are not lower-case 36-character text (NULL, upper case, a blob...)."""
    return (
        f"SELECT count(*) FROM {_ident(entity.name)} WHERE NOT coalesce(typeof(id) = 'text' "
        f"AND length(id) = {ID_LENGTH} AND length(CAST(id AS BLOB)) = {ID_LENGTH} "
        "AND id = lower(id), 0)"
    )


def ids_fit(conn: sqlite3.Connection, entity: Entity) -> bool:
    """Whether every id of the table is in the form the chunk queries page through."""
    return int(conn.execute(odd_ids_query(entity)).fetchone()[0]) == 0


def text_columns(conn: sqlite3.Connection, entity: Entity) -> frozenset[str]:
    """The table's columns declared with TEXT affinity (SQLite's rules: a declared type
    with CHAR, CLOB or TEXT in it, and not INT)."""
    declared = conn.execute(f"PRAGMA table_info({_ident(entity.name)})").fetchall()
    names = set()
    for _cid, name, kind, *_rest in declared:
        kind = str(kind).upper()
        if "INT" not in kind and any(word in kind for word in ("CHAR", "CLOB", "TEXT")):
            names.add(name)
    return frozenset(names)
