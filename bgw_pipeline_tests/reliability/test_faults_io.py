"""Faults of the world around an export or import: a database that does not answer, a
full disk, an S3 server that stops mid-upload, and a writer working at the same time."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.archive.reader import verify_archive
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.files import atomic_files
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.errors import ExportError, StalePlanError, TransientError
from bgw_pipeline.core.storage.s3_storage import S3Storage
from bgw_pipeline.defs import names
from bgw_pipeline_tests.dagster_resources import local_definitions
from bgw_pipeline_tests.factories import dump_database
from bgw_pipeline_tests.reliability.tally import record
from bgw_pipeline_tests.s3_server import free_port, moto_server, new_bucket

SECRET = "s3cret-pw-7781"


def test_an_unreachable_database_is_retried_then_fails_clearly(tmp_path: Path) -> None:
    url = f"postgresql://bgw:{SECRET}@127.0.0.1:{free_port()}/bgw"
    job = local_definitions(url, tmp_path).resolve_job_def(names.BACKUP_JOB)
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = " ".join(str(e.message) + str(e.event_specific_data) for e in result.all_events)
    ok = (
        not result.success
        and len(retries) == 2  # three tries in all (local_resources: retry_max_tries=3)
        and "gave up after 3 tries" in text
        and "127.0.0.1" in text
        and SECRET not in text
    )
    record("fault", "database unreachable during extract", ok, retries=len(retries), rows_lost=0)
    assert ok, (len(retries), len(failures), text[-1500:])


class _FullDisk:
    """A file that takes `room` bytes, then fails like a full disk."""

    def __init__(self, real: Any, room: int) -> None:
        self._real, self._room = real, room

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return int(self._real.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()


@pytest.mark.parametrize("room", [0, 64_000, 300_000])
def test_a_full_disk_fails_the_export_cleanly(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, room: int
) -> None:
    fill_demo_database(engine, scale=0.3)
    before = dump_database(engine)
    out = tmp_path / "out"
    real_open = open
    monkeypatch.setattr(atomic_files, "open", lambda p, m: _FullDisk(real_open(p, m), room),
                        raising=False)  # fmt: skip
    with pytest.raises(ExportError) as refused:
        export_database(engine, out, include_raw_data=True)
    left = sorted(p.name for p in out.iterdir())
    monkeypatch.undo()
    again = export_database(engine, out, include_raw_data=True)
    ok = (
        "No space left" in str(refused.value)
        and left == []
        and dump_database(engine) == before
        and verify_archive(again.path).ok
    )
    record("fault", f"disk full during export/{engine.dialect.name}/after {room} bytes", ok,
           rows_lost=0)  # fmt: skip
    assert ok, (str(refused.value), left)


def test_the_s3_server_stopping_mid_upload_then_coming_back(tmp_path: Path) -> None:
    port = free_port()
    archive = tmp_path / "bgw_backup_20240115T123000Z.zip"
    archive.write_bytes(os.urandom(40 * 1024 * 1024))  # five multipart parts
    errors: list[BaseException] = []
    first_part, stopped = threading.Event(), threading.Event()

    def hold_after_first_part(**_: object) -> None:
        # The server stops while the upload is surely under way, however fast it runs.
        if not first_part.is_set():
            first_part.set()
            stopped.wait(timeout=60)

    with moto_server(port) as endpoint:
        storage = S3Storage(new_bucket(endpoint))
        storage.client.meta.events.register("after-call.s3.UploadPart", hold_after_first_part)

        def upload() -> None:
            try:
                storage.store(archive)
            except BaseException as exc:  # noqa: BLE001 - checked below
                errors.append(exc)

        worker = threading.Thread(target=upload)
        worker.start()
        assert first_part.wait(timeout=60), "the upload never sent a part"
    stopped.set()
    worker.join(timeout=120)
    failed_cleanly = len(errors) == 1 and isinstance(errors[0], TransientError)
    kept_locally = archive.exists()
    with moto_server(port) as endpoint:  # the server is back (empty, as a restarted moto is)
        settings = new_bucket(endpoint)
        storage = S3Storage(settings)
        listed_before = storage.list_archives()
        location = storage.store(archive)
        listed_after = [a.name for a in storage.list_archives()]
    ok = (
        failed_cleanly
        and kept_locally
        and listed_before == []
        and listed_after == [archive.name]
        and location.endswith(archive.name)
    )
    record("fault", "S3 server stopped mid-upload, then restarted", ok, rows_lost=0)
    assert ok, (errors, kept_locally, listed_before, listed_after)


def _writer(url: str, stop: threading.Event, done: list[int]) -> None:
    engine = create_engine(url)
    try:
        while not stop.is_set():
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "UPDATE price_history SET price = price + 1 WHERE id = "
                    "(SELECT id FROM price_history ORDER BY id LIMIT 1)"
                )
            done.append(1)
            time.sleep(0.01)
    finally:
        engine.dispose()


def test_a_concurrent_writer_during_an_apply(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    fill_demo_database(engine, scale=0.2, seed=1)
    source = create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    fill_demo_database(source, scale=0.2, seed=2)
    archive = export_database(source, tmp_path / "src", include_raw_data=True).path
    source.dispose()
    with engine.connect() as conn:
        games_before = conn.exec_driver_sql("SELECT count(*) FROM games").scalar_one()
    stop, done = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(db_url, stop, done))
    writer.start()
    outcome = "applied"
    try:
        report = run_import(engine, archive, ImportFolders(tmp_path / "w"),
                            ImportOptions(dry_run=False, use_saved_plan=False))  # fmt: skip
        new_games = report.summary["games"]["new"]
    except (TransientError, StalePlanError, sa.exc.OperationalError) as exc:
        outcome, new_games = f"refused: {type(exc).__name__}", 0
    finally:
        stop.set()
        writer.join()
    with engine.connect() as conn:
        games_after = conn.exec_driver_sql("SELECT count(*) FROM games").scalar_one()
    consistent = games_after == games_before + new_games
    ok = consistent and bool(done)
    lost = 0 if consistent else abs(games_after - games_before - new_games)
    record("fault", f"concurrent writer during apply/{engine.dialect.name}", ok, outcome=outcome,
           writer_commits=len(done), rows_lost=lost)  # fmt: skip
    assert ok, (outcome, games_before, games_after, new_games, len(done))
