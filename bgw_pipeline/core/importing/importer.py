"""Importing an archive: validate, diff in DuckDB, then write back all or nothing.

Order matters for safety: the archive is validated completely (safety, checksums,
version, every row) before the database is touched; the apply re-reads the database
inside its own write transaction, refuses a stale plan, saves the rows it will overwrite
as an undo archive, and only then writes (importing/steps.py).

PostgreSQL is imported over psycopg alone (database/postgres/snapshot.py), as it is exported:
SQLAlchemy is never loaded, and the workers start reading the database's rows as soon
as the archive is open, while this process loads DuckDB and Arrow (importing/steps.py is
loaded only then). SQLite goes through SQLAlchemy.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bgw_pipeline.core.archive.reader import ArchiveReader, open_archive
from bgw_pipeline.core.files.digests import file_sha256
from bgw_pipeline.core.files.sealing import opened
from bgw_pipeline.core.importing.report import ImportReport
from bgw_pipeline.core.importing.run import ImportFolders, ImportOptions, ImportRun, OnError
from bgw_pipeline.core.model.errors import TransientError

__all__ = ["ImportFolders", "ImportOptions", "OnError", "import_postgres", "run_import"]

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

    from bgw_pipeline.core.compare.diff import DiffResult
    from bgw_pipeline.core.model.entities import Entity


def run_import(
    engine: Engine, archive: Path, folders: ImportFolders, options: ImportOptions | None = None
) -> ImportReport:
    """Import `archive` into the database (a dry run unless `options.dry_run` is False).

    Args:
        engine: the BGW database; missing tables are created.
        archive: the ZIP to import.
        folders: where reports, plans and undo archives go.
        options: dry run, error policy, limits.
    Raises:
        ArchiveError: the archive is refused (unsafe, corrupt, incompatible); nothing changed.
        StalePlanError: the database changed since this archive's dry run; nothing written.
        TransientError: PostgreSQL broke off the import (a lost connection, a
            serialization failure); nothing written, worth another try.
    """
    if engine.dialect.name == "postgresql":
        url = engine.url.render_as_string(hide_password=False)
        return import_postgres(url, archive, folders, options)
    return _imported(archive, folders, options, partial(_run_sqlalchemy, engine))


def import_postgres(
    url: str,
    archive: Path,
    folders: ImportFolders,
    options: ImportOptions | None = None,
    while_reading: Callable[[], None] | None = None,
) -> ImportReport:
    """`run_import` into the PostgreSQL database at `url`, over psycopg alone.

    `while_reading` runs once the database's reads have started, before the import loads
    the rest of its modules: a short-lived process loads what it needs in that time
    (the command line keeps pyarrow from loading pandas)."""
    return _imported(archive, folders, options, partial(_run_postgres, url, while_reading))


def _imported(
    archive: Path,
    folders: ImportFolders,
    options: ImportOptions | None,
    run: Callable[[ImportRun, ArchiveReader], None],
) -> ImportReport:
    options = options or ImportOptions()
    started = time.monotonic()
    report = ImportReport(import_id=f"import-{uuid.uuid4()}", dry_run=options.dry_run)
    # The file's hash names the saved plan; it is needed only once the rows are loaded,
    # so it is taken beside the import (hashlib lets other threads run while it hashes).
    with (
        opened(archive, options.key) as plain,  # a sealed archive: decrypted, authenticated
        ThreadPoolExecutor(1, thread_name_prefix="bgw-archive-sha256") as hasher,
    ):
        job = ImportRun(plain, hasher.submit(file_sha256, plain), folders, options, report)
        with open_archive(plain, options.limits) as reader:
            reader.require_compatible()
            run(job, reader)
    report.duration_seconds = round(time.monotonic() - started, 3)
    report.save(folders.reports)
    return report


def _run_postgres(
    url: str, while_reading: Callable[[], None] | None, job: ImportRun, reader: ArchiveReader
) -> None:
    import psycopg

    from bgw_pipeline.core.database.postgres.snapshot import open_postgres_snapshot

    try:
        with open_postgres_snapshot(url, writable=not job.options.dry_run) as snapshot:
            # The workers read the database's rows from here on, while this process loads
            # the rest of the import (DuckDB, Arrow: about 0.4 s) and checks the archive.
            snapshot.prefetch(reader.entities())
            if while_reading is not None:
                while_reading()
            from bgw_pipeline.core.importing import steps as import_steps

            with import_steps.diff_store(reader) as store:
                if job.options.dry_run:
                    import_steps.dry_run(job, reader, store, snapshot)
                    return
                conn = snapshot.driver_connection
                write = partial(_write_postgres, conn)
                written = import_steps.apply(job, reader, store, snapshot, write, snapshot.release)
                if written is None:
                    return  # nothing may be written: rolled back on leaving
                conn.commit()
            import_steps.applied(job, written)
    except psycopg.OperationalError as exc:
        # A lost connection or a serialization failure: the transaction is rolled back.
        # Only the server's first line is kept: the statement may hold data.
        first = str(exc).strip().splitlines()[:1]
        raise TransientError(
            f"PostgreSQL broke off the import ({type(exc).__name__}: {' '.join(first)}); "
            "nothing was written"
        ) from None


def _write_postgres(conn: object, diff: DiffResult, entities: tuple[Entity, ...]) -> int:
    from bgw_pipeline.core.database.bulk_load import upsert_postgres
    from bgw_pipeline.core.importing.steps import rows_to_write

    return sum(upsert_postgres(conn, e, batches) for e, batches in rows_to_write(diff, entities))


def _run_sqlalchemy(engine: Engine, job: ImportRun, reader: ArchiveReader) -> None:
    from bgw_pipeline.core.database.engines import connect
    from bgw_pipeline.core.database.schema import ensure_schema
    from bgw_pipeline.core.database.snapshot import open_snapshot, writing_snapshot
    from bgw_pipeline.core.importing import steps as import_steps

    ensure_schema(engine)
    with import_steps.diff_store(reader) as store:
        if job.options.dry_run:
            with open_snapshot(engine) as snapshot:
                import_steps.dry_run(job, reader, store, snapshot)
            return
        with connect(engine) as conn:
            conn = conn.execution_options(bgw_sqlite_begin="BEGIN IMMEDIATE")
            with conn.begin() as transaction, writing_snapshot(engine, conn) as snapshot:
                write = partial(_write_sqlalchemy, conn)
                written = import_steps.apply(job, reader, store, snapshot, write, snapshot.release)
                if written is None:
                    transaction.rollback()
                    return
        import_steps.applied(job, written)


def _write_sqlalchemy(conn: sa.Connection, diff: DiffResult, entities: tuple[Entity, ...]) -> int:
    from bgw_pipeline.core.database.bulk_load import upsert_batches
    from bgw_pipeline.core.importing.steps import rows_to_write

    return sum(upsert_batches(conn, e, batches) for e, batches in rows_to_write(diff, entities))
