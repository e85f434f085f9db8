"""Snapshot files from the archive's rows: read back from the JSON, or handed over by a
reader (the restore drill) that may stop anywhere; either way the same bytes, published whole."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from bgw_pipeline.core.encoding.encoded_arrow import table_from_encoded
from bgw_pipeline.core.export.archive_export import open_export_source
from bgw_pipeline.core.export.snapshot_formats import SnapshotFormats, snapshot_row_blocks
from bgw_pipeline.core.export.snapshot_tee import SnapshotTee
from bgw_pipeline.core.model.entities import ALL_ENTITIES, GAMES, PRICE_HISTORY
from bgw_pipeline_tests.factories import small_database

ROWS = st.lists(
    st.dictionaries(st.sampled_from("abc"), st.lists(st.text(max_size=3), max_size=2)),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, block=st.integers(1, 40))
def test_row_blocks_give_back_every_row_whatever_the_block_size(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict], block: int
) -> None:
    """Rows ending in `]}` (a list as the last value) look like the closing line's end:
    a block cut just after such a row must keep it whole."""
    path = tmp_path_factory.mktemp("rows") / "t.json"
    texts = [json.dumps(r, separators=(",", ":")).encode() for r in rows]
    body = b",\n".join(texts)
    path.write_bytes(b'{"t":[\n' + body + b"\n]}\n" if texts else b'{"t":[]}\n')
    got = [b for b in snapshot_row_blocks(path, block) if b]
    assert b",\n".join(got) == body


def _pending(engine: sa.Engine, tmp_path: Path) -> tuple[SnapshotTee, Path]:
    snapshots = tmp_path / "snapshots"
    with open_export_source(engine) as source:
        tee = SnapshotTee(source, snapshots, also_read=ALL_ENTITIES)
        tee.finish_remaining()
    return tee, snapshots


def _files(snapshots: Path, games_csv: Path) -> dict[str, bytes]:
    found = {p.name: p.read_bytes() for p in sorted(snapshots.iterdir())}
    return found | {"games_csv": games_csv.read_bytes()}


def _from_json_only(engine: sa.Engine, tmp_path: Path) -> dict[str, bytes]:
    tee, snapshots = _pending(engine, tmp_path / "reference")
    SnapshotFormats(tee.pending, snapshots, tmp_path / "reference.csv", "id").finish()
    return _files(snapshots, tmp_path / "reference.csv")


def _tables(pending_path: Path, entity) -> list[pa.Table]:
    return [table_from_encoded(entity, b) for b in snapshot_row_blocks(pending_path, 4096) if b]


def _without_parquet(files: dict[str, bytes]) -> dict[str, bytes]:
    """Parquet's bytes depend on how the rows were grouped; its rows are compared apart."""
    return {n: d for n, d in files.items() if not n.endswith(".parquet")}


def test_a_reader_that_stops_inside_a_table_or_fails_leaves_it_to_finish(
    engine: sa.Engine, tmp_path: Path
) -> None:
    small_database(engine)
    reference = _from_json_only(engine, tmp_path)
    tee, snapshots = _pending(engine, tmp_path / "tapped")
    games_csv = tmp_path / "tapped.csv"
    formats = SnapshotFormats(tee.pending, snapshots, games_csv, "id")
    games = _tables(tee.pending["games"].partial, GAMES)
    formats.begin(GAMES)  # handed every games table: written by the reader
    for table in games:
        formats.add(GAMES, table)
    formats.end(GAMES)
    assert "games" in formats.files and (snapshots / "games.parquet").exists()
    prices = _tables(tee.pending["price_history"].partial, PRICE_HISTORY)
    formats.begin(PRICE_HISTORY)  # the reader stops half-way: nothing of it is published
    formats.add(PRICE_HISTORY, prices[0])
    formats.begin(GAMES)
    assert not (snapshots / "price_history.parquet").exists()
    formats.end(GAMES)
    formats.begin(PRICE_HISTORY)  # a table the writer refuses (another entity's columns)
    formats.add(PRICE_HISTORY, games[0])
    formats.end(PRICE_HISTORY)
    assert "price_history" not in formats.files
    files = formats.finish()
    assert set(files) == {e.name for e in ALL_ENTITIES}
    assert _without_parquet(_files(snapshots, games_csv)) == _without_parquet(reference)
    for name, data in reference.items():
        if name.endswith(".parquet"):
            expected = pq.read_table(pa.BufferReader(data))
            assert pq.read_table(snapshots / name).equals(expected), name
    assert sorted(p.name for p in snapshots.iterdir()) == sorted(
        n for n in reference if n != "games_csv"
    ), "no partial file left behind"


def test_abandon_publishes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    small_database(engine)
    tee, snapshots = _pending(engine, tmp_path)
    formats = SnapshotFormats(tee.pending, snapshots, tmp_path / "games.csv", "id")
    formats.begin(GAMES)
    formats.abandon()
    assert list(snapshots.iterdir()) == [] and not (tmp_path / "games.csv").exists()
