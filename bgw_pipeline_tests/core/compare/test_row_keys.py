"""Natural-key hashes (`nk`): equal keys give equal hashes, any other key another one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bgw_pipeline.core.compare.row_keys import natural_key_hashes
from bgw_pipeline.core.model.arrow_tables import arrow_schema
from bgw_pipeline.core.model.entities import GAMES, PRICE_HISTORY, Entity

WHEN = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
GAME = "0b7d5a3e-8d4f-4a53-9f57-1c2d3e4f5a6b"


def _batch(entity: Entity, rows: list[dict[str, object]]) -> pa.RecordBatch:
    schema = arrow_schema(entity)
    full = [{name: row.get(name) for name in schema.names} for row in rows]
    return pa.RecordBatch.from_pylist(full, schema=schema)


def _prices(*keys: tuple[str | None, str | None, datetime | None]) -> pa.RecordBatch:
    rows = [
        {"id": f"00000000-0000-4000-8000-{i:012d}", "game_id": g, "store": s, "recorded_at": t,
         "price": 100 + i}
        for i, (g, s, t) in enumerate(keys)
    ]  # fmt: skip
    return _batch(PRICE_HISTORY, rows)


def test_equal_keys_hash_equal_whatever_the_other_columns() -> None:
    hashes = natural_key_hashes(PRICE_HISTORY, _prices((GAME, "hg", WHEN), (GAME, "hg", WHEN)))
    assert hashes[0] == hashes[1]
    assert len(hashes[0].as_py()) == 32


def test_any_difference_in_the_key_gives_another_hash() -> None:
    keys = [
        (GAME, "hg", WHEN),
        (GAME, "hg", WHEN + timedelta(microseconds=1)),
        (GAME, "Hg", WHEN),
        (GAME, None, WHEN),
        (GAME, "null", WHEN),
        (GAME, "", WHEN),
        (GAME.replace("0b", "1b"), "hg", WHEN),
        (None, "hg", WHEN),
        (GAME, "hg", None),
        (GAME, 'h","g', WHEN),
    ]
    hashes = natural_key_hashes(PRICE_HISTORY, _prices(*keys)).to_pylist()
    assert len(set(hashes)) == len(keys)


def test_the_same_instant_in_another_zone_is_the_same_key() -> None:
    moscow = WHEN.astimezone(timezone(timedelta(hours=3)))
    assert moscow.hour == 15
    hashes = natural_key_hashes(PRICE_HISTORY, _prices((GAME, "hg", WHEN), (GAME, "hg", moscow)))
    assert hashes[0] == hashes[1]


def test_an_entity_without_a_natural_key_has_null_hashes() -> None:
    from bgw_pipeline.core.model.entities import EVENTS

    hashes = natural_key_hashes(EVENTS, _batch(EVENTS, [{"id": GAME}]))
    assert hashes.null_count == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=12) | st.none(), st.sampled_from(["hg", "mosigra", None])),
        min_size=1,
        max_size=40,
    )
)
def test_hashes_come_in_the_rows_order_and_depend_on_the_key_alone(
    keys: list[tuple[str | None, str | None]],
) -> None:
    """Each row's hash, computed in one batch, equals the hash of that row alone, and two
    rows share a hash exactly when their keys are equal."""
    rows = [
        {"id": f"00000000-0000-4000-8000-{i:012d}", "normalized_title": title, "store": store}
        for i, (title, store) in enumerate(keys)
    ]
    together = natural_key_hashes(GAMES, _batch(GAMES, rows)).to_pylist()
    alone = [natural_key_hashes(GAMES, _batch(GAMES, [row]))[0].as_py() for row in rows]
    assert together == alone
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            assert (together[i] == together[j]) == (a == b)


def test_threads_hash_side_by_side() -> None:
    """Each thread hashes on a DuckDB cursor of its own."""
    batch = _prices(*[(GAME, f"s{i}", WHEN) for i in range(5_000)])
    expected = natural_key_hashes(PRICE_HISTORY, batch).to_pylist()
    results: list[list[str]] = []

    def work() -> None:
        for _ in range(5):
            results.append(natural_key_hashes(PRICE_HISTORY, batch).to_pylist())

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 15
    assert all(r == expected for r in results)
