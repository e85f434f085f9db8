"""PostgreSQL's own row encoding gives exactly the reference encoder's bytes.

The export reads PostgreSQL tables as JSON built by the server, on two connections, in
id slices; SQLite and staged tables go through the Python reference encoder. The
archive promises the same bytes (and so the same checksum) whichever path ran.
"""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.archive import writer as archive_writer
from bgw_pipeline.core.compare.row_keys import database_key_batches
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.postgres import reads as postgres_reads
from bgw_pipeline.core.database.postgres import rows as postgres_rows
from bgw_pipeline.core.database.postgres import slices as postgres_slices
from bgw_pipeline.core.database.schema import ensure_schema
from bgw_pipeline.core.database.snapshot import open_snapshot
from bgw_pipeline.core.encoding.encoded_chunks import chunks_from_batches
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.importing.importer import ImportFolders, run_import
from bgw_pipeline.core.model.entities import ALL_ENTITIES, EVENTS, PRICE_HISTORY, Kind
from bgw_pipeline.core.model.errors import SourceDataError
from bgw_pipeline_tests.factories import (
    insert,
    make_event,
    make_game,
    make_listing,
    make_price,
    make_raw_item,
    make_rule,
)
from bgw_pipeline_tests.nasty_values import JSON_VALUES, NASTY, TIMES, fill_nasty_values

CREATED = datetime(2024, 1, 15, 12, 30, tzinfo=UTC)


@pytest.fixture(autouse=True, params=["server", "arrow"])
def encoding_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs twice: rows encoded by the server, and rows read as Arrow and
    encoded in DuckDB (database/postgres/arrow_rows.py), which big tables take; both must give the
    same bytes, refuse the same timestamps and read the same encodings."""
    if request.param == "arrow":
        monkeypatch.setattr(postgres_rows, "ARROW_MIN_ROWS", 0)
    return str(request.param)


# One row per slice, a few rows per slice, everything in one slice; blocks of one
# hex digit of the id (16 per table) or of eight (a row each).
@pytest.mark.parametrize(
    ("slice_bytes", "group_rows"),
    [
        (1, 2_000),
        (2_000, 2_000),
        (postgres_rows.SLICE_BYTES, 2_000),
        (postgres_rows.SLICE_BYTES, 1e-30),
    ],
)
def test_postgres_chunks_equal_the_reference_encoder(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, slice_bytes: int, group_rows: float
) -> None:
    monkeypatch.setattr(postgres_rows, "SLICE_BYTES", slice_bytes)
    monkeypatch.setattr(postgres_slices, "GROUP_ROWS", group_rows)
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    fill_nasty_values(engine)
    with open_snapshot(engine) as snapshot:
        for entity in ALL_ENTITIES:
            server = list(snapshot.encoded_chunks(entity))
            reference = list(chunks_from_batches(entity, snapshot.batches(entity)))
            assert sum(c.rows for c in server) == snapshot.count(entity) > 0
            assert b",\n".join(c.data for c in server) == b",\n".join(c.data for c in reference), (
                entity.name
            )
            ids = [c.first_id for c in server] + [c.last_id for c in server]
            assert all(uuid.UUID(i) for i in ids)
    engine.dispose()


def test_sqlite_and_postgresql_give_byte_identical_archives(
    postgres_url: str, tmp_path: Path
) -> None:
    members = {}
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'bgw.db'}"), ("pg", postgres_url)):
        engine = create_engine(url)
        ensure_schema(engine)
        _fill_same(engine)
        result = export_database(engine, tmp_path / name, include_raw_data=True, created_at=CREATED)
        engine.dispose()
        with zipfile.ZipFile(result.path) as zf:
            members[name] = {n: zf.read(n) for n in zf.namelist()}
    for member, data in members["pg"].items():
        assert members["sqlite"][member] == data, (
            member,
            _debug_diff(members["sqlite"][member], data),
        )
    assert members["sqlite"] == members["pg"]


def _fill_same(engine: sa.Engine) -> None:
    """The same rows (same ids) in whichever database it is given."""
    import random

    rng = random.Random(7)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(40)]
    games = [
        make_game(id=ids[i], title=f"{NASTY[i % len(NASTY)]} {i}",
                  synonyms=JSON_VALUES[i % len(JSON_VALUES)],
                  created_at=TIMES[i % len(TIMES)], updated_at=TIMES[0] + timedelta(days=i))
        for i in range(len(NASTY))
    ]  # fmt: skip
    insert(engine, "games", games)
    insert(
        engine,
        "rules",
        [make_rule(id=ids[10 + i], conditions=v) for i, v in enumerate(JSON_VALUES)],
    )
    insert(engine, "price_history", [
        make_price(games[i % len(games)], id=ids[20 + i], recorded_at=TIMES[0] - timedelta(days=i))
        for i in range(10)
    ])  # fmt: skip
    insert(engine, "raw_items", [make_raw_item(id=ids[30 + i], payload=v, fetched_at=TIMES[i])
                                 for i, v in enumerate(JSON_VALUES)])  # fmt: skip
    insert(engine, "listings", [make_listing(id=ids[36 + i], content=NASTY[i], fetched_at=TIMES[i])
                                for i in range(4)])  # fmt: skip


def _debug_diff(a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"{a[max(0, i - 60) : i + 40]!r} != {b[max(0, i - 60) : i + 40]!r}"
    return "length differs"


@pytest.mark.parametrize("value", ["infinity", "-infinity", "0044-03-15 00:00:00+00 BC"])
def test_a_timestamp_the_archive_cannot_hold_stops_the_export(
    postgres_url: str, tmp_path: Path, value: str
) -> None:
    """RFC 3339 has no infinity and no years BC: the export says which value, not `null`."""
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    game = make_game()
    insert(engine, "games", [game])
    insert(engine, "price_history", [make_price(game)])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE price_history SET recorded_at = CAST(:v AS timestamptz)"),
                     {"v": value})  # fmt: skip
    with pytest.raises(SourceDataError, match=r"price_history: a timestamp .*infinity|BC"):
        export_database(engine, tmp_path, created_at=CREATED)
    engine.dispose()


def test_the_same_data_gives_the_same_file_whatever_the_slices(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compressed bytes depend on the data alone, not on how the reads were cut."""
    monkeypatch.setattr(archive_writer, "FLUSH_BYTES", 64)  # many compressor calls
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    fill_nasty_values(engine)
    files = []
    for slice_bytes in (1, 700, postgres_rows.SLICE_BYTES):
        monkeypatch.setattr(postgres_rows, "SLICE_BYTES", slice_bytes)
        result = export_database(engine, tmp_path / str(slice_bytes), True, created_at=CREATED)
        files.append(result.path.read_bytes())
    engine.dispose()
    assert files[0] == files[1] == files[2]


