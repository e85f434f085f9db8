"""Rows encoded in DuckDB from Arrow (database/postgres/arrow_rows.py) against the reference
encoder."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bgw_pipeline.core.database.postgres import arrow_rows
from bgw_pipeline.core.database.postgres.arrow_rows import encode_batch, new_encoder
from bgw_pipeline.core.encoding.encoded_chunks import chunks_from_batches
from bgw_pipeline.core.model.arrow_tables import batch_from_rows
from bgw_pipeline.core.model.entities import EVENTS, LISTINGS, PRICE_HISTORY, Entity, Kind

# PostgreSQL text holds any character but NUL; surrogates are not UTF-8.
TEXTS = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
TIMES = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda t: t.replace(tzinfo=UTC))
VALUES = {
    Kind.UUID: st.uuids().map(str),
    Kind.TEXT: TEXTS,
    Kind.INT: st.integers(-(2**63), 2**63 - 1),
    Kind.BOOL: st.booleans(),
    Kind.TIMESTAMP: TIMES,
}


def _rows(entity: Entity, draw: st.DrawFn, count: int) -> list[list[object]]:
    ids = sorted({str(draw(st.uuids())) for _ in range(count)})
    rows = []
    for row_id in ids:
        row: list[object] = [row_id]
        for column in entity.columns[1:]:
            value = VALUES[column.kind]
            row.append(draw(st.none() | value if column.nullable else value))
        rows.append(row)
    return rows


@st.composite
def batches(draw: st.DrawFn, entity: Entity) -> list[list[object]]:
    return _rows(entity, draw, draw(st.integers(1, 30)))


def _both(entity: Entity, rows: list[list[object]]) -> tuple[bytes, bytes]:
    batch = batch_from_rows(entity, rows)
    encoder = new_encoder()
    try:
        ours = b",\n".join(c.data for c in encode_batch(encoder, entity, batch))
    finally:
        encoder.close()
    reference = b",\n".join(c.data for c in chunks_from_batches(entity, [batch]))
    return ours, reference


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([EVENTS, PRICE_HISTORY, LISTINGS]).flatmap(lambda e: st.tuples(
    st.just(e), batches(e))))  # fmt: skip
def test_duckdb_rows_equal_the_reference_encoder(case: tuple[Entity, list[list[object]]]) -> None:
    """Any text (control characters, quotes, astral), any integer, any timestamp of years
    1 to 9999, nulls: the same bytes as the reference encoder."""
    entity, rows = case
    ours, reference = _both(entity, rows)
    assert ours == reference


def test_chunks_are_cut_every_chunk_rows_with_their_first_and_last_ids(monkeypatch) -> None:
    monkeypatch.setattr(arrow_rows, "CHUNK_ROWS", 3)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ids = sorted(str(uuid.uuid4()) for _ in range(8))
    rows = [
        [i, None, "store", 100 + n, None, 0, None, start + timedelta(seconds=n)]
        for n, i in enumerate(ids)
    ]
    encoder = new_encoder()
    chunks = list(encode_batch(encoder, PRICE_HISTORY, batch_from_rows(PRICE_HISTORY, rows)))
    encoder.close()
    assert [c.rows for c in chunks] == [3, 3, 2]
    assert [(c.first_id, c.last_id) for c in chunks] == [
        (ids[0], ids[2]),
        (ids[3], ids[5]),
        (ids[6], ids[7]),
    ]
    assert all(not c.data.endswith(b",\n") for c in chunks)
    _, reference = _both(PRICE_HISTORY, rows)
    assert b",\n".join(c.data for c in chunks) == reference


def test_a_text_with_upper_hex_escapes_in_duckdb_takes_the_reference_form() -> None:
    """DuckDB writes \\u000B where the reference writes \\u000b; and a text that holds a
    backslash and `u00` literally keeps its own escaping."""
    rows = [[str(uuid.UUID(int=1)), None, "x\x0by\x1f", None, None, None, None, None, None,
             "literal \\u000B", None, False, datetime(2024, 1, 1, tzinfo=UTC)]]  # fmt: skip
    ours, reference = _both(EVENTS, rows)
    assert b"\\u000b" in ours and b"\\u001f" in ours and b"\\\\u000B" in ours
    assert ours == reference
