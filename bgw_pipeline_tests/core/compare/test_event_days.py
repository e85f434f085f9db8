"""The events' first and last day: array operations over rows in the database's own
encoding give what the regular expression gives, and hand over to it otherwise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgw_pipeline.core.compare import event_days
from bgw_pipeline.core.compare.event_days import EventDays


def _row(i: int, day: str, fraction: str, title: str = "Распродажа") -> bytes:
    stamp = f"{day}T12:34:56{'.' + fraction if fraction else ''}Z"
    return (
        f'{{"id":"{i:08x}-0000-4000-8000-000000000000","title":"{title}","created_at":"{stamp}"}}'
    ).encode()


def _seen(rows: list[bytes], encoded: bool, pad: int = 5) -> tuple[str | None, str | None]:
    data = b"x" * pad + b"".join(r + b",\n" for r in rows) + b"tail"
    days = EventDays()
    days.see_region(data, pad, len(data) - 4, encoded)
    return days.earliest, days.latest


_days = st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}")
_fractions = st.sampled_from(["", "1", "12", "123", "1234", "12345", "123456"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_days, _fractions), min_size=1, max_size=40))
def test_encoded_rows_give_the_days_the_expression_finds(rows: list[tuple[str, str]]) -> None:
    texts = [_row(i, day, fraction) for i, (day, fraction) in enumerate(rows)]
    expected = (min(d for d, _ in rows), max(d for d, _ in rows))
    assert _seen(texts, encoded=False) == expected
    assert event_days._encoded_days(
        b"".join(t + b",\n" for t in texts), 0, sum(len(t) + 2 for t in texts)
    ) == [expected[0].encode(), expected[1].encode()]


def test_a_big_encoded_region_goes_through_the_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [_row(i, f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", "5" * (i % 7)) for i in range(3000)]
    calls = []
    real = event_days._encoded_days
    monkeypatch.setattr(event_days, "_encoded_days", lambda *a: calls.append(1) or real(*a))
    assert _seen(rows, encoded=True) == ("2024-01-01", "2024-12-28")
    assert calls and sum(len(r) for r in rows) >= event_days._ARRAY_MIN_BYTES


def test_rows_not_in_the_encoded_form_fall_back_to_the_expression() -> None:
    good = [_row(i, "2024-05-05", "") for i in range(3000)]
    # created_at not last, a null one, and one whose key sits in the middle of the row
    odd_last = (
        b'{"id":"ffffffff-0000-4000-8000-000000000000","created_at":"2021-02-03T00:00:00Z","x":1}'
    )
    null = b'{"id":"fffffffe-0000-4000-8000-000000000000","created_at":null}'
    for extra, expected in [(odd_last, ("2021-02-03", "2024-05-05")), (null, ("2024-05-05",) * 2)]:
        rows = [*good, extra]
        assert (
            event_days._encoded_days(
                b"".join(r + b",\n" for r in rows), 0, sum(len(r) + 2 for r in rows)
            )
            is None
        )
        assert _seen(rows, encoded=True) == expected


def test_blocks_of_rows_and_regions_keep_the_earliest_and_latest() -> None:
    days = EventDays()
    days.see_block([_row(1, "2023-03-03", "")])
    data = b"".join(r + b",\n" for r in [_row(2, "2022-02-02", "1"), _row(3, "2025-05-05", "")])
    days.see_region(data, 0, len(data), encoded=True)
    days.see_region(b"", 0, 0)
    assert (days.earliest, days.latest) == ("2022-02-02", "2025-05-05")
