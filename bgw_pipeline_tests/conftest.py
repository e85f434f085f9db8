"""Shared fixtures: real SQLite files and real PostgreSQL databases, made per test.

PostgreSQL tests never skip: when the server cannot be reached they fail, so a CI run
without PostgreSQL is red, not silently green.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.schema import ensure_schema

POSTGRES_ADMIN_URL = os.environ.get(
    "BGW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_POSTGRES_PASSED: list[str] = []


def _admin_engine() -> sa.Engine:
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - turned into a test failure with the cause
        pytest.fail(
            f"PostgreSQL is required for this test and is not reachable at "
            f"{POSTGRES_ADMIN_URL}: {exc}. Start it with: pg_ctlcluster --skip-systemctl-"
            f"redirect $(ls /etc/postgresql) main start",
            pytrace=False,
        )
    return engine


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of a new, empty PostgreSQL database, dropped after the test."""
    with _new_postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url_second() -> Iterator[str]:
    """Another new PostgreSQL database, for tests that move data between two."""
    with _new_postgres_database() as url:
        yield url


@contextmanager
def _new_postgres_database() -> Iterator[str]:
    admin = _admin_engine()
    name = f"bgw_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a new SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'bgw.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bgw.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on an empty BGW database (tables created), SQLite and PostgreSQL."""
    eng = create_engine(db_url)
    ensure_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "postgres" in report.keywords:
        _POSTGRES_PASSED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # .ci/run reads this to prove the PostgreSQL tests ran. Under xdist the controller
    # receives every worker's reports, so only it writes the tally.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    out = Path(os.environ.get("BGW_POSTGRES_TALLY_DIR", ".pytest_cache")) / "postgres-tally"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tally.txt").write_text(f"{len(_POSTGRES_PASSED)}\n")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Any test that touches PostgreSQL carries the marker, so the tally above counts it.
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server process on loopback, shared by the session's tests."""
    from bgw_pipeline_tests.s3_server import moto_server

    with moto_server() as endpoint:
        yield endpoint
