"""`make bench`: whole-process timings of every door in and out of the database, with peers.

For each scale (S = 1, M = 10, L = 100 with --large) and backend (SQLite, PostgreSQL):
demo data is generated, then each command runs as its own process, median of --repeat
runs, wall time and peak RSS from the kernel's accounting of the child (wait4). Doors:
`bgw export`, `bgw backup` (backup_job through Dagster), `bgw import` dry run and apply,
the same import on the inbox sensor's path (bench/sensor_import.py), a naive export
(bench/naive_export.py), and the peer: `pg_dump -Fc` of the same tables, or `sqlite3
.backup` and `zip -6`. --xl adds XL (scale 1000): the export's and the backup's peak RSS.
Writes BENCHMARKS.md and benchmarks.png to docs/ (or --out); bench/bench_report.py
writes them.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_report, however this is loaded
import bench_report
from bench_report import LIBRARIES, LIBRARY_PAIRS, PG_PEER, SCALES, SQLITE_PEER

ROOT = Path(__file__).resolve().parents[1]
BGW = [sys.executable, "-m", "bgw_pipeline.cli"]
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


def settle(url: str) -> None:
    """Bring a freshly loaded database to the steady state of one in service: vacuumed and
    analysed. Otherwise autovacuum starts on the new tables during the first timings and
    takes a core from whichever command runs then (pg_dump runs later, on a quiet server)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)" if url.startswith("postgresql") else "ANALYZE")
    engine.dispose()


