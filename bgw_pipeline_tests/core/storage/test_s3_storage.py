"""S3 storage against a real S3-compatible server on loopback (moto server)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from bgw_pipeline.core.archive.format import archive_name
from bgw_pipeline.core.model.errors import ConfigError, NotFoundError, TransientError
from bgw_pipeline.core.storage.catalog import apply_retention, list_archives
from bgw_pipeline.core.storage.retention import RetentionPolicy
from bgw_pipeline.core.storage.s3_storage import S3Settings, S3Storage
from bgw_pipeline.core.storage.source import archive_source
from bgw_pipeline_tests.s3_server import SECRET_KEY, moto_server, new_bucket

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def _archive(folder: Path, days_ago: int, size: int = 1000) -> Path:
    path = folder / archive_name(NOW - timedelta(days=days_ago))
    path.write_bytes(os.urandom(size))
    return path


def test_store_multipart_list_status_download_delete(s3_endpoint: str, tmp_path: Path) -> None:
    storage = S3Storage(new_bucket(s3_endpoint))
    big = _archive(tmp_path, 0, size=9 * 1024 * 1024)  # over the multipart threshold
    content = big.read_bytes()
    location = storage.store(big)
    assert location == f"s3://{storage.settings.bucket}/{big.name}"
    assert not big.exists(), "with S3 on, the archive lives only in the bucket"
    (listed,) = storage.list_archives()
    assert listed.name == big.name and listed.size_bytes == len(content)
    storage.update_status(big.name, verified=True)
    assert storage.read_status(big.name).good
    with storage.local_copy(big.name) as local:
        assert local.read_bytes() == content
    assert not local.exists(), "downloads are temporary"
    storage.delete(big.name)
    assert storage.list_archives() == []
    assert storage.read_status(big.name).verified is None


def test_retention_in_s3_keeps_the_newest_good_and_in_use(s3_endpoint: str, tmp_path: Path) -> None:
    storage = S3Storage(new_bucket(s3_endpoint))
    names = [storage.store(_archive(tmp_path, d)).rsplit("/", 1)[1] for d in (1, 40, 50, 60)]
    storage.update_status(names[3], verified=True)
    names_by_age = dict(zip((1, 40, 50, 60), names, strict=True))
    # list_archives dates come from the names; pretend "now" is NOW.
    with storage.reading(names_by_age[50]):
        dry = apply_retention(storage, RetentionPolicy(days=30), NOW, dry_run=True)
        assert [d.entry.name for d in dry if not d.keep] == [names_by_age[40]]
        apply_retention(storage, RetentionPolicy(days=30), NOW, dry_run=False)
    assert sorted(e.name for e in list_archives(storage)) == sorted(
        [names_by_age[1], names_by_age[50], names_by_age[60]]
    )


def test_imports_read_s3_uris(s3_endpoint: str, tmp_path: Path) -> None:
    settings = new_bucket(s3_endpoint)
    storage = S3Storage(settings)
    archive = _archive(tmp_path, 0)
    content = archive.read_bytes()
    uri = storage.store(archive)
    with archive_source(uri, settings) as local:
        assert local.read_bytes() == content
        assert storage.in_use() == {archive.name}
    assert storage.in_use() == set()
    with pytest.raises(NotFoundError), archive_source(uri + ".missing", settings):
        pass


def test_a_missing_bucket_is_a_clear_permanent_error(s3_endpoint: str, tmp_path: Path) -> None:
    settings = new_bucket(s3_endpoint)
    storage = S3Storage(S3Settings("no-such-bucket-here", s3_endpoint, "a", SECRET_KEY))
    with pytest.raises(ConfigError, match="NoSuchBucket") as caught:
        storage.store(_archive(tmp_path, 0))
    assert SECRET_KEY not in str(caught.value)
    assert settings.bucket  # the server itself is fine


def test_a_stopped_server_is_a_transient_error(tmp_path: Path) -> None:
    with moto_server() as endpoint:
        settings = new_bucket(endpoint)
    storage = S3Storage(settings)
    with pytest.raises(TransientError) as caught:
        storage.list_archives()
    assert SECRET_KEY not in str(caught.value)
    assert boto3  # imported for the server helper


def test_sealed_archives_in_s3_are_checked_encrypted_and_opened(
    s3_endpoint: str, tmp_path: Path
) -> None:
    """With a key the bucket holds only age's ciphertext; the server checked each part's
    SHA-256 and applied server-side encryption; a copy comes back as the plain ZIP."""
    from dataclasses import replace

    from bgw_pipeline.core.files.sealing import AGE_HEADER, write_key_file

    key = write_key_file(tmp_path / "archive.key")
    settings = replace(new_bucket(s3_endpoint), sse="AES256")
    storage = S3Storage(settings, key=key)
    big = _archive(tmp_path, 0, size=9 * 1024 * 1024)
    content = big.read_bytes()
    storage.store(big)
    client = storage.client
    head = client.head_object(Bucket=settings.bucket, Key=big.name, ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "AES256"
    assert head.get("ChecksumSHA256"), "the server was asked to check SHA-256"
    stored = client.get_object(Bucket=settings.bucket, Key=big.name)["Body"].read()
    assert stored.startswith(AGE_HEADER) and content[:4096] not in stored
    with storage.local_copy(big.name) as local:
        assert local.read_bytes() == content
    with pytest.raises(Exception, match="BGW_ARCHIVE_KEY_FILE"):  # noqa: SIM117
        with S3Storage(settings).local_copy(big.name):
            pass


def test_a_bucket_that_does_not_encrypt_is_an_error_and_the_archive_is_kept(
    s3_endpoint: str, tmp_path: Path
) -> None:
    """S3_SSE asks for server-side encryption; a server that stores the object without
    it (its answer carries no ServerSideEncryption) fails the store, and the local
    archive stays where it was."""
    from dataclasses import replace

    settings = replace(new_bucket(s3_endpoint), sse="AES256")
    storage = S3Storage(settings)

    def without_encryption(parsed: dict[str, object], **_: object) -> None:
        parsed.pop("ServerSideEncryption", None)

    storage.client.meta.events.register("after-call.s3.HeadObject", without_encryption)
    archive = _archive(tmp_path, 0)
    with pytest.raises(TransientError, match=r"did not apply server-side encryption AES256"):
        storage.store(archive)
    assert archive.exists(), "the only copy is kept when the bucket did not encrypt it"
