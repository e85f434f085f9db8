"""The export's psycopg-only snapshot of PostgreSQL (database/postgres/snapshot.py,
database/postgres/connect.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.postgres import rows as postgres_rows
from bgw_pipeline.core.database.postgres.connect import (
    connect_postgres,
    is_postgres_url,
    libpq_url,
    redact_postgres_url,
)
from bgw_pipeline.core.database.postgres.snapshot import (
    ensure_postgres_tables,
    open_postgres_snapshot,
)
from bgw_pipeline.core.database.schema import ensure_schema
from bgw_pipeline.core.database.snapshot import open_snapshot
from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.export.archive_export import export_postgres, write_archive_file
from bgw_pipeline.core.model.entities import ALL_ENTITIES, PRICE_HISTORY
from bgw_pipeline.core.model.errors import ConfigError, DatabaseUnavailableError
from bgw_pipeline_tests.archive_spec import check_archive_against_spec
from bgw_pipeline_tests.factories import small_database

CREATED = datetime(2024, 1, 15, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "libpq"),
    [
        ("postgresql://u:p@h:5/db", "postgresql://u:p@h:5/db"),
        ("postgres://u@h/db?sslmode=disable", "postgresql://u@h/db?sslmode=disable"),
        ("postgresql+psycopg://u:p%40x@h/db", "postgresql://u:p%40x@h/db"),
        ("PostgreSQL+Psycopg://u@/db?host=/run/postgresql", "postgresql://u@/db?host=/run/postgresql"),
    ],
)  # fmt: skip
def test_sqlalchemy_urls_for_psycopg_become_libpq_urls(url: str, libpq: str) -> None:
    assert is_postgres_url(url)
    assert libpq_url(url) == libpq


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "postgresql+psycopg2://u@h/db", "mysql://u@h/db", "postgresql:/x"]
)
def test_other_urls_are_not_taken(url: str) -> None:
    assert not is_postgres_url(url)
    with pytest.raises(ConfigError):
        libpq_url(url)


def test_the_password_is_redacted() -> None:
    assert redact_postgres_url("postgresql://u:s3cr:et@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_postgres_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_an_unreachable_server_is_a_retryable_error_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailableError) as caught:
        connect_postgres("postgresql://u:hunter2@127.0.0.1:1/db", connect_timeout=2)
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)


@pytest.mark.parametrize(
    "url", ["postgresql://u:hunter2@127.0.0.1:notaport/db", "postgresql://u:hunter2@h/db?bogus=1"]
)
def test_a_malformed_url_is_a_settings_error_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        connect_postgres(url)
    assert "hunter2" not in str(caught.value)


def test_missing_tables_are_created_once_and_never_altered(postgres_url: str) -> None:
    with connect_postgres(postgres_url) as conn:
        assert ensure_postgres_tables(conn) == [e.name for e in ALL_ENTITIES]
        conn.execute("ALTER TABLE games ADD COLUMN local_note text")
        conn.commit()
        assert ensure_postgres_tables(conn) == []
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'games'"
        ).fetchall()
    assert ("local_note",) in columns


def test_the_empty_database_exports_a_valid_empty_archive(
    postgres_url: str, tmp_path: Path
) -> None:
    result = export_postgres(postgres_url, tmp_path, include_raw_data=True, created_at=CREATED)
    rows = check_archive_against_spec(result.path)
    assert result.counts == dict.fromkeys((e.name for e in ALL_ENTITIES), 0)
    assert all(not r for r in rows.values())


def test_the_same_archive_as_through_sqlalchemy(postgres_url: str, tmp_path: Path) -> None:
    """Both PostgreSQL snapshots (psycopg alone; SQLAlchemy's, which imports use) give
    the same bytes: same reads, same snapshot discipline."""
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    counts = small_database(engine)
    with open_snapshot(engine) as snapshot:
        through_sqlalchemy = write_archive_file(snapshot, tmp_path / "sa", True, CREATED)
    engine.dispose()
    direct = export_postgres(postgres_url, tmp_path / "pg", True, CREATED)
    assert direct.path.read_bytes() == through_sqlalchemy.path.read_bytes()
    rows = check_archive_against_spec(direct.path)
    assert {name: len(rows[name]) for name in counts} == counts


def test_the_snapshot_ends_its_connections(postgres_url: str) -> None:
    """Every connection the export opened is closed when it ends, even after an error."""

    def connections() -> int:
        with psycopg.connect(libpq_url(postgres_url)) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        return int(row[0]) if row else -1

    with pytest.raises(RuntimeError, match="stopped"), open_postgres_snapshot(postgres_url) as s:
        s.prefetch(ALL_ENTITIES)
        next(iter(s.encoded_chunks(ALL_ENTITIES[0])), None)
        assert connections() >= 2
        raise RuntimeError("stopped")
    assert connections() == 0


def _estimated_prices(url: str) -> int | None:
    with open_postgres_snapshot(url) as snapshot:
        return snapshot.row_reader._table_sizes([PRICE_HISTORY])[0][1]


def _analyze(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE")


def test_slices_sized_by_estimates_or_by_counts_give_the_same_archive(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner's estimates only size the slices: a database never analyzed (counted),
    analyzed (estimated), and grown tenfold since its last ANALYZE (estimate scaled by
    its pages now) all give every row, in the same bytes as one big slice."""
    monkeypatch.setattr(postgres_rows, "SLICE_BYTES", 64 * 1024)  # many slices
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as conn:
        # Autovacuum must not analyze the table behind the test's back.
        conn.execute("ALTER TABLE price_history SET (autovacuum_enabled = false)")
    fill_demo_database(engine, scale=0.1, seed=3)
    assert _estimated_prices(postgres_url) is None  # never analyzed: counted
    never = export_postgres(postgres_url, tmp_path / "never", True, CREATED).path.read_bytes()
    _analyze(postgres_url)
    assert _estimated_prices(postgres_url) == 1542
    analyzed = export_postgres(postgres_url, tmp_path / "analyzed", True, CREATED)
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as conn:
        conn.execute(  # ten times the price rows, the statistics now stale
            "INSERT INTO price_history SELECT gen_random_uuid(), game_id, store, price, "
            "previous_price, discount_pct, url, recorded_at + n * interval '1 minute' "
            "FROM price_history, generate_series(1, 10) AS n"
        )
    estimate = _estimated_prices(postgres_url)
    grown = export_postgres(postgres_url, tmp_path / "grown", True, CREATED)
    monkeypatch.setattr(postgres_rows, "SLICE_BYTES", 1 << 40)  # one slice a table
    whole = export_postgres(postgres_url, tmp_path / "whole", True, CREATED)
    engine.dispose()
    assert analyzed.path.read_bytes() == never
    assert estimate is not None and 10_000 < estimate < 25_000  # 16,962 rows now
    assert grown.counts["price_history"] == 1542 * 11
    assert grown.path.read_bytes() == whole.path.read_bytes()


def test_a_table_analyzed_empty_is_counted(postgres_url: str, tmp_path: Path) -> None:
    """An estimate of zero rows would put a filled table in one slice of huge groups."""
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    _analyze(postgres_url)
    counts = small_database(engine)
    assert _estimated_prices(postgres_url) is None
    engine.dispose()
    result = export_postgres(postgres_url, tmp_path, True, CREATED)
    assert result.counts["price_history"] == counts["price_history"]
