"""The archive writer against the spec, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa

from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import TABLES, ensure_schema
from bgw_pipeline.core.export.archive_export import export_contents, export_database
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline_tests.archive_spec import check_archive_against_spec
from bgw_pipeline_tests.factories import (
    BASE_TIME,
    insert,
    make_event,
    make_game,
    make_listing,
    make_price,
    make_raw_item,
    make_rule,
    small_database,
)
from bgw_pipeline_tests.reliability.tally import record

CREATED = datetime(2024, 1, 15, 12, 30, tzinfo=UTC)
TRICKY = 'Громкое "дело", часть 2\nс переносом 🎲 и =формулой'


def _tricky_database(engine: sa.Engine) -> dict[str, str]:
    game = make_game(
        title=TRICKY,
        description='=HYPERLINK("http://evil")',
        price=None,
        url=None,
        players_min=None,
        players_max=None,
        playing_time=None,
        age=None,
        publisher=None,
        year=None,
        category=None,
        bgg_id=None,
        synonyms='["Поезд", "Ограбление, \\"поезда\\""]',
        in_watchlist=False,
        created_at=BASE_TIME.replace(microsecond=123456),
    )
    empty = make_game(title="Пустая", description=None, synonyms="[]")
    insert(engine, "games", [game, empty])
    rule = make_rule(
        conditions='[{"field":"price","op":"<=","value":5000,"extra":{"b":[1,{"c":null}],"a":true}}]'
    )
    insert(engine, "rules", [rule])
    insert(engine, "events", [make_event(None, kind="announcement", price=None, previous_price=None,
                                         discount_pct=None, store=None)])  # fmt: skip
    insert(engine, "price_history", [make_price(game, previous_price=None)])
    insert(engine, "raw_items", [make_raw_item(payload='{"nested":{"z":1,"a":[1,2,{"k":"в"}]}}')])
    insert(engine, "listings", [make_listing(page=None, content="<p>Кириллица \u2028</p>")])
    return {"game": game["id"]}


def test_archive_follows_the_spec_and_keeps_tricky_values(
    engine: sa.Engine, tmp_path: Path
) -> None:
    ids = _tricky_database(engine)
    result = export_database(engine, tmp_path, include_raw_data=True, created_at=CREATED)
    rows = check_archive_against_spec(result.path)

    game = next(r for r in rows["games"] if r["id"] == ids["game"])
    assert game["title"] == TRICKY
    assert game["description"] == '=HYPERLINK("http://evil")'
    assert game["price"] is None and game["bgg_id"] is None
    assert game["synonyms"] == ["Поезд", 'Ограбление, "поезда"']
    assert game["in_watchlist"] is False
    assert game["created_at"] == "2024-01-15T12:30:00.123456Z"
    assert game["updated_at"] == "2024-01-16T12:30:00Z"
    condition = rows["rules"][0]["conditions"][0]
    assert condition["extra"] == {"b": [1, {"c": None}], "a": True}
    assert rows["events"][0]["game_id"] is None
    assert rows["raw_items"][0]["payload"]["nested"]["a"][2] == {"k": "в"}
    assert rows["listings"][0]["page"] is None
    assert result.counts == {k: len(v) for k, v in rows.items()}


def test_same_data_same_created_at_gives_identical_bytes(engine: sa.Engine, tmp_path: Path) -> None:
    small_database(engine)
    first = export_database(engine, tmp_path / "a", include_raw_data=True, created_at=CREATED)
    second = export_database(engine, tmp_path / "b", include_raw_data=True, created_at=CREATED)
    assert first.path.read_bytes() == second.path.read_bytes()
    later = export_database(
        engine, tmp_path / "c", include_raw_data=True, created_at=CREATED + timedelta(hours=5)
    )
    assert later.checksum == first.checksum
    assert later.path.read_bytes() != first.path.read_bytes()


def test_empty_database_gives_a_valid_empty_archive(engine: sa.Engine, tmp_path: Path) -> None:
    result = export_database(engine, tmp_path, include_raw_data=False, created_at=CREATED)
    rows = check_archive_against_spec(result.path)
    assert rows == {"games": [], "rules": [], "events": [], "price_history": []}


def test_names_sort_by_time_and_no_partial_file_remains(engine: sa.Engine, tmp_path: Path) -> None:
    small_database(engine)
    out = tmp_path / "archives"
    out.mkdir()
    (out / ".bgw_backup_x.zip.99.partial").write_bytes(b"left by a crash")
    a = export_database(engine, out, created_at=CREATED)
    b = export_database(engine, out, created_at=CREATED + timedelta(days=1))
    c = export_database(engine, out, created_at=CREATED + timedelta(days=1))
    assert a.path.name == "bgw_backup_20240115T123000Z.zip"
    assert sorted(p.name for p in out.iterdir()) == [a.path.name, b.path.name, c.path.name]
    assert c.path != b.path


def test_round_trip_through_a_fresh_database_keeps_the_checksum(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    _tricky_database(engine)
    small_database(engine)
    first = export_database(engine, tmp_path / "one", include_raw_data=True, created_at=CREATED)

    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = create_engine(fresh_url)
    try:
        report = run_import(
            fresh, first.path, ImportFolders(tmp_path / "work"), ImportOptions(dry_run=False)
        )
        assert report.success and report.applied, report.message
        again = export_database(fresh, tmp_path / "two", include_raw_data=True, created_at=CREATED)
    finally:
        fresh.dispose()
    assert again.checksum == first.checksum
    assert again.path.read_bytes() == first.path.read_bytes()

    # And back into the original kind of database (PostgreSQL when db_url is one).
    with engine.begin() as conn:
        for table in reversed(list(TABLES.values())):
            conn.execute(table.delete())
    run_import(engine, again.path, ImportFolders(tmp_path / "work2"), ImportOptions(dry_run=False))
    third = export_database(engine, tmp_path / "three", include_raw_data=True, created_at=CREATED)
    assert third.checksum == first.checksum


def test_a_concurrent_writer_does_not_leak_into_the_archive(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    counts = small_database(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA journal_mode=WAL")
    writer = create_engine(db_url)
    written = threading.Event()

    def write_more() -> None:
        game = make_game(title=f"Новая {uuid.uuid4().hex[:6]}")
        with writer.begin() as conn:
            conn.execute(TABLES["games"].insert(), [game])
            conn.execute(TABLES["price_history"].insert(), [make_price(game)])
        written.set()

    started: list[threading.Thread] = []

    def progress(entity: str, done: int, total: int) -> None:
        if entity == "games" and not started:
            thread = threading.Thread(target=write_more)
            thread.start()
            started.append(thread)
            thread.join(timeout=5)

    result = export_database(engine, tmp_path, include_raw_data=False, progress=progress)
    started[0].join(timeout=60)
    writer.dispose()
    rows = check_archive_against_spec(result.path)
    with engine.connect() as conn:
        now = conn.execute(sa.select(sa.func.count()).select_from(TABLES["games"])).scalar()
    ok = (
        written.is_set()  # the concurrent writer committed during the export...
        and len(rows["games"]) == counts["games"]  # ...and the archive holds the snapshot
        and len(rows["price_history"]) == counts["price_history"]
        and now == 4
    )
    record("fault", f"concurrent writer during export/{engine.dialect.name}", ok, rows_lost=0)
    assert ok, (written.is_set(), len(rows["games"]), len(rows["price_history"]), now)


def test_json_text_in_sqlite_is_written_as_json_values(sqlite_url: str, tmp_path: Path) -> None:
    engine = create_engine(sqlite_url)
    ensure_schema(engine)
    insert(engine, "games", [make_game(synonyms='[ "a" ,  "b" ]')])
    result = export_database(engine, tmp_path, created_at=CREATED)
    with zipfile.ZipFile(result.path) as zf:
        games = orjson.loads(zf.read("games.json"))["games"]
    assert games[0]["synonyms"] == ["a", "b"]
    engine.dispose()


def test_the_contents_alone_are_those_of_the_written_archive(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """The drill's re-export (nothing written) gives the checksum, counts and member
    digests of a real export, with and without the raw data's one-file-per-row members."""
    small_database(engine)
    _tricky_database(engine)
    for raw in (False, True):
        written = export_database(engine, tmp_path / str(raw), include_raw_data=raw)
        alone = export_contents(engine, include_raw_data=raw)
        assert alone.checksum == written.checksum
        assert alone.counts == written.counts
        assert {**alone.metadata, "created_at": None} == {**written.metadata, "created_at": None}
