"""Rows with the values encoders get wrong: every control character, escapes, astral
and invisible characters, JSON in odd number forms, timestamps at the archive's edges.
Every fast encoder is compared with the reference encoder on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bgw_pipeline_tests.factories import (
    insert,
    make_event,
    make_game,
    make_listing,
    make_price,
    make_raw_item,
    make_rule,
)

# Every control character but NUL (PostgreSQL text cannot hold it), escapes, quotes,
# astral and invisible characters, spreadsheet-formula starts.
NASTY = [
    "".join(chr(c) for c in range(1, 32)),
    'back\\slash "quoted" \\" \\\\',
    "\u2028\u2029\u0085\u00a0\ufeff\u200b é ё 🎲 \U0010ffff",
    "=1+1",
    "",
    "\x7f tail",
]
JSON_VALUES = [
    "[]",
    '["a", "b, \\"c\\""]',
    '{"float": 1.0, "trailing": 1.50, "tiny": 1e-10, "big": 123456789012345678901234567890}',
    '{"nested": {"z": [1, {"y": null}], "a": true}, "ключ": "значение\\u0001"}',
    '"just a string"',
    "-2.5",
]
TIMES = [
    datetime(2024, 1, 15, 12, 30, tzinfo=UTC),
    datetime(2024, 1, 15, 12, 30, 10, 500000, tzinfo=UTC),
    datetime(2024, 1, 15, 12, 30, 0, 123456, tzinfo=UTC),
    datetime(2024, 1, 15, 12, 30, 59, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def fill_nasty_values(engine: sa.Engine) -> None:
    """A few rows of every table made of the values above."""
    games = []
    for index, text in enumerate(NASTY):
        games.append(
            make_game(
                title=text or "пусто",
                description=text,
                publisher=None if index % 2 else text,
                synonyms=JSON_VALUES[index % len(JSON_VALUES)],
                in_watchlist=bool(index % 2),
                created_at=TIMES[index % len(TIMES)],
                updated_at=TIMES[(index + 1) % len(TIMES)],
            )
        )
    # Ids at both ends of the UUID space land in the first and the last slice.
    games[0]["id"] = "00000000-0000-0000-0000-000000000000"
    games[1]["id"] = "ffffffff-ffff-ffff-ffff-ffffffffffff"
    insert(engine, "games", games)
    insert(engine, "rules", [make_rule(conditions=v) for v in JSON_VALUES])
    events = [make_event(games[i % len(games)], description=t) for i, t in enumerate(NASTY)]
    events.append(make_event(None, price=None, previous_price=None, discount_pct=None))
    insert(engine, "events", events)
    prices = [
        make_price(games[i % len(games)], url=NASTY[i % len(NASTY)],
                   recorded_at=when - timedelta(days=i))
        for i, when in enumerate(TIMES * 4)
    ]  # fmt: skip
    insert(engine, "price_history", prices)
    insert(engine, "raw_items", [make_raw_item(payload=v) for v in JSON_VALUES])
    insert(engine, "listings", [make_listing(content=t, page=None) for t in NASTY])