def test_a_database_in_another_encoding_still_exports_utf8(
    postgres_url: str, tmp_path: Path
) -> None:
    """The server's blocks come in the connection's encoding: the workers ask for UTF-8,
    so a WIN1251 database (Cyrillic, not UTF-8) gives the reference encoder's bytes."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"bgw_win1251_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE \"{name}\" ENCODING 'WIN1251' LC_COLLATE 'C' LC_CTYPE 'C' "
            "TEMPLATE template0"
        )
    url = sa.make_url(postgres_url).set(database=name).render_as_string(False)
    try:
        engine = create_engine(url)
        ensure_schema(engine)
        game = make_game(title="Каркассон: «Охотники» №2", url="https://example.test/игры")
        insert(engine, "games", [game])
        insert(engine, "price_history", [make_price(game, store="Мосигра")])
        with open_snapshot(engine) as snapshot:
            for entity in ALL_ENTITIES[:4]:
                server = b",\n".join(c.data for c in snapshot.encoded_chunks(entity))
                reference = chunks_from_batches(entity, snapshot.batches(entity))
                assert server == b",\n".join(c.data for c in reference), entity.name
                server.decode("utf-8")
        # The import hashes the database's rows in the server: the same UTF-8 bytes.
        with open_snapshot(engine) as snapshot:
            prices = ALL_ENTITIES[3]
            (keys,) = list(database_key_batches(snapshot, prices))
            (line,) = list(chunks_from_batches(prices, snapshot.batches(prices)))
        assert keys.column("h").to_pylist() == [hashlib.md5(line.data).hexdigest()]
        archive = export_database(engine, tmp_path, created_at=CREATED).path
        report = run_import(engine, archive, ImportFolders(tmp_path / "work"))
        assert report.summary["games"] == {"new": 0, "updated": 0, "skipped": 1, "errors": 0}
        assert report.summary["price_history"]["skipped"] == 1
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_rows_by_id_over_adbc_equal_the_sqlalchemy_rows(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database's version of the rows in question, read as Arrow over ADBC (many ids)
    or through SQLAlchemy (few): the same batches, ids the database lacks left out."""
    monkeypatch.setattr(postgres_reads, "ARROW_IDS_MIN", 0)
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    fill_nasty_values(engine)
    missing = str(uuid.UUID(int=12345))
    for entity in ALL_ENTITIES:
        with open_snapshot(engine) as snapshot:
            present = [i for b in snapshot.batches(entity) for i in b.column("id").to_pylist()]
            ids = sorted([*present, missing])
            reader = snapshot.row_reader
            assert reader is not None
            arrow = reader.rows_by_ids(entity, ids)
            if any(c.kind is Kind.JSON for c in entity.columns):
                assert arrow is None  # JSON columns: always the SQLAlchemy way
                continue
            assert arrow is not None
            via_arrow = pa.Table.from_batches(list(snapshot.rows_by_ids(entity, ids)))
            monkeypatch.setattr(postgres_reads, "ARROW_IDS_MIN", 10**9)
            via_sqlalchemy = pa.Table.from_batches(list(snapshot.rows_by_ids(entity, ids)))
            monkeypatch.setattr(postgres_reads, "ARROW_IDS_MIN", 0)
            assert via_arrow.num_rows == snapshot.count(entity) > 0
            assert via_arrow.equals(via_sqlalchemy), entity.name
            # Ids not in the database's own form are not written into a query: SQLAlchemy.
            assert reader.rows_by_ids(entity, [i.upper() for i in ids]) is None
    engine.dispose()


def test_rows_by_id_over_adbc_refuse_a_timestamp_the_archive_cannot_hold(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_reads, "ARROW_IDS_MIN", 0)
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    game = make_game()
    insert(engine, "games", [game])
    price = make_price(game)
    insert(engine, "price_history", [price])
    event = make_event(game)
    insert(engine, "events", [event])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE price_history SET recorded_at = 'infinity'"))
    with open_snapshot(engine) as snapshot:
        with pytest.raises(SourceDataError, match="infinity"):
            list(snapshot.rows_by_ids(PRICE_HISTORY, [price["id"]]))
        # The failed query aborted that session's transaction: the next read opens another.
        (batch,) = snapshot.rows_by_ids(EVENTS, [event["id"]])
        assert batch.column("id").to_pylist() == [event["id"]]
    engine.dispose()
