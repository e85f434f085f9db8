"""The column-wise CSV encoder writes exactly the bytes of the cell-by-cell reference."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bgw_pipeline.core.export.csv_columns import FORMULA_STARTS, format_cell, render_lines
from bgw_pipeline.core.export.csv_files import csv_rows

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SCHEMA = pa.schema(
    [
        ("text", pa.string()),
        ("big", pa.int64()),
        ("small", pa.int32()),
        ("flag", pa.bool_()),
        ("at", pa.timestamp("us", tz="UTC")),
    ]
)
TRICKY = "\"\r\n\t,' " + "".join(FORMULA_STARTS) + "\uff02\u00a0é€🎲Ж"

characters = st.one_of(st.characters(codec="utf-8"), st.sampled_from(TRICKY))
texts = st.one_of(
    st.text(characters),
    st.tuples(st.sampled_from(FORMULA_STARTS), st.text(characters)).map("".join),
    st.sampled_from(["", '"', '""', "null", "'=x", " =x", "\r\n", "12", "2024-01-01T00:00:00Z"]),
)
big_ints = st.one_of(
    st.integers(INT64_MIN, INT64_MAX), st.sampled_from([INT64_MIN, INT64_MAX, 0, -1])
)
small_ints = st.integers(-(2**31), 2**31 - 1)
any_instant = st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999))
instants = st.one_of(
    any_instant,
    any_instant.map(lambda d: d.replace(microsecond=0)),
    st.tuples(any_instant, st.sampled_from([1, 10, 500_000, 120_000, 999_999, 100])).map(
        lambda p: p[0].replace(microsecond=p[1])
    ),
    st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]),
).map(lambda d: d.replace(tzinfo=UTC))
rows = st.lists(
    st.tuples(
        st.none() | texts,
        st.none() | big_ints,
        st.none() | small_ints,
        st.none() | st.booleans(),
        st.none() | instants,
    ),
    max_size=40,
)


def reference(columns: Sequence[pa.Array]) -> bytes:
    """What csv_export wrote before: every cell through format_cell, row by row."""
    values = [c.to_pylist() for c in columns]
    return b"".join(
        (",".join(format_cell(v) for v in row) + "\r\n").encode("utf-8")
        for row in zip(*values, strict=True)
    )


def batch_of(data: list[tuple[Any, ...]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [dict(zip(SCHEMA.names, r, strict=True)) for r in data], SCHEMA
    )


@settings(max_examples=300, deadline=None)
@given(rows, st.integers(0, 5))
@example([], 0)
@example([(None, None, None, None, None)], 0)
@example([('=1+"2"', INT64_MIN, -(2**31), True, datetime(1, 1, 1, tzinfo=UTC))], 0)
def test_column_wise_lines_equal_the_reference(data: list[tuple[Any, ...]], skip: int) -> None:
    batch = batch_of(data)
    names = list(SCHEMA.names)
    assert csv_rows(names, batch) == reference(batch.columns)
    # A slice starts inside the arrays' buffers; a subset may reorder the columns.
    part = batch.slice(min(skip, batch.num_rows))
    assert csv_rows(names, part) == reference(part.columns)
    picked = ["at", "text", "flag"]
    assert csv_rows(picked, part) == reference([part.column(n) for n in picked])


def test_a_single_column_and_no_columns() -> None:
    column = pa.array(["a", None, "-b"])
    assert bytes(render_lines([column])) == b'"a"\r\nnull\r\n"\'-b"\r\n'
    assert bytes(render_lines([])) == b""


def test_other_widths_units_and_zones_match_the_reference() -> None:
    moscow = timezone(timedelta(hours=3))
    instant = datetime(999, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    columns = [
        pa.array(["=x", None, 'q"'], pa.large_string()),
        pa.array(["@y", "z", None], pa.string_view()),
        pa.array([1, None, -3], pa.int8()),
        pa.array([2**64 - 1, 0, None], pa.uint64()),
        pa.array([instant, None, instant.replace(microsecond=0)], pa.timestamp("us")),
        pa.array([instant.replace(microsecond=0), None, None], pa.timestamp("s", tz="UTC")),
        pa.array([instant.replace(microsecond=890000), None, None], pa.timestamp("ms")),
        pa.array(
            [datetime(2024, 1, 1, 2, tzinfo=moscow), None, None], pa.timestamp("us", tz="+03:00")
        ),
        # No kernel path for these: they go through format_cell itself.
        pa.array([1.5, None, -0.0]),
        pa.array([date(2024, 1, 2), None, date(1, 1, 1)]),
        pa.nulls(3),
    ]
    assert bytes(render_lines(columns)) == reference(columns)
    assert b'"2023-12-31T23:00:00Z"' in bytes(render_lines(columns))


def test_chunked_columns_are_rendered_like_their_concatenation() -> None:
    chunked = pa.chunked_array([["a", "=b"], ['"c"']])
    assert bytes(render_lines([chunked])) == reference([chunked.combine_chunks()])
