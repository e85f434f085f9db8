"""The restore drill's bulk load: archive rows into a scratch SQLite database, in C++.

The import checks every row in Python (archive/row_validation.py) and inserts through Python's
sqlite3; for the drill that was most of a backup's checks. Here each chunk of rows is
parsed by Arrow's JSON reader (typed by the entity's schema), checked column-wise for
what the import refuses and a round trip would not reveal (integers outside the
INTEGER range, NUL characters, the JSON shapes of synonyms, channels and conditions),
and appended by ADBC's SQLite driver, which binds Arrow columns in C. The database's
own constraints (NOT NULL, CHECK, unique keys) refuse what they refuse.

Anything the checks cannot vouch for stops the load with `NeedsFullImport`, and the
drill restores through the import itself, whose verdict and messages then stand. Values
that are valid but not in the export's own form (another key order, an upper-case UUID)
load here and are caught by the drill's checksum comparison, as through the import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from bgw_pipeline.core.archive.row_validation import (
    INT32_MAX,
    INT32_MIN,
    INT_RANGES,
    check_conditions,
    check_string_list,
)
from bgw_pipeline.core.encoding.encoded_arrow import table_from_encoded
from bgw_pipeline.core.files.read_ahead import ReadAhead
from bgw_pipeline.core.model.entities import Entity, Kind
from bgw_pipeline.core.model.errors import SourceDataError

if TYPE_CHECKING:
    from bgw_pipeline.core.archive.reader import ArchiveReader

CHUNK_ROWS = 20_000
# A scratch database: 16 MiB of page cache (the rows go in in key order and the other
# keys and indexes are sorted in once the rows are in, so a larger cache buys nothing:
# at L 64 MiB loaded in the same time with 130 MiB more peak RSS), the rollback journal
# in memory (an error still rolls the load back), and those sorts on two threads (the
# parsing is over by then: at L 3.6 -> 2.9 s).
SCRATCH_PRAGMAS = (
    "PRAGMA cache_size = -16384",
    "PRAGMA journal_mode = MEMORY",
    "PRAGMA threads = 2",
)
# Escapes the export never writes, which the import refuses or must judge itself.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_SHAPES: dict[tuple[str, str], Any] = {
    ("games", "synonyms"): lambda v: check_string_list(v, "synonyms"),
    ("rules", "channels"): lambda v: check_string_list(v, "channels"),
    ("rules", "conditions"): check_conditions,
}


class NeedsFullImport(Exception):
    """The fast load cannot vouch for these rows; the import must judge them."""


def _checked_ints(entity: Entity, name: str, column: pa.Array) -> None:
    low, high = INT_RANGES.get((entity.name, name), (INT32_MIN, INT32_MAX))
    bounds = pc.min_max(column).as_py()
    if bounds["min"] is not None and (bounds["min"] < low or bounds["max"] > high):
        raise NeedsFullImport(f"{entity.name}.{name}: a value outside {low}..{high}")


def _checked_shapes(entity: Entity, name: str, column: pa.Array) -> None:
    check = _SHAPES.get((entity.name, name))
    if check is None:
        return
    try:
        for text in column.to_pylist():
            check(orjson.loads(text))
    except (ValueError, TypeError) as exc:
        raise NeedsFullImport(f"{entity.name}.{name}: {exc}") from None


class TableTap(Protocol):
    """Another use of the tables the load parses (the backup's snapshot files): told where
    each entity begins and ends, handed each table of the entity's schema between."""

    def begin(self, entity: Entity) -> None: ...
    def add(self, entity: Entity, table: pa.Table) -> None: ...
    def end(self, entity: Entity) -> None: ...


def parsed_table(entity: Entity, data: bytes) -> pa.Table:
    """The rows of `data` (row texts joined by `,\\n`) as a table of the entity's schema.

    Raises:
        NeedsFullImport: a row the checks cannot vouch for.
    """
    if _SUSPECT_ESCAPE.search(data):
        raise NeedsFullImport(f"{entity.name}: a row holds an escaped NUL or surrogate")
    try:
        return table_from_encoded(entity, data)
    except (SourceDataError, ValueError, TypeError) as exc:
        raise NeedsFullImport(f"{entity.name}: {exc}") from None


def sqlite_table(entity: Entity, data: bytes) -> pa.Table:
    """The rows of `data`, checked, in schema_sqlite.sql's storage forms."""
    return sqlite_columns(entity, parsed_table(entity, data))


def sqlite_columns(entity: Entity, table: pa.Table) -> pa.Table:
    """A parsed table, checked, in schema_sqlite.sql's storage forms: timestamps as
    'YYYY-MM-DD HH:MM:SS.ffffff' text, booleans as 0/1.

    Raises:
        NeedsFullImport: a row the checks cannot vouch for.
    """
    columns = []
    for col, column in zip(entity.columns, table.columns, strict=True):
        array = column.combine_chunks()
        if col.kind is Kind.INT:
            _checked_ints(entity, col.name, array)
        elif (
            col.kind in (Kind.TEXT, Kind.UUID) and pc.any(pc.match_substring(array, "\x00")).as_py()
        ):
            raise NeedsFullImport(f"{entity.name}.{col.name}: text with a NUL character")
        elif col.kind is Kind.JSON:
            _checked_shapes(entity, col.name, array)
        elif col.kind is Kind.BOOL:
            array = array.cast(pa.int64())
        elif col.kind is Kind.TIMESTAMP:
            if pc.any(pc.less(pc.year(array), 1000)).as_py():
                raise NeedsFullImport(f"{entity.name}.{col.name}: a year before 1000")
            # A zone-less timestamp cast to text is 'YYYY-MM-DD HH:MM:SS.ffffff' (the UTC
            # wall clock, six digits): format_sqlite_timestamp's text, ten times faster
            # than strftime, which took a third of the load's conversions at L.
            array = array.cast(pa.timestamp("us")).cast(pa.string())
        columns.append(array)
    return pa.Table.from_arrays(columns, names=list(entity.column_names))


def load_archive(
    reader: ArchiveReader,
    db: Path,
    indexes_after: Sequence[str] = (),
    tap: TableTap | None = None,
) -> dict[str, int]:
    """Every entity of the archive into the empty BGW tables of SQLite file `db`, in one
    transaction; rows per entity. `indexes_after` (CREATE INDEX statements) run in that
    transaction once the rows are in: one sort each, not an index entry per row in
    random order (1.7 s of the 18.6 s load at L). Unique keys are part of the tables and
    refuse a duplicate as it is inserted.

    Raises:
        NeedsFullImport: the archive is not in the export's own layout, or holds a row
            the checks cannot vouch for, or the database refused one.

    `tap` is handed every parsed table on the reading thread, before its conversion.
    """
    counts: dict[str, int] = {}
    with _ScratchConnection(db) as scratch:
        for pragma in SCRATCH_PRAGMAS:
            scratch.execute(pragma)
        # The archive is read and its rows checked and converted on a worker thread
        # (Arrow's parser and kernels let go of the GIL) while SQLite stores the last.
        tables = ReadAhead(_tables(reader, tap), name="bgw-drill-load")
        try:
            for entity, table in tables:
                counts.setdefault(entity.name, 0)
                if table is not None:
                    scratch.append(entity.name, table)
                    counts[entity.name] += table.num_rows
            for statement in indexes_after:
                scratch.execute(statement)
        except scratch.errors as exc:  # a constraint refused a row: the import says which
            scratch.rollback()
            raise NeedsFullImport(f"the database refused a row: {exc}") from None
        except BaseException:
            scratch.rollback()
            raise
        finally:
            tables.stop()
        scratch.commit()
    return counts


class _ScratchConnection:
    """ADBC's SQLite driver through its low-level bindings, in one transaction.

    Its DB-API module imports `pyarrow.dataset`, and with it pandas: 0.2 s and about
    40 MiB on every backup, for nothing the drill uses."""

    def __init__(self, db: Path) -> None:
        import adbc_driver_manager  # loaded only by the drill
        import adbc_driver_sqlite

        self._adbc = adbc_driver_manager
        self.errors: type[Exception] = adbc_driver_manager.Error
        self._database = adbc_driver_sqlite.connect(str(db))
        self._connection = adbc_driver_manager.AdbcConnection(self._database)
        self._connection.set_autocommit(False)
        self._statement = adbc_driver_manager.AdbcStatement(self._connection)

    def __enter__(self) -> _ScratchConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in (self._statement, self._connection, self._database):
            handle.close()

    def execute(self, sql: str) -> None:
        self._statement.set_sql_query(sql)
        self._statement.execute_update()

    def append(self, table_name: str, table: pa.Table) -> None:
        """The rows of `table` appended to the existing table `table_name`, bound in C."""
        self._statement.set_options(
            **{
                self._adbc.INGEST_OPTION_TARGET_TABLE: table_name,
                self._adbc.INGEST_OPTION_MODE: self._adbc.INGEST_OPTION_MODE_APPEND,
            }
        )
        self._statement.bind_stream(table)
        self._statement.execute_update()

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()


def _tables(
    reader: ArchiveReader, tap: TableTap | None
) -> Iterator[tuple[Entity, pa.Table | None]]:
    """Each entity's rows as tables ready for SQLite, a chunk at a time; first the
    entity with None (an entity without rows still counts)."""
    for entity in reader.entities():
        if not entity.one_file_per_row and not reader.has_line_layout(entity):
            raise NeedsFullImport(f"{entity.member} is not written one row per line")
        rows = CHUNK_ROWS // 20 if entity.one_file_per_row else CHUNK_ROWS  # pages: KBs
        if tap is not None:
            tap.begin(entity)
        yield entity, None
        for lines in reader.iter_row_lines(entity, rows) or ():
            table = parsed_table(entity, b",\n".join(lines))
            if tap is not None:
                tap.add(entity, table)
            yield entity, sqlite_columns(entity, table)
        if tap is not None:
            tap.end(entity)
