"""Refusing unsafe and broken archives, and verifying good ones."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from bgw_pipeline.core.archive.format import check_version
from bgw_pipeline.core.archive.reader import ArchiveLimits, open_archive, verify_archive
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.model.entities import GAMES
from bgw_pipeline.core.model.errors import (
    ArchiveError,
    ArchiveTooLargeError,
    ChecksumMismatchError,
    IncompatibleVersionError,
)
from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive, seed_archive
from bgw_pipeline_tests.factories import small_database


def _rezip(source: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in change:
                continue
            zout.writestr(info, zin.read(info))
        for name, data in change.items():
            if data is not None:
                zout.writestr(name, data)
    return target


def patch_declared_size(path: Path, member: str, size: int) -> None:
    """Make the central directory lie about a member's uncompressed size."""
    data = bytearray(path.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        name_len = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_len] == member.encode():
            struct.pack_into("<I", data, start + 24, size)
            path.write_bytes(bytes(data))
            return
        start += 4
    raise AssertionError(f"{member} not found")


def test_an_exported_archive_verifies(engine: sa.Engine, tmp_path: Path) -> None:
    counts = small_database(engine)
    result = export_database(engine, tmp_path, include_raw_data=True)
    report = verify_archive(result.path)
    assert report.ok, report.problems
    assert report.counts == counts
    assert report.checksum == result.checksum


def test_the_seed_documents_archive_without_files_key_verifies(tmp_path: Path) -> None:
    report = verify_archive(seed_archive(tmp_path / "seed.zip"))
    assert report.ok, report.problems
    assert report.counts == {"games": 1, "rules": 1, "events": 1, "price_history": 0}


def test_rows_are_read_from_pretty_printed_and_compact_layouts(tmp_path: Path) -> None:
    with open_archive(seed_archive(tmp_path / "seed.zip")) as reader:
        rows = [row for chunk in reader.iter_rows(GAMES) for row in chunk]
    assert rows == [SEED_GAME]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is a text file, not a zip", "not a ZIP"),
    ],
)
def test_not_a_zip_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.zip"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match=message), open_archive(path):
        pass


def test_a_truncated_zip_is_refused(tmp_path: Path) -> None:
    good = seed_archive(tmp_path / "seed.zip").read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ArchiveError, match="not a ZIP"), open_archive(path):
        pass


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.json", r"'\.\.'"),
        ("/etc/passwd", "absolute"),
        ("raw_data\\listings\\x.json", "backslash"),
        ("notes.txt", "unexpected member"),
        ("Games.json", "unexpected member"),
        ("other_dir/", "directories"),
    ],
)
def test_unsafe_or_unknown_member_names_are_refused(
    tmp_path: Path, name: str, message: str
) -> None:
    path = seed_archive(tmp_path / "seed.zip")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(name, b"{}")
    with pytest.raises(ArchiveError, match=message), open_archive(path):
        pass


def test_a_symlink_member_is_refused(tmp_path: Path) -> None:
    path = seed_archive(tmp_path / "seed.zip")
    info = zipfile.ZipInfo("raw_data/raw_items.json")
    info.external_attr = 0o120777 << 16
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(info, b"/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link"), open_archive(path):
        pass


def test_an_archive_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = seed_archive(tmp_path / "seed.zip")
    limits = ArchiveLimits(max_archive_bytes=100)
    with pytest.raises(ArchiveTooLargeError, match="limit"), open_archive(path, limits):
        pass


def test_a_zip_bomb_is_refused_by_its_declared_sizes(tmp_path: Path) -> None:
    bomb = b'{"games": [' + b" " * 5_000_000 + b"]}"
    path = build_archive(tmp_path / "bomb.zip", replace_members={"games.json": bomb})
    with pytest.raises(ArchiveTooLargeError, match="unpack"), open_archive(path):
        pass


def test_a_bomb_whose_header_lies_is_stopped_while_reading(tmp_path: Path) -> None:
    bomb = b'{"games": [' + b" " * 5_000_000 + b"]}"
    path = build_archive(tmp_path / "liar.zip", replace_members={"games.json": bomb})
    patch_declared_size(path, "games.json", 1000)
    with open_archive(path) as reader, pytest.raises(ArchiveError, match="games.json"):
        list(reader.iter_rows(GAMES))


