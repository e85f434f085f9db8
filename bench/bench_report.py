"""docs/BENCHMARKS.md and docs/benchmarks.png from the rows bench/run_bench.py measured.

A row is one scale on one backend: each door a (wall seconds, peak RSS MiB) pair, or None
where it was not run (XL runs only the export and the backup).
"""

from __future__ import annotations

from pathlib import Path

SCALES = {"S": 1, "M": 10, "L": 100, "XL": 1000}
LIBRARIES = "import duckdb, pyarrow, numpy"
LIBRARY_PAIRS = 9
MIB = "MiB"

# Every door the bench times: (row key, column heading).
DOORS = (
    ("export", "`bgw export` s (MiB)"),
    ("backup", "`bgw backup` s (MiB)"),
    ("dry_run", "`bgw import` dry run s (MiB)"),
    ("apply", "`bgw import --apply` s (MiB)"),
    ("sensor_dry", "sensor path dry run s (MiB)"),
    ("sensor_apply", "sensor path apply s (MiB)"),
    ("naive", "naive export s (MiB)"),
    ("peer", "peer s (MiB)"),
)
SQLITE_PEER = "sqlite3 .backup + zip -6"
PG_PEER = "pg_dump -Fc"


Row = dict[str, object]


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _t(cell: object) -> tuple[float, float]:
    return cell  # type: ignore[return-value]


def _cell(cell: object) -> str:
    return "" if not cell else f"{_t(cell)[0]:.2f} ({_t(cell)[1]:.0f})"


def _ratio(a: object, b: object) -> str:
    return "" if not a or not b else f"{_t(a)[0] / _t(b)[0]:.2f}"


def _mb(value: object) -> str:
    return "" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]


def table_lines(rows: list[Row]) -> list[str]:
    """Two tables: every door per scale and backend, then rates, ratios and sizes."""
    heads = " | ".join(head for _key, head in DOORS)
    lines = [f"| scale | backend | rows | {heads} |", "|---" * (3 + len(DOORS)) + "|"]
    for r in rows:
        cells = " | ".join(_cell(r.get(key)) for key, _head in DOORS)
        lines.append(f"| {r['scale']} | {r['backend']} | {r['rows']:,} | {cells} |")
    lines += [
        "",
        "| scale | backend | peer | export rows/s | export/peer | backup/peer | backup/export "
        "| archive MB | zlib-6 MB | peer output MB |",
        "|---" * 10 + "|",
    ]
    for r in rows:
        export = _t(r["export"])
        lines.append(
            f"| {r['scale']} | {r['backend']} | {r.get('peer_name') or ''} "
            f"| {int(r['rows']) / export[0]:,.0f} | {_ratio(export, r.get('peer'))} "  # type: ignore[call-overload]
            f"| {_ratio(r.get('backup'), r.get('peer'))} | {_ratio(r.get('backup'), export)} "
            f"| {_mb(r.get('archive_mb'))} | {_mb(r.get('zlib6_mb'))} | {_mb(r.get('peer_mb'))} |"
        )
    return lines


def _line(claim: str, ok: bool, detail: str) -> str:
    return f"- {claim}: {_met(ok)} ({detail})"


def _at_most(scale: str, name: str, cell: object, limit: float, reference: str) -> str:
    value, ok = _t(cell)[1], _t(cell)[1] <= limit
    return _line(f"{scale}: {name} peak RSS at most {limit:.0f} {MIB}{reference}", ok,
                 f"{value:.0f} {MIB}")  # fmt: skip


def _times(scale: str, name: str, cell: object, factor: float, peer: object, peer_name: str) -> str:
    ratio = _t(cell)[0] / _t(peer)[0]
    return _line(f"{scale}: {name} at most {factor:g}x {peer_name}", ratio <= factor,
                 f"ratio {ratio:.2f}")  # fmt: skip


def _written(r: Row) -> tuple[bool, str]:
    cli, sensor = r.get("written") or [], r.get("sensor_written") or []
    ok = all(w == c for c, w in [*cli, *sensor])  # type: ignore[misc]
    return ok, f"changed, written per round: `bgw import` {cli}, sensor path {sensor}"


