"""An import inbox in an S3-compatible bucket: `s3://bucket/prefix/` and its apply/."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from bgw_pipeline.core.storage.inbox import (
    APPLY_DIR,
    FAILED_DIR,
    PROCESSED_DIR,
    Inbox,
    InboxFile,
    failure_report,
)
from bgw_pipeline.core.storage.s3_storage import S3Settings, S3Storage, parse_s3_uri


class S3Inbox(Inbox):
    """Objects directly under the prefix are dry runs, those under `apply/` are applied."""

    def __init__(self, uri: str, s3: S3Settings) -> None:
        bucket, prefix = parse_s3_uri(uri.rstrip("/") + "/x")
        self.prefix = prefix[:-1]  # "inbox/" (the "x" only satisfied the parser)
        self.storage = S3Storage(replace(s3, bucket=bucket, prefix=""))
        self.description = f"s3://{bucket}/{self.prefix}"

    def _uri(self, key: str) -> str:
        return f"s3://{self.storage.settings.bucket}/{key}"

    def scan(self) -> list[InboxFile]:
        found = []
        client, bucket = self.storage.client, self.storage.settings.bucket
        for sub, apply in ((self.prefix, False), (f"{self.prefix}{APPLY_DIR}/", True)):
            with self.storage.errors("listing the inbox"):
                pages = client.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=sub, Delimiter="/"
                )
                for page in pages:
                    for item in page.get("Contents", []):
                        name = item["Key"].removeprefix(sub)
                        if not name or name.startswith(".") or name.endswith(".report.json"):
                            continue
                        mtime = int(item["LastModified"].timestamp() * 1e9)
                        found.append(
                            InboxFile(self._uri(item["Key"]), name, apply, item["Size"], mtime)
                        )
        return sorted(found, key=lambda f: (f.mtime_ns, f.name))

    def sha256(self, file: InboxFile) -> str:
        _bucket, key = parse_s3_uri(file.location)
        digest = hashlib.sha256()
        with self.storage.errors(f"reading {file.name}"):
            body = self.storage.client.get_object(Bucket=self.storage.settings.bucket, Key=key)[
                "Body"
            ]
            for chunk in iter(lambda: body.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def settle(
        self, location: str, succeeded: bool, report: Path | None, failure: str | None
    ) -> str | None:
        if not location.startswith(self.description):
            return None
        _bucket, key = parse_s3_uri(location)
        name = key.rsplit("/", 1)[-1]
        target = f"{self.prefix}{PROCESSED_DIR if succeeded else FAILED_DIR}/{name}"
        client, bucket = self.storage.client, self.storage.settings.bucket
        body = (
            report.read_bytes()
            if report is not None and report.exists()
            else failure_report(name, failure)
        )
        with self.storage.errors(f"moving {name}"):
            client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
            client.delete_object(Bucket=bucket, Key=key)
            client.put_object(Bucket=bucket, Key=f"{target}.report.json", Body=body)
        return self._uri(target)
