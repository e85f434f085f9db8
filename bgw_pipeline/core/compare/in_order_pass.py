"""The first pass of an import on PostgreSQL: every member that can be, compared in id
order with the database's own encoding of its rows, the workers reading ahead across
tables (compare/sorted_compare.py for a member of rows, compare/row_files_compare.py for a member
per row). What it cannot compare is left to the hashes (compare/rows_in_question.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from bgw_pipeline.core.archive.reader import ArchiveReader
from bgw_pipeline.core.compare.diff_store import DiffStore
from bgw_pipeline.core.compare.event_days import EventDays
from bgw_pipeline.core.compare.row_files_compare import compare_row_files
from bgw_pipeline.core.compare.row_keys import KEY_SCHEMA, looks_up_natural_keys
from bgw_pipeline.core.compare.sorted_compare import (
    ComparedEntity,
    NotComparable,
    compare_sorted,
    id_array,
)
from bgw_pipeline.core.model.entities import EVENTS, GAMES, Entity
from bgw_pipeline.core.model.errors import ArchiveError

if TYPE_CHECKING:
    from bgw_pipeline.core.database.snapshot import DatabaseSnapshot


def check_count(reader: ArchiveReader, entity: Entity, rows: int) -> None:
    """Refuse a member whose rows are not as many as metadata.json declares."""
    declared = reader.metadata["contents"].get(entity.count_key)
    if declared is not None and declared != rows:
        raise ArchiveError(
            f"{entity.member} holds {rows} rows but metadata.json "
            f"{entity.count_key} says {declared}; refused"
        )


def compare_in_order(
    reader: ArchiveReader,
    source: DatabaseSnapshot,
    entities: Sequence[Entity],
    days: EventDays,
    compared_one: Callable[[Entity, ComparedEntity], None],
) -> None:
    """Each member that it can, walked beside the database's own encoding of its rows
    (compare/sorted_compare.py, compare/row_files_compare.py), the workers reading ahead across
    tables; `compared_one` takes each entity compared, its row count checked, as soon as it is
    (the workers read on meanwhile).

    Only where natural keys are looked up by value for the rows in question (PostgreSQL,
    SQLite): elsewhere the diff takes them from every row's hash, which this pass skips.
    """
    if not looks_up_natural_keys(source):
        return
    source.prefetch(entities)
    try:
        for entity in entities:
            seen = EventDays()
            rows = source.encoded_chunks(entity)
            try:
                if entity.one_file_per_row:
                    found = compare_row_files(reader, entity, rows)
                else:
                    found = compare_sorted(reader, entity, rows, seen, entity is GAMES)
            except NotComparable:
                continue
            if entity is EVENTS:
                days.earliest, days.latest = seen.earliest, seen.latest
            check_count(reader, entity, found.rows)
            compared_one(entity, found)
    finally:
        source.stop_prefetch()


def load_compared_keys(store: DiffStore, name: str, found: ComparedEntity) -> None:
    """`dbk_<entity>` of a compared entity: the ids of the database rows in question (of
    every database row for the games, which other rows reference)."""
    if name == GAMES.name:
        # One array, so one insert: the games' ids come in hundreds of small blocks.
        ids = pa.concat_arrays(found.database_ids) if found.database_ids else id_array([])
    else:
        ids = id_array(found.existing_ids)
    no_hash = pa.nulls(len(ids), pa.string())  # nothing was hashed
    batch = pa.RecordBatch.from_arrays([ids, no_hash, no_hash], schema=KEY_SCHEMA)
    store.load_keys(f"dbk_{name}", [batch])
