"""`make bench`: whole-process timings of export, import dry run and apply, with references.

For each scale (S = 1, M = 10, and L = 100 with --large) and backend (SQLite, PostgreSQL):
demo data is generated, then each command runs as its own process, median of --repeat
runs, wall time and peak RSS from the kernel's accounting of the child (wait4). References:
`pg_dump -Fc` of the same tables and a naive export (bench/naive_export.py). Writes
docs/BENCHMARKS.md and docs/benchmarks.png.
"""

from __future__ import annotations

import argparse
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


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run of `command` as a child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **CHILD_ENV}, cwd=ROOT)  # fmt: skip
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    return wall, usage.ru_maxrss / 1024


def median_of(runs: int, command: list[str], before: object = None) -> tuple[float, float]:
    results = []
    for _ in range(runs):
        if callable(before):
            before()
        results.append(timed(command))
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def change_one_percent(url: str) -> None:
    """Bump the price of 1% of the price rows, so a dry run has updates to find."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE price_history SET price = price + 1 WHERE id IN "
            "(SELECT id FROM price_history ORDER BY id LIMIT (SELECT count(*) / 100 FROM price_history))"
        )
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
    out = work / f"out-{scale}-{backend}"
    export = median_of(
        runs, [*BGW, "export", "--include-raw-data", "--url", url, "--out", str(out)]
    )
    archive = sorted(out.glob("bgw_backup_*.zip"))[-1]
    command = [*BGW, "import", str(archive), "--url", url]
    dry_runs, apply_runs = [], []
    for _ in range(runs):  # each round: 1% changed, dry run (saves the plan), apply it
        change_one_percent(url)
        dry_runs.append(timed(command))
        apply_runs.append(timed([*command, "--apply"]))
    dry = statistics.median(r[0] for r in dry_runs), statistics.median(r[1] for r in dry_runs)
    apply = statistics.median(r[0] for r in apply_runs), statistics.median(r[1] for r in apply_runs)
    naive = median_of(runs, [sys.executable, str(ROOT / "bench" / "naive_export.py"), url,
                             str(work / "naive.zip")])  # fmt: skip
    row: dict[str, object] = {
        "scale": scale, "backend": backend, "export": export, "dry_run": dry, "apply": apply,
        "naive": naive, "archive_mb": archive.stat().st_size / 2**20, "pg_dump": None,
    }  # fmt: skip
    if backend == "postgresql":
        parsed = sa.make_url(url)
        dump = ["pg_dump", "-Fc", "-h", parsed.host or "127.0.0.1", "-U", parsed.username or "postgres",
                "-f", str(work / "dump.pgc"), *[a for t in TABLES for a in ("-t", t)], parsed.database or ""]  # fmt: skip
        row["pg_dump"] = median_of(runs, dump)
    return row


def _ratio(a: float | None, b: float | None) -> str:
    return "" if not a or not b else f"{a / b:.2f}"


def write_report(rows: list[dict[str, object]], out: Path) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/run_bench.py); whole processes on this machine, "
        "median of the runs; wall seconds and peak RSS (MiB). Export and import include raw "
        "data; the dry run and the apply follow a change to 1% of the price rows.",
        "",
        "| scale | backend | export s (MiB) | dry run s (MiB) | apply s (MiB) | naive export s (MiB) "
        "| pg_dump -Fc s | export/pg_dump | archive MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{r[k][0]:.2f} ({r[k][1]:.0f})" for k in ("export", "dry_run", "apply", "naive")]  # type: ignore[index]
        dump = r["pg_dump"][0] if r["pg_dump"] else None  # type: ignore[index]
        lines.append(
            f"| {r['scale']} | {r['backend']} | "
            + " | ".join(cells)
            + f" | {'' if dump is None else f'{dump:.2f}'} | {_ratio(r['export'][0], dump)} "  # type: ignore[index]
            + f"| {r['archive_mb']:.1f} |"
        )
    lines += ["", "## Targets (PostgreSQL)", ""]
    for r in rows:
        if r["backend"] != "postgresql" or not r["pg_dump"]:
            continue
        export, dump, dry = r["export"][0], r["pg_dump"][0], r["dry_run"][0]  # type: ignore[index]
        met = lambda ok: "met" if ok else "**missed**"  # noqa: E731
        lines.append(
            f"- {r['scale']}: export no slower than pg_dump: {met(export <= dump)} "
            f"(ratio {export / dump:.2f}); dry run no slower than the export: "
            f"{met(dry <= export)} (ratio {dry / export:.2f}); apply adds at most 20% "
            f"to the dry run: {met(r['apply'][0] <= 1.2 * dry)} "  # type: ignore[index]
            f"(ratio {r['apply'][0] / dry:.2f})"
        )  # type: ignore[index]
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
    args = parser.parse_args()
    scales = ["S", "M"] + (["L"] if args.large else [])
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
        write_report(rows, docs / "BENCHMARKS.md")
        plot(rows, docs / "benchmarks.png")
        shutil.rmtree(work / "exports", ignore_errors=True)
    print((docs / "BENCHMARKS.md").read_text())


if __name__ == "__main__":
    main()
