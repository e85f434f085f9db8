"""Loading an import's work database: both sides' row keys, then the rows in question.

Rows whose id and hash are the same in the archive and in the database are unchanged and
only counted; the others are parsed, validated and loaded with the database's version of
them, for the DuckDB diff (diff.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from bgw_pipeline.core.archive_keys import EventDays, load_archive_keys, texts_in_question
from bgw_pipeline.core.archive_lines import parse_lines
from bgw_pipeline.core.archive_reader import ArchiveReader
from bgw_pipeline.core.diff import NaturalKeyRows
from bgw_pipeline.core.diff_store import DiffStore
from bgw_pipeline.core.entities import CORE_ENTITIES, GAMES, RAW_ENTITIES, Entity
from bgw_pipeline.core.errors import ArchiveError
from bgw_pipeline.core.first_pass import load_keys_side_by_side
from bgw_pipeline.core.row_keys import database_key_batches, looks_up_natural_keys
from bgw_pipeline.core.row_validation import iter_validated
from bgw_pipeline.core.snapshot import DatabaseSnapshot

# Below this, starting a second interpreter costs more than the overlap saves.
SEPARATE_PROCESS_BYTES = 32 * 1024 * 1024


@dataclass
class LoadedArchive:
    """What the import learned of the archive while loading it."""

    entities: tuple[Entity, ...]
    warnings: list[str]
    errors: list[str] = field(default_factory=list)
    error_counts: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    unknown_ids: dict[str, int] = field(default_factory=dict)  # rows the first pass found no id in
    days: EventDays = field(default_factory=EventDays)
    # The database's rows by natural-key values, when its keys were not hashed up front.
    natural_key_rows: NaturalKeyRows | None = None


def _archive_entities(reader: ArchiveReader) -> tuple[Entity, ...]:
    names = set(reader.member_names())
    raw = tuple(e for e in RAW_ENTITIES if any(n.startswith(e.member) for n in names))
    return CORE_ENTITIES + raw


def _check_archive_keys(reader: ArchiveReader, store: DiffStore, entity: Entity, rows: int) -> None:
    declared = reader.metadata["contents"].get(entity.count_key)
    if declared is not None and declared != rows:
        raise ArchiveError(
            f"{entity.member} holds {rows} rows but metadata.json "
            f"{entity.count_key} says {declared}; refused"
        )
    duplicate = store.con.execute(
        f"SELECT id FROM ak_{entity.name} WHERE id IS NOT NULL "
        "GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 1"
    ).fetchall()
    if duplicate:
        raise ArchiveError(f"{entity.member}: id {duplicate[0][0]} occurs more than once")


def _load_archive_keys(reader: ArchiveReader, store: DiffStore) -> LoadedArchive:
    """Every archive row's id and hash (`ak_<entity>`), with counts and ids checked."""
    entities = _archive_entities(reader)
    days = EventDays()
    for entity in entities:
        _check_archive_keys(reader, store, entity, load_archive_keys(store, reader, entity, days))
    return LoadedArchive(entities, list(reader.version_warnings), days=days)


def _load_database_keys(
    source: DatabaseSnapshot, store: DiffStore, entities: tuple[Entity, ...]
) -> None:
    """Every database row's id and row hash (`dbk_<entity>`); on SQLite its natural-key
    hash too (PostgreSQL looks those up by value later, for the rows in question)."""
    for entity in {GAMES, *entities}:
        store.load_keys(f"dbk_{entity.name}", database_key_batches(source, entity))


def verifies_while_hashing(reader: ArchiveReader) -> bool:
    """Whether the import's first pass also verifies the archive (a big archive, hashed in
    a process of its own); otherwise the caller verifies it before the import starts."""
    return reader.path is not None and reader.unpacked_bytes() >= SEPARATE_PROCESS_BYTES


def _load_keys(reader: ArchiveReader, store: DiffStore, source: DatabaseSnapshot) -> LoadedArchive:
    """Both sides' keys. A big archive is hashed (and verified) by a second process while
    this one reads the database's keys, then by both (first_pass.py); a small one, here
    after them."""
    entities = _archive_entities(reader)
    if not verifies_while_hashing(reader):
        _load_database_keys(source, store, entities)
        return _load_archive_keys(reader, store)
    rows, days = load_keys_side_by_side(
        reader, store, entities, lambda: _load_database_keys(source, store, entities)
    )
    for entity in entities:
        _check_archive_keys(reader, store, entity, rows[entity.name])
    return LoadedArchive(entities, list(reader.version_warnings), days=days)


