"""The reference "naive" export for `make bench`: SQLAlchemy rows, json, zipfile (level 6).

What a first version would do: load each table as Python dicts, dump JSON, zip it. It is
here only to be timed against `bgw export`.
"""

from __future__ import annotations

import json
import sys
import zipfile
from datetime import datetime

import sqlalchemy as sa


def _value(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def main(url: str, out: str) -> None:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("games", "rules", "events", "price_history", "raw_items", "listings"):
            table = metadata.tables[name]
            rows = [
                {k: _value(v) for k, v in row._mapping.items()}
                for row in conn.execute(table.select().order_by(table.c.id))
            ]
            zf.writestr(f"{name}.json", json.dumps({name: rows}, ensure_ascii=False, default=str))
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
