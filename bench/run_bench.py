"""`make bench`: whole-process timings of export, import dry run and apply, with references.

For each scale (S = 1, M = 10, and L = 100 with --large) and backend (SQLite, PostgreSQL):
demo data is generated, then each command runs as its own process, median of --repeat
runs, wall time and peak RSS from the kernel's accounting of the child (wait4). References:
`pg_dump -Fc` of the same tables and a naive export (bench/naive_export.py). Writes
docs/BENCHMARKS.md and docs/benchmarks.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BGW = [sys.executable, "-m", "bgw_pipeline.cli"]
SCALES = {"S": 1, "M": 10, "L": 100}
PG_ADMIN = os.environ.get(
    "BGW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TABLES = ("games", "rules", "events", "price_history", "raw_items", "listings")


CHILD_ENV: dict[str, str] = {}


LAST_STDOUT: list[str] = [""]
GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run of `command` as a child process."""
    # GNU time reports the command's own peak RSS. The kernel's figure for a child of this
    # process (wait4) can start from this process's size at fork, so it is the fallback.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak:  # fmt: skip
        wrapped = [GNU_TIME, "-f", "%M", "-o", peak.name, *command] if GNU_TIME else command
        started = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=out, stderr=err,
                                env={**os.environ, **CHILD_ENV, **(env or {})}, cwd=ROOT)  # fmt: skip
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        LAST_STDOUT[0] = out.read().decode(errors="replace")
        if status != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {err.read().decode()[-2000:]}")
        kib = int(peak.read().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return wall, kib / 1024


def median_of(
    runs: int, command: list[str], before: object = None, env: dict[str, str] | None = None
) -> tuple[float, float]:
    results = []
    for _ in range(runs):
        if callable(before):
            before()
        results.append(timed(command, env))
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def change_one_percent(url: str) -> int:
    """Bump the price of 1% of the price rows, so a dry run has updates to find. The rows
    are spread over the whole id range (ordered by a hash of the id), as real changes are:
    a contiguous block of ids would favour any reader that works in id ranges."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    # SQLite has no MD5: the id's last group is as random as a hash and not id-ordered.
    order = "md5(CAST(id AS text))" if url.startswith("postgresql") else "substr(id, 25) || id"
    with engine.begin() as conn:
        changed = conn.exec_driver_sql(
            "UPDATE price_history SET price = price + 1 WHERE id IN "
            f"(SELECT id FROM price_history ORDER BY {order} "
            "LIMIT (SELECT count(*) / 100 FROM price_history))"
        ).rowcount
    engine.dispose()
    return int(changed)


def total_rows(url: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = sum(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in TABLES)
    engine.dispose()
    return int(rows)


def zlib6_size(archive: Path) -> int:
    """The archive's members deflated at zlib level 6 (the size target's reference),
    streamed: this process must stay small, its children's memory is what is measured."""
    import zipfile
    import zlib

    total = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            with zf.open(info) as member:
                while block := member.read(1 << 20):
                    total += len(packer.compress(block))
            total += len(packer.flush()) + 30 + 46 + 2 * len(info.filename.encode())
    return total + 22


def dagster_backup(url: str, work: Path, runs: int) -> tuple[float, float]:
    """`bgw backup` (backup_job through Dagster, with raw data) on a fresh DAGSTER_HOME."""
    home = work / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    env = {"BGW_DATABASE_URL": url, "DAGSTER_HOME": str(home)}
    return median_of(runs, [*BGW, "backup", "--include-raw-data"], env=env)


