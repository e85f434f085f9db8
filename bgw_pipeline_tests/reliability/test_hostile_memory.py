"""Refusing the biggest hostile archives keeps memory bounded: each is imported by a
process of its own, whose peak RSS is measured by GNU time."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from bgw_pipeline_tests.reliability.hostile_archives import hostile_cases
from bgw_pipeline_tests.reliability.tally import record

HEAVY = ("zip bomb", "huge string", "headers promise", "nested zip", "deeply nested")
LIMIT_MIB = 400  # an import process at rest is about 150 MiB


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)


def test_refusing_the_heaviest_archives_stays_within_memory(tmp_path: Path) -> None:
    gnu_time = shutil.which("time") or "/usr/bin/time"
    db = f"sqlite:///{tmp_path / 'bgw.db'}"
    peaks = {}
    for case in hostile_cases(tmp_path):
        if not case.name.startswith(HEAVY):
            continue
        path = tmp_path / "heavy.zip"
        path.write_bytes(case.data)
        peak = tmp_path / "peak.txt"
        run = subprocess.run(
            [gnu_time, "-f", "%M", "-o", str(peak), sys.executable, "-m", "bgw_pipeline.cli",
             "import", str(path), "--apply", "--url", db, "--json"],
            capture_output=True, text=True, check=False, cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "EXPORT_PATH": str(tmp_path / "exports")},
        )  # fmt: skip
        mib = int(peak.read_text().split()[-1]) / 1024
        refused = run.returncode != 0 or '"applied": false' in run.stdout
        unchanged = _rows(tmp_path / "bgw.db") == 0
        peaks[case.name] = mib
        record("hostile", case.name, refused and unchanged and mib < LIMIT_MIB,
               door="core process", db_unchanged=unchanged, peak_mib=round(mib))  # fmt: skip
        assert refused and unchanged, (case.name, run.stdout[-300:], run.stderr[-300:])
    assert len(peaks) >= 5, peaks
    assert all(m < LIMIT_MIB for m in peaks.values()), peaks
