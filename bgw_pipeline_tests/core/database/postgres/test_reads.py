"""An import's PostgreSQL reads over psycopg alone (database/postgres/reads.py,
database/postgres/snapshot.py) give the same Arrow batches as SQLAlchemy's typed columns on the
same rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.compare.row_keys import NATURAL_KEYS
from bgw_pipeline.core.database.engines import create_engine
from bgw_pipeline.core.database.postgres import reads as postgres_reads
from bgw_pipeline.core.database.postgres.snapshot import open_postgres_snapshot
from bgw_pipeline.core.database.schema import ensure_schema, table_for
from bgw_pipeline.core.model.arrow_tables import arrow_schema, batch_from_rows
from bgw_pipeline.core.model.entities import ALL_ENTITIES, ENTITIES_BY_NAME, Entity
from bgw_pipeline_tests.nasty_values import fill_nasty_values


def _through_sqlalchemy(engine: sa.Engine, entity: Entity, where: object = None) -> pa.Table:
    table = table_for(entity)
    query = sa.select(*table.columns).order_by(table.c.id)
    if where is not None:
        query = query.where(where)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pa.Table.from_batches([batch_from_rows(entity, rows)], arrow_schema(entity))


def _table(entity: Entity, batches: object) -> pa.Table:
    return pa.Table.from_batches(list(batches), arrow_schema(entity))  # type: ignore[arg-type]


@pytest.fixture
def filled(postgres_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(postgres_url)
    ensure_schema(engine)
    fill_nasty_values(engine)  # NUL-free nasty text, JSON of every shape, timestamps at the ends
    yield engine
    engine.dispose()


def test_whole_tables_and_rows_by_id_equal_sqlalchemys(
    filled: sa.Engine, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_reads, "ARROW_IDS_MIN", 10**9)  # Python rows, not ADBC
    missing = str(uuid.UUID(int=12345))
    with open_postgres_snapshot(postgres_url) as snapshot:
        for entity in ALL_ENTITIES:
            expected = _through_sqlalchemy(filled, entity)
            assert expected.num_rows > 0, entity.name
            whole = _table(entity, snapshot.batches(entity))
            assert whole.equals(expected), entity.name
            ids = [*expected.column("id").to_pylist()[::2], missing]
            by_id = _table(entity, snapshot.rows_by_ids(entity, sorted(ids)))
            wanted = table_for(entity).c.id.in_(ids)
            assert by_id.equals(_through_sqlalchemy(filled, entity, wanted)), entity.name


@pytest.mark.parametrize("name", sorted(NATURAL_KEYS))
def test_rows_by_natural_key_equal_sqlalchemys(
    filled: sa.Engine, postgres_url: str, name: str
) -> None:
    entity = ENTITIES_BY_NAME[name]
    names = NATURAL_KEYS[name]
    every = _through_sqlalchemy(filled, entity)
    keys = every.select(list(names)).slice(0, max(1, every.num_rows // 2))
    table = table_for(entity)
    key_of = sa.tuple_(*(table.c[n] for n in names))
    expected = _through_sqlalchemy(
        filled, entity, key_of.in_(list(zip(*keys.to_pydict().values(), strict=False)))
    )
    with open_postgres_snapshot(postgres_url) as snapshot:
        found = _table(entity, snapshot.rows_by_natural_keys(entity, names, keys))
    assert found.num_rows == expected.num_rows > 0
    assert found.sort_by("id").equals(expected)


def test_a_writable_snapshot_is_serializable_and_rolled_back_unless_committed(
    filled: sa.Engine, postgres_url: str
) -> None:
    with open_postgres_snapshot(postgres_url, writable=True) as snapshot:
        conn = snapshot.driver_connection
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
        conn.execute("DELETE FROM listings")
    with filled.connect() as check:
        assert check.exec_driver_sql("SELECT count(*) FROM listings").scalar_one() > 0