def settle(url: str) -> None:
    """Bring a freshly loaded database to the steady state of one in service: vacuumed and
    analysed. Otherwise autovacuum starts on the new tables during the first timings and
    takes a core from whichever command runs then (pg_dump runs later, on a quiet server)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)" if url.startswith("postgresql") else "ANALYZE")
    engine.dispose()


def bench_one(scale: str, backend: str, work: Path, runs: int) -> dict[str, object]:
    factor = SCALES[scale]
    if backend == "sqlite":
        url = f"sqlite:///{work / f'{scale}.db'}"
    else:
        name = f"bgw_bench_{scale.lower()}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        url = (
            sa.make_url(PG_ADMIN)
            .set(drivername="postgresql", database=name)
            .render_as_string(False)
        )
    subprocess.run([*BGW, "demo-db", "--scale", str(factor), "--url", url], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    settle(url)
    out = work / f"out-{scale}-{backend}"
    export = median_of(
        runs, [*BGW, "export", "--include-raw-data", "--url", url, "--out", str(out)]
    )
    archive = sorted(out.glob("bgw_backup_*.zip"))[-1]
    command = [*BGW, "import", str(archive), "--url", url]
    dry_runs, apply_runs, written = [], [], []
    for _ in range(runs):  # each round: 1% changed, dry run (saves the plan), apply it
        changed = change_one_percent(url)
        dry_runs.append(timed(command))
        apply_runs.append(timed([*command, "--apply"]))
        message = json.loads(LAST_STDOUT[0])["message"]
        written.append((changed, int(message.split()[1])))
    dry = statistics.median(r[0] for r in dry_runs), statistics.median(r[1] for r in dry_runs)
    apply = statistics.median(r[0] for r in apply_runs), statistics.median(r[1] for r in apply_runs)
    # The naive export needs gigabytes at L: one run there is enough to place it.
    naive = median_of(1 if scale == "L" else runs, [sys.executable,
                      str(ROOT / "bench" / "naive_export.py"), url, str(work / "naive.zip")])  # fmt: skip
    row: dict[str, object] = {
        "scale": scale, "backend": backend, "export": export, "dry_run": dry, "apply": apply,
        "naive": naive, "archive_mb": archive.stat().st_size / 2**20, "pg_dump": None,
        "rows": total_rows(url), "zlib6_mb": zlib6_size(archive) / 2**20,
        "written_equals_changed": all(w == c for c, w in written), "written": written,
        "dagster": dagster_backup(url, work, runs) if scale == "S" else None,
    }  # fmt: skip
    if backend == "postgresql":
        parsed = sa.make_url(url)
        dump = ["pg_dump", "-Fc", "-h", parsed.host or "127.0.0.1", "-U", parsed.username or "postgres",
                "-f", str(work / "dump.pgc"), *[a for t in TABLES for a in ("-t", t)], parsed.database or ""]  # fmt: skip
        row["pg_dump"] = median_of(runs, dump)
    return row


def _ratio(a: float | None, b: float | None) -> str:
    return "" if not a or not b else f"{a / b:.2f}"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _t(cell: object) -> tuple[float, float]:
    return cell  # type: ignore[return-value]


def table_lines(rows: list[dict[str, object]]) -> list[str]:
    lines = [
        "| scale | backend | rows | export s (MiB) | rows/s | dry run s (MiB) | apply s (MiB) "
        "| naive export s (MiB) | pg_dump -Fc s | export/pg_dump | archive MB | zlib-6 MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        export, dry, apply, naive = (_t(r[k]) for k in ("export", "dry_run", "apply", "naive"))
        dump = _t(r["pg_dump"])[0] if r["pg_dump"] else None
        lines.append(
            f"| {r['scale']} | {r['backend']} | {r['rows']:,} | {export[0]:.2f} ({export[1]:.0f}) "
            f"| {int(r['rows']) / export[0]:,.0f} | {dry[0]:.2f} ({dry[1]:.0f}) "  # type: ignore[call-overload]
            f"| {apply[0]:.2f} ({apply[1]:.0f}) | {naive[0]:.2f} ({naive[1]:.0f}) "
            f"| {'' if dump is None else f'{dump:.2f}'} | {_ratio(export[0], dump)} "
            f"| {r['archive_mb']:.1f} | {r['zlib6_mb']:.1f} |"
        )
    return lines


def target_lines(rows: list[dict[str, object]], backend: str) -> list[str]:
    mine = {str(r["scale"]): r for r in rows if r["backend"] == backend}
    lines = []
    for scale in ("M", "L"):
        r = mine.get(scale)
        if r is None:
            continue
        export, dry, apply = _t(r["export"]), _t(r["dry_run"]), _t(r["apply"])
        if r["pg_dump"]:
            dump = _t(r["pg_dump"])[0]
            lines.append(f"- {scale}: export no slower than pg_dump -Fc: "
                         f"{_met(export[0] <= dump)} (ratio {export[0] / dump:.2f})")  # fmt: skip
        lines.append(f"- {scale}: dry run no slower than the export: "
                     f"{_met(dry[0] <= export[0])} (ratio {dry[0] / export[0]:.2f})")  # fmt: skip
    for scale, r in mine.items():
        dry, apply = _t(r["dry_run"]), _t(r["apply"])
        lines.append(f"- {scale}: apply of 1% changed rows adds at most 20% to the dry run: "
                     f"{_met(apply[0] <= 1.2 * dry[0])} (ratio {apply[0] / dry[0]:.2f}); "
                     f"rows written equal rows changed: {_met(bool(r['written_equals_changed']))} "
                     f"(changed, written per round: {r['written']})")  # fmt: skip
        size = float(r["archive_mb"]) / float(r["zlib6_mb"])  # type: ignore[arg-type]
        lines.append(f"- {scale}: archive within 20% of its size at zlib level 6: "
                     f"{_met(size <= 1.2)} (ratio {size:.2f})")  # fmt: skip
    if "L" in mine:
        large = mine["L"]
        rss, dry_rss = _t(large["export"])[1], _t(large["dry_run"])[1]
        lines.append(f"- L: export peak RSS at most 500 MB: {_met(rss <= 500)} ({rss:.0f} MiB)")
        if "M" in mine:
            growth = rss / _t(mine["M"]["export"])[1]
            lines.append(f"- M to L: export peak RSS grows sub-linearly (10x the rows): "
                         f"{_met(growth < 10)} (x{growth:.2f})")  # fmt: skip
        lines.append(f"- L: dry run peak RSS at most 1 GB: {_met(dry_rss <= 1024)} "
                     f"({dry_rss:.0f} MiB)")  # fmt: skip
    if "S" in mine:
        small = mine["S"]
        both = _t(small["export"])[0] + _t(small["apply"])[0]
        lines.append(f"- S: export plus import (apply), whole processes, under 2 s: "
                     f"{_met(both < 2.0)} ({both:.2f} s)")  # fmt: skip
    return lines


def dagster_lines(rows: list[dict[str, object]]) -> list[str]:
    lines = []
    for r in rows:
        if r["dagster"]:
            backup, export = _t(r["dagster"])[0], _t(r["export"])[0]
            lines.append(f"- S on {r['backend']}: `bgw backup` (backup_job: extract, snapshots, "
                         f"archive, CSV, checks, restore drill) {backup:.2f} s vs `bgw export` "
                         f"{export:.2f} s: Dagster and the job's extra steps add "
                         f"{backup - export:.2f} s per run")  # fmt: skip
    return lines


def speed_probe() -> float:
    """Seconds a fixed pure-Python loop takes (median of 3): how fast this machine runs
    Python at the time, for comparing two runs of this report (a shared host slows down)."""

    def loop() -> float:
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        return time.perf_counter() - started

    return statistics.median(loop() for _ in range(3))


LIBRARIES = "import duckdb, pyarrow, numpy"
LIBRARY_PAIRS = 9


def library_load(pairs: int = LIBRARY_PAIRS) -> float:
    """Seconds a whole process spends loading DuckDB, Arrow and NumPy: `python -c` of
    their imports against `python -c pass`, run in turn, median of the pairs' differences."""
    gaps = []
    for _ in range(pairs):
        loaded = timed([sys.executable, "-c", LIBRARIES])[0]
        gaps.append(loaded - timed([sys.executable, "-c", "pass"])[0])
    return statistics.median(gaps)


