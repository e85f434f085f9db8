"""The `bgw` command line: thin commands over the Dagster-free core."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bgw_pipeline.core.model.errors import BgwError, TransientError
from bgw_pipeline.settings import Settings

if TYPE_CHECKING:
    from bgw_pipeline.core.archive.reader import ArchiveLimits
    from bgw_pipeline.core.importing.importer import ImportFolders
    from bgw_pipeline.core.storage.s3_storage import S3Settings


def _cmd_demo_db(args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.core.database.engines import create_engine, redact_url
    from bgw_pipeline.core.demo.data import fill_demo_database

    url = args.url or settings.database_url
    engine = create_engine(url)
    try:
        counts = fill_demo_database(
            engine, scale=args.scale, seed=args.seed, only_if_empty=args.if_empty
        )
    finally:
        engine.dispose()
    if counts is None:
        print(f"{redact_url(url)} already holds data; left as it is.")
    else:
        print(f"demo data written to {redact_url(url)}: {json.dumps(counts)}")
    return 0


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.core.database.postgres.connect import is_postgres_url

    url = args.url or settings.database_url
    out = Path(args.out or settings.export_path)
    if is_postgres_url(url):
        # The server encodes the rows: psycopg alone, neither SQLAlchemy nor pyarrow loaded.
        from bgw_pipeline.core.export.archive_export import export_postgres

        result = export_postgres(url, out, args.include_raw_data)
    else:
        from bgw_pipeline.core.database.engines import create_engine
        from bgw_pipeline.core.export.archive_export import export_database

        # SQLite renders the rows (database/sqlite/rows.py): pyarrow is loaded only for rows it
        # cannot render, which the reference encoder reads through Arrow.
        engine = create_engine(url)
        try:
            result = export_database(engine, out, args.include_raw_data)
        finally:
            engine.dispose()
    location = str(result.path)
    if settings.s3_enabled and not args.out:
        from bgw_pipeline.core.storage.s3_storage import (
            S3Storage,  # boto3 loads slowly: only when used
        )

        location = S3Storage(_s3(settings)).store(result.path)
    print(f"archive: {location}")
    print(f"size: {result.size_bytes} bytes, checksum: {result.checksum}")
    print(f"rows: {json.dumps(result.counts)}, {result.duration_seconds:.2f} s")
    return 0


def _cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.run_backup import run_backup_job

    return run_backup_job(include_raw_data=args.include_raw_data)


def _import_folders(settings: Settings) -> ImportFolders:
    from bgw_pipeline.core.importing.importer import ImportFolders

    return ImportFolders(settings.export_path)


def _limits(settings: Settings) -> ArchiveLimits:
    from bgw_pipeline.core.archive.reader import ArchiveLimits

    return ArchiveLimits(max_archive_bytes=settings.max_import_mb * 1024 * 1024)


def _arrow_without_pandas() -> None:
    from bgw_pipeline.core.model.arrow_tables import arrow_without_pandas  # loads pyarrow

    arrow_without_pandas()


def _cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.core.database.postgres.connect import is_postgres_url
    from bgw_pipeline.core.importing.importer import ImportOptions, import_postgres
    from bgw_pipeline.core.storage.source import archive_source

    options = ImportOptions(
        dry_run=not args.apply,
        on_error=args.on_error,
        limits=_limits(settings),
    )
    url = args.url or settings.database_url
    s3 = _s3(settings) if args.file.startswith("s3://") else None
    with archive_source(args.file, s3) as local:
        if is_postgres_url(url):
            # psycopg alone: SQLAlchemy is never loaded, and the database is read while
            # DuckDB and Arrow load (importing/importer.py).
            report = import_postgres(
                url, local, _import_folders(settings), options, _arrow_without_pandas
            )
        else:
            from bgw_pipeline.core.database.engines import create_engine
            from bgw_pipeline.core.importing.importer import run_import

            _arrow_without_pandas()
            engine = create_engine(url)
            try:
                report = run_import(engine, local, _import_folders(settings), options)
            finally:
                engine.dispose()
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    for line in report.change_lines():
        print(f"  {line}", file=sys.stderr)
    print(report.message, file=sys.stderr)
    return 0 if report.success else 1


def _s3(settings: Settings) -> S3Settings:
    from bgw_pipeline.core.storage.s3_storage import S3Settings

    return S3Settings.from_values(
        settings.s3_bucket, settings.s3_endpoint, settings.s3_access_key,
        settings.s3_secret_key, settings.s3_region,
    )  # fmt: skip


def _cmd_import_undo(args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.core.database.engines import create_engine
    from bgw_pipeline.core.importing.undo import undo_import

    engine = create_engine(args.url or settings.database_url)
    try:
        counts = undo_import(engine, _import_folders(settings).undo, args.import_id)
    finally:
        engine.dispose()
    print(json.dumps({"import_id": args.import_id, "undone": counts}, ensure_ascii=False, indent=2))
    return 0


def _cmd_inspect(args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.core.archive.reader import open_archive
    from bgw_pipeline.core.archive.summary import summarize_archive

    path = Path(args.file)
    with open_archive(path, _limits(settings)) as reader:
        summary = summarize_archive(reader, path.stat().st_size)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def _cmd_api(_args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.api.serve import serve

    serve(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bgw", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo-db", help="fill a database with synthetic BGW data")
    demo.add_argument("--scale", type=float, default=1.0, help="1 = 1250 games (default)")
    demo.add_argument("--seed", type=int, default=42, help="same seed, same data")
    demo.add_argument("--url", help="database URL (default: BGW_DATABASE_URL)")
    demo.add_argument(
        "--if-empty", action="store_true", help="do nothing when the database holds games"
    )
    demo.set_defaults(func=_cmd_demo_db)

    export = sub.add_parser("export", help="write a full archive, without Dagster")
    export.add_argument("--include-raw-data", action="store_true")
    export.add_argument("--out", help="folder for the archive (default: EXPORT_PATH)")
    export.add_argument("--url", help="database URL (default: BGW_DATABASE_URL)")
    export.set_defaults(func=_cmd_export)

    imp = sub.add_parser(
        "import",
        help="import an archive (a dry run unless --apply); `bgw import undo ID` undoes one",
    )
    imp.add_argument("file", help="the ZIP archive, or `undo`")
    imp.add_argument("import_id", nargs="?", help="with `undo`: the import to undo")
    imp.add_argument("--apply", action="store_true", help="write the changes (default: dry run)")
    imp.add_argument("--on-error", choices=["abort", "skip"], default="abort")
    imp.add_argument("--url", help="database URL (default: BGW_DATABASE_URL)")
    imp.set_defaults(func=_cmd_import)

    inspect = sub.add_parser("inspect", help="summarize an archive without importing it")
    inspect.add_argument("file")
    inspect.set_defaults(func=_cmd_inspect)

    backup = sub.add_parser("backup", help="run backup_job through Dagster (DAGSTER_HOME)")
    backup.add_argument("--include-raw-data", action="store_true")
    backup.set_defaults(func=_cmd_backup)

    api = sub.add_parser("api", help="serve the HTTP API and web page on API_HOST:API_PORT")
    api.set_defaults(func=_cmd_api)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "import" and args.file == "undo":
        if not args.import_id:
            parser.error("bgw import undo needs the import_id from the import's report")
        args.func = _cmd_import_undo
    elif args.command == "import" and args.import_id:
        parser.error("bgw import takes one archive: bgw import FILE [--apply]")
    try:
        return int(args.func(args, Settings.from_env()))
    except (BgwError, TransientError) as exc:
        print(f"bgw: error: {exc}", file=sys.stderr)
        return 2
    finally:
        # The command's files and connections are closed by now. Interpreter shutdown
        # would walk every object the libraries created in a last garbage collection
        # (about 0.1 s, a tenth of a medium export); frozen objects are not walked.
        gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
