"""The DDL's columns, as read for the catalogue, are the entities' columns."""

from __future__ import annotations

import pytest

from bgw_pipeline.core.database.ddl_columns import ddl_columns
from bgw_pipeline.core.model.entities import ALL_ENTITIES


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_each_table_of_the_ddl_has_the_entity_columns_in_order(dialect: str) -> None:
    tables = ddl_columns(dialect)
    assert set(tables) == {e.name for e in ALL_ENTITIES}
    for entity in ALL_ENTITIES:
        declared = tables[entity.name]
        assert [(c.name, c.nullable) for c in declared] == [
            (c.name, c.nullable) for c in entity.columns
        ], entity.name


def test_types_constraints_and_comments_come_from_the_ddl() -> None:
    games = {c.name: c for c in ddl_columns()["games"]}
    assert games["id"].type == "UUID" and games["id"].constraints == "PRIMARY KEY"
    assert games["price"].type == "INTEGER" and "CHECK (price >= 0)" in games["price"].constraints
    assert games["playing_time"].comment == "e.g. '45-60' (minutes)"
    events = {c.name: c for c in ddl_columns()["events"]}
    assert "REFERENCES games (id)" in events["game_id"].constraints
