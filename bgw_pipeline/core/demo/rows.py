"""Synthetic BGW rows for demos, tests and benchmarks: realistic, deterministic, awkward.

Same seed and scale, same rows, ids included: everything comes from one seeded RNG and a
fixed time window (never `now()`), so two demo databases compare row by row. Scale 1 is
the API document's metadata example (1250 games, 8 rules, 5420 events, 15420 price rows)
with its "Громкое дело" and "Большие скидки". Text is Russian and deliberately awkward in
places (quotes, commas, line breaks, a tab, a backslash, emoji, a leading `=`, `+`, `-` or
`@`), so every export path, the CSV included, meets it.

Games are made one at a time with their prices, events, raw item and catalogue pages, and
handed out in chunks (games first, for the foreign keys): memory stays bounded at any
scale. demo/data.py writes them to a database.
"""

from __future__ import annotations

import html
import random
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from bgw_pipeline.core.demo.catalog import (
    CATEGORIES,
    CHANNELS,
    EDITIONS,
    EVENT_TEXTS,
    EVENT_TITLES,
    FORMULA_TEXTS,
    KIND_WEIGHTS,
    KINDS,
    NAMES,
    PUBLISHERS,
    RULES_SPEC,
    SEED_GAME,
    SEED_PRICES,
    STORE_NAMES,
    STORES,
    TRICKY,
)
from bgw_pipeline.core.model.entities import (
    ENTITIES_BY_NAME,
    EVENTS,
    GAMES,
    LISTINGS,
    PRICE_HISTORY,
    RAW_ITEMS,
    RULES,
    WRITE_ORDER,
    Entity,
)
from bgw_pipeline.core.model.errors import InvalidRequestError

CHUNK = 20_000  # rows per Arrow batch; listings (a few KB each) flush at CHUNK // 20
GAMES_PER_PAGE = 25
SECOND, DAY = 10**6, 86_400 * 10**6  # timestamps are integer microseconds until Arrow
START = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp()) * SECOND
END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * SECOND

PER_GAME = (GAMES, PRICE_HISTORY, EVENTS, RAW_ITEMS, LISTINGS)  # flushed in this order
Row = tuple[Any, ...]
_COLUMN_NAMES = {entity.name: entity.column_names for entity in WRITE_ORDER}


class _GameRef(NamedTuple):
    """What the game's events and catalogue pages show of it."""

    id: str
    title: str
    store: str
    url: str
    image_url: str | None
    price: int | None
    drop: tuple[int, int, int, int] | None  # its last price drop: previous, price, pct, at


def _row(entity: Entity, **values: Any) -> Row:
    """A row tuple in the entity's column order; a missing column is a KeyError here."""
    return tuple(values[name] for name in _COLUMN_NAMES[entity.name])


