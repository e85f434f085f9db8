"""A local storage with a key keeps archives sealed on disk, in place of the plain ZIP."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from bgw_pipeline.core.archive.format import archive_name
from bgw_pipeline.core.files.sealing import is_sealed, write_key_file
from bgw_pipeline.core.storage.archive_storage import LocalStorage


def test_store_seals_in_place_and_the_copy_is_the_plain_zip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "exports", key=write_key_file(tmp_path / "k"))
    storage.folder.mkdir()
    written = storage.folder / archive_name(datetime.now(UTC))  # where the backup writes it
    content = os.urandom(200_000)
    written.write_bytes(content)
    assert storage.store(written) == str(written)
    assert is_sealed(written) and content[:1000] not in written.read_bytes()
    (listed,) = storage.list_archives()
    assert listed.name == written.name
    with storage.local_copy(written.name) as plain:
        assert plain.read_bytes() == content
    assert [p.name for p in storage.folder.iterdir()] == [written.name], "no plain copy left"


def test_without_a_key_store_leaves_the_plain_archive(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    written = tmp_path / archive_name(datetime.now(UTC))
    written.write_bytes(b"PK\x03\x04 plain")
    storage.store(written)
    assert written.read_bytes() == b"PK\x03\x04 plain"