def _scale_lines(scale: str, r: Row, backend: str, load: float) -> list[str]:
    export, dry, apply = _t(r["export"]), _t(r["dry_run"]), _t(r["apply"])
    peer, peer_name, lines = r.get("peer"), str(r.get("peer_name") or "the peer"), []
    if scale in ("M", "L") and peer:
        if backend == "postgresql":
            lines.append(_times(scale, "`bgw export`", export, 1, peer, peer_name))
            lines.append(_times(scale, "`bgw backup`", r["backup"], 4 if scale == "M" else 2,
                                peer, peer_name))  # fmt: skip
        else:
            lines.append(_times(scale, "`bgw export`", export, 0.5, peer, peer_name))
            lines.append(_times(scale, "`bgw backup`", r["backup"], 2 if scale == "M" else 1,
                                peer, peer_name))  # fmt: skip
    if scale in ("M", "L"):
        bound = export[0] + load
        lines.append(_line(f"{scale}: dry run no slower than the export plus the diff "
                           "engine's load", dry[0] <= bound,
                           f"{dry[0]:.2f} s vs {export[0]:.2f} + {load:.2f} = {bound:.2f} s"))  # fmt: skip
    if scale == "M" and r.get("sensor_dry"):
        for key, cli, name in (("sensor_dry", dry, "dry run"), ("sensor_apply", apply, "apply")):
            sensor = _t(r[key])[0]
            lines.append(_line(f"M: import_archive_job on the sensor's path at most `bgw import` "
                               f"+ 2 s ({name})", sensor <= cli[0] + 2,
                               f"{sensor:.2f} s vs {cli[0]:.2f} + 2 s"))  # fmt: skip
    if scale == "S" and backend == "sqlite" and r.get("backup") and r.get("export_plain"):
        backup, plain = _t(r["backup"])[0], _t(r["export_plain"])[0]
        lines.append(_line("S: `bgw backup` at most 3.5x `bgw export` (both without raw data, "
                           "as by default)", backup <= 3.5 * plain,
                           f"ratio {backup / plain:.2f}; {backup / export[0]:.2f} against the "
                           "export with raw data"))  # fmt: skip
    written_ok, written = _written(r)
    lines.append(_line(f"{scale}: apply of 1% changed rows adds at most 20% to the dry run",
                       apply[0] <= 1.2 * dry[0], f"ratio {apply[0] / dry[0]:.2f}"))  # fmt: skip
    lines.append(_line(f"{scale}: rows written equal rows changed", written_ok, written))
    size = float(r["archive_mb"]) / float(r["zlib6_mb"])  # type: ignore[arg-type]
    lines.append(_line(f"{scale}: archive within 20% of its size at zlib level 6", size <= 1.2,
                       f"ratio {size:.2f}"))  # fmt: skip
    if scale == "S":
        both = export[0] + apply[0]
        lines.append(_line("S: export plus import (apply), whole processes, under 2 s",
                           both < 2.0, f"{both:.2f} s"))  # fmt: skip
    if scale == "L":
        lines.append(_at_most("L", "`bgw export`", export, 500, ""))
        lines.append(_at_most("L", "dry run", dry, 1024, ""))
        if backend == "postgresql" and r.get("backup"):
            lines.append(_at_most("L", "`bgw backup`", r["backup"], 500, ""))
    return lines


def target_lines(rows: list[Row], backend: str, load: float) -> list[str]:
    """Each target of `backend` met or missed, scale by scale (`load`: library_load)."""
    mine = {str(r["scale"]): r for r in rows if r["backend"] == backend}
    lines: list[str] = []
    for scale in ("S", "M", "L"):
        if scale in mine:
            lines += _scale_lines(scale, mine[scale], backend, load)
    if "L" in mine and "M" in mine:
        growth = _t(mine["L"]["export"])[1] / _t(mine["M"]["export"])[1]
        lines.append(_line("M to L: export peak RSS grows sub-linearly (10x the rows)",
                           growth < 10, f"x{growth:.2f}"))  # fmt: skip
    if "XL" in mine and "L" in mine:
        for key, name in (("export", "`bgw export`"), ("backup", "`bgw backup`")):
            if mine["XL"].get(key) and mine["L"].get(key):
                at_l = _t(mine["L"][key])[1]
                lines.append(_at_most("XL", name, mine["XL"][key], 1.2 * at_l,
                                      f", 1.2x its {at_l:.0f} {MIB} at L"))  # fmt: skip
    return lines


def dagster_lines(rows: list[Row]) -> list[str]:
    lines = []
    for r in rows:
        if r["scale"] == "S" and r.get("backup") and r.get("export_plain"):
            backup, export = _t(r["backup"])[0], _t(r["export_plain"])[0]
            lines.append(f"- S on {r['backend']}: `bgw backup` (backup_job: every table read "
                         "once into the archive, snapshots and CSV, table checks, verification "
                         f"and restore drill) {backup:.2f} s vs `bgw export` {export:.2f} s, "
                         "both without raw data (their default): Dagster and the job's extra "
                         f"steps add {backup - export:.2f} s per run")  # fmt: skip
        if r["scale"] == "S" and r.get("sensor_dry"):
            sensor, cli = _t(r["sensor_dry"])[0], _t(r["dry_run"])[0]
            lines.append(f"- S on {r['backend']}: the sensor's path (a tick of "
                         "import_inbox_sensor, then import_archive_job) takes "
                         f"{sensor:.2f} s for a dry run vs {cli:.2f} s for `bgw import`: "
                         f"{sensor - cli:.2f} s more, of which the tick (the instance, the "
                         f"resources, the archive's hash) is {float(r['sensor_tick']):.2f} s")  # type: ignore[arg-type]  # fmt: skip
    return lines


