"""SQLite's own row encoding (database/sqlite/rows.py) gives exactly the reference encoder's bytes.

The export, the dry run and the drill's re-export read SQLite tables as JSON rows built
by SQLite; whatever it cannot render exactly must reach the reference encoder, so the
archive (and its checksum) is the same whichever path ran.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import ensure_schema
from bgw_pipeline.core.database.snapshot import open_snapshot
from bgw_pipeline.core.database.sqlite import rows as sqlite_rows
from bgw_pipeline.core.database.sqlite import workers as sqlite_workers
from bgw_pipeline.core.encoding.encoded_chunks import chunks_from_batches
from bgw_pipeline.core.model.entities import ALL_ENTITIES, ENTITIES_BY_NAME
from bgw_pipeline.core.model.errors import SourceDataError
from bgw_pipeline_tests.factories import (
    clear_database,
    fill_database,
    insert,
    make_game,
    make_price,
    small_database,
)
from bgw_pipeline_tests.nasty_values import fill_nasty_values
from bgw_pipeline_tests.reliability.strategies import databases


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'bgw.db'}")
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True, params=["one connection", "worker processes"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs twice: rows rendered on the snapshot's own connection, and by
    worker processes in id ranges (database/sqlite/workers.py), here for tables of any size and
    with 256 ranges from 4 rows on."""
    if request.param == "worker processes":
        monkeypatch.setattr(sqlite_workers, "PARALLEL_MIN_ROWS", 1)
        monkeypatch.setattr(sqlite_workers, "START_MIN_TOTAL_ROWS", 1)
        monkeypatch.setattr(sqlite_workers, "FINE_RANGES_ROWS", 4)
    return str(request.param)


def _both(engine: sa.Engine, entity_name: str) -> tuple[Any, Any]:
    """(fast, reference): each the rows joined and counted, or the type of error it raised."""
    return _all_both(engine, [entity_name])[entity_name]


def _all_both(engine: sa.Engine, names: list[str]) -> dict[str, tuple[Any, Any]]:
    """`_both` of each entity, read in one snapshot."""
    with open_snapshot(engine) as snapshot:
        return {name: _both_in(snapshot, name) for name in names}


def _both_in(snapshot: Any, name: str) -> tuple[Any, Any]:
    entity = ENTITIES_BY_NAME[name]
    results = []
    for make in (snapshot.encoded_chunks, lambda e: chunks_from_batches(e, snapshot.batches(e))):
        try:
            chunks = list(make(entity))
            results.append((b",\n".join(c.data for c in chunks), sum(c.rows for c in chunks)))
        except Exception as exc:  # noqa: BLE001 - the refusal itself is compared
            results.append(type(exc))
    return results[0], results[1]


