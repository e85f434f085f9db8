"""Ids and hashes of row lines in the export's own form, a block of lines at a time.

A line that starts `{"id":"<36 id characters>"` gives its id by position; numpy checks
a whole block's starts at once and Arrow takes the ids without a Python object per row,
so the only work per row left in Python is its MD5.
"""

from __future__ import annotations

from operator import methodcaller

import numpy as np
import pyarrow as pa

from bgw_pipeline.core.files.digests import fast_md5

_HEAD_PREFIX = np.frombuffer(b'{"id":"', dtype=np.uint8)
_ID_BYTES = np.zeros(256, dtype=bool)
_ID_BYTES[np.frombuffer(b"0123456789abcdefABCDEF-", dtype=np.uint8)] = True


def fixed_width_strings(values: np.ndarray) -> pa.StringArray:
    """An Arrow string array over a numpy array of equal-width ASCII values, no copy per row."""
    width, count = values.dtype.itemsize, len(values)
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(values))


def line_key_batch(texts: list[bytes]) -> pa.RecordBatch | None:
    """The batch of rows whose lines all start `{"id":"<id>"`, with no Python loop per row
    beyond slicing and hashing; None otherwise (then the caller goes line by line)."""
    grid = canonical_heads(texts)
    if grid is None:
        return None
    ids = fixed_width_strings(np.ascontiguousarray(grid[:, 7:43]).view("S36").ravel())
    hexdigest = methodcaller("hexdigest")
    hashes = fixed_width_strings(np.array(list(map(hexdigest, map(fast_md5, texts))), "S32"))
    return pa.RecordBatch.from_arrays(
        [ids, hashes, pa.nulls(len(texts), pa.string())], names=["id", "h", "nk"]
    )


def canonical_heads(texts: list[bytes]) -> np.ndarray | None:
    """Each text's first 44 bytes as a (rows, 44) grid when every one starts
    `{"id":"<36 id characters>"`, else None. numpy pads a short head with NUL bytes,
    which fail the checks."""
    heads = np.array([t[:44] for t in texts], dtype="S44")
    if heads.dtype.itemsize != 44:
        return None
    grid = heads.view(np.uint8).reshape(len(texts), 44)
    canonical = (
        (grid[:, :7] == _HEAD_PREFIX).all()
        and (grid[:, 43] == ord('"')).all()
        and _ID_BYTES[grid[:, 7:43]].all()
    )
    return grid if canonical else None
