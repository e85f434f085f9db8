"""Where the bucket is: configuration only, so reading it never loads boto3.

boto3 and botocore take about a fifth of a Dagster process's imports; a deployment on
local storage never needs them (core/storage/s3_storage.py loads them when used).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket is (the TestOps variable names)."""

    bucket: str
    endpoint: str | None
    access_key: str | None
    secret_key: str | None
    region: str = "us-east-1"
    prefix: str = ""
    sse: str = ""  # server-side encryption asked of the bucket: "", AES256 or aws:kms

    @classmethod
    def from_values(
        cls,
        bucket: str,
        endpoint: str,
        access_key: str,
        secret_key: str,
        region: str,
        sse: str = "",
    ) -> S3Settings:
        """From configuration strings, where empty means "not set"."""
        return cls(bucket, endpoint or None, access_key or None, secret_key or None,
                   region or "us-east-1", sse=sse)  # fmt: skip
