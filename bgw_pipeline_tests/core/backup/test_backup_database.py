"""A backup's snapshot files, written from the archive's rows, equal the row-by-row path's.

The row-by-row path is the reference: the database read through SQLAlchemy into Arrow
(`open_snapshot(...).batches`), each table encoded by the reference encoder, the CSV
formatted cell by cell. Random databases (Unicode, NULLs, extreme values) on SQLite and
PostgreSQL, and a writer changing the database while a backup runs.
"""

from __future__ import annotations

import io
import itertools
import threading
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgw_pipeline.core.backup.backup_database import BackupFolders, BackupResult, backup_database
from bgw_pipeline.core.backup.restore_drill import DrillReport, run_restore_drill
from bgw_pipeline.core.database.schema import TABLES
from bgw_pipeline.core.database.snapshot import open_snapshot
from bgw_pipeline.core.encoding.encoded_arrow import table_from_encoded
from bgw_pipeline.core.encoding.encoded_chunks import chunks_from_batches
from bgw_pipeline.core.encoding.row_encoding import iter_entity_json, iter_sorted_rows
from bgw_pipeline.core.export.archive_export import ExportResult
from bgw_pipeline.core.export.csv_files import write_entity_csv, write_games_csv_batches
from bgw_pipeline.core.export.snapshot_formats import SnapshotFormats
from bgw_pipeline.core.model.arrow_tables import arrow_schema
from bgw_pipeline.core.model.entities import ALL_ENTITIES, CORE_ENTITIES, GAMES, Entity, Kind
from bgw_pipeline.core.model.values import canonical_json_text
from bgw_pipeline.core.storage.archive_storage import LocalStorage
from bgw_pipeline_tests.factories import (
    BASE_TIME,
    clear_database,
    fill_database,
    insert,
    make_game,
    make_price,
    small_database,
)
from bgw_pipeline_tests.reliability.strategies import databases

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


def _reference_table(engine: sa.Engine, entity: Entity) -> pa.Table:
    """The row-by-row read, JSON columns in the archive's canonical text."""
    with open_snapshot(engine) as snapshot:
        table = pa.Table.from_batches(list(snapshot.batches(entity)), arrow_schema(entity))
    for index, column in enumerate(entity.columns):
        if column.kind is Kind.JSON:
            values = [
                None if v is None else canonical_json_text(v, column.name)
                for v in table.column(index).to_pylist()
            ]
            table = table.set_column(
                index, table.schema.field(index), pa.array(values, pa.string())
            )
    return table


def _reference_json(entity: Entity, table: pa.Table) -> bytes:
    rows = iter_sorted_rows(entity, table.to_batches())
    return b"".join(piece for piece, _ in iter_entity_json(entity, rows))


def _assert_matches_reference(engine: sa.Engine, backup: BackupResult) -> None:
    for entity in ALL_ENTITIES:
        files = backup.snapshots[entity.name]
        expected = _reference_table(engine, entity)
        parquet = pq.read_table(files.parquet_path)
        assert parquet.replace_schema_metadata(None).equals(expected), entity.name
        assert files.json_path.read_bytes() == _reference_json(entity, expected), entity.name
        csv = io.BytesIO()
        write_entity_csv(entity, expected.to_batches(), csv)
        assert files.csv_path.read_bytes() == csv.getvalue(), entity.name
        assert files.rows == expected.num_rows
    games_csv = io.BytesIO()
    write_games_csv_batches(_reference_table(engine, GAMES).to_batches(), games_csv)
    assert backup.games_csv.read_bytes() == games_csv.getvalue()
    with zipfile.ZipFile(backup.export.path) as zf:
        for entity in CORE_ENTITIES:  # the JSON snapshot is the archive member itself
            assert zf.read(entity.member) == backup.snapshots[entity.name].json_path.read_bytes()


def _folders(tmp_path: Path) -> BackupFolders:
    return BackupFolders(tmp_path / "archives", tmp_path / "snapshots", tmp_path / "csv")


def _drilled(export: ExportResult, formats: SnapshotFormats) -> DrillReport:
    """backup_job's own checks: the drill, whose parsed tables become the snapshot files."""
    report = run_restore_drill(LocalStorage(export.path.parent), export.path.name, formats)
    if report.restored_by == "bulk load" and report.passed:  # else finish() writes them
        assert {e.name for e in CORE_ENTITIES} <= set(formats.files), "written by the drill"
    return report


