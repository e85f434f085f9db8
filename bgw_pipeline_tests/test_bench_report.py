"""The bench report's library-load section (bench/run_bench.py), from made-up rows."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bgw_pipeline.core.postgres_rows import ARROW_MIN_ROWS

_SPEC = importlib.util.spec_from_file_location(
    "run_bench", Path(__file__).resolve().parents[1] / "bench" / "run_bench.py"
)
assert _SPEC is not None and _SPEC.loader is not None
run_bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(run_bench)


def _row(scale: str, backend: str, export: float, dry_run: float) -> dict[str, object]:
    return {
        "scale": scale,
        "backend": backend,
        "export": (export, 50.0),
        "dry_run": (dry_run, 60.0),
    }


def test_the_dry_runs_excess_is_reported_beside_the_load_for_postgresql_at_s_and_m() -> None:
    rows = [
        _row("S", "sqlite", 1.0, 2.0),
        _row("S", "postgresql", 0.25, 0.5),
        _row("M", "postgresql", 1.0, 1.3),
        _row("L", "postgresql", 8.0, 8.5),
    ]
    lines = run_bench.library_lines(rows, 0.17)
    assert f"{ARROW_MIN_ROWS:,} rows" in lines[0]
    assert f"median of {run_bench.LIBRARY_PAIRS} pairs" in lines[0]
    assert lines[1:] == [
        "- S on postgresql: the dry run takes 0.25 s more than the export; "
        "loading these libraries is 0.17 s of it",
        "- M on postgresql: the dry run takes 0.30 s more than the export; "
        "loading these libraries is 0.17 s of it",
    ]


def test_the_report_has_the_section(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    run_bench.write_report([], out, (0.2, 0.2), 0.17)
    assert "## What an import loads that an export may not" in out.read_text(encoding="utf-8")
