"""SIGKILL in the middle of an export and of an applied import, at several points.

After each kill the database equals one of its two valid states (before, or the whole
import applied), no partial archive carries a final name, and running the same command
again succeeds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bgw_pipeline.core.archive.reader import verify_archive
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline_tests.factories import dump_database
from bgw_pipeline_tests.reliability.tally import record

BGW = [sys.executable, "-m", "bgw_pipeline.cli"]
# Kill points of an apply, as fractions of a dry run's time of the same archive: an apply
# does all of a dry run's work and then writes, so each one lands inside the apply
# however fast this machine is.
FRACTIONS = (0.25, 0.5, 0.75, 0.95)


def _start(args: list[str], root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EXPORT_PATH": str(root / "exports"), "MAX_IMPORT_MB": "500"}
    return subprocess.Popen([*BGW, *args], env=env, cwd=root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def _kill_when(process: subprocess.Popen[bytes], ready: object, limit: float = 30.0) -> bool:
    """SIGKILL the process once `ready()` is true; False if it ended first."""
    deadline = time.monotonic() + limit
    while process.poll() is None and time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    process.wait()
    return False


def _finished_archives_verify(out: Path) -> bool:
    return all(verify_archive(p).ok for p in out.glob("bgw_backup_*.zip"))


def test_a_killed_export_leaves_no_partial_archive_and_the_next_run_works(
    db_url: str, tmp_path: Path
) -> None:
    engine = create_engine(db_url)
    fill_demo_database(engine, scale=1)
    out = tmp_path / "out"
    backend = engine.dialect.name

    def partial_bytes() -> int:
        return sum(p.stat().st_size for p in out.glob(".*.partial") if p.exists())

    # Points tied to the export's own progress, so each kill lands inside the export.
    points = {
        "after 0.2 s (starting up)": lambda: time.monotonic() - started > 0.2,
        "partial file appears": lambda: any(out.glob(".*.partial")),
        **{f"partial file reaches {n // 1024} KB": (lambda n=n: partial_bytes() >= n)
           for n in (64 * 1024, 512 * 1024, 1024 * 1024)},
    }  # fmt: skip
    started = time.monotonic()
    for label, ready in points.items():
        started = time.monotonic()
        process = _start(
            ["export", "--include-raw-data", "--url", db_url, "--out", str(out)], tmp_path
        )
        killed = _kill_when(process, ready)
        clean = _finished_archives_verify(out)
        rerun = subprocess.run([*BGW, "export", "--url", db_url, "--out", str(out)], cwd=tmp_path,
                               capture_output=True, check=False)  # fmt: skip
        recovered = rerun.returncode == 0 and not any(out.glob(".*.partial"))
        ok = clean and recovered and _finished_archives_verify(out)
        record("fault", f"SIGKILL during export/{backend}/{label}", ok and killed, killed=killed,
               rows_lost=0)  # fmt: skip
        assert ok and killed, (label, killed, rerun.stderr[-500:])
    engine.dispose()


@pytest.mark.parametrize(
    "point", ["undo archive written", *[f"at {f:.0%} of a dry run's time" for f in FRACTIONS]]
)
def test_a_killed_apply_leaves_the_database_before_or_after(
    db_url: str, tmp_path: Path, point: str
) -> None:
    engine = create_engine(db_url)
    fill_demo_database(engine, scale=0.3, seed=1)
    source = create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    fill_demo_database(source, scale=0.3, seed=2)
    archive = export_database(source, tmp_path / "src", include_raw_data=True).path
    source.dispose()
    before = dump_database(engine)
    undo = tmp_path / "exports" / "import_undo"
    delay = 0.0
    if not point.startswith("undo"):
        # The faster of two dry runs: with other tests running beside this one, a single
        # measure can come out long enough for the apply to end before the kill point.
        dry_runs = []
        for _ in range(2):
            dry_started = time.monotonic()
            _start(["import", str(archive), "--url", db_url], tmp_path).wait()
            dry_runs.append(time.monotonic() - dry_started)
        delay = min(dry_runs) * float(point.split()[1].rstrip("%")) / 100
    started = time.monotonic()
    ready = (lambda: any(undo.glob("*.zip"))) if point.startswith("undo") else (
        lambda: time.monotonic() - started > delay)  # fmt: skip
    process = _start(["import", str(archive), "--apply", "--url", db_url], tmp_path)
    killed = _kill_when(process, ready)
    killed_state = dump_database(engine)
    rerun = subprocess.run([*BGW, "import", str(archive), "--apply", "--url", db_url],
                           cwd=tmp_path, capture_output=True, check=False,
                           env={**os.environ, "EXPORT_PATH": str(tmp_path / "exports"),
                                "MAX_IMPORT_MB": "500"})  # fmt: skip
    after = dump_database(engine)
    valid = killed_state in (before, after)
    lost = 0 if valid else sum(len(set(before[t]) - set(killed_state[t])) for t in before)
    # Killed after its commit (the kill point is a guess from a dry run's time), the apply
    # left the state after: the rerun then rightly refuses the dry run's plan as outdated.
    applied_before_kill = valid and killed_state != before
    refused_as_outdated = b"changed since the dry run" in rerun.stderr and after == killed_state
    rerun_ok = rerun.returncode == 0 or (applied_before_kill and refused_as_outdated)
    ok = killed and valid and rerun_ok and after != before
    record("fault", f"SIGKILL during apply/{engine.dialect.name}/{point}", ok, killed=killed,
           rows_lost=lost)  # fmt: skip
    engine.dispose()
    assert ok, (point, killed, valid, rerun.stderr[-800:])
