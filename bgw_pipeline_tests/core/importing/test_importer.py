"""Import semantics (spec: "Import semantics"), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.compare import diff
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.postgres.connect import libpq_url
from bgw_pipeline.core.database.schema import TABLES, ensure_schema
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.importing import importer
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.importing.undo import undo_import
from bgw_pipeline.core.model.errors import ArchiveError, StalePlanError, TransientError
from bgw_pipeline_tests.archive_builder import (
    GAME_ID,
    SEED_EVENT,
    SEED_GAME,
    SEED_RULE,
    build_archive,
    seed_archive,
)
from bgw_pipeline_tests.factories import (
    BASE_TIME,
    dump_database,
    insert,
    make_game,
    make_price,
    small_database,
)

UNKNOWN_GAME = "00000000-0000-4000-8000-000000000001"


def _import(engine: sa.Engine, path: Path, tmp_path: Path, **options: object):  # type: ignore[no-untyped-def]
    return run_import(engine, path, ImportFolders(tmp_path / "work"), ImportOptions(**options))  # type: ignore[arg-type]


def _as_archive_row(row: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            out[key] = value.isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
        elif key in ("synonyms", "conditions", "channels", "payload") and isinstance(value, str):
            out[key] = json.loads(value)
        else:
            out[key] = value
    return out


def test_the_seed_documents_rows_import_into_an_empty_database(
    engine: sa.Engine, tmp_path: Path
) -> None:
    archive = seed_archive(tmp_path / "seed.zip")
    dry = _import(engine, archive, tmp_path)
    assert dry.success and dry.dry_run and not dry.applied
    assert dry.summary == {
        "games": {"new": 1, "updated": 0, "skipped": 0, "errors": 0},
        "rules": {"new": 1, "updated": 0, "skipped": 0, "errors": 0},
        "events": {"new": 1, "updated": 0, "skipped": 0, "errors": 0},
        "price_history": {"new": 0, "updated": 0, "skipped": 0, "errors": 0},
    }
    applied = _import(engine, archive, tmp_path, dry_run=False)
    assert applied.success and applied.applied
    body = applied.as_dict()
    for key in ("success", "dry_run", "applied", "summary", "import_id", "duration_seconds"):
        assert key in body
    with engine.connect() as conn:
        game = conn.execute(TABLES["games"].select()).mappings().one()
        rule = conn.execute(TABLES["rules"].select()).mappings().one()
        event = conn.execute(TABLES["events"].select()).mappings().one()
    assert game["title"] == "Громкое дело" and game["price"] == 2990
    assert json.loads(game["synonyms"]) == SEED_GAME["synonyms"]
    assert game["created_at"].isoformat() == "2024-01-01T12:00:00+00:00"
    assert json.loads(rule["conditions"]) == SEED_RULE["conditions"]
    assert event["game_id"] == GAME_ID and event["discount_pct"] == 25
    assert (tmp_path / "work" / "import_reports" / f"{applied.import_id}.json").exists()


def _known_differences(engine: sa.Engine, tmp_path: Path) -> tuple[Path, dict[str, dict]]:
    same = make_game(title="Каркассон")
    changed = make_game(title="Громкое дело", price=3990)
    kept = make_game(title="Манчкин", store="Мосигра")
    existing_price = make_price(same, recorded_at=BASE_TIME)
    insert(engine, "games", [same, changed, kept])
    insert(engine, "price_history", [existing_price])

    new_game = make_game(title="Новая игра")
    duplicate = make_game(title="Манчкин", store="Мосигра")  # same natural key, other id
    archive_games = [same, changed | {"price": 2990}, new_game, duplicate]
    prices = [
        make_price(same, recorded_at=BASE_TIME),  # natural-key duplicate of existing_price
        make_price(new_game, recorded_at=BASE_TIME + timedelta(days=1)),
        make_price(duplicate, recorded_at=BASE_TIME + timedelta(days=2)),  # follows the kept game
    ]
    events = [
        SEED_EVENT | {"id": "11111111-1111-4111-8111-111111111111", "game_id": new_game["id"]},
        SEED_EVENT | {"id": "22222222-2222-4222-8222-222222222222", "game_id": UNKNOWN_GAME},
    ]
    path = build_archive(
        tmp_path / "diff.zip",
        games=[_as_archive_row(g) for g in archive_games],
        events=events,
        price_history=[_as_archive_row(p) for p in prices],
    )
    return path, {"same": same, "changed": changed, "kept": kept, "new": new_game, "dup": duplicate}


def test_known_differences_give_exact_counts_and_messages(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path, _ = _known_differences(engine, tmp_path)
    report = _import(engine, path, tmp_path)
    assert report.summary == {
        "games": {"new": 1, "updated": 1, "skipped": 2, "errors": 0},
        "rules": {"new": 0, "updated": 0, "skipped": 0, "errors": 0},
        "events": {"new": 1, "updated": 0, "skipped": 0, "errors": 1},
        "price_history": {"new": 2, "updated": 0, "skipped": 1, "errors": 0},
    }
    assert "Game with duplicate title skipped: 'Манчкин'" in report.warnings
    assert any(UNKNOWN_GAME in e and "22222222" in e for e in report.errors)
    assert "Громкое дело: price 3990 -> 2990" in report.change_lines()


def test_apply_with_errors_writes_nothing_by_default(engine: sa.Engine, tmp_path: Path) -> None:
    path, _ = _known_differences(engine, tmp_path)
    before = dump_database(engine)
    report = _import(engine, path, tmp_path, dry_run=False)
    assert not report.success and not report.applied
    assert "nothing was written" in report.message
    assert dump_database(engine) == before


def test_apply_with_skip_writes_exactly_the_valid_changes(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path, games = _known_differences(engine, tmp_path)
    report = _import(engine, path, tmp_path, dry_run=False, on_error="skip")
    assert report.success and report.applied
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(TABLES["games"].select())}
        prices = list(conn.execute(TABLES["price_history"].select()))
        events = list(conn.execute(TABLES["events"].select()))
    assert set(rows) == {games[k]["id"] for k in ("same", "changed", "kept", "new")}
    assert rows[games["changed"]["id"]].price == 2990
    assert len(prices) == 3
    assert {p.game_id for p in prices} == {
        games["same"]["id"],
        games["new"]["id"],
        games["kept"]["id"],
    }
    assert [e.game_id for e in events] == [games["new"]["id"]]


def test_a_dry_run_writes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    path, _ = _known_differences(engine, tmp_path)
    before = dump_database(engine)
    _import(engine, path, tmp_path)
    assert dump_database(engine) == before


def test_an_export_imports_into_an_empty_database_and_twice_writes_nothing(
    engine: sa.Engine, tmp_path: Path, sqlite_url: str
) -> None:
    small_database(engine)
    archive = export_database(engine, tmp_path / "a", include_raw_data=True).path
    original = dump_database(engine)
    with engine.begin() as conn:
        for table in reversed(list(TABLES.values())):
            conn.execute(table.delete())
    first = _import(engine, archive, tmp_path, dry_run=False)
    assert first.applied
    assert dump_database(engine) == original
    second = _import(engine, archive, tmp_path, dry_run=False)
    assert second.applied
    assert all(c["new"] == 0 and c["updated"] == 0 for c in second.summary.values())
    assert "0 rows written" in second.message


def test_a_stale_plan_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    path, games = _known_differences(engine, tmp_path)
    _import(engine, path, tmp_path, on_error="skip")  # the dry run saves the plan
    with engine.begin() as conn:
        table = TABLES["games"]
        conn.execute(table.update().where(table.c.id == games["changed"]["id"]).values(price=1))
    before = dump_database(engine)
    with pytest.raises(StalePlanError, match="changed since the dry run"):
        _import(engine, path, tmp_path, dry_run=False, on_error="skip")
    assert dump_database(engine) == before


def test_undo_restores_the_previous_state_exactly(engine: sa.Engine, tmp_path: Path) -> None:
    path, _ = _known_differences(engine, tmp_path)
    before = dump_database(engine)
    report = _import(engine, path, tmp_path, dry_run=False, on_error="skip")
    assert report.applied and report.undo
    assert dump_database(engine) != before
    undone = undo_import(engine, tmp_path / "work" / "import_undo", report.import_id)
    assert undone["games"] == {"restored": 1, "deleted": 1}
    assert dump_database(engine) == before


def test_newer_minor_version_imports_with_a_warning(engine: sa.Engine, tmp_path: Path) -> None:
    report = _import(engine, seed_archive(tmp_path / "new.zip", version="1.3.0"), tmp_path)
    assert report.success
    assert "Import from newer version 1.3.0" in report.warnings


def test_row_errors_name_entity_id_and_reason(engine: sa.Engine, tmp_path: Path) -> None:
    bad_game = SEED_GAME | {"id": "33333333-3333-4333-8333-333333333333", "price": "дорого",
                            "normalized_title": "другая"}  # fmt: skip
    bad_rule = SEED_RULE | {"conditions": "price > 5", "name": "Test rule"}
    path = build_archive(tmp_path / "bad.zip", games=[SEED_GAME, bad_game], rules=[bad_rule])
    report = _import(engine, path, tmp_path)
    assert report.summary["games"] == {"new": 1, "updated": 0, "skipped": 0, "errors": 1}
    assert report.summary["rules"]["errors"] == 1
    assert any("games 33333333" in e and "price" in e for e in report.errors)
    assert "Rule with invalid conditions skipped: 'Test rule'" in report.warnings


def test_duplicate_ids_inside_the_archive_are_refused(engine: sa.Engine, tmp_path: Path) -> None:
    twin = SEED_GAME | {"normalized_title": "другая"}
    path = build_archive(tmp_path / "twins.zip", games=[SEED_GAME, twin])
    before = dump_database(engine)
    with pytest.raises(ArchiveError, match="occurs more than once"):
        _import(engine, path, tmp_path, dry_run=False)
    assert dump_database(engine) == before


def test_a_metadata_count_that_disagrees_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    path = seed_archive(
        tmp_path / "count.zip",
        metadata_changes={"contents": {"games_count": 7, "rules_count": 1, "events_count": 1,
                                       "price_history_count": 0, "include_raw_data": False}},
    )  # fmt: skip
    with pytest.raises(ArchiveError, match="games_count"):
        _import(engine, path, tmp_path)


def test_an_apply_killed_mid_transaction_leaves_the_database_as_it_was(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    small_database(engine)
    archive = export_database(engine, tmp_path / "a", include_raw_data=True).path
    with engine.begin() as conn:
        conn.execute(TABLES["listings"].delete())
        conn.execute(TABLES["raw_items"].delete())
        conn.execute(TABLES["events"].delete())
        conn.execute(TABLES["price_history"].delete())
    before = dump_database(engine)
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        import bgw_pipeline.core.importing.importer as importer
        from bgw_pipeline.core.database import bulk_load
        from bgw_pipeline.core.database.engines import create_engine

        def then_die(real):
            def upsert_then_die(conn, entity, batches):
                written = real(conn, entity, batches)
                if entity.name == "price_history":
                    os.kill(os.getpid(), signal.SIGKILL)
                return written
            return upsert_then_die
        # SQLite writes through SQLAlchemy, PostgreSQL over psycopg alone.
        bulk_load.upsert_batches = then_die(bulk_load.upsert_batches)
        bulk_load.upsert_postgres = then_die(bulk_load.upsert_postgres)
        engine = create_engine({db_url!r})
        folders = importer.ImportFolders(Path({str(tmp_path / "w")!r}))
        options = importer.ImportOptions(dry_run=False)
        importer.run_import(engine, Path({str(archive)!r}), folders, options)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert dump_database(engine) == before
    # The next run recovers: the same apply now succeeds.
    report = _import(engine, archive, tmp_path, dry_run=False)
    assert report.applied and report.summary["price_history"]["new"] == 4


def test_an_update_onto_another_rows_natural_key_is_an_error(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """The natural key a changed row takes may belong to another row of the database (on
    PostgreSQL it is looked up by value, for the rows in question only)."""
    first = make_game(title="Каркассон")
    second = make_game(title="Громкое дело")
    price = make_price(first, recorded_at=BASE_TIME)
    taken = make_price(first, recorded_at=BASE_TIME + timedelta(days=1))
    insert(engine, "games", [first, second])
    insert(engine, "price_history", [price, taken])
    renamed = second | {"title": "Каркассон", "normalized_title": first["normalized_title"]}
    moved = price | {"recorded_at": taken["recorded_at"]}
    path = build_archive(
        tmp_path / "onto.zip",
        games=[_as_archive_row(renamed)],
        price_history=[_as_archive_row(moved)],
    )
    report = _import(engine, path, tmp_path)
    assert report.summary["games"] == {"new": 0, "updated": 0, "skipped": 0, "errors": 1}
    assert report.summary["price_history"] == {"new": 0, "updated": 0, "skipped": 0, "errors": 1}
    assert any(second["id"] in e for e in report.errors), report.errors
    assert any(price["id"] in e for e in report.errors), report.errors


def test_a_key_given_up_by_a_changed_row_is_still_taken_in_the_database(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """A game renamed in the archive still holds its old natural key in the database
    until the import writes it; a new game of the archive with that old key is a
    duplicate of it, as it would be of any other database row (the key's holder is a
    row in question here, so it is found among those rows, not by a lookup)."""
    first = make_game(title="Каркассон")
    insert(engine, "games", [first])
    renamed = first | {"title": "Каркассон 2", "normalized_title": "каркассон 2"}
    newcomer = make_game(title="Каркассон")  # the old key, another id
    path = build_archive(
        tmp_path / "given_up.zip", games=[_as_archive_row(g) for g in (renamed, newcomer)]
    )
    report = _import(engine, path, tmp_path)
    assert report.summary["games"] == {"new": 0, "updated": 1, "skipped": 1, "errors": 0}
    assert "Game with duplicate title skipped: 'Каркассон'" in report.warnings


@pytest.mark.postgres
def test_a_connection_the_server_ends_during_an_apply_is_a_transient_error(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lost connection (here ended by the server, as a restart or a failover does) rolls
    the apply back and is reported as worth another try, without the statement's data."""
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    small_database(engine)
    archive = export_database(engine, tmp_path / "a", include_raw_data=True).path
    with engine.begin() as conn:
        conn.execute(TABLES["price_history"].delete())
    before = dump_database(engine)
    write = importer._write_postgres

    def ended_by_the_server(conn, diff, entities):  # type: ignore[no-untyped-def]
        with psycopg.connect(libpq_url(postgres_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
        return write(conn, diff, entities)

    monkeypatch.setattr(importer, "_write_postgres", ended_by_the_server)
    with pytest.raises(TransientError, match="broke off the import.*nothing was written"):
        _import(engine, archive, tmp_path, dry_run=False)
    assert dump_database(engine) == before
    monkeypatch.undo()
    report = _import(engine, archive, tmp_path, dry_run=False)  # the retry goes through
    assert report.applied and report.summary["price_history"]["new"] == 4
    engine.dispose()


def test_entities_without_rows_in_question_diff_as_the_full_classification_does(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The diff's shortcut for an entity with nothing in question (empty tables instead of
    the classification's statements) gives the same report and fingerprint: a dry run
    saved under one and applied under the other must still agree."""
    small_database(engine)
    archive = export_database(engine, tmp_path / "a", include_raw_data=True).path
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE price_history SET price = price + 1")
        conn.exec_driver_sql("DELETE FROM events")
    short = _import(engine, archive, tmp_path / "short")
    monkeypatch.setattr(diff, "_has_rows_in_question", lambda store, entity: True)
    full = _import(engine, archive, tmp_path / "full")
    assert short.summary["price_history"]["updated"] > 0 and short.summary["events"]["new"] > 0
    assert (
        short.summary["games"]
        == full.summary["games"]
        != {"new": 0, "updated": 0, "skipped": 0, "errors": 0}
    )
    assert (short.summary, short.warnings, short.errors, short.changes, short.fingerprint) == (
        full.summary,
        full.warnings,
        full.errors,
        full.changes,
        full.fingerprint,
    )
