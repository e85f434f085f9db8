"""CSV files for people: the API's games and price-history exports, and table snapshots.

Rules (API document and spec "CSV exports"): UTF-8 with a BOM so Excel shows Cyrillic,
CRLF line ends, text cells always quoted, numbers bare, missing values written as the
bare word `null` exactly as the API document's price-history example shows. A text cell
that starts with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`, so that a
spreadsheet shows it as text instead of running it as a formula.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bgw_pipeline.core.database.engines import connect
from bgw_pipeline.core.database.schema import table_for
from bgw_pipeline.core.export.csv_columns import FORMULA_STARTS as FORMULA_STARTS
from bgw_pipeline.core.export.csv_columns import format_cell as format_cell
from bgw_pipeline.core.export.csv_columns import neutralize_formula as neutralize_formula
from bgw_pipeline.core.export.csv_columns import render_lines
from bgw_pipeline.core.files.atomic_files import atomic_write
from bgw_pipeline.core.model.arrow_tables import batch_from_rows
from bgw_pipeline.core.model.entities import GAMES, PRICE_HISTORY, Entity
from bgw_pipeline.core.model.errors import InvalidRequestError, NotFoundError
from bgw_pipeline.core.model.values import format_timestamp

BOM = b"\xef\xbb\xbf"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
GAMES_CSV_HEADER = (
    "id", "title", "store", "price", "url", "created_at", "updated_at", "description",
    "players_min", "players_max", "playing_time", "age", "publisher", "year", "category",
    "bgg_id",
)  # fmt: skip
PRICE_HISTORY_CSV_HEADER = ("timestamp", "price", "previous_price", "discount_pct", "url", "store")
MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 3650, 365
CHUNK_ROWS = 20_000
API_CHUNK_ROWS = 2_000  # rows per chunk of an API CSV: many are served at once


def _line(cells: Iterable[Any]) -> bytes:
    """One CSV line cell by cell (price history's few rows; the reference for tests)."""
    return (",".join(format_cell(c) for c in cells) + "\r\n").encode("utf-8")


def _header(names: Sequence[str]) -> bytes:
    return BOM + (",".join(names) + "\r\n").encode("utf-8")


def csv_header(names: Sequence[str]) -> bytes:
    """The BOM and header line of a CSV file with these columns (export/snapshot_formats.py writes
    a file a batch at a time)."""
    return _header(names)


def csv_rows(columns: Sequence[str], batch: pa.RecordBatch) -> bytes:
    """The lines of the named columns of one record batch, rendered column by column in
    Arrow's C++ kernels (export/csv_columns.py); the same bytes as `_line` on every row."""
    return render_lines([batch.column(name) for name in columns]).to_pybytes()


def write_batches_csv(
    columns: Sequence[str], batches: Iterable[pa.RecordBatch], out: BinaryIO
) -> int:
    """Write the named columns of record batches as CSV; returns the rows written."""
    out.write(_header(columns))
    rows = 0
    for batch in batches:
        out.write(memoryview(render_lines([batch.column(name) for name in columns])))
        rows += batch.num_rows
    return rows


def write_entity_csv(entity: Entity, batches: Iterable[pa.RecordBatch], out: BinaryIO) -> int:
    """A table snapshot as CSV: every column; JSON columns as their JSON text."""
    return write_batches_csv(entity.column_names, batches, out)


def write_games_csv_batches(batches: Iterable[pa.RecordBatch], out: BinaryIO) -> int:
    """The API's games CSV from game batches (its 16 columns, in its order)."""
    return write_batches_csv(GAMES_CSV_HEADER, batches, out)


def parse_game_ids(raw: str) -> list[str]:
    """The `game_ids` parameter ("id1,id2"): canonical UUIDs; empty means all games."""
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.append(str(uuid.UUID(part)))
        except ValueError:
            raise InvalidRequestError(f"game_ids: {part[:60]!r} is not a UUID") from None
    return ids


def _game_batches(conn: sa.Connection, game_ids: Sequence[str] | None) -> Iterable[pa.RecordBatch]:
    """Only the CSV's columns (not synonyms, image URLs, ...), a few thousand rows at a
    time: the API serves many of these at once, and each one's memory is its chunk."""
    table = table_for(GAMES)
    query = sa.select(*(table.c[name] for name in GAMES_CSV_HEADER)).order_by(table.c.id)
    if game_ids:
        query = query.where(table.c.id.in_(list(game_ids)))
    result = conn.execution_options(yield_per=API_CHUNK_ROWS).execute(query)
    try:
        for rows in result.partitions():
            yield batch_from_rows(GAMES, rows, GAMES_CSV_HEADER)
    finally:
        result.close()


def write_games_csv(
    conn: sa.Connection, out: BinaryIO, game_ids: Sequence[str] | None = None
) -> int:
    """The games CSV of the API (all games, or those in `game_ids`), read in chunks.

    Args:
        conn: a connection to the BGW database.
        out: where the CSV bytes go.
        game_ids: canonical UUIDs (see `parse_game_ids`); None or empty = all games.
    """
    ids = [str(uuid.UUID(i)) for i in game_ids] if game_ids else None
    return write_games_csv_batches(_game_batches(conn, ids), out)


def _instant(conn: sa.Connection, column: Any) -> Any:
    """A timestamp column as a comparable instant; SQLite text may use ' ' or 'T', 'Z'."""
    if conn.dialect.name == "sqlite":
        return sa.func.julianday(sa.type_coerce(column, sa.Text))
    return column


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise InvalidRequestError(f"days must be between {MIN_DAYS} and {MAX_DAYS}, got {days!r}")


def write_price_history_csv(
    conn: sa.Connection,
    out: BinaryIO,
    game_id: str,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> int:
    """One game's price history of the last `days` days, newest first.

    Raises:
        InvalidRequestError: `days` outside 1..3650, or `game_id` not a UUID.
        NotFoundError: no such game.
    """
    _check_days(days)
    try:
        canonical = str(uuid.UUID(str(game_id)))
    except ValueError:
        raise InvalidRequestError(f"game_id {str(game_id)[:60]!r} is not a UUID") from None
    games = table_for(GAMES)
    if conn.execute(sa.select(games.c.id).where(games.c.id == canonical)).first() is None:
        raise NotFoundError(f"game {canonical} not found")
    prices = table_for(PRICE_HISTORY)
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    since_value: Any = since
    if conn.dialect.name == "sqlite":
        since_value = sa.func.julianday(format_timestamp(since))
    query = (
        sa.select(
            prices.c.recorded_at, prices.c.price, prices.c.previous_price,
            prices.c.discount_pct, prices.c.url, prices.c.store,
        )
        .where(prices.c.game_id == canonical, _instant(conn, prices.c.recorded_at) >= since_value)
        .order_by(_instant(conn, prices.c.recorded_at).desc(), prices.c.id)
    )  # fmt: skip
    out.write(_header(PRICE_HISTORY_CSV_HEADER))
    rows = 0
    for row in conn.execution_options(yield_per=CHUNK_ROWS).execute(query):
        out.write(_line(row))
        rows += 1
    return rows


def write_price_history_csv_file(
    engine: Engine, out_dir: Path, game_id: str, days: int = DEFAULT_DAYS
) -> tuple[Path, int]:
    """Write `price_history_<game_id>_<days>d.csv` atomically; returns (path, rows)."""
    _check_days(days)
    try:
        canonical = str(uuid.UUID(str(game_id)))
    except ValueError:
        raise InvalidRequestError(f"game_id {str(game_id)[:60]!r} is not a UUID") from None
    path = out_dir / f"price_history_{canonical}_{days}d.csv"
    with connect(engine) as conn, atomic_write(path, durable=False) as fh:
        rows = write_price_history_csv(conn, fh, canonical, days)
    return path, rows
