"""The `bgw` command line: thin commands over the Dagster-free core."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bgw_pipeline.core.errors import BgwError, TransientError
from bgw_pipeline.settings import Settings


def _cmd_demo_db(args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.core.database import create_engine, redact_url
    from bgw_pipeline.core.demo_data import fill_demo_database

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
    from bgw_pipeline.core.database import create_engine
    from bgw_pipeline.core.export import export_database

    engine = create_engine(args.url or settings.database_url)
    try:
        result = export_database(
            engine, Path(args.out or settings.export_path), args.include_raw_data
        )
    finally:
        engine.dispose()
    print(f"archive: {result.path}")
    print(f"size: {result.size_bytes} bytes, checksum: {result.checksum}")
    print(f"rows: {json.dumps(result.counts)}, {result.duration_seconds:.2f} s")
    return 0


def _cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bgw_pipeline.run_backup import run_backup_job

    return run_backup_job(include_raw_data=args.include_raw_data)


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

    backup = sub.add_parser("backup", help="run backup_job through Dagster (DAGSTER_HOME)")
    backup.add_argument("--include-raw-data", action="store_true")
    backup.set_defaults(func=_cmd_backup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, Settings.from_env()))
    except (BgwError, TransientError) as exc:
        print(f"bgw: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