def library_lines(rows: list[Row], load: float) -> list[str]:
    from bgw_pipeline.core.database.postgres.rows import ARROW_MIN_ROWS

    lines = [
        f"- `{LIBRARIES}` takes {load:.2f} s of a whole process here (bench/run_bench.py "
        f"`library_load`: against `python -c pass`, run in turn, median of {LIBRARY_PAIRS} "
        "pairs). An import always loads them (its diff works in DuckDB); on PostgreSQL an export loads them "
        f"only for a table of {ARROW_MIN_ROWS:,} rows or more without JSON columns (L's "
        "events and price history), so at S and M it does not."
    ]
    for r in rows:
        if r["backend"] == "postgresql" and r["scale"] in ("S", "M"):
            gap = _t(r["dry_run"])[0] - _t(r["export"])[0]
            lines.append(f"- {r['scale']} on postgresql: the dry run takes {gap:.2f} s more "
                         f"than the export; loading these libraries is {load:.2f} s of it")  # fmt: skip
    return lines


INTRO = (
    "Generated by `make bench` (bench/run_bench.py) on this machine: whole processes, "
    "median of the runs, wall seconds and peak RSS (MiB, from the kernel's accounting of "
    "each command, from GNU time when it is installed). S, M and L are `bgw demo-db "
    "--scale 1, 10, 100`; XL (`make bench XL=1`) is `--scale 1000`, ten times L's price "
    "history and ten times everything else (demo-db has no option to scale the price "
    "history alone), where only the export and the backup run, once each.\n\n"
    "The doors: `bgw export --include-raw-data`; `bgw backup` as users run it, without "
    "`--include-raw-data` (backup_job through Dagster with its checks and restore drill, on "
    "a fresh DAGSTER_HOME from deploy/dagster.local.yaml), so it archives less than the "
    "export and the peers; `bgw import` of the export's archive, a dry run and then "
    "`--apply`, each after a change to 1% of the price rows, spread over the id range; the "
    "same import on the inbox sensor's path (bench/sensor_import.py: a tick of "
    "import_inbox_sensor over an inbox holding the archive, then import_archive_job with "
    "the tick's run request, run in that process on the same DAGSTER_HOME; the daemon "
    "would launch the run in a process of its own); a naive export (bench/naive_export.py); "
    "and the peer: `pg_dump -Fc` of the same tables on PostgreSQL, `sqlite3 .backup` to a "
    "file then `zip -6` of it on SQLite (the peer column names the tool used). An import of "
    "a big archive that is not compared in id order (SQLite) hashes it in a second process "
    "too; the figure is the larger of the two, not their sum."
)


def write_report(rows: list[Row], out: Path, probes: tuple[float, float], load: float) -> None:
    lines = [
        "# Benchmarks",
        "",
        INTRO,
        "",
        f"Speed probe (a fixed pure-Python loop, bench/run_bench.py `speed_probe`): "
        f"{probes[0]:.2f} s before the run, {probes[1]:.2f} s after. The host is shared: "
        "compare two runs of this report only at similar probe times.",
        "",
        *table_lines(rows),
    ]
    for backend, title in (("postgresql", "Targets (PostgreSQL)"), ("sqlite", "Targets (SQLite)")):
        lines += ["", f"## {title}", "", *target_lines(rows, backend, load)]
    lines += ["", "## What an import loads that an export may not", ""]
    lines += library_lines(rows, load)
    lines += ["", "## Dagster's fixed overhead per run", "", *dagster_lines(rows)]
    lines += ["", "![time and memory against scale](benchmarks.png)", ""]
    out.write_text("\n".join(lines), encoding="utf-8")


def plot(rows: list[Row], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for (left, right), backend in zip(axes, ("sqlite", "postgresql"), strict=True):
        mine = [r for r in rows if r["backend"] == backend]
        for key, _head in DOORS:
            points = [(SCALES[str(r["scale"])], _t(r[key])) for r in mine if r.get(key)]
            if not points:
                continue
            name = str(mine[0].get("peer_name") or key) if key == "peer" else key
            left.plot([p[0] for p in points], [p[1][0] for p in points], marker="o", label=name)
            right.plot([p[0] for p in points], [p[1][1] for p in points], marker="o", label=name)
        for axis, title in ((left, "wall seconds"), (right, "peak RSS MiB")):
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_xlabel("scale (1 = 1250 games)")
            axis.set_title(f"{title}, {backend}")
        left.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
