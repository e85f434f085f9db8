"""Archives in an S3-compatible bucket (AWS S3, MinIO, Yandex Object Storage, ...).

Uploads are multipart for large files and verified: after the upload the object's size
and the SHA-256 recorded in its metadata must match the local file, or the upload is
an error. Errors from the service are transient (retried), except a missing bucket or
refused credentials, which no retry can fix. Secrets never appear in messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bgw_pipeline.core.files.digests import file_sha256
from bgw_pipeline.core.files.sealing import ArchiveKey
from bgw_pipeline.core.model.errors import ConfigError, NotFoundError, TransientError
from bgw_pipeline.core.storage.archive_storage import (
    STATUS_SUFFIX,
    ArchiveStorage,
    StoredArchive,
    check_archive_name,
    is_archive_name,
    temporary_download,
)
from bgw_pipeline.core.storage.s3_settings import S3Settings

MULTIPART = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
PERMANENT_CODES = {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


class StorageError(TransientError):
    """The object storage failed in a way that may pass (network, 5xx, timeouts)."""


class S3Storage(ArchiveStorage):
    """Archives as objects `<prefix><name>` in one bucket."""

    def __init__(
        self, settings: S3Settings, client: Any | None = None, key: ArchiveKey | None = None
    ) -> None:
        if not settings.bucket:
            raise ConfigError("S3_ENABLED is true but S3_BUCKET is empty")
        self.settings = settings
        self.key = key
        self.description = f"s3://{settings.bucket}/{settings.prefix}"
        self.client = client or boto3.client(
            "s3",
            endpoint_url=settings.endpoint or None,
            aws_access_key_id=settings.access_key or None,
            aws_secret_access_key=settings.secret_key or None,
            region_name=settings.region or None,
            # A stalled server fails an attempt after 60 s without a byte (read_timeout);
            # 500s and timeouts are tried 3 times, then the run's own retry takes over.
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
            ),
        )

    def _key(self, name: str) -> str:
        return f"{self.settings.prefix}{name}"

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = f"S3 {doing} failed in {self.description}: {code or 'error'}"
            if code in PERMANENT_CODES:
                raise ConfigError(message) from None
            raise StorageError(message) from None
        except S3UploadFailedError as exc:  # upload_file wraps the service's error
            cause = exc.__context__
            code = (
                cause.response.get("Error", {}).get("Code", "")
                if isinstance(cause, ClientError)
                else ""
            )
            message = f"S3 {doing} failed in {self.description}: {code or 'upload failed'}"
            if code in PERMANENT_CODES:
                raise ConfigError(message) from None
            raise StorageError(message) from None
        except BotoCoreError as exc:
            raise StorageError(
                f"S3 {doing} failed in {self.description}: {type(exc).__name__}"
            ) from None

    def location(self, name: str) -> str:
        return f"s3://{self.settings.bucket}/{self._key(name)}"

    def list_archives(self) -> list[StoredArchive]:
        found = []
        with self.errors("listing"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.settings.bucket, Prefix=self.settings.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"].removeprefix(self.settings.prefix)
                    if is_archive_name(name):
                        found.append(
                            StoredArchive(name, item["Size"], item["LastModified"].timestamp())
                        )
        return found

    def _upload_args(self, sha: str) -> dict[str, str | dict[str, str]]:
        """The server checks each part's SHA-256 as it receives it (ChecksumAlgorithm);
        the whole file's SHA-256 goes in the metadata for the check after the upload."""
        args: dict[str, str | dict[str, str]] = {
            "Metadata": {"sha256": sha},
            "ContentType": "application/octet-stream" if self.key else "application/zip",
            "ChecksumAlgorithm": "SHA256",
        }
        if self.settings.sse:
            args["ServerSideEncryption"] = self.settings.sse
        return args

    def store(self, local: Path) -> str:
        key = self._key(local.name)
        with self._bytes_to_store(local) as upload:
            sha = file_sha256(upload)
            with self.errors(f"upload of {local.name}"):
                self.client.upload_file(
                    str(upload), self.settings.bucket, key,
                    ExtraArgs=self._upload_args(sha), Config=MULTIPART,
                )  # fmt: skip
                head = self.client.head_object(Bucket=self.settings.bucket, Key=key)
            size = upload.stat().st_size
        if head["ContentLength"] != size or head["Metadata"].get("sha256") != sha:
            raise StorageError(f"upload of {local.name} did not verify (size or SHA-256 differ)")
        if self.settings.sse and head.get("ServerSideEncryption") != self.settings.sse:
            raise StorageError(
                f"upload of {local.name}: the bucket did not apply server-side encryption "
                f"{self.settings.sse} (S3_SSE)"
            )
        local.unlink()  # with S3 on, archives live only in the bucket (TestOps)
        return self.location(local.name)

    def delete(self, name: str) -> None:
        self._delete_object(check_archive_name(name))
        self._delete_object(name + STATUS_SUFFIX)

    def _read_object(self, key: str) -> bytes | None:
        try:
            with self.errors(f"read of {key}"):
                body = self.client.get_object(Bucket=self.settings.bucket, Key=self._key(key))
                return bytes(body["Body"].read())
        except StorageError:
            if self._exists(key):
                raise
            return None

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.settings.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True

    def _write_object(self, key: str, data: bytes) -> None:
        with self.errors(f"write of {key}"):
            self.client.put_object(Bucket=self.settings.bucket, Key=self._key(key), Body=data)

    def _delete_object(self, key: str) -> None:
        with self.errors(f"delete of {key}"):
            self.client.delete_object(Bucket=self.settings.bucket, Key=self._key(key))

    def _list_keys(self, prefix: str) -> list[tuple[str, float]]:
        keys = []
        with self.errors("listing"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.settings.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    keys.append(
                        (
                            item["Key"].removeprefix(self.settings.prefix),
                            item["LastModified"].timestamp(),
                        )
                    )
        return keys

    @contextmanager
    def _stored_copy(self, name: str) -> Iterator[Path]:
        if "/" in name or name.startswith("."):
            raise NotFoundError(f"no archive named {name[:80]!r}")
        if not self._exists(name):
            raise NotFoundError(f"no archive {self.location(name)}")
        with temporary_download() as folder:
            target = folder / name
            with self.errors(f"download of {name}"):
                self.client.download_file(self.settings.bucket, self._key(name), str(target))
            yield target


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of `s3://bucket/key`."""
    rest = uri.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise ConfigError(f"not an s3:// URI of an object: {uri[:120]!r}")
    return bucket, key
