"""The drill's bulk load stores exactly what the import stores, and hands every row the
import would refuse back to the import."""

from __future__ import annotations

import re
import sqlite3
import uuid
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from bgw_pipeline.core.archive.reader import ArchiveLimits, open_archive
from bgw_pipeline.core.archive.row_validation import validate_rows
from bgw_pipeline.core.backup.drill_load import NeedsFullImport, load_archive, sqlite_table
from bgw_pipeline.core.backup.restore_drill import run_restore_drill, schema_in_two_parts
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import ensure_schema
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.entities import ALL_ENTITIES, GAMES, PRICE_HISTORY, RULES, Entity
from bgw_pipeline.core.storage.archive_storage import LocalStorage
from bgw_pipeline_tests.archive_builder import write_with_digests
from bgw_pipeline_tests.factories import clear_database, fill_database, small_database
from bgw_pipeline_tests.reliability.strategies import databases

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


def _empty_database(path: Path) -> Path:
    engine = create_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    return path


def _raw_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored value as SQLite holds it: text, integer or NULL, no conversions."""
    with sqlite3.connect(db) as conn:
        return {
            e.name: conn.execute(f'SELECT * FROM "{e.name}" ORDER BY id').fetchall()
            for e in ALL_ENTITIES
        }


def _both_ways(archive: Path, work: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    bulk = _empty_database(work / "bulk.db")
    with open_archive(archive, ArchiveLimits.unlimited()) as reader:
        load_archive(reader, bulk)
    imported = work / "imported.db"
    engine = create_engine(f"sqlite:///{imported}")
    options = ImportOptions(dry_run=False, limits=ArchiveLimits.unlimited(), use_saved_plan=False)
    assert run_import(engine, archive, ImportFolders(work / "import"), options).applied
    engine.dispose()
    return _raw_rows(bulk), _raw_rows(imported)


def test_the_bulk_load_stores_what_the_import_stores(engine: sa.Engine, tmp_path: Path) -> None:
    small_database(engine)
    archive = export_database(engine, tmp_path / "a", include_raw_data=True).path
    bulk, imported = _both_ways(archive, tmp_path)
    assert all(bulk[e.name] for e in ALL_ENTITIES)  # every table, raw data included
    assert bulk == imported


def test_random_databases_load_as_the_import_loads_them(engine: sa.Engine, tmp_path: Path) -> None:
    @settings(max_examples=10, deadline=None, suppress_health_check=FIXTURES)
    @given(data=databases())
    def same_rows(data: dict[str, list[dict[str, Any]]]) -> None:
        clear_database(engine)
        fill_database(engine, data)
        work = tmp_path / uuid.uuid4().hex
        archive = export_database(engine, work / "a", include_raw_data=True).path
        bulk, imported = _both_ways(archive, work)
        assert bulk == imported

    same_rows()


def _source_archive(tmp_path: Path) -> Path:
    engine = create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    ensure_schema(engine)
    small_database(engine)
    engine.dispose()
    return export_database(engine, tmp_path / "a", include_raw_data=False).path


def _first_row(archive: Path, entity: Entity) -> dict[str, Any]:
    with open_archive(archive) as reader:
        return orjson.loads(next(iter(reader.iter_row_lines(entity) or ()))[0])


REFUSED = {
    "int above INTEGER": (PRICE_HISTORY, {"price": 2**31}),
    "percent above 100": (PRICE_HISTORY, {"discount_pct": 101}),
    "NUL in text": (PRICE_HISTORY, {"store": "a\u0000b"}),
    "number as text": (PRICE_HISTORY, {"price": "12"}),
    "no such day": (PRICE_HISTORY, {"recorded_at": "2024-02-30T00:00:00Z"}),
    "not a time": (PRICE_HISTORY, {"recorded_at": "yesterday"}),
    "synonyms an object": (GAMES, {"synonyms": {"a": 1}}),
    "synonyms not text": (GAMES, {"synonyms": ["ok", 2]}),
    "bool as number": (GAMES, {"in_watchlist": 1}),
    "no title": (GAMES, {"title": None}),
    "empty title": (GAMES, {"title": ""}),
    "no conditions": (RULES, {"conditions": []}),
    "blank op": (RULES, {"conditions": [{"field": "price", "op": "\t", "value": 1}]}),
    "channels text": (RULES, {"channels": "telegram"}),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_row_the_import_refuses_is_left_to_the_import(case: str, tmp_path: Path) -> None:
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    entity, change = REFUSED[case]
    row = _first_row(_source_archive(tmp_path), entity) | change
    assert validate_rows(entity, [row]).errors, "the import accepts this row: not a refusal"
    db = _empty_database(tmp_path / "drill.db")
    with adbc_sqlite.connect(str(db)) as conn, conn.cursor() as cursor:
        try:
            table = sqlite_table(entity, orjson.dumps(row))
        except NeedsFullImport:
            return
        with pytest.raises(conn.Error):  # else the database's constraints must refuse it
            cursor.adbc_ingest(entity.name, table, mode="append")


def test_a_row_the_database_refuses_rolls_the_whole_load_back(tmp_path: Path) -> None:
    archive = _source_archive(tmp_path)
    db = _empty_database(tmp_path / "drill.db")
    with sqlite3.connect(db) as conn:  # the archive's last price id, already taken
        taken = orjson.loads(list(_all_lines(archive, PRICE_HISTORY))[-1])
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(
            "INSERT INTO price_history (id, game_id, store, price, discount_pct, recorded_at)"
            " VALUES (?, ?, 's', 1, 0, '2024-01-01 00:00:00.000000')",
            (taken["id"], taken["game_id"]),
        )
    with open_archive(archive) as reader, pytest.raises(NeedsFullImport):
        load_archive(reader, db)
    rows = _raw_rows(db)
    assert rows["games"] == [] and len(rows["price_history"]) == 1  # nothing of the load stays


def _keys_and_columns(db: Path) -> dict[str, Any]:
    """What a schema enforces, however declared: per table its columns (type, NOT NULL,
    default, primary key), its CHECKs, its unique column groups and its other indexes."""
    found: dict[str, Any] = {}
    with sqlite3.connect(db) as conn:
        tables = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        for table, sql in tables.fetchall():
            groups: dict[bool, set[tuple[str, ...]]] = {True: set(), False: set()}
            for _, index, unique, *_ in conn.execute(f'PRAGMA index_list("{table}")'):
                cols = tuple(r[2] for r in conn.execute(f'PRAGMA index_info("{index}")'))
                groups[bool(unique)].add(cols)
            found[table] = {
                "columns": conn.execute(f'PRAGMA table_info("{table}")').fetchall(),
                "checks": sorted(re.findall(r"CHECK \([^\n]*\)", sql)),
                "unique": groups[True],
                "indexes": groups[False],
            }
    return found


def test_keys_built_after_the_rows_enforce_the_spec_schema(tmp_path: Path) -> None:
    archive = _source_archive(tmp_path)
    tables, after = schema_in_two_parts()
    assert after and not any("INDEX" in s.upper().split("(")[0] for s in tables)
    assert not any("UNIQUE" in s.upper() for s in tables), "unique keys are built after the rows"
    db = tmp_path / "drill.db"
    with sqlite3.connect(db) as conn:
        for statement in tables:
            conn.execute(statement)
    with open_archive(archive) as reader:
        load_archive(reader, db, indexes_after=after)
    spec = _keys_and_columns(_empty_database(tmp_path / "spec.db"))
    assert spec["price_history"]["unique"] >= {("id",), ("game_id", "store", "recorded_at")}
    assert _keys_and_columns(db) == spec
    assert _raw_rows(db) == _raw_rows(_loaded(archive, _empty_database(tmp_path / "b.db")))


def _with_row(archive: Path, out: Path, entity: Entity, index: int, row: dict) -> Path:
    """The archive with row `index` of the entity's member replaced, its digests and
    checksum made right (a sound archive whose rows break a key)."""
    with zipfile.ZipFile(archive) as zin:
        metadata = orjson.loads(zin.read("metadata.json"))
        members = {n: zin.read(n) for n in zin.namelist() if n != "metadata.json"}
    head, body = members[entity.member].split(b"\n", 1)
    rows = body.split(b",\n")
    rows[index] = orjson.dumps(row)
    members[entity.member] = head + b"\n" + b",\n".join(rows)
    return write_with_digests(out, metadata, members)


def test_a_duplicate_unique_key_is_refused_when_its_index_is_built(tmp_path: Path) -> None:
    archive = _source_archive(tmp_path)
    lines = _all_lines(archive, PRICE_HISTORY)
    first, second = orjson.loads(lines[0]), orjson.loads(lines[1])
    twin = second | {k: first[k] for k in ("game_id", "store", "recorded_at")}
    assert twin["id"] != first["id"]
    (tmp_path / "twin").mkdir()
    broken = _with_row(archive, tmp_path / "twin" / archive.name, PRICE_HISTORY, 1, twin)
    tables, after = schema_in_two_parts()
    db = tmp_path / "drill.db"
    with sqlite3.connect(db) as conn:
        for statement in tables:
            conn.execute(statement)
    with open_archive(broken) as reader, pytest.raises(NeedsFullImport):
        load_archive(reader, db, indexes_after=after)
    assert all(rows == [] for rows in _raw_rows(db).values()), "the whole load rolled back"
    report = run_restore_drill(LocalStorage(broken.parent), broken.name)
    assert not report.passed and report.restored_by == "import"


def _loaded(archive: Path, db: Path) -> Path:
    with open_archive(archive) as reader:
        load_archive(reader, db)
    return db


def _all_lines(archive: Path, entity: Entity) -> list[bytes]:
    with open_archive(archive) as reader:
        return [line for lines in reader.iter_row_lines(entity) or () for line in lines]


def test_the_drill_restores_by_the_bulk_load_and_proves_the_checksum(
    engine: sa.Engine, tmp_path: Path
) -> None:
    counts = small_database(engine)
    archive = export_database(engine, tmp_path, include_raw_data=True).path
    report = run_restore_drill(LocalStorage(archive.parent), archive.name)
    assert report.passed, report.problems
    assert report.restored_by == "bulk load"
    assert report.counts == counts
    assert report.restored_checksum == report.checksum
