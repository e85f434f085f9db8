"""What the Dagster UI's catalogue shows of the backup assets besides their data: column
schemas from the DDL, owners, tags and code versions, timestamps as timestamps, S3 as
URLs, and the archive's tables as a table."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

import dagster as dg

from bgw_pipeline import __version__
from bgw_pipeline.core.archive.format import FORMAT_VERSION
from bgw_pipeline.core.database.ddl_columns import ddl_columns
from bgw_pipeline.core.model.entities import ALL_ENTITIES, Entity

OWNERS = ["team:bgw-operators"]
# A new version of the package may write the assets differently; the archive format
# version says which archives it writes and reads.
CODE_VERSION = f"{__version__}+format.{FORMAT_VERSION}"


def tags(layer: str) -> dict[str, str]:
    """Tags to filter the catalogue by: the BGW domain and the layer of the backup."""
    return {"domain": "bgw", "layer": layer}


@cache
def column_schema(entity: Entity) -> dg.TableSchema:
    """The table's columns as sql/schema_postgresql.sql declares them."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=column.type,
                description=column.comment or None,
                constraints=dg.TableColumnConstraints(
                    nullable=column.nullable,
                    unique="PRIMARY KEY" in column.constraints,
                    other=[column.constraints] if column.constraints else [],
                ),
            )
            for column in ddl_columns()[entity.name]
        ]
    )


def location(where: str | Path) -> dg.MetadataValue:
    """Where a file lies: an `s3://` URI as a URL, a local file as a path."""
    text = str(where)
    return dg.MetadataValue.url(text) if text.startswith("s3://") else dg.MetadataValue.path(text)


def timestamp(text: str) -> dg.MetadataValue:
    """An RFC 3339 time (`2026-12-07T07:00:00Z`) as a timestamp the UI shows in its zone."""
    return dg.MetadataValue.timestamp(datetime.fromisoformat(text.replace("Z", "+00:00")))


def archive_tables(counts: dict[str, int], members: dict[str, dict]) -> dg.MetadataValue:
    """Rows and bytes of each table in the archive (listings: all its member files)."""
    member_of = {entity.name: entity.member for entity in ALL_ENTITIES}
    records = []
    for table, rows in counts.items():
        member = member_of.get(table, f"{table}.json")
        size = sum(
            int(info.get("bytes", 0))
            for name, info in members.items()
            if name == member or (member.endswith("/") and name.startswith(member))
        )
        records.append(dg.TableRecord({"table": table, "rows": rows, "bytes": size}))
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("table", "string"),
            dg.TableColumn("rows", "int"),
            dg.TableColumn("bytes", "int", description="uncompressed, as in metadata.json"),
        ]
    )
    return dg.MetadataValue.table(records, schema=schema)
