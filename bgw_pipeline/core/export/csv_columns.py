"""CSV cells: the reference rules one value at a time, and the same rules a column at a time.

`format_cell` is the rule book (spec "CSV exports"): text quoted with `"` doubled, a
leading `'` on text a spreadsheet would run as a formula, numbers bare, `true`/`false`,
timestamps as RFC 3339 UTC text, `null` for a missing value. Formatting a table snapshot
that way costs a Python call per cell (seconds for a million rows), so `render_lines`
produces the same bytes with Arrow's C++ compute kernels, one pass per column and
operation, releasing the GIL while it works (export/snapshot_formats.py encodes on a thread of its
own). Types it has no kernel path for go through `format_cell`, so the output never differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bgw_pipeline.core.model.values import format_timestamp

# OWASP's list, and the full-width forms some spreadsheets also read as formulas.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# RE2 (Arrow's regex engine) spells every character as \x{...}: no escaping to get wrong.
_FORMULA_PATTERN = (
    "^(?:" + "|".join("".join(f"\\x{{{ord(c):x}}}" for c in s) for s in FORMULA_STARTS) + ")"
)
_US_PER_DAY = 86_400_000_000
# Large strings (64-bit offsets) throughout: a batch of big JSON payloads, its quotes
# doubled, may pass 2 GiB of text, where 32-bit offsets would overflow.
_TEXT = pa.large_string()
_TEXT_KINDS = (pa.string(), pa.large_string(), pa.string_view())


def _lit(text: str) -> pa.Scalar:
    """A constant of the rendered type (Arrow's string joins refuse mixed string widths)."""
    return pa.scalar(text, _TEXT)


def neutralize_formula(text: str) -> str:
    """Prefix `'` to text a spreadsheet would run as a formula (OWASP's advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def format_cell(value: Any) -> str:
    """One CSV cell: quoted text, bare numbers, `null` for a missing value.

    The reference for single values (price history, tests); `render_column` must agree.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        value = format_timestamp(value)
    text = neutralize_formula(str(value))
    return '"' + text.replace('"', '""') + '"'


def _render_text(array: pa.Array) -> pa.Array:
    text = pc.cast(array, _TEXT)  # string -> large_string shares the character buffer
    escaped = pc.replace_substring(text, '"', '""')
    formula = pc.match_substring_regex(text, _FORMULA_PATTERN)
    opening = pc.if_else(formula, _lit("\"'"), _lit('"'))
    return pc.binary_join_element_wise(opening, escaped, _lit('"'), _lit(""))


def _render_timestamp(array: pa.Array) -> pa.Array:
    """`"YYYY-MM-DDTHH:MM:SS[.ffffff with trailing zeros cut]Z"` as format_timestamp writes.

    Integer arithmetic, not `strftime`, which is four times slower here. The date comes
    from a date32 cast (four-digit years down to 0001); the time of day is packed into
    one integer `1HHMMSSffffff` whose leading 1 keeps the zeros, then cut into fields.
    """
    utc = pc.cast(array, pa.timestamp("us", tz="UTC"))  # other zones: same instants
    days = pc.cast(utc, pa.date32())  # floors, also before 1970
    micros = pc.cast(utc, pa.int64())
    day_start = pc.multiply(pc.cast(pc.cast(days, pa.int32()), pa.int64()), _US_PER_DAY)
    of_day = pc.subtract(micros, day_start)
    hours = pc.divide(of_day, 3_600_000_000)
    rest = pc.subtract(of_day, pc.multiply(hours, 3_600_000_000))
    minutes = pc.divide(rest, 60_000_000)
    rest = pc.subtract(rest, pc.multiply(minutes, 60_000_000))  # seconds and micros
    packed = pc.add(pc.multiply(pc.add(pc.multiply(pc.add(hours, 100), 100), minutes), 10**8), rest)
    clock = pc.replace_substring_regex(
        pc.cast(packed, _TEXT), r"^1(\d\d)(\d\d)(\d\d)(\d{6})$", r"\1:\2:\3.\4"
    )
    # "12:00:10.500000" -> "12:00:10.5"; "12:00:10.000000" -> "12:00:10." -> "12:00:10".
    clock = pc.utf8_rtrim(pc.utf8_rtrim(clock, characters="0"), characters=".")
    date = pc.cast(days, _TEXT)
    return pc.binary_join_element_wise(_lit('"'), date, _lit("T"), clock, _lit('Z"'), _lit(""))


def _render_by_cell(array: pa.Array) -> pa.Array:
    """Any other type, through the reference (nulls stay null for the final join)."""
    return pa.array([None if v is None else format_cell(v) for v in array.to_pylist()], type=_TEXT)


def render_column(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The CSV cells of one column as large strings; a missing value stays null."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if kind in _TEXT_KINDS:
        return _render_text(array)
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return pc.cast(array, _TEXT)  # "-9223372036854775808", "true", "false"
    if pa.types.is_timestamp(kind) and kind.unit in ("s", "ms", "us"):
        return _render_timestamp(array)
    if pa.types.is_null(kind):
        return pa.nulls(len(array), _TEXT)
    return _render_by_cell(array)


def render_lines(arrays: Sequence[pa.Array | pa.ChunkedArray]) -> pa.Buffer:
    """CSV lines (cells joined by `,`, each line ended by CRLF) of equal-length columns.

    An Arrow buffer rather than bytes: a file can take it as is, without a 100 MB copy.
    """
    if not arrays or len(arrays[0]) == 0:
        return pa.py_buffer(b"")
    cells = [render_column(a) for a in arrays]
    nulls = {"null_handling": "replace", "null_replacement": "null"}
    cells[-1] = pc.binary_join_element_wise(cells[-1], _lit("\r\n"), _lit(""), **nulls)
    lines = pc.binary_join_element_wise(*cells, _lit(","), **nulls)
    # The lines lie end to end in the character buffer: the file is one slice of it.
    _, offsets, chars = lines.buffers()
    bounds = memoryview(offsets).cast("q")  # int64 offsets, native byte order
    start, end = bounds[lines.offset], bounds[lines.offset + len(lines)]
    return chars.slice(start, end - start)
