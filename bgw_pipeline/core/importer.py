"""Importing an archive: validate, diff in DuckDB, then write back all or nothing.

Order matters for safety: the archive is validated completely (safety, checksums,
version, every row) before the database is touched; the apply re-reads the database
inside its own write transaction, refuses a stale plan, saves the rows it will overwrite
as an undo archive, and only then writes.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bgw_pipeline.core.archive_reader import ArchiveLimits, ArchiveReader, open_archive
from bgw_pipeline.core.archive_summary import summarize_archive
from bgw_pipeline.core.bulk_load import upsert_batches
from bgw_pipeline.core.database import connect
from bgw_pipeline.core.diff import DiffResult, diff_loaded
from bgw_pipeline.core.diff_store import DiffStore
from bgw_pipeline.core.entities import Entity
from bgw_pipeline.core.errors import StalePlanError
from bgw_pipeline.core.import_loading import (
    LoadedArchive,
    load_rows_in_question,
    verifies_while_hashing,
)
from bgw_pipeline.core.import_plan import (
    discard_plan,
    file_sha256,
    load_plan,
    new_plan,
    save_plan,
)
from bgw_pipeline.core.import_report import ImportReport
from bgw_pipeline.core.postgres_rows import PostgresRowReader
from bgw_pipeline.core.schema import ensure_schema
from bgw_pipeline.core.snapshot import DatabaseSnapshot, open_snapshot
from bgw_pipeline.core.undo import save_undo_archive
from bgw_pipeline.core.work_folders import work_folder

OnError = Literal["abort", "skip"]


@dataclass(frozen=True)
class ImportFolders:
    """Where an import keeps its reports, plans and undo archives."""

    root: Path

    @property
    def reports(self) -> Path:
        return self.root / "import_reports"

    @property
    def plans(self) -> Path:
        return self.root / "import_plans"

    @property
    def undo(self) -> Path:
        return self.root / "import_undo"


@dataclass
class ImportOptions:
    """How to import."""

    dry_run: bool = True
    on_error: OnError = "abort"
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    use_saved_plan: bool = True


def _summary(diff: DiffResult, loaded: LoadedArchive) -> dict[str, dict[str, int]]:
    for name, count in loaded.error_counts.items():
        diff.entities[name].errors += count
    return {name: d.counts() for name, d in diff.entities.items()}


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
    """
    options = options or ImportOptions()
    started = time.monotonic()
    report = ImportReport(import_id=f"import-{uuid.uuid4()}", dry_run=options.dry_run)
    # The file's hash names the saved plan; it is needed only once the rows are loaded,
    # so it is taken beside the import (hashlib lets other threads run while it hashes).
    with ThreadPoolExecutor(1, thread_name_prefix="bgw-archive-sha256") as hasher:
        archive_sha = hasher.submit(file_sha256, archive)
        _run(engine, archive, archive_sha, folders, options, report)
    report.duration_seconds = round(time.monotonic() - started, 3)
    report.save(folders.reports)
    return report


def _run(
    engine: Engine,
    archive: Path,
    archive_sha: Future[str],
    folders: ImportFolders,
    options: ImportOptions,
    report: ImportReport,
) -> None:
    ensure_schema(engine)
    with work_folder("bgw-import-") as work:
        store = DiffStore(work / "diff.duckdb")
        try:
            with open_archive(archive, options.limits) as reader:
                reader.require_compatible()
                if not verifies_while_hashing(reader):
                    reader.require_verified()
                if options.dry_run:
                    with open_snapshot(engine) as snapshot:
                        loaded = load_rows_in_question(reader, store, snapshot)
                        diff = diff_loaded(
                            store, loaded.entities, loaded.unchanged, loaded.natural_key_rows
                        )
                    sha = archive_sha.result()
                    _describe(report, reader, archive, sha, loaded)
                    _fill(report, diff, loaded)
                    plan = new_plan(
                        sha,
                        archive.name,
                        diff.fingerprint,
                        report.import_id,
                        report.summary,
                    )
                    save_plan(folders.plans, plan)
                    report.success = True
                    report.message = _dry_run_message(report, options)
                else:
                    _apply(engine, archive, archive_sha, reader, store, report, folders, options)
        finally:
            store.close()