def test_a_member_whose_header_overstates_its_size_is_refused(tmp_path: Path) -> None:
    path = seed_archive(tmp_path / "seed.zip")
    patch_declared_size(path, "games.json", 5000)
    with open_archive(path) as reader, pytest.raises(ArchiveError, match="games.json"):
        list(reader.iter_rows(GAMES))


def test_a_changed_member_is_named_in_the_checksum_error(tmp_path: Path) -> None:
    good = seed_archive(tmp_path / "seed.zip", with_files=True)
    changed = SEED_GAME | {"price": 1}
    path = _rezip(good, tmp_path / "changed.zip", {"games.json": None})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("games.json", json.dumps({"games": [changed]}).encode())
    report = verify_archive(path)
    assert not report.ok
    assert any(p.startswith("games.json") for p in report.problems), report.problems
    with open_archive(path) as reader, pytest.raises(ChecksumMismatchError, match="games.json"):
        reader.require_verified()


def test_without_files_key_a_changed_member_breaks_the_manifest_checksum(tmp_path: Path) -> None:
    good = seed_archive(tmp_path / "seed.zip")
    path = _rezip(good, tmp_path / "changed.zip", {"rules.json": b'{"rules": []}'})
    report = verify_archive(path)
    assert not report.ok
    assert any("checksum" in p for p in report.problems)


def test_malformed_json_names_the_member(tmp_path: Path) -> None:
    path = build_archive(
        tmp_path / "bad.zip", replace_members={"games.json": b'{"games": [{"id": '}
    )
    with open_archive(path) as reader, pytest.raises(ArchiveError, match="games.json"):
        list(reader.iter_rows(GAMES))


def test_missing_metadata_is_refused(tmp_path: Path) -> None:
    path = _rezip(seed_archive(tmp_path / "s.zip"), tmp_path / "m.zip", {"metadata.json": None})
    with pytest.raises(ArchiveError, match="metadata.json is missing"), open_archive(path):
        pass


def test_missing_member_is_reported(tmp_path: Path) -> None:
    path = _rezip(seed_archive(tmp_path / "s.zip"), tmp_path / "m.zip", {"events.json": None})
    report = verify_archive(path)
    assert "member events.json is missing" in report.problems


@pytest.mark.parametrize(
    ("version", "compatible", "match", "warnings"),
    [
        ("1.0.0", True, True, []),
        ("1.1.0", True, False, ["Import from newer version 1.1.0"]),
        ("1.0.7", True, False, ["Import from newer version 1.0.7"]),
        ("2.0.0", False, False, None),
        ("0.9.0", False, False, None),
        ("banana", False, False, None),
        (None, False, False, None),
    ],
)
def test_versions(
    version: object, compatible: bool, match: bool, warnings: list[str] | None
) -> None:
    result = check_version(version)
    assert result[:2] == (compatible, match)
    if warnings is not None:
        assert result[2] == warnings


def test_an_incompatible_archive_is_refused_on_import(tmp_path: Path) -> None:
    path = seed_archive(tmp_path / "v2.zip", version="2.0.0")
    error = pytest.raises(IncompatibleVersionError, match="major version 2.0.0")
    with open_archive(path) as reader, error:
        reader.require_compatible()


def test_reading_a_member_again_does_not_count_twice_against_the_unpack_limit() -> None:
    from bgw_pipeline.core.archive.safety import UnpackBudget
    from bgw_pipeline.core.model.errors import ArchiveTooLargeError

    budget = UnpackBudget(limit=1000)
    for _pass in range(3):  # verify, then keys, then rows: the same 800 bytes each time
        for read_so_far in (400, 800):
            budget.spend("games.json", read_so_far)
    assert budget.used == 800
    try:
        budget.spend("rules.json", 300)
    except ArchiveTooLargeError as exc:
        assert "rules.json" in str(exc)
    else:
        raise AssertionError("1100 bytes in all must be over the 1000-byte limit")