@pytest.mark.parametrize("drilled", [False, True], ids=["from-json", "by-the-drill"])
def test_snapshot_files_equal_the_row_by_row_path(
    engine: sa.Engine, tmp_path: Path, drilled: bool
) -> None:
    small_database(engine)
    alongside = _drilled if drilled else None
    backup = backup_database(
        engine, _folders(tmp_path), include_raw_data=False, alongside=alongside
    )
    assert set(backup.snapshots) == {e.name for e in ALL_ENTITIES}  # raw data too
    _assert_matches_reference(engine, backup)
    with zipfile.ZipFile(backup.export.path) as zf:
        assert not any(n.startswith("raw_data/") for n in zf.namelist())
    if drilled:
        assert backup.alongside.passed, backup.alongside.problems
        assert backup.alongside.restored_by == "bulk load"


def test_random_databases_give_the_reference_files(engine: sa.Engine, tmp_path: Path) -> None:
    @settings(max_examples=12, deadline=None, suppress_health_check=FIXTURES)
    @given(data=databases(), drilled=st.booleans())
    def same_files(data: dict[str, list[dict[str, Any]]], drilled: bool) -> None:
        clear_database(engine)
        fill_database(engine, data)
        folders = BackupFolders(tmp_path / uuid.uuid4().hex, tmp_path / "s", tmp_path / "c")
        alongside = _drilled if drilled else None
        backup = backup_database(engine, folders, include_raw_data=True, alongside=alongside)
        _assert_matches_reference(engine, backup)

    same_files()


def test_json_columns_come_out_in_the_archives_canonical_text() -> None:
    row = make_game(synonyms=["x"])
    encoded = next(chunks_from_batches(GAMES, [_batch(GAMES, row)])).data
    value = '[{"b":1.5e3,"a":[null,-0,"\\u0416"]}]'
    table = table_from_encoded(
        GAMES, encoded.replace(b'"synonyms":["x"]', b'"synonyms":' + value.encode())
    )
    assert table.column("synonyms").to_pylist() == [canonical_json_text(value, "synonyms")]
    assert table.column("synonyms").to_pylist() == ['[{"a":[null,0,"Ж"],"b":1500.0}]']


def _batch(entity: Entity, row: dict[str, Any]) -> pa.RecordBatch:
    from bgw_pipeline.core.model.arrow_tables import batch_from_rows
    from bgw_pipeline.core.model.values import dumps_json

    values = [
        dumps_json(row[c.name]) if c.kind is Kind.JSON else row[c.name] for c in entity.columns
    ]
    return batch_from_rows(entity, [values])


def test_a_concurrent_writer_does_not_leak_into_the_backup(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """Every file shows one committed state while a writer, in each transaction, adds 50
    price rows at 0 and raises every price by one: the rows come in whole transactions,
    and the first rows' price tells how many there were."""
    game = make_game()
    insert(engine, "games", [game])
    moments = itertools.count()

    def prices(count: int, price: int) -> list[dict[str, Any]]:
        return [
            make_price(game, price=price, recorded_at=BASE_TIME + timedelta(seconds=next(moments)))
            for _ in range(count)
        ]

    insert(engine, "price_history", prices(3000, 100))
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        while not stop.is_set():
            with engine.begin() as conn:
                conn.execute(TABLES["price_history"].insert(), prices(50, 0))
                conn.exec_driver_sql("UPDATE price_history SET price = price + 1")
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        backups = [backup_database(engine, _folders(tmp_path / str(i))) for i in range(3)]
    finally:
        stop.set()
        thread.join()
    assert written[0] > 0, "the writer ran during the backups"
    for backup in backups:
        files = backup.snapshots["price_history"]
        parquet = pq.read_table(files.parquet_path)
        assert parquet.num_rows == files.rows == backup.export.counts["price_history"]
        transactions, rest = divmod(parquet.num_rows - 3000, 50)
        assert rest == 0, "never a half-committed transaction"
        assert pc.max(parquet.column("price")).as_py() == 100 + transactions
        with zipfile.ZipFile(backup.export.path) as zf:
            assert zf.read("price_history.json") == files.json_path.read_bytes()
