"""Archives sealed at rest: the round trip, and every way opening one must refuse."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from bgw_pipeline.core.files.sealing import ArchiveKey, is_sealed, opened, seal, write_key_file
from bgw_pipeline.core.model.errors import ArchiveError, ConfigError


def _sealed(tmp_path: Path, key: ArchiveKey, content: bytes) -> Path:
    plain = tmp_path / "plain.zip"
    plain.write_bytes(content)
    out = io.BytesIO()
    seal(plain, out, key)
    path = tmp_path / "bgw_backup_20261207T000000Z.zip"
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture
def key(tmp_path: Path) -> ArchiveKey:
    return write_key_file(tmp_path / "archive.key")


def test_a_sealed_archive_opens_to_the_same_bytes_in_a_private_file_removed_after(
    tmp_path: Path, key: ArchiveKey
) -> None:
    content = os.urandom(300_000)  # several of age's 64 KiB chunks
    sealed = _sealed(tmp_path, key, content)
    assert is_sealed(sealed) and content not in sealed.read_bytes()
    with opened(sealed, ArchiveKey.load(key.path)) as plain:
        assert plain != sealed and plain.read_bytes() == content
    assert not plain.exists()


def test_a_plain_archive_is_opened_as_it_is(tmp_path: Path, key: ArchiveKey) -> None:
    path = tmp_path / "plain.zip"
    path.write_bytes(b"PK\x03\x04 plain")
    for any_key in (None, key):
        with opened(path, any_key) as plain:
            assert plain == path


@pytest.mark.parametrize("offset", [200, 70_000, -20])  # header, a middle chunk, the tag
def test_a_flipped_byte_is_refused_and_no_plain_bytes_are_left(
    tmp_path: Path, key: ArchiveKey, offset: int
) -> None:
    sealed = _sealed(tmp_path, key, os.urandom(150_000))
    data = bytearray(sealed.read_bytes())
    data[offset] ^= 0x01
    sealed.write_bytes(bytes(data))
    entered = False
    with pytest.raises(ArchiveError, match="nothing was read from it"):  # noqa: SIM117
        with opened(sealed, key):
            entered = True
    assert not entered, "the block must not run on a changed archive"
    assert list(Path(os.environ.get("TMPDIR", "/tmp")).glob("bgw-open-*/" + sealed.name)) == []


def test_a_truncated_archive_is_refused(tmp_path: Path, key: ArchiveKey) -> None:
    sealed = _sealed(tmp_path, key, os.urandom(150_000))
    sealed.write_bytes(sealed.read_bytes()[:100_000])
    with pytest.raises(ArchiveError, match="changed or damaged"), opened(sealed, key):
        pass


def test_without_the_key_or_with_another_the_refusal_says_so(
    tmp_path: Path, key: ArchiveKey
) -> None:
    sealed = _sealed(tmp_path, key, b"rows")
    with pytest.raises(ArchiveError, match="BGW_ARCHIVE_KEY_FILE"), opened(sealed, None):
        pass
    other = write_key_file(tmp_path / "other.key")
    with pytest.raises(ArchiveError, match="another key") as refused, opened(sealed, other):
        pass
    assert "AGE-SECRET-KEY" not in str(refused.value)


def test_key_files_are_private_never_overwritten_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "k"
    key = write_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.public.startswith("age1") and key.public in path.read_text()
    with pytest.raises(FileExistsError):
        write_key_file(path)
    assert "AGE-SECRET" not in repr(key)
    for text in ("", "junk\n", "AGE-SECRET-KEY-1NOTAKEY\n", path.read_text() * 2):
        broken = tmp_path / "broken"
        broken.write_text(text)
        with pytest.raises(ConfigError, match="BGW_ARCHIVE_KEY_FILE"):
            ArchiveKey.load(broken)
    with pytest.raises(ConfigError, match="cannot read"):
        ArchiveKey.load(tmp_path / "missing")


def test_open_archive_names_a_sealed_file_as_encrypted(tmp_path: Path, key: ArchiveKey) -> None:
    from bgw_pipeline.core.archive.reader import open_archive

    sealed = _sealed(tmp_path, key, b"PK\x05\x06" + b"\0" * 18)
    with pytest.raises(ArchiveError, match=r"encrypted \(age\).*BGW_ARCHIVE_KEY_FILE"):  # noqa: SIM117
        with open_archive(sealed):
            pass
