"""The bulk loader: awkward values survive the fast paths exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pyarrow as pa
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.database.bulk_load import insert_batches
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import TABLES, ensure_schema
from bgw_pipeline.core.model.arrow_tables import arrow_schema, batch_from_rows
from bgw_pipeline.core.model.entities import ENTITIES_BY_NAME, EVENTS, GAMES, Entity, Kind

GAME_ID = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
AT = datetime(2024, 1, 15, 12, 30, 5, 123456, tzinfo=UTC)
AWKWARD = 'Громкое "дело", часть 2\nс переносом\tтабом \\N и \\ 🎲 =СУММ(A1)'
NESTED = {"цена": 2990, "теги": ["семейная", ["вложенный", None, True]], "пусто": {}, "x": 1.5}

ROWS: dict[str, list[dict[str, Any]]] = {
    "games": [
        {"id": GAME_ID, "title": AWKWARD, "normalized_title": " ".join(AWKWARD.lower().split()),
         "description": "Стратегия,\r\nс \"кавычками\" и эмодзи 🐉", "store": "Мосигра",
         "price": 0, "url": "https://mosigra.ru/x?a=1&b=2", "image_url": None, "players_min": 1,
         "players_max": 1, "playing_time": "45-60", "age": "12+", "publisher": None,
         "year": 2200, "category": "", "bgg_id": 2**31 - 1, "synonyms": '["Поезд","🎲",""]',
         "in_watchlist": True, "created_at": AT, "updated_at": AT + timedelta(microseconds=1)},
        {"id": "00000000-0000-4000-8000-000000000000", "title": "-", "normalized_title": "-",
         "description": None, "store": "GaGa", "price": None, "url": None, "image_url": None,
         "players_min": None, "players_max": None, "playing_time": None, "age": None,
         "publisher": None, "year": None, "category": None, "bgg_id": None, "synonyms": "[]",
         "in_watchlist": False, "created_at": datetime(1970, 1, 1, tzinfo=UTC),
         "updated_at": datetime(2024, 1, 15, 15, 30, tzinfo=timezone(timedelta(hours=3)))},
    ],
    "rules": [
        {"id": "11111111-2222-4333-8444-555555555555", "name": "Большие скидки 🔥",
         "description": None, "logic": "OR", "channels": '["webpush","telegram"]',
         "conditions": orjson.dumps([{"field": "price", "op": "<=", "value": 5000,
                                      "extra": NESTED}]).decode(),
         "cooldown_hours": 0, "active": False, "created_at": AT},
    ],
    "events": [
        {"id": "22222222-3333-4444-8555-666666666666", "game_id": None, "kind": "announcement",
         "title": "@анонс", "description": "+7 (495) 123-45-67", "price": None,
         "previous_price": None, "discount_pct": None, "url": None, "store": None,
         "image_url": None, "processed": False, "created_at": AT},
        {"id": "33333333-4444-4555-8666-777777777777", "game_id": GAME_ID, "kind": "sale",
         "title": AWKWARD, "description": "", "price": 2990, "previous_price": 3990,
         "discount_pct": 25, "url": None, "store": "Мосигра", "image_url": None,
         "processed": True, "created_at": AT},
    ],
    "price_history": [
        {"id": "44444444-5555-4666-8777-888888888888", "game_id": GAME_ID, "store": "Мосигра",
         "price": 3990, "previous_price": None, "discount_pct": 0, "url": None,
         "recorded_at": AT},
    ],
    "raw_items": [
        {"id": "55555555-6666-4777-8888-999999999999", "store": "Мосигра", "url": "https://x",
         "payload": orjson.dumps(NESTED).decode(), "fetched_at": AT},
    ],
    "listings": [
        {"id": "66666666-7777-4888-8999-aaaaaaaaaaaa", "store": "Мосигра", "url": "https://x",
         "page": None, "content_type": "text/html", "content": "<p>Каталог «игр»</p>\n" * 500,
         "fetched_at": AT},
    ],
}  # fmt: skip


def _batch(entity: Entity, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    return batch_from_rows(entity, [tuple(r[c] for c in entity.column_names) for r in rows])


def _normalized(entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
    """JSON compared as values: jsonb keeps objects in its own key order."""
    json_columns = {c.name for c in entity.columns if c.kind is Kind.JSON}
    return {k: orjson.loads(v) if k in json_columns else v for k, v in row.items()}


def _read(engine: sa.Engine, name: str) -> list[dict[str, Any]]:
    table = TABLES[name]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(table.select().order_by(table.c.id))]


def test_every_entity_round_trips_exactly(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for name, rows in ROWS.items():
            entity = ENTITIES_BY_NAME[name]
            assert insert_batches(conn, entity, [_batch(entity, rows)]) == len(rows)
    for name, rows in ROWS.items():
        entity = ENTITIES_BY_NAME[name]
        expected = [_normalized(entity, r) for r in sorted(rows, key=lambda r: r["id"])]
        read = [_normalized(entity, r) for r in _read(engine, name)]
        assert read == expected, name
        for row in read:  # aware UTC, microseconds kept
            assert all(
                v.utcoffset() == timedelta(0) for v in row.values() if isinstance(v, datetime)
            )


def test_many_batches_are_streamed_and_counted(engine: sa.Engine) -> None:
    def batches() -> Any:
        yield _batch(GAMES, [])  # an empty batch is fine
        for start in range(0, 5000, 1000):
            ids = range(start, start + 1000)
            template = ROWS["games"][1]
            rows = [dict(template, id=f"00000000-0000-4000-8000-{i:012d}", title=f"Игра {i}",
                         normalized_title=f"игра {i}") for i in ids]  # fmt: skip
            yield _batch(GAMES, rows)

    with engine.begin() as conn:
        assert insert_batches(conn, GAMES, batches()) == 5000
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(TABLES["games"])).scalar() == 5000
        )


def test_the_callers_transaction_decides(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        with conn.begin() as transaction:
            insert_batches(conn, GAMES, [_batch(GAMES, ROWS["games"])])
            transaction.rollback()
        assert conn.execute(sa.select(sa.func.count()).select_from(TABLES["games"])).scalar() == 0


def test_it_begins_the_transaction_like_execute(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        insert_batches(conn, GAMES, [_batch(GAMES, ROWS["games"][:1])])
        assert conn.in_transaction()
        conn.rollback()
        insert_batches(conn, GAMES, [_batch(GAMES, ROWS["games"])])
        conn.commit()
    assert [r["title"] for r in _read(engine, "games")] == ["-", AWKWARD]


def test_uppercase_uuids_are_stored_lowercase(engine: sa.Engine) -> None:
    row = dict(ROWS["games"][1], id=GAME_ID.upper())
    with engine.begin() as conn:
        insert_batches(conn, GAMES, [_batch(GAMES, [row])])
    assert [r["id"] for r in _read(engine, "games")] == [GAME_ID]


def test_database_refusals_are_sqlalchemy_errors(engine: sa.Engine) -> None:
    missing_game = _batch(EVENTS, ROWS["events"])
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        insert_batches(conn, EVENTS, [missing_game])
    same_id_twice = _batch(GAMES, ROWS["games"][:1] * 2)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        insert_batches(conn, GAMES, [same_id_twice])
    assert _read(engine, "games") == [] and _read(engine, "events") == []


def test_a_batch_of_another_shape_is_refused(engine: sa.Engine) -> None:
    schema = arrow_schema(GAMES)
    naive = pa.schema(
        [f.with_type(pa.timestamp("us")) if f.name == "created_at" else f for f in schema]
    )
    batch = pa.RecordBatch.from_pylist([], schema=naive)
    with pytest.raises(ValueError, match="schema"), engine.begin() as conn:
        insert_batches(conn, GAMES, [batch])


def test_sqlite_stores_the_forms_of_schema_sqlite(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    ensure_schema(engine)
    try:
        with engine.begin() as conn:
            insert_batches(conn, GAMES, [_batch(GAMES, ROWS["games"])])
        with engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT in_watchlist, created_at, updated_at, synonyms FROM games ORDER BY id"
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in stored] == [
        (0, "1970-01-01 00:00:00.000000", "2024-01-15 12:30:00.000000", "[]"),
        (1, "2024-01-15 12:30:05.123456", "2024-01-15 12:30:05.123457", '["Поезд","🎲",""]'),
    ]