def library_lines(rows: list[dict[str, object]], load: float) -> list[str]:
    from bgw_pipeline.core.postgres_rows import ARROW_MIN_ROWS

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


def write_report(
    rows: list[dict[str, object]], out: Path, probes: tuple[float, float], load: float
) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/run_bench.py) on this machine: whole processes, "
        "median of the runs, wall seconds and peak RSS (MiB, from the kernel's accounting of "
        "each command, from GNU time when it is installed). Export and import include raw "
        "data; each dry run and apply follows a change to 1% of the price rows, spread over "
        "the id range. S, M and L are `bgw demo-db --scale 1, 10, 100`. An import of a big "
        "archive that is not compared in id order (SQLite) hashes it in a second process "
        "too; the figure is the larger of the two, "
        "not their sum.",
        "",
        f"Speed probe (a fixed pure-Python loop, bench/run_bench.py `speed_probe`): "
        f"{probes[0]:.2f} s before the run, {probes[1]:.2f} s after. The host is shared: "
        "compare two runs of this report only at similar probe times.",
        "",
        *table_lines(rows),
    ]
    for backend, title in (
        ("postgresql", "Targets (PostgreSQL)"),
        ("sqlite", "Same figures on SQLite"),
    ):
        lines += ["", f"## {title}", "", *target_lines(rows, backend)]
    lines += ["", "## What an import loads that an export may not", ""]
    lines += library_lines(rows, load)
    lines += ["", "## Dagster's fixed overhead per run", "", *dagster_lines(rows)]
    lines += ["", "![time and memory against scale](benchmarks.png)", ""]
    out.write_text("\n".join(lines), encoding="utf-8")


