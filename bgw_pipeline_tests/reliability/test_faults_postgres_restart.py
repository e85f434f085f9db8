"""PostgreSQL restarted in the middle of an export and of an apply: on a private cluster
of this test's own (initdb in a temporary folder, a free port), so that the shared server
the other tests use is never touched. The restart comes when the command's query is seen
running. The export leaves no archive, or a whole one; the apply leaves the database as
it was before or after, never between; the next try works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.archive.reader import verify_archive
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline_tests.factories import dump_database
from bgw_pipeline_tests.reliability.tally import record
from bgw_pipeline_tests.s3_server import free_port

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def _as_postgres(*command: str) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class PrivateCluster:
    def __init__(self) -> None:
        assert PG_BIN is not None, "PostgreSQL's server binaries are needed"
        self.folder = Path(tempfile.mkdtemp(prefix="bgw-pg-restart-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.port = free_port()
        self.data = self.folder / "data"
        subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                                    "-U", "postgres"), check=True, capture_output=True)  # fmt: skip
        self._ctl("start")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/bgw"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute("CREATE DATABASE bgw")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                                    "-l", str(self.folder / "log"), "-w", *extra, action),
                       check=True, capture_output=True)  # fmt: skip

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")  # ends every session, as a crash or failover does

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    server = PrivateCluster()
    try:
        yield server
    finally:
        server.stop()


def _restart_when_busy(cluster: PrivateCluster, done: Callable[[], bool]) -> bool:
    """Restart the cluster as soon as a query of another session runs in `bgw`; False if
    the command finished first."""
    dsn = f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not done():
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'bgw' "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchone()
            if busy and busy[0]:
                break
            time.sleep(0.005)
        else:
            return False
    cluster.restart()
    return True


def _bgw(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bgw_pipeline.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _run_with_restart(cluster: PrivateCluster, *args: str) -> tuple[bool, int, str]:
    process = _bgw(*args)
    hit: list[bool] = []
    watcher = threading.Thread(
        target=lambda: hit.append(_restart_when_busy(cluster, lambda: process.poll() is not None))
    )
    watcher.start()
    out, err = process.communicate(timeout=300)
    watcher.join(60)
    return bool(hit and hit[0]), process.returncode, out + err


def test_postgresql_restarted_during_an_export(cluster: PrivateCluster, tmp_path: Path) -> None:
    engine = create_engine(cluster.url)
    fill_demo_database(engine, scale=2.0)
    engine.dispose()
    out = tmp_path / "out"
    hit, code, said = _run_with_restart(cluster, "export", "--url", cluster.url,
                                        "--out", str(out))  # fmt: skip
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    whole = all(verify_archive(out / name).ok for name in left)
    again = _bgw("export", "--url", cluster.url, "--out", str(tmp_path / "again"))
    again_out, again_err = again.communicate(timeout=300)
    ok = (
        (code != 0 if hit else code == 0)
        and (left == [] if code != 0 else whole)
        and again.returncode == 0
        and (code == 0 or "bgw: error:" in said)  # the failure said in a sentence
    )
    record("fault", "PostgreSQL restarted during an export", ok, restarted_mid_run=hit,
           exit_code=code, files_left=len(left), rows_lost=0,
           traceback_printed="Traceback" in said)  # fmt: skip
    assert ok, (hit, code, said[-3000:], left, again_out + again_err)


def test_postgresql_restarted_during_an_apply(cluster: PrivateCluster, tmp_path: Path) -> None:
    engine = create_engine(cluster.url)
    fill_demo_database(engine, scale=2.0)
    archive = export_database(engine, tmp_path / "archive", include_raw_data=True).path
    after = dump_database(engine)
    with engine.begin() as conn:  # the apply puts these back: a write to every game
        conn.execute(sa.text("UPDATE games SET title = title || ' (changed)'"))
        conn.execute(sa.text("DELETE FROM price_history WHERE id IN "
                             "(SELECT id FROM price_history ORDER BY id LIMIT 500)"))  # fmt: skip
    before = dump_database(engine)
    engine.dispose()
    hit, code, said = _run_with_restart(cluster, "import", str(archive), "--apply",
                                        "--url", cluster.url)  # fmt: skip
    engine = create_engine(cluster.url)
    state = dump_database(engine)
    whole = state in (before, after)
    retry = _bgw("import", str(archive), "--apply", "--url", cluster.url)
    retry_said = "".join(retry.communicate(timeout=300))
    final = dump_database(engine)
    engine.dispose()
    ok = whole and retry.returncode == 0 and final == after and "Traceback" not in said
    if hit:
        ok = ok and (code != 0 or state == after)
    record("fault", "PostgreSQL restarted during an apply", ok, restarted_mid_run=hit,
           exit_code=code, state="before" if state == before else "after" if state == after
           else "between", rows_lost=0 if final == after else 1)  # fmt: skip
    assert ok, (hit, code, said[-800:], retry_said[-800:], whole)
