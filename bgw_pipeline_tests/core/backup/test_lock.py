"""One backup at a time: a second backup of the same archives, from any process, is
refused while the first runs, and the lock goes with its holder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bgw_pipeline.core.backup.backup_database import BackupFolders, backup_database
from bgw_pipeline.core.backup.lock import one_backup_at_a_time
from bgw_pipeline.core.model.errors import BackupRunningError
from bgw_pipeline_tests.factories import small_database

HOLD = (
    "import sys, time; from pathlib import Path\n"
    "from bgw_pipeline.core.backup.lock import one_backup_at_a_time\n"
    "with one_backup_at_a_time(Path(sys.argv[1])):\n"
    "    print('held', flush=True); time.sleep(60)\n"
)


def test_a_second_backup_is_refused_while_another_process_holds_the_lock(
    engine: sa.Engine, tmp_path: Path
) -> None:
    small_database(engine)
    folders = BackupFolders(tmp_path / "archives", tmp_path / "snapshots", tmp_path / "csv")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folders.archive_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BackupRunningError, match=f"pid {holder.pid}"):
            backup_database(engine, folders)
        assert not list(folders.archive_dir.glob("*.zip")), "nothing written"
    finally:
        holder.kill()
        holder.wait()
    # The holder died without letting go: the kernel released its lock.
    assert backup_database(engine, folders).export.path.exists()


def test_the_lock_is_released_after_a_backup_and_after_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), one_backup_at_a_time(tmp_path):
        raise RuntimeError("the backup failed")
    with (
        one_backup_at_a_time(tmp_path),
        pytest.raises(BackupRunningError),
        one_backup_at_a_time(tmp_path),
    ):
        pass
