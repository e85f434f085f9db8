"""Small hand-made BGW rows for tests that need a few known rows, not the demo data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bgw_pipeline.core.database.schema import TABLES
from bgw_pipeline_tests.archive_builder import SEED_GAME

BASE_TIME = datetime(2024, 1, 15, 12, 30, tzinfo=UTC)


def make_game(**overrides: Any) -> dict[str, Any]:
    title = overrides.get("title", f"Игра {uuid.uuid4().hex[:6]}")
    # The document's example game, in the database's forms (JSON as text, datetimes).
    plain = ("store", "price", "players_min", "players_max", "playing_time", "age", "publisher",
             "year", "category", "bgg_id", "in_watchlist")  # fmt: skip
    row = {key: SEED_GAME[key] for key in plain}
    row.update(
        id=str(uuid.uuid4()),
        title=title,
        normalized_title=" ".join(title.lower().split()),
        description="Экономическая стратегия",
        url="https://hobbygames.ru/game",
        image_url=None,
        synonyms='["Поезд"]',
        created_at=BASE_TIME,
        updated_at=BASE_TIME + timedelta(days=1),
    )
    row.update(overrides)
    return row


def make_price(game: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    row = {
        "id": str(uuid.uuid4()),
        "game_id": game["id"],
        "store": game["store"],
        "price": 2990,
        "previous_price": None,
        "discount_pct": 0,
        "url": game["url"],
        "recorded_at": BASE_TIME,
    }
    row.update(overrides)
    return row


def make_event(game: dict[str, Any] | None, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": str(uuid.uuid4()),
        "game_id": None if game is None else game["id"],
        "kind": "sale",
        "title": "Скидка -25%!",
        "description": None,
        "price": 2990,
        "previous_price": 3990,
        "discount_pct": 25,
        "url": None,
        "store": "Hobby Games",
        "image_url": None,
        "processed": False,
        "created_at": BASE_TIME,
    }
    row.update(overrides)
    return row


def make_rule(**overrides: Any) -> dict[str, Any]:
    row = {
        "id": str(uuid.uuid4()),
        "name": "Большие скидки",
        "description": "Уведомлять о скидках > 20%",
        "logic": "AND",
        "conditions": '[{"field":"discount_pct","op":">=","value":20}]',
        "channels": '["webpush","telegram"]',
        "cooldown_hours": 12,
        "active": True,
        "created_at": BASE_TIME,
    }
    row.update(overrides)
    return row


def make_raw_item(**overrides: Any) -> dict[str, Any]:
    row = {
        "id": str(uuid.uuid4()),
        "store": "Мосигра",
        "url": "https://mosigra.ru/item",
        "payload": '{"title":"Каркассон","price":1990,"tags":["семейная"]}',
        "fetched_at": BASE_TIME,
    }
    row.update(overrides)
    return row


def make_listing(**overrides: Any) -> dict[str, Any]:
    row = {
        "id": str(uuid.uuid4()),
        "store": "Мосигра",
        "url": "https://mosigra.ru/catalog?page=1",
        "page": 1,
        "content_type": "text/html",
        "content": "<html><body>Каталог</body></html>",
        "fetched_at": BASE_TIME,
    }
    row.update(overrides)
    return row


def insert(engine: sa.Engine, table: str, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(TABLES[table].insert(), rows)


def small_database(engine: sa.Engine) -> dict[str, int]:
    """A few rows in every table; returns the counts."""
    games = [make_game(title=t) for t in ("Громкое дело", 'Каркассон "Big Box"', "=SUM(A1)")]
    insert(engine, "games", games)
    insert(engine, "rules", [make_rule()])
    insert(engine, "events", [make_event(games[0]), make_event(None, kind="announcement")])
    prices = [
        make_price(games[0], recorded_at=BASE_TIME + timedelta(days=i), price=3990 - 100 * i)
        for i in range(4)
    ]
    insert(engine, "price_history", prices)
    insert(engine, "raw_items", [make_raw_item()])
    insert(engine, "listings", [make_listing(), make_listing(page=2)])
    return {
        "games": 3,
        "rules": 1,
        "events": 2,
        "price_history": 4,
        "raw_items": 1,
        "listings": 2,
    }


def dump_database(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted by id: compare before and after."""
    with engine.connect() as conn:
        return {
            name: [tuple(r) for r in conn.execute(table.select().order_by(table.c.id))]
            for name, table in TABLES.items()
        }


JSON_COLUMNS = {"games": ("synonyms",), "raw_items": ("payload",)}


def clear_database(engine: sa.Engine) -> None:
    """Delete every row of every BGW table (references first)."""
    with engine.begin() as conn:
        for table in ("price_history", "events", "raw_items", "listings", "games", "rules"):
            conn.execute(TABLES[table].delete())


def fill_database(engine: sa.Engine, data: dict[str, list[dict[str, Any]]]) -> None:
    """Insert a drawn database (reliability/strategies.py `databases()`)."""
    import json

    for table in ("games", "price_history", "raw_items"):
        rows = [
            {k: (json.dumps(v) if k in JSON_COLUMNS.get(table, ()) else v) for k, v in r.items()}
            for r in data[table]
        ]
        if rows:
            insert(engine, table, rows)
