"""Synthetic demo data: exact counts, deterministic, consistent, and awkward on purpose."""

from __future__ import annotations

import itertools
from pathlib import Path

import sqlalchemy as sa

from bgw_pipeline.core.database import create_engine
from bgw_pipeline.core.demo_data import fill_demo_database
from bgw_pipeline.core.schema import TABLES
from bgw_pipeline_tests.factories import dump_database


def test_scale_one_is_the_documents_metadata_example(engine: sa.Engine) -> None:
    counts = fill_demo_database(engine, scale=1)
    assert counts is not None
    assert {k: counts[k] for k in ("games", "rules", "events", "price_history")} == {
        "games": 1250, "rules": 8, "events": 5420, "price_history": 15420,
    }  # fmt: skip
    with engine.connect() as conn:
        for name, count in counts.items():
            table = TABLES[name]
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == count


def test_same_seed_same_rows(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        engine = create_engine(f"sqlite:///{tmp_path / name}.db")
        fill_demo_database(engine, scale=0.1, seed=7)
        dumps.append(dump_database(engine))
        engine.dispose()
    assert dumps[0] == dumps[1]
    other = create_engine(f"sqlite:///{tmp_path / 'c'}.db")
    fill_demo_database(other, scale=0.1, seed=8)
    assert dump_database(other) != dumps[0]
    other.dispose()


def test_rows_are_consistent_and_text_is_awkward(engine: sa.Engine) -> None:
    fill_demo_database(engine, scale=0.2)
    dump = dump_database(engine)
    games = {row[0]: row for row in dump["games"]}
    titles = [row[1] for row in dump["games"]]
    assert "Громкое дело" in titles
    assert any('"' in t for t in titles) and any("," in t for t in titles)
    assert any(t.startswith("=") for t in titles)
    assert any(ord(ch) > 0xFFFF for t in titles for ch in t)  # an emoji
    assert any("\n" in (row[3] or "") for row in dump["games"])
    history: dict[str, list[tuple]] = {}
    for row in dump["price_history"]:
        assert row[1] in games and row[2] == games[row[1]][4]  # the game's own shop
        history.setdefault(row[1], []).append(row)
    for rows in history.values():
        rows.sort(key=lambda r: r[7])
        assert rows[0][4] is None
        for before, after in itertools.pairwise(rows):
            assert after[4] == before[3]  # previous_price chain
    assert all(row[1] is None or row[1] in games for row in dump["events"])
    assert any(row[1] == "Большие скидки" for row in dump["rules"])


def test_only_if_empty_leaves_a_filled_database_alone(engine: sa.Engine) -> None:
    fill_demo_database(engine, scale=0.05)
    before = dump_database(engine)
    assert fill_demo_database(engine, scale=0.05, seed=99, only_if_empty=True) is None
    assert dump_database(engine) == before
