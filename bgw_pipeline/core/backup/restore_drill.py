"""The restore drill: prove an archive restores, by restoring it into a scratch database.

A backup nobody ever restored is a hope, not a backup. The drill restores the archive into
an empty SQLite database, compares row counts and references, exports again and compares
the checksum: equal means every byte of data came back. The restore is SQLite's bulk load
(backup/drill_load.py), which checks what the import checks; rows it cannot vouch for go through
the import itself, so the verdict is the import's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bgw_pipeline.core.archive.reader import ArchiveLimits, open_archive
from bgw_pipeline.core.archive.verification import VerificationReport
from bgw_pipeline.core.backup.drill_load import NeedsFullImport, TableTap, load_archive
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import table_for
from bgw_pipeline.core.database.schema_ddl import ddl_statements
from bgw_pipeline.core.export.archive_export import export_contents
from bgw_pipeline.core.files.work_folders import work_folder
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.entities import ALL_ENTITIES
from bgw_pipeline.core.model.errors import BgwError
from bgw_pipeline.core.storage.archive_storage import ArchiveStorage

ORPHANS = {
    "events": "SELECT count(*) FROM events e WHERE e.game_id IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM games g WHERE g.id = e.game_id)",
    "price_history": "SELECT count(*) FROM price_history p "
    "WHERE NOT EXISTS (SELECT 1 FROM games g WHERE g.id = p.game_id)",
}


@dataclass
class DrillReport:
    """What the drill found."""

    archive: str
    passed: bool = False
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    checksum: str | None = None
    restored_checksum: str | None = None
    restored_by: str | None = None  # "bulk load", or "import" for rows it cannot vouch for
    # The archive checked against its metadata.json from the bulk load's own pass (every
    # member read once: its digest taken, every row parsed and counted); None when the
    # drill did not get that far by the bulk load, and the archive must be verified alone.
    verification: VerificationReport | None = None


_TABLE_NAME = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)
_UNIQUE_KEY = re.compile(r",\s*UNIQUE\s*\(([^)]*)\)", re.IGNORECASE)


def schema_in_two_parts() -> tuple[list[str], list[str]]:
    """schema_sqlite.sql's statements in two parts: the tables, then what is built once
    their rows are in, as pg_restore builds constraints after the data.

    The second part holds the indexes and the tables' multi-column unique keys, as
    unique indexes on the same columns: each is then one sort of the loaded rows, which
    refuses a duplicate as the key would, instead of an entry per row in random order
    (at L, price_history's (game_id, store, recorded_at) took 7 s of a 9 s load). Every
    column, type, check and primary key stays in the table.
    """
    tables, unique_keys, indexes = [], [], []
    for statement in ddl_statements("sqlite"):
        if statement.upper().startswith("CREATE INDEX"):
            indexes.append(statement)
            continue
        if table := _TABLE_NAME.match(statement):
            name = table.group(1)
            for number, key in enumerate(_UNIQUE_KEY.findall(statement), 1):
                unique_keys.append(f"CREATE UNIQUE INDEX {name}_unique_{number} ON {name} ({key})")
            statement = _UNIQUE_KEY.sub("", statement)
        tables.append(statement)
    return tables, unique_keys + indexes


def _execute(engine: Engine, statements: list[str]) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def _bulk_restore(
    archive: Path, db: Path, indexes: list[str], report: DrillReport, tap: TableTap | None
) -> bool:
    """Load the archive into the empty scratch database by the bulk path; False when
    its rows need the import's own checks (the caller then imports instead). As the
    import does, refuse an archive whose members differ from metadata.json (their
    digests come from the pass that loaded them)."""
    with open_archive(archive, ArchiveLimits.unlimited()) as reader:
        reader.require_compatible()
        reader.collect_digests = True  # each member is then read and hashed once
        try:
            counts = load_archive(reader, db, indexes_after=indexes, tap=tap)
        except NeedsFullImport:
            return False
        verification = reader.verify(row_counts=counts)
    report.verification = verification
    report.problems.extend(verification.problems)
    return True


def _import(engine: Engine, archive: Path, work: Path, report: DrillReport) -> bool:
    options = ImportOptions(dry_run=False, limits=ArchiveLimits.unlimited(), use_saved_plan=False)
    imported = run_import(engine, archive, ImportFolders(work), options)
    if not imported.applied:
        report.problems.append(f"import did not apply: {imported.message}")
    return imported.applied


def _drill(archive: Path, work: Path, report: DrillReport, tap: TableTap | None) -> None:
    with open_archive(archive, ArchiveLimits.unlimited()) as reader:
        contents = reader.metadata["contents"]
        report.checksum = reader.checksum
    include_raw = bool(contents.get("include_raw_data"))
    db = work / "drill.db"
    engine = create_engine(f"sqlite:///{db}")
    try:
        tables, indexes = schema_in_two_parts()
        _execute(engine, tables)
        engine.dispose()  # the bulk load writes through its own connection
        report.restored_by = "bulk load"
        if not _bulk_restore(archive, db, indexes, report, tap):
            report.restored_by = "import"
            _execute(engine, indexes)  # before the import writes the rows
            if not _import(engine, archive, work, report):
                return
        if report.problems:
            return
        with engine.connect() as conn:
            for entity in ALL_ENTITIES:
                count = conn.execute(sa.select(sa.func.count()).select_from(table_for(entity)))
                report.counts[entity.name] = int(count.scalar_one())
            for table, query in ORPHANS.items():
                if orphans := conn.exec_driver_sql(query).scalar_one():
                    report.problems.append(f"{table}: {orphans} rows point to a missing game")
        for entity in ALL_ENTITIES:
            declared = contents.get(entity.count_key)
            if declared is not None and declared != report.counts[entity.name]:
                report.problems.append(
                    f"{entity.name}: {report.counts[entity.name]} rows restored, "
                    f"archive says {declared}"
                )
        again = export_contents(engine, include_raw_data=include_raw)
        report.restored_checksum = again.checksum
        if again.checksum != report.checksum:
            report.problems.append(
                f"re-export checksum {again.checksum} differs from the archive's {report.checksum}"
            )
    finally:
        engine.dispose()


def run_restore_drill(
    storage: ArchiveStorage, name: str, tap: TableTap | None = None
) -> DrillReport:
    """Restore archive `name` into a scratch database and compare; record the outcome.

    Args:
        storage: where the archive is.
        name: the archive's name.
        tap: handed the tables the bulk load parses (a backup writes its snapshot files
            from them: the archive's rows parsed once for both).
    """
    report = DrillReport(archive=name)
    with work_folder("bgw-drill-") as work:
        try:
            with storage.reading(name), storage.local_copy(name) as archive:
                _drill(archive, work, report, tap)
        except BgwError as exc:
            report.problems.append(str(exc))
    report.passed = not report.problems
    storage.update_status(name, restorable=report.passed, drill_problems=report.problems[:5])
    return report
