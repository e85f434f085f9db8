"""The bench report (bench/run_bench.py, bench/bench_report.py), from made-up rows."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bgw_pipeline.core.database.postgres.rows import ARROW_MIN_ROWS

_SPEC = importlib.util.spec_from_file_location(
    "run_bench", Path(__file__).resolve().parents[1] / "bench" / "run_bench.py"
)
assert _SPEC is not None and _SPEC.loader is not None
run_bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(run_bench)
bench_report = run_bench.bench_report  # loaded by run_bench, beside it in bench/


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
    lines = bench_report.library_lines(rows, 0.17)
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
    bench_report.write_report([], out, (0.2, 0.2), 0.17)
    assert "## What an import loads that an export may not" in out.read_text(encoding="utf-8")


# Every door and every target line, from made-up rows at every scale on both backends.
# The expected headings and claims are written out here, not read from the bench, so a
# door or a target dropped from bench/bench_report.py fails these tests.

DOOR_HEADINGS = [
    "`bgw export` s (MiB)",
    "`bgw backup` s (MiB)",
    "`bgw import` dry run s (MiB)",
    "`bgw import --apply` s (MiB)",
    "sensor path dry run s (MiB)",
    "sensor path apply s (MiB)",
    "naive export s (MiB)",
    "peer s (MiB)",
]
FACTOR = {"S": 1, "M": 10, "L": 100}


def _full(scale: str, backend: str, **changes: object) -> dict[str, object]:
    f = FACTOR[scale]
    row: dict[str, object] = {
        "scale": scale,
        "backend": backend,
        "rows": 20_000 * f,
        "export": (1.0 * f, 100.0),
        "backup": (3.0 * f, 300.0),
        "dry_run": (1.1 * f, 200.0),
        "apply": (1.2 * f, 210.0),
        "sensor_dry": (2.5 * f, 250.0),
        "sensor_apply": (2.75 * f, 260.0),
        "sensor_tick": 0.25,
        "naive": (2.0 * f, 150.0),
        "peer": (2.5 * f, 10.0),
        "peer_name": "pg_dump -Fc" if backend == "postgresql" else "sqlite3 .backup + zip -6",
        "peer_mb": 1.5 * f,
        "archive_mb": 2.0 * f,
        "zlib6_mb": 1.75 * f,
        "written": [(154 * f, 154 * f)],
        "sensor_written": [(154 * f, 154 * f)],
        "export_plain": (1.0, 90.0) if scale == "S" else None,
    }
    return row | changes


def _xl(backend: str, export_rss: float, backup_rss: float) -> dict[str, object]:
    return {"scale": "XL", "backend": backend, "rows": 20_000_000, "archive_mb": 2000.0,
            "export": (1000.0, export_rss), "backup": (3000.0, backup_rss)}  # fmt: skip


ROWS = [
    _full("S", "sqlite"),
    _full("S", "postgresql"),
    _full("M", "sqlite", sensor_dry=(12.5, 250.0)),
    _full("M", "postgresql", peer=(11.0, 10.0), backup=(50.0, 300.0), dry_run=(10.25, 200.0)),
    _full("L", "sqlite", written=[(15400, 15399)]),
    _full("L", "postgresql", backup=(150.0, 600.0)),
    _xl("sqlite", 110.0, 400.0),
    _xl("postgresql", 130.0, 700.0),
]

COMMON = [
    "{s}: apply of 1% changed rows adds at most 20% to the dry run",
    "{s}: rows written equal rows changed",
    "{s}: archive within 20% of its size at zlib level 6",
]
SENSOR = [
    "M: import_archive_job on the sensor's path at most `bgw import` + 2 s (dry run)",
    "M: import_archive_job on the sensor's path at most `bgw import` + 2 s (apply)",
]
DRY = "{s}: dry run no slower than the export plus the diff engine's load"
CLAIMS = {
    "postgresql": [
        *[c.format(s="S") for c in COMMON],
        "S: export plus import (apply), whole processes, under 2 s",
        "M: `bgw export` at most 1x pg_dump -Fc",
        "M: `bgw backup` at most 4x pg_dump -Fc",
        DRY.format(s="M"),
        *SENSOR,
        *[c.format(s="M") for c in COMMON],
        "L: `bgw export` at most 1x pg_dump -Fc",
        "L: `bgw backup` at most 2x pg_dump -Fc",
        DRY.format(s="L"),
        *[c.format(s="L") for c in COMMON],
        "L: `bgw export` peak RSS at most 500 MiB",
        "L: dry run peak RSS at most 1024 MiB",
        "L: `bgw backup` peak RSS at most 500 MiB",
        "M to L: export peak RSS grows sub-linearly (10x the rows)",
        "XL: `bgw export` peak RSS at most 120 MiB, 1.2x its 100 MiB at L",
        "XL: `bgw backup` peak RSS at most 720 MiB, 1.2x its 600 MiB at L",
    ],
    "sqlite": [
        "S: `bgw backup` at most 3.5x `bgw export` (both without raw data, as by default)",
        *[c.format(s="S") for c in COMMON],
        "S: export plus import (apply), whole processes, under 2 s",
        "M: `bgw export` at most 0.5x sqlite3 .backup + zip -6",
        "M: `bgw backup` at most 2x sqlite3 .backup + zip -6",
        DRY.format(s="M"),
        *SENSOR,
        *[c.format(s="M") for c in COMMON],
        "L: `bgw export` at most 0.5x sqlite3 .backup + zip -6",
        "L: `bgw backup` at most 1x sqlite3 .backup + zip -6",
        DRY.format(s="L"),
        *[c.format(s="L") for c in COMMON],
        "L: `bgw export` peak RSS at most 500 MiB",
        "L: dry run peak RSS at most 1024 MiB",
        "M to L: export peak RSS grows sub-linearly (10x the rows)",
        "XL: `bgw export` peak RSS at most 120 MiB, 1.2x its 100 MiB at L",
        "XL: `bgw backup` peak RSS at most 360 MiB, 1.2x its 300 MiB at L",
    ],
}


def _verdicts(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        for verdict in ("met", "**missed**"):
            claim, sep, _rest = line.removeprefix("- ").partition(f": {verdict} (")
            if sep:
                found[claim] = verdict
    assert len(found) == len(lines), lines
    return found


def test_the_table_has_every_door_for_every_scale_and_backend() -> None:
    lines = bench_report.table_lines(ROWS)
    heading = lines[0]
    for door in DOOR_HEADINGS:
        assert f"| {door} |" in heading
    assert heading.count(" s (MiB)") == len(DOOR_HEADINGS)
    assert lines[2] == (
        "| S | sqlite | 20,000 | 1.00 (100) | 3.00 (300) | 1.10 (200) | 1.20 (210) "
        "| 2.50 (250) | 2.75 (260) | 2.00 (150) | 2.50 (10) |"
    )
    assert (
        lines[1 + len(ROWS)]
        == "| XL | postgresql | 20,000,000 | 1000.00 (130) | 3000.00 (700) |  |  |  |  |  |  |"
    )
    ratios = lines[lines.index("") + 1 :]
    assert "| export/peer | backup/peer |" in ratios[0]
    assert ratios[2] == (
        "| S | sqlite | sqlite3 .backup + zip -6 | 20,000 | 0.40 | 1.20 | 3.00 | 2.0 | 1.8 | 1.5 |"
    )
    assert len(ratios) == 2 + len(ROWS)


def test_every_target_line_is_there_on_both_backends() -> None:
    for backend, claims in CLAIMS.items():
        found = _verdicts(bench_report.target_lines(ROWS, backend, 0.25))
        assert list(found) == claims, backend


def test_the_targets_are_judged_on_the_figures() -> None:
    pg = _verdicts(bench_report.target_lines(ROWS, "postgresql", 0.25))
    lite = _verdicts(bench_report.target_lines(ROWS, "sqlite", 0.25))
    assert pg["M: `bgw export` at most 1x pg_dump -Fc"] == "met"  # 10 s vs 11 s
    assert pg["M: `bgw backup` at most 4x pg_dump -Fc"] == "**missed**"  # 50 s vs 44 s
    assert pg["L: `bgw backup` peak RSS at most 500 MiB"] == "**missed**"  # 600 MiB
    assert pg["XL: `bgw backup` peak RSS at most 720 MiB, 1.2x its 600 MiB at L"] == "met"
    assert pg["XL: `bgw export` peak RSS at most 120 MiB, 1.2x its 100 MiB at L"] == "**missed**"
    assert lite["XL: `bgw export` peak RSS at most 120 MiB, 1.2x its 100 MiB at L"] == "met"
    assert pg[DRY.format(s="M")] == "met"  # 10.25 s vs 10 + 0.25 s
    assert pg[DRY.format(s="L")] == "**missed**"  # 110 s vs 100.25 s
    assert lite["M: `bgw export` at most 0.5x sqlite3 .backup + zip -6"] == "met"  # 10 s vs 25 s
    assert lite["L: `bgw backup` at most 1x sqlite3 .backup + zip -6"] == "**missed**"  # 300 / 250
    backup_at_s = "S: `bgw backup` at most 3.5x `bgw export` (both without raw data, as by default)"
    assert lite[backup_at_s] == "met"  # 3.0 s vs 1.0 s without raw data
    assert lite[SENSOR[0]] == "met"  # 12.5 s vs 11 + 2 s
    assert lite[SENSOR[1]] == "**missed**"  # 27.5 s vs 12 + 2 s
    assert lite["L: rows written equal rows changed"] == "**missed**"
    assert pg["L: rows written equal rows changed"] == "met"


def test_the_report_has_every_section_and_dagsters_overhead_at_s(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    bench_report.write_report(ROWS, out, (0.2, 0.2), 0.25)
    text = out.read_text(encoding="utf-8")
    for section in ("## Targets (PostgreSQL)", "## Targets (SQLite)",
                    "## What an import loads that an export may not",
                    "## Dagster's fixed overhead per run"):  # fmt: skip
        assert section in text
    assert "without `--include-raw-data`" in text
    overhead = bench_report.dagster_lines(ROWS)
    assert [line.split(":")[0] for line in overhead] == [
        "- S on sqlite", "- S on sqlite", "- S on postgresql", "- S on postgresql"
    ]  # fmt: skip
    assert overhead[0].endswith("Dagster and the job's extra steps add 2.00 s per run")
    assert "1.40 s more" in overhead[1]  # the sensor's path: 2.5 s vs 1.1 s
