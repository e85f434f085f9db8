"""Synthetic BGW data for demos, tests and benchmarks: realistic and deterministic.

Same seed and scale, same rows (ids included). Scale 1 is the API document's metadata
example: 1250 games, 8 rules, 5420 events, 15420 price-history rows. Text is Russian
and deliberately awkward in places (quotes, commas, line breaks, emoji, a leading `=`),
so every export path meets it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bgw_pipeline.core.arrow_tables import batch_from_rows
from bgw_pipeline.core.database import connect
from bgw_pipeline.core.entities import (
    EVENTS,
    GAMES,
    LISTINGS,
    PRICE_HISTORY,
    RAW_ITEMS,
    RULES,
    Entity,
)
from bgw_pipeline.core.schema import ensure_schema, table_for
from bgw_pipeline.core.write_back import insert_new_batches

END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=3 * 365)
CHUNK = 20_000
STORES = ("Hobby Games", "Мосигра", "Игровед", "GaGa", "Лавка игр", "CrowdGames")
TITLES = (
    "Каркассон", "Колонизаторы", "Билет на поезд", "Кодовые имена", "Эволюция", "Манчкин",
    "Ужас Аркхэма", "Пандемия", "Агрикола", "Серп", "Крылья", "Терраформирование Марса",
    "Дюна", "Сумеречная борьба", "Гибель богов", "Нортгард", "Имаджинариум", "Диксит",
    "Цитадели", "Зельеварение", "Экивоки", "Взрывные котята", "Покорение Марса", "Бэнг!",
    "Особняки безумия", "Runebound", "Мрачная гавань", "Брасс. Бирмингем", "Весёлая ферма",
    "Замес", "Элизиум", "Ацтеки", "Сквозь века", "Древний ужас", "Клуэдо", "Нуар",
)  # fmt: skip
EDITIONS = (
    "",
    ": Большая коробка",
    ". Дополнение",
    ": Юбилейное издание",
    ". Дуэль",
    " (2-е изд.)",
)
TRICKY = (
    "Громкое дело",
    'Каркассон "Big Box"',
    "Эволюция, Континенты, Дополнение",
    "Подземелье 🐉 и драконы",
    "=Мафия",
    "+1 к удаче",
    "-Дурак- подкидной",
    "@Кодовые имена: Картинки",
)
CATEGORIES = ("Экономическая стратегия", "Семейная", "Карточная", "Кооперативная", "Пати")
KINDS = ("sale", "sale", "price_drop", "release", "preorder", "restock", "announcement")


@dataclass(frozen=True)
class _Game:
    id: str
    title: str
    store: str
    url: str
    price: int


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _moment(rng: random.Random) -> datetime:
    seconds = rng.randrange(int((END - START).total_seconds()))
    return START + timedelta(seconds=seconds, microseconds=rng.choice((0, 0, rng.randrange(10**6))))


def _title(index: int) -> str:
    if index < len(TRICKY):
        return TRICKY[index]
    base = TITLES[index % len(TITLES)]
    edition = EDITIONS[(index // len(TITLES)) % len(EDITIONS)]
    series = index // (len(TITLES) * len(EDITIONS))
    return f"{base}{edition}" + (f" #{series}" if series else "")


def _price_walk(rng: random.Random, count: int, start: datetime) -> list[tuple[datetime, int]]:
    price = rng.randrange(99, 999) * 10
    moment = start
    walk = []
    for _ in range(count):
        walk.append((moment, price))
        moment += timedelta(days=rng.randint(1, 9), seconds=rng.randrange(86_400))
        price = max(100, int(price * rng.uniform(0.8, 1.15)) // 10 * 10)
    return walk


def _game_and_prices(
    rng: random.Random, index: int, price_rows: int
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], _Game]:
    title = _title(index)
    store = "Hobby Games" if index == 0 else STORES[index % len(STORES)]
    gid = _uuid(rng)
    url = f"https://shop{STORES.index(store)}.example.ru/games/{index}"
    first = START + timedelta(days=rng.randrange(200))
    walk = _price_walk(rng, price_rows, first) if price_rows else [(first, 2990)]
    prices: list[tuple[Any, ...]] = []
    previous = None
    for moment, price in walk if price_rows else []:
        discount = (
            0 if previous is None else max(0, min(100, round(100 * (previous - price) / previous)))
        )
        prices.append((_uuid(rng), gid, store, price, previous, discount, url, moment))
        previous = price
    price = 2990 if index == 0 else walk[-1][1]
    low = rng.randint(1, 4)
    description = None if rng.random() < 0.2 else (
        f"{CATEGORIES[index % len(CATEGORIES)]} для {low}-{low + 3} игроков.\n"
        f"Издание «{title}», в коробке: поле, карты, фишки."
    )  # fmt: skip
    synonyms = orjson.dumps([title.split(":")[0], f"{title} (рус.)"][: rng.randint(0, 2)]).decode()
    created = first - timedelta(days=rng.randint(1, 30))
    game = (
        gid, title, " ".join(title.lower().split()), description, store, price, url,
        None if rng.random() < 0.3 else url + ".jpg", low, low + rng.randint(0, 4),
        rng.choice(("15-30", "30-45", "45-60", "60-120", None)),
        rng.choice(("6+", "8+", "12+", "16+")),
        rng.choice(("Hobby Games", "Мосигра", "Crowd Games", "Lavka Games", None)),
        rng.randint(1995, 2025), CATEGORIES[index % len(CATEGORIES)],
        None if rng.random() < 0.25 else rng.randint(1, 400_000), synonyms, rng.random() < 0.15,
        created, max(created, walk[-1][0]),
    )  # fmt: skip
    return game, prices, _Game(gid, title, store, url, price)


def _games(
    rng: random.Random, games: int, prices: int, out: list[_Game]
) -> Iterator[tuple[Entity, list]]:
    per_game, extra = divmod(prices, games) if games else (0, 0)
    game_rows: list[tuple[Any, ...]] = []
    price_rows: list[tuple[Any, ...]] = []
    for index in range(games):
        game, history, info = _game_and_prices(rng, index, per_game + (1 if index < extra else 0))
        game_rows.append(game)
        price_rows.extend(history)
        out.append(info)
        if len(game_rows) >= CHUNK or len(price_rows) >= CHUNK:
            yield GAMES, game_rows
            yield PRICE_HISTORY, price_rows
            game_rows, price_rows = [], []
    yield GAMES, game_rows
    yield PRICE_HISTORY, price_rows


def _rules(rng: random.Random, count: int) -> list[tuple[Any, ...]]:
    rows = []
    for index in range(count):
        threshold = rng.choice((10, 20, 30, 50))
        conditions = [{"field": "discount_pct", "op": ">=", "value": threshold}]
        if index % 2 == 0:
            conditions.append({"field": "price", "op": "<=", "value": rng.choice((3000, 5000))})
        name = "Большие скидки" if index == 0 else f"Правило №{index}: скидка от {threshold}%"
        rows.append((
            _uuid(rng), name, f"Уведомлять о скидках > {threshold}%", rng.choice(("AND", "OR")),
            orjson.dumps(conditions).decode(),
            orjson.dumps(["webpush", "telegram"][: 1 + index % 2]).decode(),
            rng.choice((0, 6, 12, 24)), rng.random() < 0.9, _moment(rng),
        ))  # fmt: skip
    return rows


def _event(rng: random.Random, games: list[_Game]) -> tuple[Any, ...]:
    kind = rng.choice(KINDS)
    game = None if kind == "announcement" and rng.random() < 0.5 else rng.choice(games)
    previous = price = discount = None
    if game is not None and kind in ("sale", "price_drop"):
        previous = game.price + rng.randrange(1, 30) * 100
        price = game.price
        discount = max(0, min(100, round(100 * (previous - price) / previous)))
    title = (
        f"{game.title} -{discount}%!" if discount else f"Новость: {game.title if game else 'анонс'}"
    )
    return (
        _uuid(rng), game.id if game else None, kind, title,
        None if rng.random() < 0.5 else "Отличная скидка на популярную игру, успейте!",
        price, previous, discount, game.url if game else None, game.store if game else None,
        None, rng.random() < 0.7, _moment(rng),
    )  # fmt: skip


def _raw_item(rng: random.Random, game: _Game) -> tuple[Any, ...]:
    payload = {"title": game.title, "price": game.price, "url": game.url,
               "in_stock": rng.random() < 0.8, "tags": ["настольная", game.store]}  # fmt: skip
    return (_uuid(rng), game.store, game.url, orjson.dumps(payload).decode(), _moment(rng))


def _listing(rng: random.Random, index: int, games: list[_Game]) -> tuple[Any, ...]:
    store = STORES[index % len(STORES)]
    items = "".join(
        f'<li class="item"><a href="{g.url}">{g.title}</a> <b>{g.price} ₽</b></li>\n'
        for g in rng.sample(games, min(len(games), 25))
    )
    content = (
        f"<html><head><title>{store}: каталог</title></head><body><ul>\n{items}</ul></body></html>"
    )
    page = index // len(STORES) + 1
    return (_uuid(rng), store, f"https://{store}.example.ru/catalog?page={page}", page, "text/html",
            content, _moment(rng))  # fmt: skip


def _chunks(entity: Entity, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Entity, list]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield entity, chunk
            chunk = []
    yield entity, chunk


def fill_demo_database(
    engine: Engine, scale: float = 1.0, seed: int = 42, only_if_empty: bool = False
) -> dict[str, int] | None:
    """Create the tables if needed and fill them with synthetic BGW data, in one transaction.

    Args:
        engine: the database.
        scale: 1 = 1250 games, 8 rules, 5420 events, 15420 price rows; counts scale linearly.
        seed: same seed, same rows.
        only_if_empty: leave a database that already has games alone (returns None).
    """
    ensure_schema(engine)
    if engine.dialect.name == "sqlite":
        # The demo database is ours: WAL lets an export read while a writer works.
        with connect(engine) as conn:
            conn.connection.driver_connection.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
    with connect(engine) as conn:
        has_games = conn.execute(sa.select(table_for(GAMES).c.id).limit(1)).first() is not None
    if only_if_empty and has_games:
        return None
    rng = random.Random(seed)
    n_games = max(1, round(1250 * scale))
    games: list[_Game] = []
    counts = dict.fromkeys(
        (e.name for e in (GAMES, RULES, EVENTS, PRICE_HISTORY, RAW_ITEMS, LISTINGS)), 0
    )
    events = (_event(rng, games) for _ in range(round(5420 * scale)))
    raw = (_raw_item(rng, game) for game in games)
    listings = (_listing(rng, i, games) for i in range(max(1, n_games // 25)))
    with connect(engine) as conn, conn.begin():
        streams = [
            _games(rng, n_games, round(15420 * scale), games),
            [(RULES, _rules(rng, max(8, round(8 * scale))))],
            _chunks(EVENTS, events),
            _chunks(RAW_ITEMS, raw),
            _chunks(LISTINGS, listings),
        ]
        for stream in streams:
            for entity, rows in stream:
                if rows:
                    counts[entity.name] += insert_new_batches(
                        conn, entity, [batch_from_rows(entity, rows)]
                    )
    return counts
