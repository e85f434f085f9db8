"""Filling a BGW database with the synthetic demo rows (demo/rows.py), in one transaction.

`bgw demo-db` and the tests use it; at scale 100 (about 1.5 million price rows) it goes
through the bulk load path, in chunks, so memory stays bounded.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bgw_pipeline.core.database.bulk_load import insert_batches
from bgw_pipeline.core.database.engines import connect
from bgw_pipeline.core.database.schema import ensure_schema, table_for
from bgw_pipeline.core.demo.rows import check_scale, demo_rows
from bgw_pipeline.core.model.arrow_tables import batch_from_rows
from bgw_pipeline.core.model.entities import GAMES, WRITE_ORDER
from bgw_pipeline.core.model.errors import InvalidRequestError


def fill_demo_database(
    engine: Engine, scale: float = 1.0, seed: int = 42, only_if_empty: bool = False
) -> dict[str, int] | None:
    """Create the missing tables and fill them with demo data, all in one transaction.

    Args:
        engine: the database (SQLite or PostgreSQL).
        scale: 1 = 1250 games, 8 rules, 5420 events, 15420 price rows; counts scale linearly.
        seed: same seed and scale, same rows (ids included).
        only_if_empty: leave a database that already holds games alone and return None.

    Returns:
        Rows inserted per table, or None when `only_if_empty` found games.
    """
    check_scale(scale)
    ensure_schema(engine)
    has_games = sa.select(table_for(GAMES).c.id).limit(1)
    with connect(engine) as conn:
        if only_if_empty and conn.execute(has_games).first():
            return None
        conn.rollback()
        if engine.dialect.name == "sqlite":
            # The demo database is ours to tune: with WAL, exports read while others write.
            conn.connection.driver_connection.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
        counts = dict.fromkeys((e.name for e in WRITE_ORDER), 0)
        try:
            with conn.execution_options(bgw_sqlite_begin="BEGIN IMMEDIATE").begin():
                if engine.dialect.name == "postgresql":  # two fills at once: one waits
                    conn.exec_driver_sql("LOCK TABLE games IN SHARE ROW EXCLUSIVE MODE")
                if only_if_empty and conn.execute(has_games).first():
                    return None  # filled by someone else since the first look
                for entity, rows in demo_rows(scale, seed):
                    if rows:
                        batch = batch_from_rows(entity, rows)
                        counts[entity.name] += insert_batches(conn, entity, [batch])
        except sa.exc.IntegrityError as exc:
            raise InvalidRequestError(
                "the demo data clashes with rows already in the database, so nothing was "
                f"written; fill an empty database (or use --if-empty): {exc.orig}"
            ) from exc
    return counts
