"""The restore drill passes on a good archive and fails on a corrupted one."""

from __future__ import annotations

import zipfile
from pathlib import Path

import sqlalchemy as sa

from bgw_pipeline.core.archive.reader import ArchiveLimits, verify_archive
from bgw_pipeline.core.backup.restore_drill import run_restore_drill
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.storage.archive_storage import LocalStorage
from bgw_pipeline_tests.factories import small_database


def test_a_good_archive_restores_and_is_marked_restorable(
    engine: sa.Engine, tmp_path: Path
) -> None:
    counts = small_database(engine)
    archive = export_database(engine, tmp_path, include_raw_data=True).path
    storage = LocalStorage(archive.parent)
    report = run_restore_drill(storage, archive.name)
    assert report.passed, report.problems
    assert report.counts == counts
    assert report.restored_checksum == report.checksum
    assert storage.read_status(archive.name).restorable is True
    # The load's own pass verified the archive, as the verification alone does.
    assert report.verification == verify_archive(archive, ArchiveLimits.unlimited())
    assert report.verification is not None and report.verification.ok


def test_a_corrupted_archive_fails_the_drill(engine: sa.Engine, tmp_path: Path) -> None:
    small_database(engine)
    archive = export_database(engine, tmp_path / "a", include_raw_data=False).path
    broken = tmp_path / "bgw_backup_20240101T000000Z.zip"
    with (
        zipfile.ZipFile(archive) as zin,
        zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "games.json":
                data = data.replace("Громкое".encode(), "Тихое".encode())
            zout.writestr(info, data)
    storage = LocalStorage(tmp_path)
    report = run_restore_drill(storage, broken.name)
    assert not report.passed
    assert any("games.json" in p for p in report.problems), report.problems
    assert storage.read_status(broken.name).restorable is False
    alone = verify_archive(broken, ArchiveLimits.unlimited())
    assert report.verification == alone and not alone.ok
