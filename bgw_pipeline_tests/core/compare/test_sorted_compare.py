"""The first pass in id order: an archive member against the database's encoded rows.

Each case changes the database after an export (rows updated, deleted, added) and checks
the walk against a plain oracle: every archive row whose text differs from the database's
encoding of the same id, or whose id the database lacks, is in question; nothing else is.
"""

from __future__ import annotations

import random
import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from bgw_pipeline.core.archive.reader import ArchiveLimits, open_archive
from bgw_pipeline.core.compare import in_order_pass, rows_in_question, sorted_compare
from bgw_pipeline.core.compare.event_days import EventDays
from bgw_pipeline.core.compare.row_files_compare import compare_row_files
from bgw_pipeline.core.compare.row_keys import database_key_batches
from bgw_pipeline.core.compare.sorted_compare import NotComparable, compare_sorted
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.postgres import arrow_rows
from bgw_pipeline.core.database.postgres import rows as postgres_rows
from bgw_pipeline.core.database.postgres import slices as postgres_slices
from bgw_pipeline.core.database.snapshot import open_snapshot
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.entities import (
    CORE_ENTITIES,
    ENTITIES_BY_NAME,
    EVENTS,
    GAMES,
    LISTINGS,
    Entity,
)

PRICES = ENTITIES_BY_NAME["price_history"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small SQLite database and its export (the database is copied per test)."""
    folder = tmp_path_factory.mktemp("sorted")
    engine = create_engine(f"sqlite:///{folder / 'bgw.db'}")
    fill_demo_database(engine, scale=0.12, seed=11)  # six listings
    archive = export_database(engine, folder / "out", include_raw_data=True).path
    engine.dispose()
    return folder / "bgw.db", archive


def _database(exported: tuple[Path, Path], tmp_path: Path) -> sa.Engine:
    copy = tmp_path / "bgw.db"
    copy.write_bytes(exported[0].read_bytes())
    return create_engine(f"sqlite:///{copy}")


def _lines(data: bytes) -> dict[bytes, bytes]:
    return {line[7:43]: line for line in data.split(b",\n") if line}


def _archive_rows(archive: Path, entity: Entity) -> dict[bytes, bytes]:
    with zipfile.ZipFile(archive) as zf:
        body = zf.read(entity.member).split(b"\n", 1)[1].rstrip()
    return _lines(body.removesuffix(b"]}").rstrip())


def _walk(engine: sa.Engine, archive: Path, entity: Entity, **kwargs: object):
    with open_archive(archive, ArchiveLimits.unlimited()) as reader, open_snapshot(engine) as db:
        database = {}
        for chunk in db.encoded_chunks(entity):
            database.update(_lines(chunk.data))
        found = compare_sorted(reader, entity, db.encoded_chunks(entity), **kwargs)
    return found, database


# Tables changed, the column an update touches, the column a copy changes to stay unique.
CHANGED = (("games", "title", "normalized_title"), ("events", "title", None),
           ("price_history", "url", "store"))  # fmt: skip


def _copy_row(
    conn: sa.Connection, table: str, source: str, new_id: str, unique: str | None
) -> None:
    columns = [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})") if r[1] != "id"]
    values = [f"{c} || ' copy'" if c == unique else c for c in columns]
    conn.exec_driver_sql(
        f"INSERT INTO {table} (id, {', '.join(columns)}) "
        f"SELECT ?, {', '.join(values)} FROM {table} WHERE id = ?",
        (new_id, source),
    )


def _change(engine: sa.Engine, seed: int) -> None:
    """Update, delete and add rows of every core table, at random places in the ids."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        for table, column, unique in CHANGED:
            ids = [r[0] for r in conn.exec_driver_sql(f"SELECT id FROM {table}").fetchall()]
            for row_id in rng.sample(ids, 3):
                conn.exec_driver_sql(
                    f"UPDATE {table} SET {column} = {column} || 'é' WHERE id = ?", (row_id,)
                )
            if table != "games":  # deleting a game would take its rows with it
                for row_id in rng.sample(ids, 2):
                    conn.exec_driver_sql(f"DELETE FROM {table} WHERE id = ?", (row_id,))
            for _ in range(2):  # a copy under a new id: in the database only
                new_id = f"{rng.getrandbits(32):08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
                _copy_row(conn, table, rng.choice(ids), new_id, unique)


@pytest.mark.parametrize(
    "steps",
    [(4096, 1 << 20, 1 << 20), (64, 256, 100), (64, 256, 7)],
    ids=["default", "tiny-steps", "tiny-reads"],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_walk_finds_exactly_the_rows_an_oracle_finds(
    exported: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    steps: tuple[int, int, int],
) -> None:
    monkeypatch.setattr(sorted_compare, "FIRST_STEP_BYTES", steps[0])
    monkeypatch.setattr(sorted_compare, "LAST_STEP_BYTES", steps[1])
    monkeypatch.setattr(sorted_compare, "READ_BYTES", steps[2])
    engine = _database(exported, tmp_path)
    _change(engine, seed)
    for entity in CORE_ENTITIES:
        archive = _archive_rows(exported[1], entity)
        found, database = _walk(engine, exported[1], entity, all_database_ids=entity is GAMES)
        expected = {i for i, text in archive.items() if database.get(i) != text}
        assert set(found.open_ids) == expected, entity.name
        assert set(found.existing_ids) == expected & set(database), entity.name
        assert found.rows == len(archive), entity.name
        assert found.texts is not None
        assert sorted(found.texts) == sorted(archive[i] for i in expected)
        if entity is GAMES:
            ids = {i.encode() for chunk in found.database_ids for i in chunk.to_pylist()}
            assert ids == set(database)
    engine.dispose()


def test_an_unchanged_database_leaves_nothing_in_question(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    engine = _database(exported, tmp_path)
    days = EventDays()
    for entity in CORE_ENTITIES:
        found, database = _walk(engine, exported[1], entity, days=days)
        assert found.open_ids == [] and found.rows == len(database) > 0
    with engine.connect() as conn:
        first, last = conn.exec_driver_sql(
            "SELECT min(substr(created_at, 1, 10)), max(substr(created_at, 1, 10)) FROM events"
        ).one()
    assert (days.earliest, days.latest) == (first, last)
    engine.dispose()


def test_an_empty_database_has_every_row_new_and_texts_beyond_the_budget_are_dropped(
    exported: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sorted_compare, "TEXT_BUDGET_BYTES", 1000)
    engine = _database(exported, tmp_path)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM events")
    found, _ = _walk(engine, exported[1], EVENTS)
    archive = _archive_rows(exported[1], EVENTS)
    assert set(found.open_ids) == set(archive) and found.existing_ids == []
    assert found.rows == len(archive) and found.texts is None
    engine.dispose()


def _rewritten(archive: Path, out: Path, member: str, change) -> Path:
    with zipfile.ZipFile(archive) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, change(data) if info.filename == member else data)
    return out


def _swap_two_rows(data: bytes) -> bytes:
    head, body = data.split(b"\n", 1)
    rows = body.split(b",\n")
    rows[3], rows[4] = rows[4], rows[3]
    return head + b"\n" + b",\n".join(rows)


def _upper_id(data: bytes) -> bytes:
    head, body = data.split(b"\n", 1)
    rows = body.split(b",\n")
    rows[5] = rows[5][:7] + rows[5][7:43].upper() + rows[5][43:]
    return head + b"\n" + b",\n".join(rows)


@pytest.mark.parametrize(
    "change",
    [
        _swap_two_rows,
        _upper_id,
        lambda d: d.replace(b",\n", b", \n", 1),  # a row not ending as the export ends it
        lambda d: d.rstrip() + b"\n[]\n",  # something after the closing
        lambda d: d.replace(b"\n", b"\r\n"),
    ],
    ids=["not-ascending", "uppercase-id", "other-separator", "after-closing", "crlf"],
)
def test_a_member_not_in_the_exports_shape_is_left_to_the_hashes(
    exported: tuple[Path, Path], tmp_path: Path, change
) -> None:
    archive = _rewritten(exported[1], tmp_path / "changed.zip", PRICES.member, change)
    engine = _database(exported, tmp_path)
    with pytest.raises(NotComparable):
        _walk(engine, archive, PRICES)
    engine.dispose()


def test_a_read_left_early_does_not_leak_rows_into_the_next_table(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers read ahead across tables; a reader that stops inside one table (as a
    member found not comparable does) must not get that table's queued rows as the next's."""
    monkeypatch.setattr(postgres_rows, "SLICE_BYTES", 2_000)  # many slices per table
    engine = create_engine(postgres_url)
    fill_demo_database(engine, scale=0.02, seed=5)
    with open_snapshot(engine) as snapshot:
        expected = b",\n".join(c.data for c in snapshot.encoded_chunks(EVENTS))
        snapshot.prefetch([GAMES, EVENTS])
        games = snapshot.encoded_chunks(GAMES)
        next(games)
        games.close()
        got = b",\n".join(c.data for c in snapshot.encoded_chunks(EVENTS))
    engine.dispose()
    assert got == expected


def test_an_import_on_postgresql_compares_in_order_and_finds_the_same_rows(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updated, deleted and added rows since the export: the dry run's counts and the
    written rows are those of the hashing pass, and the kept texts spare a second read."""
    engine = create_engine(postgres_url)
    fill_demo_database(engine, scale=0.03, seed=9)
    archive = export_database(engine, tmp_path / "out", include_raw_data=True).path
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE price_history SET price = price + 1 WHERE id IN "
            "(SELECT id FROM price_history ORDER BY md5(id::text) LIMIT 6)"
        )
        conn.exec_driver_sql(
            "DELETE FROM price_history WHERE id IN "
            "(SELECT id FROM price_history ORDER BY md5(id::text) DESC LIMIT 4)"
        )
        conn.exec_driver_sql(
            "INSERT INTO events SELECT gen_random_uuid(), game_id, kind, title, description, "
            "price, previous_price, discount_pct, url, store, image_url, processed, created_at "
            "FROM events ORDER BY id LIMIT 3"
        )
    walked = []
    real = in_order_pass.compare_sorted
    monkeypatch.setattr(
        in_order_pass,
        "compare_sorted",
        lambda reader, entity, *a, **k: walked.append(entity.name) or real(reader, entity, *a, **k),
    )
    monkeypatch.setattr(
        rows_in_question, "texts_in_question", lambda *a, **k: pytest.fail("read again")
    )
    folders = ImportFolders(tmp_path / "work")
    dry = run_import(engine, archive, folders)
    assert set(walked) >= {e.name for e in CORE_ENTITIES}
    assert dry.summary["price_history"] == {"new": 4, "updated": 6, "skipped": dry.summary[
        "price_history"]["skipped"], "errors": 0}  # fmt: skip
    assert all(c["new"] == c["updated"] == 0 for n, c in dry.summary.items()
               if n != "price_history"), dry.summary  # fmt: skip
    applied = run_import(engine, archive, folders, ImportOptions(dry_run=False))
    assert applied.message == "applied: 10 rows written"
    again = run_import(engine, archive, folders)
    assert all(c["new"] == c["updated"] == 0 for c in again.summary.values())
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("as_arrow", [False, True])
def test_reads_stopped_in_mid_query_leave_the_workers_usable(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, as_arrow: bool
) -> None:
    """Stopping the reads ahead (a member not comparable) while a worker is inside a
    COPY aborts that worker's transaction; the next reads must still work."""
    monkeypatch.setattr(postgres_slices, "GROUP_ROWS", 1e-30)  # a block per row: mid-COPY
    if as_arrow:  # Arrow batches of a few hundred rows, in chunks of one row
        monkeypatch.setattr(postgres_rows, "ARROW_MIN_ROWS", 0)
        monkeypatch.setattr(arrow_rows, "BATCH_BYTES", 64 << 10)
        monkeypatch.setattr(arrow_rows, "CHUNK_ROWS", 1)
    monkeypatch.setattr(postgres_rows, "QUEUED_BLOCKS", 1)
    monkeypatch.setattr(postgres_rows, "READ_AHEAD_BYTES", 0)
    engine = create_engine(postgres_url)
    fill_demo_database(engine, scale=2, seed=5)  # more than the socket buffers hold
    with open_snapshot(engine) as snapshot:
        expected = b",\n".join(c.data for c in snapshot.encoded_chunks(PRICES))
        snapshot.prefetch([PRICES, EVENTS])
        time.sleep(0.5)  # the workers fill their queues and wait inside their queries
        snapshot.stop_prefetch()
        got = b",\n".join(c.data for c in snapshot.encoded_chunks(PRICES))
        keys = sum(b.num_rows for b in database_key_batches(snapshot, EVENTS))
        assert keys == snapshot.count(EVENTS)
    engine.dispose()
    assert got == expected


def _listing_rows(archive: Path) -> dict[bytes, bytes]:
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if n.startswith(LISTINGS.member)]
        return {zf.read(n)[7:43]: zf.read(n).strip() for n in names}


def _walk_files(engine: sa.Engine, archive: Path):
    with open_archive(archive, ArchiveLimits.unlimited()) as reader, open_snapshot(engine) as db:
        database = {}
        for chunk in db.encoded_chunks(LISTINGS):
            database.update(_lines(chunk.data))
        found = compare_row_files(reader, LISTINGS, db.encoded_chunks(LISTINGS))
    return found, database


@pytest.mark.parametrize("seed", [1, 2])
def test_row_files_are_walked_like_an_oracle_finds(
    exported: tuple[Path, Path], tmp_path: Path, seed: int
) -> None:
    engine = _database(exported, tmp_path)
    rng = random.Random(seed)
    with engine.begin() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM listings").fetchall()]
        touched = rng.sample(ids, 4)
        conn.exec_driver_sql("UPDATE listings SET page = coalesce(page, 0) + 1 WHERE id = ?",
                             (touched[0],))  # fmt: skip
        conn.exec_driver_sql("DELETE FROM listings WHERE id IN (?, ?)", tuple(touched[1:3]))
        _copy_row(conn, "listings", touched[3], f"{rng.getrandbits(32):08x}-0000-4000-8000-"
                  f"{rng.getrandbits(48):012x}", None)  # fmt: skip
    archive = _listing_rows(exported[1])
    found, database = _walk_files(engine, exported[1])
    expected = {i for i, text in archive.items() if database.get(i) != text}
    assert len(expected) == 3
    assert set(found.open_ids) == expected and found.rows == len(archive)
    assert set(found.existing_ids) == expected & set(database)
    assert sorted(found.texts or []) == sorted(archive[i] for i in expected)
    engine.dispose()


def _swapped_row_files(archive: Path, out: Path) -> Path:
    """The first two listings' contents swapped: names in order, ids not."""
    with zipfile.ZipFile(archive) as zin:
        names = sorted(n for n in zin.namelist() if n.startswith(LISTINGS.member))
        swap = {names[0]: zin.read(names[1]), names[1]: zin.read(names[0])}
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                zout.writestr(info.filename, swap.get(info.filename, zin.read(info)))
    return out


def _pretty_row_file(archive: Path, out: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        first = sorted(n for n in zf.namelist() if n.startswith(LISTINGS.member))[0]
    return _rewritten(archive, out, first, lambda d: d.replace(b":", b": "))


@pytest.mark.parametrize(
    "change", [_pretty_row_file, _swapped_row_files], ids=["pretty", "swapped"]
)
def test_a_row_file_not_in_the_exports_form_is_left_to_the_hashes(
    exported: tuple[Path, Path], tmp_path: Path, change
) -> None:
    archive = change(exported[1], tmp_path / "changed.zip")
    engine = _database(exported, tmp_path)
    with (
        pytest.raises(NotComparable),
        open_archive(archive, ArchiveLimits.unlimited()) as reader,
        open_snapshot(engine) as db,
    ):
        compare_row_files(reader, LISTINGS, db.encoded_chunks(LISTINGS))
    engine.dispose()