def _fast_is_used(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the tables the fast path pages through (so a test cannot pass by fallback)."""
    used: list[str] = []
    real = sqlite_rows.sqlite_chunks
    real_pool = sqlite_workers.WorkerPool.chunks

    def spy(conn: sqlite3.Connection, entity: Any, *args: Any) -> Any:
        used.append(entity.name)
        return real(conn, entity, *args)

    def pool_spy(pool: Any, entity: Any, *args: Any) -> Any:
        used.append(entity.name)
        return real_pool(pool, entity, *args)

    monkeypatch.setattr(sqlite_rows, "sqlite_chunks", spy)
    monkeypatch.setattr(sqlite_workers.WorkerPool, "chunks", pool_spy)
    return used


@pytest.mark.parametrize("rows", [1, 3, sqlite_rows.CHUNK_ROWS])
def test_nasty_values_encode_as_the_reference_does(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    monkeypatch.setattr(sqlite_rows, "CHUNK_ROWS", rows)
    used = _fast_is_used(engine, monkeypatch)
    fill_nasty_values(engine)
    for name, (fast, reference) in _all_both(engine, [e.name for e in ALL_ENTITIES]).items():
        assert fast == reference, name
        assert fast[1] > 0
    assert used == [e.name for e in ALL_ENTITIES]


def test_random_databases_encode_as_the_reference_does(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_rows, "CHUNK_ROWS", 2)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=databases())
    def same_bytes(data: dict[str, list[dict[str, Any]]]) -> None:
        clear_database(engine)
        fill_database(engine, data)
        found = _all_both(engine, [e.name for e in ALL_ENTITIES])
        for name, (fast, reference) in found.items():
            assert fast == reference, name

    same_bytes()


# Stored forms SQL does not render as the reference encoder would (SQLite's dynamic
# types let any of them in): each must give the reference's bytes, or its error.
ODD_VALUES = {
    "timestamp without a fraction": ("games", "created_at", "2024-01-15 12:30:00"),
    "timestamp with a T and an offset": ("games", "updated_at", "2024-01-15T12:30:00+03:00"),
    "timestamp of Feb 30": ("price_history", "recorded_at", "2024-02-30 12:00:00.000000"),
    "timestamp rounding past midnight": ("events", "created_at", "2024-01-15 23:59:59.999900"),
    "timestamp a microsecond before midnight": (
        "games",
        "created_at",
        "2024-01-15 23:59:59.999999",
    ),
    "timestamp of 24:00": ("events", "created_at", "2024-01-15 24:00:00.000000"),
    "timestamp with a letter for a digit": ("events", "created_at", "2024-01-1x 12:00:00.000000"),
    "timestamp of day 0": ("games", "updated_at", "2024-03-00 10:00:00.000000"),
    "timestamp of Apr 31": ("games", "created_at", "2024-04-31 10:00:00.000000"),
    "timestamp of Feb 29 in a leap year": ("events", "created_at", "2024-02-29 10:00:00.5"),
    "timestamp of Feb 29, six digits": ("events", "created_at", "2024-02-29 10:00:00.500000"),
    "timestamp of month 13": ("price_history", "recorded_at", "2024-13-01 10:00:00.000000"),
    "timestamp of hour 25": ("price_history", "recorded_at", "2024-01-01 25:00:00.000000"),
    "timestamp of minute 60": ("price_history", "recorded_at", "2024-01-01 10:60:00.000000"),
    "timestamp of year 0": ("listings", "fetched_at", "0000-01-01 00:00:00.000000"),
    "timestamp as a number": ("raw_items", "fetched_at", 1700000000),
    "upper-case game id": ("price_history", "game_id", None),  # filled in below
    "text in an integer column": ("games", "price", "3990"),
    "real in an integer column": ("games", "year", 2020.5),
    "boolean stored as 2": ("games", "in_watchlist", 2),
    "boolean stored as text": ("events", "processed", "true"),
    "blob in a text column": ("games", "title", b"\xff\xfe"),
    "invalid UTF-8 in text": ("listings", "content", None),  # filled in below
    "JSON with the mark inside": ("games", "synonyms", '["a\x1fb"]'),
    "JSON with odd number forms": ("raw_items", "payload", '{"b": 1.50, "a": 1E2}'),
    "JSON that is not JSON": ("games", "synonyms", "[1, 2"),
    "JSON as an integer": ("rules", "conditions", 7),
}


def _execute(engine: sa.Engine, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run one statement on the bare driver, foreign keys off (an odd id matches nothing)."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(sql, params)
        conn.commit()
    finally:
        raw.close()


@pytest.mark.parametrize("case", list(ODD_VALUES))
def test_a_value_sql_cannot_render_goes_to_the_reference_encoder(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setattr(sqlite_rows, "CHUNK_ROWS", 2)
    small_database(engine)
    table, column, value = ODD_VALUES[case]
    if case == "upper-case game id":
        value_sql, params = f"upper({column})", ()
    elif case == "invalid UTF-8 in text":
        value_sql, params = "CAST(X'61FF62' AS TEXT)", ()
    else:
        value_sql, params = "?", (value,)
    # The last row of the table: its window is read after rendered ones.
    last = f"(SELECT max(id) FROM {table})"
    _execute(engine, f"UPDATE {table} SET {column} = {value_sql} WHERE id = {last}", params)
    fast, reference = _both(engine, table)
    assert fast == reference


def test_ids_not_in_canonical_form_send_the_table_to_the_reference(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    used = _fast_is_used(engine, monkeypatch)
    small_database(engine)
    _execute(engine, "UPDATE games SET id = upper(id) WHERE title = 'Громкое дело'")
    for fast, reference in _all_both(engine, ["games", "events"]).values():
        assert fast == reference
    assert "games" not in used and "events" in used


def test_duplicate_ids_stop_the_export(engine: sa.Engine) -> None:
    """SQLite lets a table without its primary key hold one id twice (here: a table made
    by hand); the fast path must refuse it as the reference does."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE listings")
        conn.exec_driver_sql(
            "CREATE TABLE listings (id TEXT, store TEXT, url TEXT, page INTEGER,"
            " content_type TEXT, content TEXT, fetched_at DATETIME)"
        )
        same = str(uuid.uuid4())
        for _ in range(2):
            conn.exec_driver_sql(
                "INSERT INTO listings VALUES (?, 's', 'u', 1, 'text/html', 'c',"
                " '2024-01-15 12:30:00.000000')",
                (same,),
            )
    assert _both(engine, "listings") == (SourceDataError, SourceDataError)


def _wal(engine: sa.Engine) -> None:
    """WAL, so that another connection can commit while the snapshot reads."""
    with engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA journal_mode=WAL")


def test_a_commit_before_the_workers_read_keeps_them_out(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, reading: str
) -> None:
    """Workers that might see a later state than the snapshot's are not used."""
    counts = small_database(engine)
    _wal(engine)
    real_start = sqlite_workers.WorkerPool.start
    pools: list[Any] = []

    def start_after_a_commit(probe: Any, *args: Any) -> Any:
        insert(engine, "games", [make_game(title="Позже")])  # another connection commits
        pools.append(real_start(probe, *args))
        return pools[-1]

    monkeypatch.setattr(sqlite_workers.WorkerPool, "start", start_after_a_commit)
    with open_snapshot(engine) as snapshot:
        rows = sum(c.rows for c in snapshot.encoded_chunks(ENTITIES_BY_NAME["games"]))
    assert rows == counts["games"]  # the snapshot's state, not the later one
    assert pools == ([None] if reading == "worker processes" else [])


def test_workers_keep_the_snapshots_state_while_a_writer_commits(
    engine: sa.Engine, reading: str
) -> None:
    counts = small_database(engine)
    _wal(engine)
    with open_snapshot(engine) as snapshot:
        chunks = snapshot.encoded_chunks(ENTITIES_BY_NAME["price_history"])
        first = next(chunks)
        game = make_game(title="Позже")
        insert(engine, "games", [game])
        insert(engine, "price_history", [make_price(game, store=f"Магазин {i}") for i in range(3)])
        rows = first.rows + sum(c.rows for c in chunks)
        assert (snapshot._pool is not None) == (reading == "worker processes")
    assert rows == counts["price_history"]


def test_leaving_a_table_half_read_stops_the_workers(engine: sa.Engine, reading: str) -> None:
    small_database(engine)
    with open_snapshot(engine) as snapshot:
        chunks = snapshot.encoded_chunks(ENTITIES_BY_NAME["price_history"])
        next(chunks)
        chunks.close()
        # The next table is read all the same (alone, once the workers were left mid-range).
        fast, reference = _both_in(snapshot, "games")
        assert fast == reference
    assert not any(t.name == "bgw-sqlite-receiver" and t.is_alive() for t in threading.enumerate())
