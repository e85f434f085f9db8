"""The columns of each BGW table as the DDL (sql/) declares them: type, nullability,
constraints and the comment beside them, for the catalogue that users read (the
Dagster UI's column schemas)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", re.S)
_COLUMN = re.compile(r"^(\w+)\s+([A-Z]+(?:\(\d+\))?)\s*(.*?),?$")
_TABLE_CONSTRAINT = ("PRIMARY KEY", "UNIQUE", "CONSTRAINT", "CHECK", "FOREIGN KEY")


@dataclass(frozen=True)
class DdlColumn:
    """One column as declared: `price INTEGER CHECK (price >= 0), -- in roubles`."""

    name: str
    type: str
    nullable: bool
    constraints: str  # what follows the type, NOT NULL left out: keys, references, checks
    comment: str


def ddl_columns(dialect_name: str = "postgresql") -> dict[str, list[DdlColumn]]:
    """Each table's columns, in their order in the DDL of that dialect."""
    text = (
        resources.files("bgw_pipeline.core.database")
        .joinpath("sql", f"schema_{dialect_name}.sql")
        .read_text("utf-8")
    )
    tables: dict[str, list[DdlColumn]] = {}
    for table, body in _TABLE.findall(text):
        columns = tables.setdefault(table, [])
        for raw in body.splitlines():
            line, _, comment = raw.partition("--")
            line = line.strip()
            if not line or line.startswith(_TABLE_CONSTRAINT):
                continue
            match = _COLUMN.match(line)
            if match is None:
                continue
            name, kind, rest = match.groups()
            nullable = "NOT NULL" not in rest and "PRIMARY KEY" not in rest
            constraints = " ".join(rest.replace("NOT NULL", "").split())
            columns.append(DdlColumn(name, kind, nullable, constraints, comment.strip()))
    return tables
