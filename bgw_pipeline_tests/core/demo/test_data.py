"""Synthetic demo data: exact counts, deterministic, consistent, and awkward on purpose."""

from __future__ import annotations

import itertools
import random
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import TABLES
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.demo.rows import _uuid, demo_rows
from bgw_pipeline.core.model.entities import ENTITIES_BY_NAME, Kind
from bgw_pipeline.core.model.errors import InvalidRequestError
from bgw_pipeline_tests.factories import dump_database


def _rows(engine: sa.Engine, name: str) -> list[dict[str, Any]]:
    """A table's rows sorted by id, JSON columns parsed (jsonb reorders object keys)."""
    table, entity = TABLES[name], ENTITIES_BY_NAME[name]
    json_columns = [c.name for c in entity.columns if c.kind is Kind.JSON]
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(table.select().order_by(table.c.id))]
    for row in rows:
        for column in json_columns:
            row[column] = orjson.loads(row[column])
    return rows


def _count(engine: sa.Engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(TABLES[name])).scalar_one()


def test_scale_one_is_the_documents_metadata_example(engine: sa.Engine) -> None:
    counts = fill_demo_database(engine, scale=1)
    assert counts == {"games": 1250, "rules": 8, "events": 5420, "price_history": 15420,
                      "raw_items": 1250, "listings": 50}  # fmt: skip
    for name, count in counts.items():
        assert _count(engine, name) == count


def test_other_scales_round_the_counts(engine: sa.Engine) -> None:
    counts = fill_demo_database(engine, scale=0.2, seed=3)
    assert counts == {"games": 250, "rules": 8, "events": 1084, "price_history": 3084,
                      "raw_items": 250, "listings": 10}  # fmt: skip


def test_same_seed_same_rows_on_any_database(engine: sa.Engine, tmp_path: Path) -> None:
    # `engine` is SQLite or PostgreSQL; the reference is always a second SQLite file.
    reference = create_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        fill_demo_database(reference, scale=0.1, seed=7)
        fill_demo_database(engine, scale=0.1, seed=7)
        for name in TABLES:
            assert _rows(engine, name) == _rows(reference, name), name
    finally:
        reference.dispose()


def test_another_seed_gives_other_rows() -> None:
    first = [row for _, rows in demo_rows(0.02, seed=1) for row in rows]
    again = [row for _, rows in demo_rows(0.02, seed=1) for row in rows]
    other = [row for _, rows in demo_rows(0.02, seed=2) for row in rows]
    assert first == again
    assert {row[0] for row in first}.isdisjoint(row[0] for row in other)


def test_ids_are_the_seeded_rngs_uuid4s() -> None:
    ours, reference = random.Random(11), random.Random(11)
    for _ in range(1000):
        assert _uuid(ours) == str(uuid.UUID(int=reference.getrandbits(128), version=4))


def test_prices_events_and_games_agree(engine: sa.Engine) -> None:
    fill_demo_database(engine, scale=0.2)
    games = {g["id"]: g for g in _rows(engine, "games")}
    history: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(engine, "price_history"):
        assert row["game_id"] in games
        assert row["store"] == games[row["game_id"]]["store"]  # the game's own shop
        history.setdefault(row["game_id"], []).append(row)
    for game_id, rows in history.items():
        rows.sort(key=lambda r: r["recorded_at"])
        assert rows[0]["previous_price"] is None and rows[0]["discount_pct"] == 0
        for before, after in itertools.pairwise(rows):
            assert after["recorded_at"] > before["recorded_at"]
            assert after["previous_price"] == before["price"]
            expected = max(
                0, min(100, round(100 * (before["price"] - after["price"]) / before["price"]))
            )
            assert after["discount_pct"] == expected
        assert games[game_id]["price"] == rows[-1]["price"]
    events = _rows(engine, "events")
    assert all(e["game_id"] is None or e["game_id"] in games for e in events)
    assert 0 < sum(e["game_id"] is None for e in events) < len(events) / 10
    for event in events:
        if event["kind"] in ("sale", "price_drop"):
            previous, price = event["previous_price"], event["price"]
            assert event["discount_pct"] == round(100 * (previous - price) / previous) > 0


def test_games_follow_the_schema_and_are_awkward(engine: sa.Engine) -> None:
    fill_demo_database(engine, scale=0.2)
    games = _rows(engine, "games")
    assert len({(g["normalized_title"], g["store"]) for g in games}) == len(games)
    for game in games:
        assert game["normalized_title"] == " ".join(game["title"].lower().split())
        assert game["players_min"] is None or 1 <= game["players_min"] <= game["players_max"]
        assert 1995 <= game["year"] <= 2025 and game["price"] % 10 == 0
        assert all(isinstance(s, str) for s in game["synonyms"])
    titles = [g["title"] for g in games]
    for needle in ('"', ",", "\n", "\t", "\\", "🐉"):
        assert any(needle in t for t in titles), needle
    for start in "=+-@":
        assert any(t.startswith(start) for t in titles), start
    assert any((g["description"] or "").startswith("=") for g in games)
    assert any("\n" in (g["description"] or "") for g in games)
    assert sum(g["description"] is None for g in games) > 0
    seed = next(g for g in games if g["title"] == "Громкое дело")
    assert (seed["store"], seed["price"], seed["in_watchlist"]) == ("Hobby Games", 2990, True)
    assert len({g["store"] for g in games}) == 6


def test_rules_raw_items_and_listings_look_real(engine: sa.Engine) -> None:
    fill_demo_database(engine, scale=0.2)
    rules = _rows(engine, "rules")
    seed = next(r for r in rules if r["name"] == "Большие скидки")
    assert seed["conditions"] == [{"field": "discount_pct", "op": ">=", "value": 20},
                                  {"field": "price", "op": "<=", "value": 5000}]  # fmt: skip
    assert seed["channels"] == ["webpush", "telegram"] and seed["logic"] == "AND"
    for rule in rules:
        assert rule["logic"] in ("AND", "OR") and rule["conditions"]
        assert all(set(c) == {"field", "op", "value"} for c in rule["conditions"])
        assert all(isinstance(c, str) for c in rule["channels"])
    for item in _rows(engine, "raw_items"):
        assert isinstance(item["payload"], dict) and item["payload"]["url"] == item["url"]
    pages = _rows(engine, "listings")
    assert {p["content_type"] for p in pages} == {"text/html"}
    assert all(p["page"] >= 1 and "Настольные игры" in p["content"] for p in pages)
    assert max(len(p["content"].encode()) for p in pages) > 2000


def test_only_if_empty_leaves_a_filled_database_alone(engine: sa.Engine) -> None:
    assert fill_demo_database(engine, scale=0.05, only_if_empty=True) is not None
    before = dump_database(engine)
    assert fill_demo_database(engine, scale=0.05, seed=99, only_if_empty=True) is None
    assert dump_database(engine) == before


def test_filling_a_filled_database_fails_and_writes_nothing(engine: sa.Engine) -> None:
    fill_demo_database(engine, scale=0.05)
    before = dump_database(engine)
    with pytest.raises(InvalidRequestError, match="clashes"):
        fill_demo_database(engine, scale=0.05, seed=5)
    assert dump_database(engine) == before


def test_scale_must_be_positive(engine: sa.Engine) -> None:
    with pytest.raises(InvalidRequestError, match="scale"):
        fill_demo_database(engine, scale=0)
    assert _count(engine, "games") == 0


def test_sqlite_demo_database_uses_wal(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        fill_demo_database(engine, scale=0.01)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
