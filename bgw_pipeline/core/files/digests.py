"""Digests: the SHA-256 that names a file (saved plans, the inbox, S3 uploads), and the MD5
that row fingerprints use (compare/row_keys.py, compare/line_keys.py)."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

try:
    # CPython's own MD5 costs half of OpenSSL's on rows of a few hundred bytes (less set-up
    # per call); the first pass of an import hashes millions of them.
    from _md5 import md5 as fast_md5
except ImportError:  # pragma: no cover - an interpreter built without it
    fast_md5 = partial(hashlib.md5, usedforsecurity=False)

__all__ = ["fast_md5", "file_sha256"]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
