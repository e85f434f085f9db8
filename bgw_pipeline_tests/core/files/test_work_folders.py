"""Temporary work folders: removed on exit, and removed later if their process was killed."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from bgw_pipeline.core.files.work_folders import LOCK_NAME, remove_abandoned, work_folder

_HOLD_A_FOLDER = """
import sys, time
from pathlib import Path
from bgw_pipeline.core.files.work_folders import work_folder
with work_folder("bgw-test-", Path(sys.argv[1])) as folder:
    (folder / "diff.duckdb").write_bytes(b"x" * 1000)
    print(folder, flush=True)
    time.sleep(600)
"""


def _hold(parent: Path) -> tuple[subprocess.Popen[str], Path]:
    owner = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_FOLDER, str(parent)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    return owner, Path(owner.stdout.readline().strip())


def test_a_folder_is_removed_on_exit_even_after_an_error(tmp_path: Path) -> None:
    try:
        with work_folder("bgw-test-", tmp_path) as folder:
            (folder / "work").write_bytes(b"data")
            raise RuntimeError("the import failed")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_killed_process_folder_goes_with_the_next_one(tmp_path: Path) -> None:
    owner, left = _hold(tmp_path)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert left.exists()  # a killed process cannot clean up
    with work_folder("bgw-test-", tmp_path) as folder:
        assert not left.exists()
        assert folder.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_live_process_folder_is_never_touched(tmp_path: Path) -> None:
    owner, held = _hold(tmp_path)
    try:
        with work_folder("bgw-test-", tmp_path) as folder:
            assert folder != held
        assert remove_abandoned("bgw-test-", tmp_path) == []
        assert (held / "diff.duckdb").read_bytes() == b"x" * 1000
    finally:
        owner.kill()
        owner.wait()
    assert remove_abandoned("bgw-test-", tmp_path) == [held]


def test_folders_without_a_lock_or_of_another_kind_are_left_alone(tmp_path: Path) -> None:
    being_made = tmp_path / "bgw-test-abc"
    being_made.mkdir()
    other_kind = tmp_path / "bgw-other-abc"
    other_kind.mkdir()
    (other_kind / LOCK_NAME).write_bytes(b"")
    assert remove_abandoned("bgw-test-", tmp_path) == []
    assert being_made.exists() and other_kind.exists()
