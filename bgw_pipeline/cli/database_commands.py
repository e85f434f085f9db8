"""Commands that read the database: fill it with demo data, export it, back it up."""

from __future__ import annotations

from pathlib import Path

import click

from bgw_pipeline.cli.exit_codes import ExitCode
from bgw_pipeline.cli.options import command_runner, settings, url_option
from bgw_pipeline.cli.output import Output
from bgw_pipeline.cli.output import as_json_text as _json

RAW_DATA_HELP = "Also archive raw_items and listings, the raw scraped pages (large)."


@click.command("demo-db")
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Size of the data: 1 is 1,250 games; 100 is the bench's L.",
)
@click.option(
    "--seed", type=int, default=42, show_default=True, help="The same seed writes the same rows."
)
@click.option("--if-empty", is_flag=True, help="Leave a database that already holds games alone.")
@url_option
@command_runner
def demo_db(scale: float, seed: int, if_empty: bool, url: str | None, out: Output) -> int:
    """Fill a database with synthetic BGW data (games, rules, events, prices).

    \b
    Examples:
      bgw demo-db --if-empty
      bgw demo-db --scale 10 --url sqlite:////tmp/m.db
    """  # fmt: skip
    from bgw_pipeline.core.database.engines import create_engine, redact_url
    from bgw_pipeline.core.demo.data import fill_demo_database

    url = url or settings().database_url
    engine = create_engine(url)
    try:
        with out.working("writing demo data"):
            counts = fill_demo_database(engine, scale=scale, seed=seed, only_if_empty=if_empty)
    finally:
        engine.dispose()
    where = redact_url(url)
    line = (
        f"{where} already holds data; left as it is."
        if counts is None
        else f"demo data written to {where}: {_json(counts)}"
    )
    out.result({"database": where, "written": counts, "left_as_it_was": counts is None}, [line])
    return ExitCode.OK


@click.command("export")
@click.option("--include-raw-data", is_flag=True, help=RAW_DATA_HELP)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the archive (default: EXPORT_PATH, then S3 when S3_ENABLED).",
)
@url_option
@command_runner
def export(include_raw_data: bool, out_dir: Path | None, url: str | None, out: Output) -> int:
    """Write a full archive of the database, without Dagster (the fastest path).

    The ZIP is written under a hidden name and renamed when complete. Without --out it
    then goes to the storage: uploaded with S3_ENABLED, encrypted with
    BGW_ARCHIVE_KEY_FILE. With --out it stays a plain ZIP in DIR.

    \b
    Examples:
      bgw export
      bgw export --out /backups --url postgresql+psycopg://bgw@db/bgw --json
    """  # fmt: skip
    from bgw_pipeline.core.database.postgres.connect import is_postgres_url

    values = settings()
    url = url or values.database_url
    folder = out_dir or Path(values.export_path)
    with out.table_progress("exporting") as progress:
        if is_postgres_url(url):
            # The server encodes the rows: psycopg alone, no SQLAlchemy, no pyarrow.
            from bgw_pipeline.core.export.archive_export import export_postgres

            result = export_postgres(url, folder, include_raw_data, progress=progress)
        else:
            from bgw_pipeline.core.database.engines import create_engine
            from bgw_pipeline.core.export.archive_export import export_database

            # SQLite renders the rows (database/sqlite/rows.py); pyarrow loads only for rows
            # it cannot render, which the reference encoder reads through Arrow.
            engine = create_engine(url)
            try:
                result = export_database(engine, folder, include_raw_data, progress=progress)
            finally:
                engine.dispose()
    location = str(result.path)
    if out_dir is None:  # into the storage: the S3 bucket, sealed with BGW_ARCHIVE_KEY_FILE
        location = values.archive_storage().store(result.path)
    data = {
        "archive": location,
        "size_bytes": result.size_bytes,
        "checksum": result.checksum,
        "counts": result.counts,
        "duration_seconds": round(result.duration_seconds, 3),
    }
    out.result(data, [
        f"archive: {location}",
        f"size: {result.size_bytes} bytes, checksum: {result.checksum}",
        f"rows: {_json(result.counts)}, {result.duration_seconds:.2f} s",
    ])  # fmt: skip
    return ExitCode.OK


@click.command("backup")
@click.option("--include-raw-data", is_flag=True, help=RAW_DATA_HELP)
@command_runner
def backup(include_raw_data: bool, out: Output) -> int:
    """Run backup_job through Dagster: the archive, snapshots and CSV, verified by a
    restore drill, and recorded in DAGSTER_HOME for the UI.

    \b
    Examples:
      bgw backup
      bgw backup --json | jq .archive
    """  # fmt: skip
    from bgw_pipeline.core.model.arrow_tables import arrow_without_pandas
    from bgw_pipeline.run_backup import run_backup_job

    arrow_without_pandas()  # a process of its own: pyarrow need not load pandas (0.2 s)
    with out.table_progress("backup") as progress:  # the archive, then the restore drill
        outcome = run_backup_job(
            include_raw_data, log_level=out.dagster_log_level, progress=progress
        )
    out.result(outcome.as_dict(), outcome.lines())
    return ExitCode.OK if outcome.success else ExitCode.REFUSED


@click.command("api")
def api() -> int:
    """Serve the HTTP API and web page on API_HOST:API_PORT until stopped.

    \b
    Example:
      API_PORT=8080 bgw api
    """  # fmt: skip
    from bgw_pipeline.api.serve import serve

    serve(settings())
    return ExitCode.OK