def fresh_database(scale: str, backend: str, work: Path) -> str:
    """The URL of a new database holding `bgw demo-db --scale SCALES[scale]`, settled."""
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
    subprocess.run([*BGW, "demo-db", "--scale", str(SCALES[scale]), "--url", url], check=True,
                   cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
    settle(url)
    return url


def drop_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def door_env(url: str, folder: Path) -> dict[str, str]:
    """A fresh deployment for one scale on one backend: DAGSTER_HOME (deploy/
    dagster.local.yaml), EXPORT_PATH (backups, import plans and reports) and IMPORT_INBOX."""
    home = folder / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    return {"BGW_DATABASE_URL": url, "DAGSTER_HOME": str(home),
            "EXPORT_PATH": str(folder / "exports"), "IMPORT_INBOX": str(folder / "inbox")}  # fmt: skip


SENSOR_IMPORT = [sys.executable, str(ROOT / "bench" / "sensor_import.py")]
SENSOR_SETTLED_AGO = 60.0  # seconds: past the inbox's settle time, as a finished copy is


def sensor_import(
    archive: Path, env: dict[str, str], apply: bool
) -> tuple[tuple[float, float], dict]:
    """The archive dropped in the inbox (apply/ to apply), then one timed tick-and-run."""
    folder = Path(env["IMPORT_INBOX"]) / ("apply" if apply else "")
    folder.mkdir(parents=True, exist_ok=True)
    dropped = folder / archive.name
    shutil.copyfile(archive, dropped)
    settled = time.time() - SENSOR_SETTLED_AGO
    os.utime(dropped, (settled, settled))
    result = timed(SENSOR_IMPORT, env)
    return result, json.loads(LAST_STDOUT[0].strip().splitlines()[-1])


PY_PEER = (  # the SQLite peer when the sqlite3 or zip binary is missing: the same two steps
    "import os, sqlite3, sys, zipfile\n"
    "src, copy, out = sys.argv[1:]\n"
    "a, b = sqlite3.connect(src), sqlite3.connect(copy)\n"
    "a.backup(b)\n"
    "b.close(), a.close()\n"
    "with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED, compresslevel=6) as z:\n"
    "    z.write(copy, os.path.basename(copy))\n"
)


def sqlite_peer(url: str, work: Path, runs: int) -> tuple[tuple[float, float], str, float]:
    """`sqlite3 .backup` to a file, then `zip -6` of it: (timing, which tool, zip MiB)."""
    source, copy, out = url.removeprefix("sqlite:///"), work / "peer.db", work / "peer.zip"

    def clear() -> None:  # zip adds to an existing archive, and .backup overwrites
        copy.unlink(missing_ok=True)
        out.unlink(missing_ok=True)

    if shutil.which("sqlite3") and shutil.which("zip"):
        name = SQLITE_PEER
        command = ["sh", "-c", "sqlite3 \"$1\" \".backup '$2'\" && zip -6 -q -j \"$3\" \"$2\"",
                   "peer", source, str(copy), str(out)]  # fmt: skip
    else:
        name = "Python's sqlite3 backup + zipfile deflate level 6 (no sqlite3/zip binary)"
        command = [sys.executable, "-c", PY_PEER, source, str(copy), str(out)]
    timing = median_of(runs, command, before=clear)
    size = out.stat().st_size / 2**20
    clear()
    return timing, name, size


def pg_dump(url: str, work: Path, runs: int) -> tuple[tuple[float, float], str, float]:
    parsed, out = sa.make_url(url), work / "dump.pgc"
    dump = ["pg_dump", "-Fc", "-h", parsed.host or "127.0.0.1", "-U", parsed.username or "postgres",
            "-f", str(out), *[a for t in TABLES for a in ("-t", t)], parsed.database or ""]  # fmt: skip
    timing = median_of(runs, dump)
    size = out.stat().st_size / 2**20
    out.unlink()
    return timing, PG_PEER, size


def _written() -> int:
    return int(json.loads(LAST_STDOUT[0])["message"].split()[1])


def _median(results: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def bench_one(scale: str, backend: str, work: Path, runs: int) -> dict[str, object]:
    url = fresh_database(scale, backend, work)
    folder = work / f"{scale}-{backend}"
    env = door_env(url, folder)
    out = folder / "out"
    export = median_of(
        runs, [*BGW, "export", "--include-raw-data", "--url", url, "--out", str(out)], env=env
    )
    archive = sorted(out.glob("bgw_backup_*.zip"))[-1]
    backup = median_of(runs, [*BGW, "backup"], env=env)  # no raw data: the default
    command = [*BGW, "import", str(archive), "--url", url, "--json"]
    rounds: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("dry", "apply", "sdry", "sapply")
    }
    written, sensor_written, ticks = [], [], []
    for _ in range(runs):  # each round: 1% changed, dry run (saves the plan), apply it; twice
        changed = change_one_percent(url)
        rounds["dry"].append(timed(command, env))
        rounds["apply"].append(timed([*command, "--apply"], env))
        written.append((changed, _written()))
        changed = change_one_percent(url)
        for key, apply in (("sdry", False), ("sapply", True)):
            timing, report = sensor_import(archive, env, apply)
            rounds[key].append(timing)
            ticks.append(float(report["sensor_seconds"]))
        sensor_written.append((changed, int(report["message"].split()[1])))
    # The naive export needs gigabytes at L: one run there is enough to place it.
    naive = median_of(1 if scale == "L" else runs, [sys.executable,
                      str(ROOT / "bench" / "naive_export.py"), url, str(work / "naive.zip")])  # fmt: skip
    peer, peer_name, peer_mb = (sqlite_peer if backend == "sqlite" else pg_dump)(url, work, runs)
    row: dict[str, object] = {
        "scale": scale, "backend": backend, "export": export, "backup": backup,
        "dry_run": _median(rounds["dry"]), "apply": _median(rounds["apply"]),
        "sensor_dry": _median(rounds["sdry"]), "sensor_apply": _median(rounds["sapply"]),
        "sensor_tick": statistics.median(ticks), "naive": naive,
        "peer": peer, "peer_name": peer_name, "peer_mb": peer_mb,
        "archive_mb": archive.stat().st_size / 2**20, "zlib6_mb": zlib6_size(archive) / 2**20,
        "rows": total_rows(url), "written": written, "sensor_written": sensor_written,
        "export_plain": None,
    }  # fmt: skip
    if scale == "S":  # the export as `bgw backup` archives it, for Dagster's overhead
        row["export_plain"] = median_of(
            runs, [*BGW, "export", "--url", url, "--out", str(folder / "plain")], env=env
        )
    shutil.rmtree(folder)
    return row


def bench_xl(backend: str, work: Path) -> dict[str, object]:
    """XL: the export's and the backup's peak RSS (one run each), against L's."""
    url = fresh_database("XL", backend, work)
    folder = work / f"XL-{backend}"
    env = door_env(url, folder)
    out = folder / "out"
    export = timed([*BGW, "export", "--include-raw-data", "--url", url, "--out", str(out)], env)
    archive = sorted(out.glob("bgw_backup_*.zip"))[-1]
    row: dict[str, object] = {
        "scale": "XL", "backend": backend, "export": export, "rows": total_rows(url),
        "backup": timed([*BGW, "backup"], env), "archive_mb": archive.stat().st_size / 2**20,
    }  # fmt: skip
    shutil.rmtree(folder)
    drop_database(url)
    return row


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


def library_load(pairs: int = LIBRARY_PAIRS) -> float:
    """Seconds a whole process spends loading DuckDB, Arrow and NumPy: `python -c` of
    their imports against `python -c pass`, run in turn, median of the pairs' differences."""
    gaps = []
    for _ in range(pairs):
        loaded = timed([sys.executable, "-c", LIBRARIES])[0]
        gaps.append(loaded - timed([sys.executable, "-c", "pass"])[0])
    return statistics.median(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", action="store_true", help="also scale L (about 1.5M price rows)")
    parser.add_argument("--xl", action="store_true",
                        help="also L, and XL (scale 1000): the export's and backup's peak RSS")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scales", help="comma-separated, e.g. S,M (overrides --large)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs",
                        help="folder for BENCHMARKS.md and benchmarks.png (default: docs/)")  # fmt: skip
    args = parser.parse_args()
    scales = ["S", "M"] + (["L"] if args.large or args.xl else [])
    if args.scales:
        scales = args.scales.split(",")
    before = speed_probe()
    with tempfile.TemporaryDirectory(prefix="bgw-bench-") as tmp:
        work = Path(tmp)
        CHILD_ENV.update({"MAX_IMPORT_MB": "2000"})
        rows = []
        for scale in scales:
            for backend in ("sqlite", "postgresql"):
                print(f"bench: {scale} on {backend}…", flush=True)
                rows.append(bench_one(scale, backend, work, args.repeat))
        for backend in ("sqlite", "postgresql") if args.xl else ():
            print(f"bench: XL on {backend}…", flush=True)
            rows.append(bench_xl(backend, work))
        args.out.mkdir(parents=True, exist_ok=True)
        after = speed_probe()
        report = args.out / "BENCHMARKS.md"
        bench_report.write_report(rows, report, (before, after), library_load())
        bench_report.plot(rows, args.out / "benchmarks.png")
    print(report.read_text())


if __name__ == "__main__":
    main()
