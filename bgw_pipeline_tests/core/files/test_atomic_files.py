"""Files written atomically: crash leftovers removed, concurrent writers left alone,
and an archive never published over another."""

from __future__ import annotations

import errno
import fcntl
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.files.atomic_files import (
    atomic_new_file,
    atomic_write,
    remove_stale_partials,
)
from bgw_pipeline_tests.factories import small_database

_HOLD_A_PARTIAL = """
import sys, time
from pathlib import Path
from bgw_pipeline.core.files.atomic_files import atomic_write
with atomic_write(Path(sys.argv[1])) as fh:
    fh.write(b"half")
    fh.flush()
    print("writing", flush=True)
    time.sleep(600)
"""


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.partial"))


def test_a_partial_being_written_survives_a_sweep_and_is_published(tmp_path: Path) -> None:
    final = tmp_path / "a.bin"
    with atomic_write(final) as fh:
        fh.write(b"first half, ")
        assert remove_stale_partials(tmp_path) == []
        fh.write(b"second half")
    assert final.read_bytes() == b"first half, second half"
    assert _partials(tmp_path) == []


def test_a_crash_leftover_is_removed(tmp_path: Path) -> None:
    leftover = tmp_path / ".a.bin.4242.0123456789ab.partial"
    leftover.write_bytes(b"left by a crash")
    assert remove_stale_partials(tmp_path) == [leftover]
    assert not leftover.exists()


def test_another_process_partial_is_kept_until_that_process_dies(tmp_path: Path) -> None:
    final = tmp_path / "b.bin"
    writer = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_PARTIAL, str(final)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        (partial,) = _partials(tmp_path)
        assert remove_stale_partials(tmp_path) == []
        assert partial.exists()
    finally:
        writer.kill()
        writer.wait()
    assert remove_stale_partials(tmp_path) == [partial]
    assert not final.exists()


def test_sweeps_running_beside_writers_never_break_a_write(tmp_path: Path) -> None:
    stop = threading.Event()
    removed: list[Path] = []

    def sweep() -> None:
        while not stop.is_set():
            removed.extend(remove_stale_partials(tmp_path))

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    try:
        for number in range(300):
            with atomic_write(tmp_path / f"f{number}.bin", durable=False) as fh:
                fh.write(str(number).encode())
    finally:
        stop.set()
        sweeper.join()
    # A sweep can catch a partial between its creation and its lock and delete it (this
    # happens within a few hundred writes); the writer then starts a new one.
    assert all((tmp_path / f"f{n}.bin").read_bytes() == str(n).encode() for n in range(300))
    assert all(p.name.endswith(".partial") for p in removed)
    assert _partials(tmp_path) == []


def test_a_new_file_never_replaces_one_published_meanwhile(tmp_path: Path) -> None:
    first = tmp_path / "archive.zip"
    with atomic_new_file(first, durable=False) as target:
        target.file.write(b"mine")
        first.write_bytes(b"another writer's")
        (tmp_path / "archive_1.zip").write_bytes(b"and a third's")
    assert target.path == tmp_path / "archive_2.zip"
    assert target.path.read_bytes() == b"mine"
    assert first.read_bytes() == b"another writer's"
    assert _partials(tmp_path) == []


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    try:
        with atomic_new_file(tmp_path / "archive.zip") as target:
            target.file.write(b"half")
            raise RuntimeError("the source broke")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_an_export_does_not_overwrite_an_archive_finished_during_it(
    engine: sa.Engine, tmp_path: Path
) -> None:
    small_database(engine)
    out = tmp_path / "archives"
    created = datetime(2024, 1, 15, 12, 30, tzinfo=UTC)
    name = out / "bgw_backup_20240115T123000Z.zip"

    def another_export_finishes(entity: str, done: int, total: int) -> None:
        if not name.exists():
            name.write_bytes(b"an archive finished by a concurrent export")

    result = export_database(engine, out, created_at=created, progress=another_export_finishes)
    assert result.path == out / "bgw_backup_20240115T123000Z_1.zip"
    assert name.read_bytes() == b"an archive finished by a concurrent export"
    assert sorted(p.name for p in out.iterdir()) == [name.name, result.path.name]


def test_without_file_locks_writes_go_on_and_nothing_is_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some network filesystems refuse flock: a writer then writes as before the locks,
    and a sweep, unable to tell a live writer from a dead one, removes nothing."""

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "no locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    leftover = tmp_path / ".a.bin.4242.0123456789ab.partial"
    leftover.write_bytes(b"left by a crash, or still being written")
    with atomic_write(tmp_path / "a.bin") as fh:
        fh.write(b"done")
    assert remove_stale_partials(tmp_path) == []
    assert (tmp_path / "a.bin").read_bytes() == b"done" and leftover.exists()


def test_atomic_write_replaces_the_file_of_its_name(tmp_path: Path) -> None:
    final = tmp_path / "plan.json"
    final.write_bytes(b"old")
    with atomic_write(final, durable=False) as fh:
        fh.write(b"new")
    assert final.read_bytes() == b"new" and _partials(tmp_path) == []
