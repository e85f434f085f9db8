"""Commands that read an archive: import it (a dry run unless --apply), undo an import,
inspect an archive without importing it. Each takes a file or an s3:// location."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bgw_pipeline.cli.exit_codes import ExitCode
from bgw_pipeline.cli.options import (
    archive_limits,
    command_runner,
    import_folders,
    settings,
    url_option,
)
from bgw_pipeline.cli.output import Output
from bgw_pipeline.cli.output import as_json_text as _json

if TYPE_CHECKING:
    from bgw_pipeline.core.importing.report import ImportReport
    from bgw_pipeline.settings import Settings

ARCHIVE = click.argument("archive", metavar="ARCHIVE")


@contextmanager
def _local_archive(location: str, values: Settings) -> Iterator[Path]:
    """The archive as a local file: the path itself, or an s3:// object downloaded."""
    from bgw_pipeline.core.storage.source import archive_source

    s3 = values.s3() if location.startswith("s3://") else None
    with archive_source(location, s3) as local:
        yield local


def _arrow_without_pandas() -> None:
    from bgw_pipeline.core.model.arrow_tables import arrow_without_pandas  # loads pyarrow

    arrow_without_pandas()


@click.command("import")
@ARCHIVE
@click.option(
    "--apply",
    is_flag=True,
    help="Write the changes (default: a dry run that writes "
    "nothing and saves the plan that --apply then checks).",
)
@click.option(
    "--on-error",
    type=click.Choice(["abort", "skip"]),
    default="abort",
    show_default=True,
    help="abort: an invalid row refuses the whole archive; "
    "skip: invalid rows are left out and reported, the rest imported.",
)
@url_option
@command_runner
def import_archive(archive: str, apply: bool, on_error: str, url: str | None, out: Output) -> int:
    """Import ARCHIVE (a ZIP file or s3://bucket/key) into the database.

    A dry run by default: it validates the archive, diffs it against the database and
    reports what would change. --apply writes all of it or nothing, and saves the rows
    it overwrote so that `bgw undo IMPORT_ID` can put them back.

    \b
    Examples:
      bgw import exports/bgw_backup_20261207T070000Z.zip
      bgw import exports/bgw_backup_20261207T070000Z.zip --apply
      bgw import s3://bgw-backups/bgw_backup_20261207T070000Z.zip --json
    """  # fmt: skip
    from bgw_pipeline.core.database.postgres.connect import is_postgres_url
    from bgw_pipeline.core.importing.importer import ImportOptions, import_postgres

    values = settings()
    options = ImportOptions(
        dry_run=not apply, on_error=on_error, limits=archive_limits(values), key=values.archive_key
    )
    url = url or values.database_url
    folders = import_folders(values)
    with _local_archive(archive, values) as local, out.working("importing"):
        if is_postgres_url(url):
            # psycopg alone: SQLAlchemy is never loaded, and the database is read while
            # DuckDB and Arrow load (importing/importer.py).
            report = import_postgres(url, local, folders, options, _arrow_without_pandas)
        else:
            from bgw_pipeline.core.database.engines import create_engine
            from bgw_pipeline.core.importing.importer import run_import

            _arrow_without_pandas()
            engine = create_engine(url)
            try:
                report = run_import(engine, local, folders, options)
            finally:
                engine.dispose()
    out.result(report.as_dict(), _report_lines(report, out.verbose))
    return ExitCode.OK if report.success else ExitCode.REFUSED


def _report_lines(report: ImportReport, verbose: bool) -> list[str]:
    what = "dry run" if report.dry_run else ("applied" if report.applied else "not applied")
    lines = [f"import {report.import_id}: {what}"]
    width = max((len(name) for name in report.summary), default=5)
    lines.append(f"  {'table':<{width}}  {'new':>8} {'updated':>8} {'skipped':>8} {'errors':>7}")
    for table, counts in report.summary.items():
        lines.append(
            f"  {table:<{width}}  {counts.get('new', 0):>8} {counts.get('updated', 0):>8} "
            f"{counts.get('skipped', 0):>8} {counts.get('errors', 0):>7}"
        )
    lines += [f"  changed: {line}" for line in report.change_lines(200 if verbose else 10)]
    lines += [f"  warning: {w}" for w in report.warnings]
    lines += [f"  error: {e}" for e in report.errors[: None if verbose else 20]]
    if report.undo:
        lines.append(f"  undo with: bgw undo {report.import_id}")
    lines.append(report.message)
    return lines


@click.command("undo")
@click.argument("import_id", metavar="IMPORT_ID")
@url_option
@command_runner
def undo(import_id: str, url: str | None, out: Output) -> int:
    """Undo an applied import: put back the rows it overwrote, remove the rows it added.

    IMPORT_ID is in the import's report (`import-…`).

    \b
    Example:
      bgw undo import-6f1c2d4e-8a7b-4c1d-9e2f-0a1b2c3d4e5f
    """  # fmt: skip
    from bgw_pipeline.core.database.engines import create_engine
    from bgw_pipeline.core.importing.undo import undo_import

    values = settings()
    engine = create_engine(url or values.database_url)
    try:
        counts = undo_import(engine, import_folders(values).undo, import_id)
    finally:
        engine.dispose()
    out.result({"import_id": import_id, "undone": counts}, [f"{import_id} undone: {_json(counts)}"])
    return ExitCode.OK


@click.command("inspect")
@ARCHIVE
@command_runner
def inspect(archive: str, out: Output) -> int:
    """Summarize ARCHIVE (a ZIP file or s3://bucket/key) without importing it: format
    version, creation time, checksum, rows per table, compatibility.

    \b
    Examples:
      bgw inspect exports/bgw_backup_20261207T070000Z.zip
      bgw inspect s3://bgw-backups/bgw_backup_20261207T070000Z.zip --json
    """  # fmt: skip
    from bgw_pipeline.core.archive.summary import summarize_archive_file

    values = settings()
    with _local_archive(archive, values) as local:
        summary = summarize_archive_file(local, archive_limits(values), values.archive_key)
    compatibility = summary.get("compatibility", {})
    lines = [
        f"archive:  {archive}",
        f"version:  {summary.get('version')}  created {summary.get('created_at')}",
        f"checksum: {summary.get('checksum')}",
        f"size:     {summary.get('size_mb')} MB",
        f"contents: {_json(summary.get('contents'))}",
        "compatible with this version"
        if compatibility.get("compatible")
        else "NOT compatible with this version",
        *(f"  warning: {w}" for w in compatibility.get("warnings", [])),
    ]
    out.result(summary, lines)
    return ExitCode.OK


@click.command("archives")
@command_runner
def archives(out: Output) -> int:
    """List the archives in the storage (EXPORT_PATH, or S3 when S3_ENABLED), newest
    first, each with what its checks found: verified and restorable, not yet checked,
    failed its drill (and why), or much smaller than the backup before it.

    \b
    Examples:
      bgw archives
      bgw archives --json | jq '.archives[] | select(.state != "restorable")'
    """  # fmt: skip
    from bgw_pipeline.core.storage.archive_states import archive_listing
    from bgw_pipeline.core.storage.catalog import list_archives

    listed = [archive_listing(entry) for entry in list_archives(settings().archive_storage())]
    lines = [
        f"{item['name']}  {item['size_bytes'] / 2**20:8.2f} MB  {item['state_words']}"
        for item in listed
    ]
    out.result({"count": len(listed), "archives": listed}, lines or ["no archives yet"])
    return ExitCode.OK
