"""The BGW tables as the archive sees them: names, members, columns and their kinds.

Everything that needs to know "which tables, which columns, in which order" reads it
from here, so the archive writer, the reader, the diff and the CSV agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a column's value is represented in the archive (and in Arrow)."""

    UUID = "uuid"
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    JSON = "json"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Column:
    """One column of a BGW table."""

    name: str
    kind: Kind
    nullable: bool = True
    has_default: bool = False


@dataclass(frozen=True)
class Entity:
    """One BGW table and where it lives in the archive."""

    name: str
    columns: tuple[Column, ...]
    member: str
    raw: bool = False
    one_file_per_row: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def count_key(self) -> str:
        """The key of this entity's row count in metadata.json `contents`."""
        return f"{self.name}_count"


def _c(name: str, kind: Kind, nullable: bool = True, default: bool = False) -> Column:
    return Column(name, kind, nullable, default)


U, T, N, B, J, TS = Kind.UUID, Kind.TEXT, Kind.INT, Kind.BOOL, Kind.JSON, Kind.TIMESTAMP

GAMES = Entity(
    "games",
    (
        _c("id", U, False),
        _c("title", T, False),
        _c("normalized_title", T, False),
        _c("description", T),
        _c("store", T, False),
        _c("price", N),
        _c("url", T),
        _c("image_url", T),
        _c("players_min", N),
        _c("players_max", N),
        _c("playing_time", T),
        _c("age", T),
        _c("publisher", T),
        _c("year", N),
        _c("category", T),
        _c("bgg_id", N),
        _c("synonyms", J, False, True),
        _c("in_watchlist", B, False, True),
        _c("created_at", TS, False),
        _c("updated_at", TS, False),
    ),
    "games.json",
)

RULES = Entity(
    "rules",
    (
        _c("id", U, False),
        _c("name", T, False),
        _c("description", T),
        _c("logic", T, False),
        _c("conditions", J, False),
        _c("channels", J, False, True),
        _c("cooldown_hours", N, False, True),
        _c("active", B, False, True),
        _c("created_at", TS, False),
    ),
    "rules.json",
)

EVENTS = Entity(
    "events",
    (
        _c("id", U, False),
        _c("game_id", U),
        _c("kind", T, False),
        _c("title", T, False),
        _c("description", T),
        _c("price", N),
        _c("previous_price", N),
        _c("discount_pct", N),
        _c("url", T),
        _c("store", T),
        _c("image_url", T),
        _c("processed", B, False, True),
        _c("created_at", TS, False),
    ),
    "events.json",
)

PRICE_HISTORY = Entity(
    "price_history",
    (
        _c("id", U, False),
        _c("game_id", U, False),
        _c("store", T, False),
        _c("price", N, False),
        _c("previous_price", N),
        _c("discount_pct", N, False, True),
        _c("url", T),
        _c("recorded_at", TS, False),
    ),
    "price_history.json",
)

RAW_ITEMS = Entity(
    "raw_items",
    (
        _c("id", U, False),
        _c("store", T, False),
        _c("url", T, False),
        _c("payload", J, False),
        _c("fetched_at", TS, False),
    ),
    "raw_data/raw_items.json",
    raw=True,
)

LISTINGS = Entity(
    "listings",
    (
        _c("id", U, False),
        _c("store", T, False),
        _c("url", T, False),
        _c("page", N),
        _c("content_type", T, False, True),
        _c("content", T, False),
        _c("fetched_at", TS, False),
    ),
    "raw_data/listings/",
    raw=True,
    one_file_per_row=True,
)

CORE_ENTITIES: tuple[Entity, ...] = (GAMES, RULES, EVENTS, PRICE_HISTORY)
RAW_ENTITIES: tuple[Entity, ...] = (RAW_ITEMS, LISTINGS)
ALL_ENTITIES: tuple[Entity, ...] = CORE_ENTITIES + RAW_ENTITIES
ENTITIES_BY_NAME: dict[str, Entity] = {e.name: e for e in ALL_ENTITIES}

# Write order: parents before children (events and price_history reference games).
WRITE_ORDER: tuple[Entity, ...] = (GAMES, RULES, EVENTS, PRICE_HISTORY, RAW_ITEMS, LISTINGS)


def entities_for(include_raw_data: bool) -> tuple[Entity, ...]:
    """The entities an export with or without raw data contains."""
    return ALL_ENTITIES if include_raw_data else CORE_ENTITIES


def listing_member(row_id: str) -> str:
    """The archive member that holds one listing row."""
    return f"{LISTINGS.member}{row_id}.json"
