"""The BGW database as a Dagster resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pydantic import Field
from sqlalchemy.engine import Engine

from bgw_pipeline.core.database.engines import create_engine


class BgwDatabase(dg.ConfigurableResource):
    """The BGW application database: an SQLite file or PostgreSQL, by SQLAlchemy URL."""

    url: str = Field(description="SQLAlchemy URL of the BGW database (BGW_DATABASE_URL).")

    @property
    def database_url(self) -> str:
        """The URL as the settings read it (stripped: EnvVar hands over the raw text)."""
        return self.url.strip()

    @contextmanager
    def open_engine(self) -> Iterator[Engine]:
        """An engine for one step; disposed by this resource, which created it."""
        engine = create_engine(self.database_url)
        try:
            yield engine
        finally:
            engine.dispose()