def plot(rows: list[dict[str, object]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for backend in ("sqlite", "postgresql"):
        mine = [r for r in rows if r["backend"] == backend]
        scales = [SCALES[str(r["scale"])] for r in mine]
        for key in ("export", "dry_run", "apply"):
            left.plot(scales, [r[key][0] for r in mine], marker="o", label=f"{key} {backend}")  # type: ignore[index]
            right.plot(scales, [r[key][1] for r in mine], marker="o", label=f"{key} {backend}")  # type: ignore[index]
    for axis, title in ((left, "wall seconds"), (right, "peak RSS MiB")):
        axis.set_xscale("log")
        axis.set_xlabel("scale (1 = 1250 games)")
        axis.set_title(title)
    left.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", action="store_true", help="also scale L (about 1.5M price rows)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scales", help="comma-separated, e.g. S,M (overrides --large)")
    args = parser.parse_args()
    scales = ["S", "M"] + (["L"] if args.large else [])
    if args.scales:
        scales = args.scales.split(",")
    before = speed_probe()
    with tempfile.TemporaryDirectory(prefix="bgw-bench-") as tmp:
        work = Path(tmp)
        CHILD_ENV.update({"EXPORT_PATH": str(work / "exports"), "MAX_IMPORT_MB": "2000"})
        rows = []
        for scale in scales:
            for backend in ("sqlite", "postgresql"):
                print(f"bench: {scale} on {backend}…", flush=True)
                rows.append(bench_one(scale, backend, work, args.repeat))
        docs = ROOT / "docs"
        docs.mkdir(exist_ok=True)
        after = speed_probe()
        write_report(rows, docs / "BENCHMARKS.md", (before, after), library_load())
        plot(rows, docs / "benchmarks.png")
        shutil.rmtree(work / "exports", ignore_errors=True)
    print((docs / "BENCHMARKS.md").read_text())


if __name__ == "__main__":
    main()
