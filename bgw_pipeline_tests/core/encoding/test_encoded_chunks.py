"""The reference encoder hands rows on a few thousand at a time, whatever the batch size."""

from __future__ import annotations

import itertools

import pyarrow as pa

from bgw_pipeline.core.demo.rows import demo_rows
from bgw_pipeline.core.encoding.encoded_chunks import ENCODE_ROWS, chunks_from_batches
from bgw_pipeline.core.encoding.row_encoding import encode_rows
from bgw_pipeline.core.model.arrow_tables import batch_from_rows
from bgw_pipeline.core.model.entities import PRICE_HISTORY


def _price_batch() -> pa.RecordBatch:
    rows = [row for entity, chunk in demo_rows(0.5, 3) if entity is PRICE_HISTORY for row in chunk]
    rows.sort(key=lambda row: row[0])
    return batch_from_rows(PRICE_HISTORY, rows)


def test_a_big_batch_comes_out_in_small_chunks_with_the_same_bytes() -> None:
    batch = _price_batch()
    assert batch.num_rows > 2 * ENCODE_ROWS
    chunks = list(chunks_from_batches(PRICE_HISTORY, [batch]))
    assert max(c.rows for c in chunks) == ENCODE_ROWS and len(chunks) > 2
    assert [c.rows for c in chunks[:-1]] == [ENCODE_ROWS] * (len(chunks) - 1)
    assert sum(c.rows for c in chunks) == batch.num_rows
    whole = b",\n".join(encoded for _, encoded in encode_rows(PRICE_HISTORY, batch))
    assert b",\n".join(c.data for c in chunks) == whole
    assert all(a.last_id < b.first_id for a, b in itertools.pairwise(chunks))
