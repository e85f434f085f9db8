"""Cutting a table into id ranges (postgres_slices.slice_bounds)."""

from __future__ import annotations

import itertools
import math
import uuid

from hypothesis import given
from hypothesis import strategies as st

from bgw_pipeline.core.database.postgres.slices import slice_bounds


@given(st.integers(0, 10_000_000), st.integers(1, 5_000_000), st.uuids())
def test_every_id_falls_in_exactly_one_range(rows: int, slice_rows: int, some: uuid.UUID) -> None:
    slice_rows = max(slice_rows, rows // 500)  # a few hundred slices at most: enough to cover
    bounds = slice_bounds(rows, slice_rows)
    assert len(bounds) == max(1, math.ceil(rows / slice_rows))
    assert bounds[0][0] is None and bounds[-1][1] is None
    cuts = [low for low, _ in bounds[1:]]
    assert cuts == sorted(cuts) and len(set(cuts)) == len(cuts)
    assert all(high == low for (_, high), (low, _) in itertools.pairwise(bounds))
    text = str(some)  # ranges compare as the server compares uuids: by their bytes
    holding = [
        (low, high)
        for low, high in bounds
        if (low is None or uuid.UUID(low) <= some) and (high is None or some < uuid.UUID(high))
    ]
    assert len(holding) == 1, (text, bounds)