def _uuid(rng: random.Random) -> str:
    """Same text as `str(uuid.UUID(int=rng.getrandbits(128), version=4))`, twice as fast."""
    bits = rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48) | 0x4000 << 64 | 0x8000 << 48
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _moment(rng: random.Random, start: int = START, end: int = END) -> int:
    """A time in [start, end): whole seconds mostly, with microseconds now and then."""
    moment = start + rng.randrange(max(1, (end - start) // SECOND)) * SECOND
    return moment + (rng.randrange(1, SECOND) if rng.random() < 0.3 else 0)


def _discount(previous: int | None, price: int) -> int:
    return 0 if not previous else max(0, min(100, round(100 * (previous - price) / previous)))


def _spread(rng: random.Random, games: int, total: int) -> Iterator[int]:
    """Rows per game summing to exactly `total`; neighbours trade rows so counts vary."""
    carry = 0
    for i in range(games):
        base = total * (i + 1) // games - total * i // games
        if i % 2 == 0 and i + 1 < games:
            following = total * (i + 2) // games - total * (i + 1) // games
            carry = rng.randint(0, max(0, min(base, following) - 1))
            yield base + carry
        else:
            yield base - carry
            carry = 0


def _title_store(index: int) -> tuple[str, str, tuple[str, str, int | None]]:
    """The index-th (title, store, name): unique, so UNIQUE(normalized_title, store) holds."""
    if index < len(TRICKY):
        return *TRICKY[index], ("", "", None)
    rest, store = divmod(index - len(TRICKY), len(STORE_NAMES))
    rest, name = divmod(rest, len(NAMES))
    series, edition = divmod(rest, len(EDITIONS))
    title = NAMES[name][0] + EDITIONS[edition] + (f" (выпуск {series + 1})" if series else "")
    return title, STORE_NAMES[store], NAMES[name]


def _price_walk(rng: random.Random, index: int, count: int) -> list[tuple[int, int]]:
    """(recorded_at, price) pairs, strictly later each time; game 0 ends as in the API."""
    moment = _moment(rng, START, max(START + DAY, END - count * 10 * DAY))
    price = rng.randrange(5, 150) * 100 - 10
    walk = []
    for _ in range(count):
        walk.append((moment, price))
        moment += rng.randrange(1, 9) * DAY + rng.randrange(DAY // SECOND) * SECOND
        moment += rng.randrange(1, SECOND) if rng.random() < 0.3 else -(moment % SECOND)
        step = rng.random()  # a third unchanged, a third on sale, a third back up
        if step >= 0.35:
            factor = rng.uniform(0.6, 0.95) if step < 0.7 else rng.uniform(1.05, 1.3)
            price = max(90, int(price * factor) // 100 * 100 + 90)  # whole roubles, ...90
    if index == 0 and count:  # the API's three rows last, the rest moved before them
        tail = [(int(at.timestamp()) * SECOND, price) for at, price in SEED_PRICES][-count:]
        head = walk[: count - len(tail)]
        shift = tail[0][0] - DAY - head[-1][0] if head else 0
        walk = [(at + shift, price) for at, price in head] + tail
    return walk


def _game(rng: random.Random, index: int, count: int) -> tuple[Row, list[Row], Row, _GameRef]:
    """One game: its row, its price history, its scraped raw item and its reference."""
    title, store, name = _title_store(index)
    gid, domain, roll = _uuid(rng), STORES[store], rng.random()
    url = f"https://{domain}/products/{100_000 + index}"
    image = None if roll < 0.2 else f"https://{domain}/images/{100_000 + index}.jpg"
    low = None if roll > 0.97 else rng.choice((1, 2, 2, 2, 3))
    high = None if low is None else low + rng.choice((0, 1, 2, 3, 4, 6))
    category, publisher = rng.choice(CATEGORIES), rng.choice(PUBLISHERS)
    description = (
        f"{category} игра «{title}» для {low or 1}–{high or 8} игроков.\nВ коробке: поле, "
        f"{rng.randint(20, 300)} карт, фишки, правила" + (" 🎲" if roll > 0.9 else ".")
    )
    if 0 < index <= len(FORMULA_TEXTS):  # text a spreadsheet would take for a formula
        description = FORMULA_TEXTS[index - 1]
    elif roll < 0.15:
        description = None
    history, previous, drop = [], None, None
    walk = _price_walk(rng, index, count)
    for moment, price in walk:
        discount = _discount(previous, price)
        # price_history columns: id, game_id, store, price, previous_price, discount_pct, ...
        history.append((_uuid(rng), gid, store, price, previous, discount, url, moment))
        drop = (previous, price, discount, moment) if discount else drop
        previous = price
    updated = walk[-1][0] if walk else _moment(rng)
    values = dict(
        id=gid, title=title, normalized_title=" ".join(title.lower().split()),
        description=description, store=store, price=previous, url=url, image_url=image,
        players_min=low, players_max=high, playing_time=rng.choice(("30-45", "45-60", None)),
        age=rng.choice(("6+", "8+", "12+", "16+", None)), publisher=publisher,
        year=rng.randint(1995, 2025), category=category,
        bgg_id=name[2] if rng.random() < 0.85 else None,
        synonyms=orjson.dumps([name[1]] if name[1] else []).decode(),
        in_watchlist=rng.random() < 0.1, updated_at=updated,
        created_at=(walk[0][0] if walk else updated) - rng.randint(1, 90) * DAY,
    )  # fmt: skip
    if index == 0:
        values.update(SEED_GAME)
    payload = {
        "title": title, "price": previous, "old_price": drop[0] if drop else None, "url": url,
        "image": image, "in_stock": roll < 0.8,
        "players": [values["players_min"], values["players_max"]],
        "breadcrumbs": ["Главная", "Настольные игры", values["category"]],
        "attributes": {"publisher": values["publisher"], "rating": round(roll * 2 + 3, 1)},
    }  # fmt: skip
    fetched_at = updated + rng.randrange(1, 3600) * SECOND
    raw = _row(RAW_ITEMS, id=_uuid(rng), store=store, url=url,
               payload=orjson.dumps(payload).decode(), fetched_at=fetched_at)  # fmt: skip
    ref = _GameRef(gid, title, store, url, image, previous, drop)
    return _row(GAMES, **values), history, raw, ref


def _event(rng: random.Random, game: _GameRef, seed_event: bool) -> Row:
    """An event about `game` (or, for half the announcements, about no game in the shops)."""
    seed_event = seed_event and game.drop is not None
    kind = "sale" if seed_event else rng.choices(KINDS, KIND_WEIGHTS)[0]
    text = EVENT_TEXTS[0] if seed_event or rng.random() < 0.3 else rng.choice(EVENT_TEXTS)
    price, previous, discount, at = game.price, None, None, _moment(rng)
    if kind in ("sale", "price_drop") and game.drop:
        previous, price, discount, at = game.drop
        at += 0 if seed_event else rng.randrange(60, 7200) * SECOND
    elif kind in ("sale", "price_drop"):
        kind = "restock"
    title = EVENT_TITLES[kind].format(game.title, discount)
    linked = kind != "announcement" or rng.random() < 0.5
    if seed_event:
        title = f"{game.title} -{discount}% на ограбление поезда!"
    elif not linked:
        title = f"Анонс: {rng.choice(NAMES)[0]}, новое дополнение"
    return _row(
        EVENTS, id=_uuid(rng), game_id=game.id if linked else None, kind=kind, title=title,
        description=text if linked or rng.random() < 0.5 else None,
        price=price if linked else None, previous_price=previous, discount_pct=discount,
        url=game.url if linked else None, store=game.store if linked else None,
        image_url=game.image_url if linked else None,
        processed=seed_event or rng.random() < 0.7, created_at=at,
    )  # fmt: skip


def _listing(rng: random.Random, number: int, recent: deque[_GameRef]) -> Row:
    """A catalogue page of one shop as fetched: a few KB of Cyrillic HTML."""
    store, page = STORE_NAMES[number % len(STORES)], number // len(STORES) + 1
    items = "".join(
        f'<li class="product" data-id="{g.id}"><a href="{g.url}">{html.escape(g.title)}</a>'
        f'<img src="{g.image_url or ""}" alt=""><span class="price">{g.price} ₽</span></li>\n'
        for g in recent
        if g.store == store
    )
    content = (
        f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Настольные игры '
        f"— {store}, страница {page}</title></head><body><h1>Настольные игры</h1>\n"
        f'<p>Доставка по России, самовывоз из магазинов.</p><ul class="catalog">\n{items}</ul>'
        f'<nav><a href="?page={page + 1}">Следующая страница →</a></nav></body></html>'
    )
    url = f"https://{STORES[store]}/catalog/nastolnye-igry?page={page}"
    return _row(LISTINGS, id=_uuid(rng), store=store, url=url, page=page,
                content_type="text/html", content=content, fetched_at=_moment(rng))  # fmt: skip


def _rules(rng: random.Random, count: int) -> list[Row]:
    rows = []
    for index in range(count):
        name, logic, conditions = RULES_SPEC[index % len(RULES_SPEC)]
        cycle = index // len(RULES_SPEC)
        conditions = [{"field": f, "op": op, "value": v} for f, op, v in conditions]
        rows.append(_row(
            RULES, id=_uuid(rng), name=f"{name} #{cycle + 1}" if cycle else name, logic=logic,
            description="Уведомлять о скидках > 20%" if index == 0 else f"Правило «{name}»",
            conditions=orjson.dumps(conditions).decode(),
            channels=orjson.dumps(CHANNELS[0 if index == 0 else rng.randrange(4)]).decode(),
            cooldown_hours=12 if index == 0 else rng.choice((0, 6, 24, 72)),
            active=index == 0 or rng.random() < 0.85,
            created_at=SEED_GAME["created_at"] if index == 0 else _moment(rng),
        ))  # fmt: skip
    return rows


def check_scale(scale: float) -> None:
    if not scale > 0:
        raise InvalidRequestError(f"demo data scale must be above 0, got {scale}")


def demo_rows(scale: float, seed: int) -> Iterator[tuple[Entity, list[Row]]]:
    """Every demo row as (entity, chunk of row tuples), in an order the foreign keys accept.

    Args:
        scale: 1 = 1250 games, 8 rules, 5420 events, 15420 price rows; counts scale linearly.
        seed: the RNG seed; same seed and scale, same rows.
    """
    check_scale(scale)
    rng = random.Random(seed)
    games = max(1, round(1250 * scale))  # at least one: prices and events point at games
    yield RULES, _rules(rng, max(8, round(8 * scale)))
    # Keyed by name: hashing an Entity hashes all its columns, a million times over.
    rows: dict[str, list[Row]] = {entity.name: [] for entity in PER_GAME}
    recent: deque[_GameRef] = deque(maxlen=GAMES_PER_PAGE * len(STORES))
    prices = _spread(rng, games, round(15420 * scale))
    events = _spread(rng, games, round(5420 * scale))
    for index, (n_prices, n_events) in enumerate(zip(prices, events, strict=True)):
        game, history, raw, ref = _game(rng, index, n_prices)
        rows["games"].append(game)
        rows["price_history"].extend(history)
        rows["events"].extend(_event(rng, ref, index == 0 and i == 0) for i in range(n_events))
        rows["raw_items"].append(raw)
        recent.append(ref)
        last = index == games - 1
        if (index + 1) % GAMES_PER_PAGE == 0 or (last and games < GAMES_PER_PAGE):
            rows["listings"].append(_listing(rng, index // GAMES_PER_PAGE, recent))
        if last or len(rows["listings"]) >= CHUNK // 20 or max(map(len, rows.values())) >= CHUNK:
            for name, chunk in rows.items():  # games first: the others point at them
                yield ENTITIES_BY_NAME[name], chunk
                rows[name] = []
