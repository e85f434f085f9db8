"""Hypothesis strategies for valid BGW rows: Unicode everywhere, NULLs, extreme values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

INT32 = st.integers(min_value=0, max_value=2**31 - 1)
# Any text PostgreSQL can hold: no NUL, no lone surrogates.
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
NONEMPTY = TEXT.filter(bool)
MOMENT = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)
JSON_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, width=32).map(float)
    | TEXT
)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
IDS = st.uuids(version=4).map(str)


@st.composite
def games(draw: st.DrawFn) -> dict[str, Any]:
    title = draw(NONEMPTY)
    low = draw(st.none() | st.integers(1, 20))
    return {
        "id": draw(IDS),
        "title": title,
        "normalized_title": draw(TEXT) + str(uuid.uuid4())[:8],  # unique natural key
        "description": draw(st.none() | TEXT),
        "store": draw(NONEMPTY),
        "price": draw(st.none() | INT32),
        "url": draw(st.none() | TEXT),
        "image_url": draw(st.none() | TEXT),
        "players_min": low,
        "players_max": draw(st.none() | st.integers(low or 1, 40)),
        "playing_time": draw(st.none() | TEXT),
        "age": draw(st.none() | TEXT),
        "publisher": draw(st.none() | TEXT),
        "year": draw(st.none() | st.integers(1800, 2200)),
        "category": draw(st.none() | TEXT),
        "bgg_id": draw(st.none() | st.integers(-(2**31), 2**31 - 1)),
        "synonyms": draw(st.lists(TEXT, max_size=4)),
        "in_watchlist": draw(st.booleans()),
        "created_at": draw(MOMENT),
        "updated_at": draw(MOMENT),
    }


@st.composite
def prices(draw: st.DrawFn, game_ids: list[str]) -> dict[str, Any]:
    return {
        "id": draw(IDS),
        "game_id": draw(st.sampled_from(game_ids)),
        "store": draw(NONEMPTY),
        "price": draw(INT32),
        "previous_price": draw(st.none() | INT32),
        "discount_pct": draw(st.integers(0, 100)),
        "url": draw(st.none() | TEXT),
        "recorded_at": draw(MOMENT),
    }


@st.composite
def raw_items(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(IDS),
        "store": draw(NONEMPTY),
        "url": draw(NONEMPTY),
        "payload": draw(JSON_VALUE),
        "fetched_at": draw(MOMENT),
    }


@st.composite
def databases(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """A small valid database: games, their price rows, raw items."""
    game_rows = draw(st.lists(games(), min_size=1, max_size=4, unique_by=lambda g: g["id"]))
    ids = [g["id"] for g in game_rows]
    price_rows = draw(st.lists(prices(ids), max_size=6, unique_by=lambda p: p["id"]))
    seen, unique_prices = set(), []
    for row in price_rows:  # the natural key is unique in the database
        key = (row["game_id"], row["store"], row["recorded_at"])
        if key not in seen:
            seen.add(key)
            unique_prices.append(row)
    return {
        "games": game_rows,
        "price_history": unique_prices,
        "raw_items": draw(st.lists(raw_items(), max_size=3, unique_by=lambda r: r["id"])),
    }