def _rows_in_question(
    reader: ArchiveReader, entity: Entity, wanted: set[str] | None, all_canonical: bool
) -> Iterator[list[Any]]:
    """The archive rows to parse: all of them, or those `wanted` and those without an id
    in the export's form."""
    if wanted is None:
        return reader.iter_rows(entity)
    texts = texts_in_question(reader, entity, wanted, all_canonical)
    if texts is not None:
        return (parse_lines(entity.member, kept) for kept in texts)
    return reader.iter_rows(entity, keep=lambda row_id: row_id is None or row_id in wanted)


def _valid_batches(
    reader: ArchiveReader,
    entity: Entity,
    wanted: set[str] | None,
    loaded: LoadedArchive,
    unknown: set[str],
    rejected: list[str],
) -> Iterator[pa.RecordBatch]:
    """The archive's valid rows still in question as batches; errors and warnings kept."""
    all_canonical = not loaded.unknown_ids.get(entity.name)
    rows = _rows_in_question(reader, entity, wanted, all_canonical)
    for chunk in iter_validated(entity, rows):
        rejected.extend(e.message for e in chunk.errors)
        loaded.warnings.extend(chunk.warnings)
        unknown.update(chunk.unknown_columns)
        yield chunk.batch


def load_rows_in_question(
    reader: ArchiveReader, store: DiffStore, source: DatabaseSnapshot
) -> LoadedArchive:
    """Keys of both sides, then only the archive rows that are not unchanged, parsed.

    Fills `arc_` (valid archive rows in question) and `db_` (the database's version of
    those rows); `ak_` and `dbk_` are loaded already.
    """
    loaded = _load_keys(reader, store, source)
    if looks_up_natural_keys(source):
        loaded.natural_key_rows = source.rows_by_natural_keys
    for entity in loaded.entities:
        name = entity.name
        store.con.execute(
            f"CREATE OR REPLACE TABLE open_{name} AS SELECT a.id FROM ak_{name} a "
            f"LEFT JOIN dbk_{name} d ON d.id = a.id AND d.h = a.h "
            "WHERE a.id IS NOT NULL AND (a.h IS NULL OR d.id IS NULL)"
        )
        ((total, unknown_ids, open_rows),) = store.con.execute(
            f"SELECT (SELECT count(*) FROM ak_{name}), "
            f"(SELECT count(*) FROM ak_{name} WHERE id IS NULL), "
            f"(SELECT count(*) FROM open_{name})"
        ).fetchall()
        loaded.unchanged[name] = total - unknown_ids - open_rows
        loaded.unknown_ids[name] = unknown_ids
        wanted = None
        if loaded.unchanged[name]:
            wanted = {r[0] for r in store.con.execute(f"SELECT id FROM open_{name}").fetchall()}
        rejected: list[str] = []
        unknown: set[str] = set()
        # Every row unchanged: nothing to parse, the member need not be read again.
        nothing_open = not open_rows and not unknown_ids
        batches = (
            iter(())
            if nothing_open
            else _valid_batches(reader, entity, wanted, loaded, unknown, rejected)
        )
        store.load(f"arc_{name}", entity, batches)
        duplicate = store.con.execute(
            f"SELECT id FROM arc_{name} GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 1"
        ).fetchall()
        if duplicate:
            raise ArchiveError(f"{entity.member}: id {duplicate[0][0]} occurs more than once")
        if unknown:
            loaded.warnings.append(f"{name}: ignored unknown columns: {', '.join(sorted(unknown))}")
        loaded.errors.extend(rejected)
        loaded.error_counts[name] = len(rejected)
        existing = [
            r[0]
            for r in store.con.execute(
                f"SELECT a.id FROM arc_{name} a JOIN dbk_{name} d USING (id) ORDER BY a.id"
            ).fetchall()
        ]
        store.load(f"db_{name}", entity, source.rows_by_ids(entity, existing))
    return loaded