def _describe(
    report: ImportReport, reader: ArchiveReader, archive: Path, sha: str, loaded: LoadedArchive
) -> None:
    summary = summarize_archive(
        reader, archive.stat().st_size, (loaded.days.earliest, loaded.days.latest)
    )
    report.archive = {"name": archive.name, "sha256": sha, **summary}


def _fill(report: ImportReport, diff: DiffResult, loaded: LoadedArchive) -> None:
    report.summary = _summary(diff, loaded)
    report.warnings = loaded.warnings + diff.warnings
    report.errors = loaded.errors + diff.errors
    report.fingerprint = diff.fingerprint
    report.changes = {name: d.changes for name, d in diff.entities.items() if d.changes}


def _dry_run_message(report: ImportReport, options: ImportOptions) -> str:
    writes = sum(c["new"] + c["updated"] for c in report.summary.values())
    errors = sum(c["errors"] for c in report.summary.values())
    text = f"dry run: {writes} rows would be written, {errors} rows have errors"
    if errors and options.on_error == "abort":
        text += "; applying with on_error=abort would write nothing"
    return text


def _apply(
    engine: Engine,
    archive: Path,
    archive_sha_pending: Future[str],
    reader: ArchiveReader,
    store: DiffStore,
    report: ImportReport,
    folders: ImportFolders,
    options: ImportOptions,
) -> None:
    with connect(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="SERIALIZABLE")
        else:
            conn = conn.execution_options(bgw_sqlite_begin="BEGIN IMMEDIATE")
        with conn.begin() as transaction:
            row_reader = None
            if engine.dialect.name == "postgresql":
                # Worker connections read this transaction's snapshot, as the dry run's do.
                snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                row_reader = PostgresRowReader.for_engine(engine, str(snapshot_id))
            try:
                loaded = load_rows_in_question(
                    reader, store, DatabaseSnapshot(conn, row_reader=row_reader)
                )
            finally:
                if row_reader is not None:
                    row_reader.close()
            diff = diff_loaded(store, loaded.entities, loaded.unchanged, loaded.natural_key_rows)
            archive_sha = archive_sha_pending.result()
            plan = load_plan(folders.plans, archive_sha) if options.use_saved_plan else None
            _describe(report, reader, archive, archive_sha, loaded)
            _fill(report, diff, loaded)
            if plan is not None and plan.fingerprint != diff.fingerprint:
                transaction.rollback()
                raise StalePlanError(
                    f"the database changed since the dry run of {plan.archive_name} "
                    f"({plan.created_at}, {plan.import_id}); nothing was written. "
                    "Run the dry run again, check its report, then apply."
                )
            errors = sum(c["errors"] for c in report.summary.values())
            if errors and options.on_error == "abort":
                transaction.rollback()
                first = "; ".join(message[:200] for message in report.errors[:3])
                report.message = (
                    f"{errors} rows have errors; nothing was written (on_error=abort). "
                    "Fix the archive, or apply with on_error=skip to write the valid rows. "
                    f"First errors: {first}"
                )
                return
            report.undo = str(
                save_undo_archive(folders.undo, report.import_id, diff, loaded.entities)
            )
            written = _write(conn, diff, loaded.entities)
        discard_plan(folders.plans, archive_sha)
        report.applied = True
        report.success = True
        report.message = f"applied: {written} rows written" + (
            f", {errors} rows with errors skipped" if errors else ""
        )


def _write(conn: sa.Connection, diff: DiffResult, entities: tuple[Entity, ...]) -> int:
    written = 0
    for entity in entities:  # CORE_ENTITIES order: parents before children
        if diff.entities[entity.name].new or diff.entities[entity.name].updated:
            written += upsert_batches(conn, entity, diff.rows_to_write(entity))
    return written
