"""Resolving what an import is asked to read: a local path or an `s3://` URI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bgw_pipeline.core.model.errors import NotFoundError
from bgw_pipeline.core.storage.archive_storage import LocalStorage, check_archive_name

if TYPE_CHECKING:
    from bgw_pipeline.core.storage.s3_settings import S3Settings


@contextmanager
def archive_source(uri: str, s3: S3Settings | None = None) -> Iterator[Path]:
    """A local file with the archive's bytes, marked as being read while the block runs.

    Args:
        uri: a file path, or `s3://bucket/key` (downloaded to a private temporary folder).
        s3: endpoint and credentials for `s3://` URIs (the bucket comes from the URI).
    """
    if uri.startswith("s3://"):
        # boto3 takes a tenth of a second to import: only an S3 import pays for it.
        from bgw_pipeline.core.storage.s3_storage import S3Settings, S3Storage, parse_s3_uri

        bucket, key = parse_s3_uri(uri)
        prefix, _, name = key.rpartition("/")
        settings = replace(s3 or S3Settings(bucket, None, None, None), bucket=bucket,
                           prefix=f"{prefix}/" if prefix else "")  # fmt: skip
        storage = S3Storage(settings)
        with storage.reading(name), storage.local_copy(name) as path:
            yield path
        return
    path = Path(uri)
    if not path.is_file():
        raise NotFoundError(f"no archive at {uri}")
    try:
        check_archive_name(path.name)
        marker = LocalStorage(path.parent).reading(path.name)
    except NotFoundError:  # not one of ours by name (an inbox upload): nothing to guard
        marker = None
    if marker is None:
        yield path
        return
    with marker:
        yield path
