"""The steps of an import once the archive is open and the database snapshot taken: the
rows in question loaded and diffed in DuckDB, then the dry run's plan, or the apply's
checks, undo archive and write. Both databases share them: SQLite through SQLAlchemy,
PostgreSQL over psycopg alone (importing/importer.py). This module loads DuckDB and Arrow, so
the importer loads it only once the database's reads have started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bgw_pipeline.core.archive.reader import ArchiveReader
from bgw_pipeline.core.archive.summary import summarize_archive
from bgw_pipeline.core.compare.diff import DiffResult, diff_loaded
from bgw_pipeline.core.compare.diff_store import DiffStore
from bgw_pipeline.core.compare.rows_in_question import (
    LoadedArchive,
    load_rows_in_question,
    verifies_while_hashing,
)
from bgw_pipeline.core.files.work_folders import work_folder
from bgw_pipeline.core.importing.plan import discard_plan, load_plan, new_plan, save_plan
from bgw_pipeline.core.importing.undo_archive import save_undo_archive
from bgw_pipeline.core.model.entities import Entity
from bgw_pipeline.core.model.errors import StalePlanError

if TYPE_CHECKING:
    from bgw_pipeline.core.importing.run import ImportRun

# Writes the rows to write of each entity, parents first; returns the rows written.
WriteRows = Callable[[DiffResult, tuple[Entity, ...]], int]


@contextmanager
def diff_store(reader: ArchiveReader) -> Iterator[DiffStore]:
    """The import's DuckDB work database, in a folder removed afterwards; the archive is
    verified first unless the first pass verifies it on its own reads (a big one)."""
    with work_folder("bgw-import-") as work:
        store = DiffStore(work / "diff.duckdb")
        try:
            if not verifies_while_hashing(reader):
                reader.require_verified()
            yield store
        finally:
            store.close()


def _describe(job: ImportRun, reader: ArchiveReader, sha: str, loaded: LoadedArchive) -> None:
    summary = summarize_archive(
        reader, job.archive.stat().st_size, (loaded.days.earliest, loaded.days.latest)
    )
    job.report.archive = {"name": job.archive.name, "sha256": sha, **summary}


def _fill(job: ImportRun, diff: DiffResult, loaded: LoadedArchive) -> None:
    report = job.report
    for name, count in loaded.error_counts.items():
        diff.entities[name].errors += count
    report.summary = {name: d.counts() for name, d in diff.entities.items()}
    report.warnings = loaded.warnings + diff.warnings
    report.errors = loaded.errors + diff.errors
    report.fingerprint = diff.fingerprint
    report.changes = {name: d.changes for name, d in diff.entities.items() if d.changes}


def _diff(
    job: ImportRun,
    reader: ArchiveReader,
    store: DiffStore,
    snapshot: Any,
    release: Callable[[], None] | None,
) -> tuple[DiffResult, LoadedArchive, str]:
    try:
        loaded = load_rows_in_question(reader, store, snapshot)
    finally:
        if release is not None:
            release()
    diff = diff_loaded(store, loaded.entities, loaded.unchanged, loaded.natural_key_rows)
    sha = job.archive_sha.result()
    _describe(job, reader, sha, loaded)
    _fill(job, diff, loaded)
    return diff, loaded, sha


def _errors(job: ImportRun) -> int:
    return sum(c["errors"] for c in job.report.summary.values())


def dry_run(job: ImportRun, reader: ArchiveReader, store: DiffStore, snapshot: Any) -> None:
    """Diff the archive against the snapshot; report it and save the plan an apply checks."""
    diff, _loaded, sha = _diff(job, reader, store, snapshot, None)
    report = job.report
    plan = new_plan(sha, job.archive.name, diff.fingerprint, report.import_id, report.summary)
    save_plan(job.folders.plans, plan)
    report.success = True
    writes = sum(c["new"] + c["updated"] for c in report.summary.values())
    errors = _errors(job)
    report.message = f"dry run: {writes} rows would be written, {errors} rows have errors"
    if errors and job.options.on_error == "abort":
        report.message += "; applying with on_error=abort would write nothing"


def apply(
    job: ImportRun,
    reader: ArchiveReader,
    store: DiffStore,
    snapshot: Any,
    write: WriteRows,
    release: Callable[[], None] | None = None,
) -> int | None:
    """Diff inside the caller's write transaction, refuse a stale plan, save the undo
    archive, then write. Returns the rows written (the caller commits), or None when
    nothing may be written (rows with errors and on_error=abort: roll back).

    `release` frees the snapshot's reading connections once the rows are loaded.
    Raises StalePlanError when the database changed since the archive's dry run.
    """
    diff, loaded, sha = _diff(job, reader, store, snapshot, release)
    plan = load_plan(job.folders.plans, sha) if job.options.use_saved_plan else None
    if plan is not None and plan.fingerprint != diff.fingerprint:
        raise StalePlanError(
            f"the database changed since the dry run of {plan.archive_name} "
            f"({plan.created_at}, {plan.import_id}); nothing was written. "
            "Run the dry run again, check its report, then apply."
        )
    errors = _errors(job)
    if errors and job.options.on_error == "abort":
        first = "; ".join(message[:200] for message in job.report.errors[:3])
        job.report.message = (
            f"{errors} rows have errors; nothing was written (on_error=abort). "
            "Fix the archive, or apply with on_error=skip to write the valid rows. "
            f"First errors: {first}"
        )
        return None
    job.report.undo = str(
        save_undo_archive(job.folders.undo, job.report.import_id, diff, loaded.entities)
    )
    return write(diff, loaded.entities)


def applied(job: ImportRun, written: int) -> None:
    """The apply's transaction is committed: its plan is spent, its report says so."""
    discard_plan(job.folders.plans, job.archive_sha.result())
    errors = _errors(job)
    job.report.applied = True
    job.report.success = True
    job.report.message = f"applied: {written} rows written" + (
        f", {errors} rows with errors skipped" if errors else ""
    )


def rows_to_write(diff: DiffResult, entities: tuple[Entity, ...]) -> Iterator[tuple[Entity, Any]]:
    """(entity, its batches to write) for each entity with new or updated rows, parents
    before children (CORE_ENTITIES order)."""
    for entity in entities:
        if diff.entities[entity.name].new or diff.entities[entity.name].updated:
            yield entity, diff.rows_to_write(entity)
