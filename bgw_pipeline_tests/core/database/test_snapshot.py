"""Reading a snapshot in batches whose size suits the rows."""

from __future__ import annotations

from pathlib import Path

from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.snapshot import ROW_FILE_CHUNK_DIVISOR, open_snapshot
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.model.entities import LISTINGS, PRICE_HISTORY


def test_catalogue_pages_are_read_fewer_at_a_time(tmp_path: Path) -> None:
    """A page is a few KB where a price row is a few hundred bytes: a batch of pages as
    long as a batch of prices would hold twenty times the memory."""
    engine = create_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    fill_demo_database(engine, scale=1)
    chunk_rows = 10 * ROW_FILE_CHUNK_DIVISOR
    with open_snapshot(engine, chunk_rows=chunk_rows) as snapshot:
        prices = [b.num_rows for b in snapshot.batches(PRICE_HISTORY)]
        pages = [b.num_rows for b in snapshot.batches(LISTINGS)]
    engine.dispose()
    assert max(prices) == chunk_rows and sum(prices) == 15420
    assert max(pages) == chunk_rows // ROW_FILE_CHUNK_DIVISOR and sum(pages) == 50
