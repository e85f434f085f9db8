"""The first and last UTC day of an archive's events, taken on the import's first pass.

The report previews the events' date range. An import finds it without parsing a row: a
regular expression finds every `"created_at":"YYYY-MM-DD` in the text. Where the rows are
the database's own encoding (the spans the comparison in id order finds equal), each row
ends with its `created_at` (the events' last column), so its day sits just before the
row's end: found with array operations, several times cheaper than the expression over
the 270 MB of events at L.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_EVENT_DAY = re.compile(rb'"created_at":"([0-9]{4}-[0-9]{2}-[0-9]{2})T')
_KEY = np.frombuffer(b'"created_at":"', np.uint8)
# `"created_at":"YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z"},\n` ends each row in the export's form.
_TAIL = len(_KEY) + 27 + len(b'"},\n')
_ARRAY_MIN_BYTES = 64 << 10  # below this the expression is cheaper than setting up arrays
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9])  # of YYYY-MM-DD


@dataclass
class EventDays:
    """The first and last UTC day of the events seen (from canonical timestamps)."""

    earliest: str | None = None
    latest: str | None = None

    def see_block(self, texts: list[bytes]) -> None:
        """Take the days of a block of event rows. `"created_at":"` cannot occur inside a
        JSON string (its quotes would be escaped), so each match is a row's own key."""
        self._see(_EVENT_DAY.findall(b"\n".join(texts)))

    def see_region(self, data: bytes, start: int, end: int, encoded: bool = False) -> None:
        """Take the days of the event rows in `data[start:end]` (each followed by `,\\n`),
        without copying them. `encoded`: the rows are the database's own encoding."""
        if encoded and end - start >= _ARRAY_MIN_BYTES:
            days = _encoded_days(data, start, end)
            if days is not None:
                self._see(days)
                return
        self._see(_EVENT_DAY.findall(data, start, end))

    def _see(self, days: list[bytes]) -> None:
        if days:
            first, last = min(days).decode(), max(days).decode()
            if self.earliest is None or first < self.earliest:
                self.earliest = first
            if self.latest is None or last > self.latest:
                self.latest = last


def _encoded_days(data: bytes, start: int, end: int) -> list[bytes] | None:
    """The first and last day of rows that each end with `"created_at":"<timestamp>"},\\n`;
    None when one does not (the caller then searches the text)."""
    text = np.frombuffer(data, np.uint8, end - start, start)
    row_ends = np.flatnonzero(text == 0x0A) + 1  # just after each row's separator
    if not len(row_ends) or row_ends[-1] != len(text):
        return None
    row_starts = np.concatenate(([0], row_ends[:-1]))
    if (row_ends - row_starts < _TAIL).any():
        return None  # a row too short to hold the tail at all: not the database's form
    tails = text[row_ends[:, None] - _TAIL + np.arange(_TAIL)]  # the last bytes of each row
    # The timestamp ends `Z"},\n`; its fraction has 0 to 6 digits: where its `.` is, if any.
    z = _TAIL - 5
    fraction = np.zeros(len(tails), np.int64)
    for digits in range(6, 0, -1):
        fraction[tails[:, z - digits - 1] == ord(".")] = digits
    length = 20 + np.where(fraction > 0, fraction + 1, 0)  # YYYY-MM-DDTHH:MM:SSZ + .fff
    day_at = z + 1 - length  # column of the day's first digit
    columns = day_at[:, None] + np.arange(-len(_KEY), 11)
    window = np.take_along_axis(tails, columns, axis=1)
    days, key, t = window[:, len(_KEY) : len(_KEY) + 10], window[:, : len(_KEY)], window[:, -1]
    digits = days[:, _DIGITS]
    if not (
        (tails[:, z] == ord("Z")).all()
        and (key == _KEY).all()
        and (t == ord("T")).all()
        and ((digits >= ord("0")) & (digits <= ord("9"))).all()
        and (days[:, [4, 7]] == ord("-")).all()
    ):
        return None
    as_numbers = (digits - ord("0")).astype(np.int64) @ (10 ** np.arange(7, -1, -1))
    first, last = days[as_numbers.argmin()], days[as_numbers.argmax()]
    return [first.tobytes(), last.tobytes()]
