"""The MD5 that row fingerprints use (row_keys.py, line_keys.py)."""

from __future__ import annotations

import hashlib
from functools import partial

try:
    # CPython's own MD5 costs half of OpenSSL's on rows of a few hundred bytes (less set-up
    # per call); the first pass of an import hashes millions of them.
    from _md5 import md5 as fast_md5
except ImportError:  # pragma: no cover - an interpreter built without it
    fast_md5 = partial(hashlib.md5, usedforsecurity=False)

__all__ = ["fast_md5"]
