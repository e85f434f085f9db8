"""Every bad archive is refused with a message naming the problem, and changes nothing."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from bgw_pipeline.core.archive.reader import ArchiveLimits
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.errors import ArchiveError
from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive, seed_archive
from bgw_pipeline_tests.factories import dump_database, small_database


def _not_zip(path: Path) -> Path:
    path.write_text("definitely not a zip")
    return path


def _dotdot(path: Path) -> Path:
    seed_archive(path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("../../outside.json", "{}")
    return path


def _empty_name(path: Path) -> Path:
    seed_archive(path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(zipfile.ZipInfo(""), "{}")
    return path


def _missing_member(path: Path) -> Path:
    good = seed_archive(path.with_name("good.zip"))
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            if info.filename != "rules.json":
                zout.writestr(info, zin.read(info))
    return path


def _bad_checksum(path: Path) -> Path:
    good = seed_archive(path.with_name("good.zip"), with_files=True)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "games.json":
                data = json.dumps({"games": [SEED_GAME | {"price": 1}]}).encode()
            zout.writestr(info, data)
    return path


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not a zip": (_not_zip, "not a ZIP"),
    "path traversal": (_dotdot, r"'\.\.'"),
    "missing member": (_missing_member, "rules.json"),
    "empty member name": (_empty_name, "empty name"),
    "malformed json": (
        lambda p: build_archive(p, replace_members={"games.json": b'{"games": [{'}),
        "games.json",
    ),
    "checksum mismatch": (_bad_checksum, "games.json"),
    "major version": (lambda p: seed_archive(p, version="2.0.0"), "major version"),
    "zip bomb": (
        lambda p: build_archive(p, replace_members={"games.json": b" " * 8_000_000}),
        "unpack",
    ),
    "duplicate ids": (
        lambda p: build_archive(p, games=[SEED_GAME, SEED_GAME | {"normalized_title": "x"}]),
        "more than once",
    ),
    "wrong wrapper": (
        lambda p: build_archive(p, replace_members={"rules.json": b'{"games": []}'}),
        "rules.json",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_archives_are_refused_and_change_nothing(
    engine: sa.Engine, tmp_path: Path, case: str, dry_run: bool
) -> None:
    small_database(engine)
    make, message = CASES[case]
    archive = make(tmp_path / "bad.zip")
    before = dump_database(engine)
    with pytest.raises(ArchiveError, match=message):
        run_import(
            engine, archive, ImportFolders(tmp_path / "work"), ImportOptions(dry_run=dry_run)
        )
    assert dump_database(engine) == before
    assert not (tmp_path.parent / "outside.json").exists()


def test_an_archive_over_the_configured_limit_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    archive = seed_archive(tmp_path / "seed.zip")
    options = ImportOptions(dry_run=False, limits=ArchiveLimits(max_archive_bytes=200))
    with pytest.raises(ArchiveError, match="over the 0 MB limit|limit"):
        run_import(engine, archive, ImportFolders(tmp_path / "work"), options)
