"""Loading the rows in question for the diff: which rows differ, then those rows.

On PostgreSQL each member is compared in id order with the database's own encoding of
its rows (compare/sorted_compare.py, compare/row_files_compare.py); elsewhere, and for a member not
in the export's layout, rows whose id and hash are the same on both sides are unchanged.
Unchanged rows are only counted; the others are parsed, validated and loaded with the
database's version of them, for the DuckDB diff (compare/diff.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from bgw_pipeline.core.archive.lines import parse_lines
from bgw_pipeline.core.archive.reader import ArchiveReader
from bgw_pipeline.core.archive.row_validation import iter_validated
from bgw_pipeline.core.compare.archive_keys import load_archive_keys, texts_in_question
from bgw_pipeline.core.compare.diff_store import DiffStore
from bgw_pipeline.core.compare.event_days import EventDays
from bgw_pipeline.core.compare.first_pass import load_keys_side_by_side, require_verified
from bgw_pipeline.core.compare.in_order_pass import (
    check_count,
    compare_in_order,
    load_compared_keys,
)
from bgw_pipeline.core.compare.natural_keys import NaturalKeyRows
from bgw_pipeline.core.compare.row_keys import database_key_batches, looks_up_natural_keys
from bgw_pipeline.core.compare.sorted_compare import ComparedEntity, id_array
from bgw_pipeline.core.model.entities import EVENTS, GAMES, Entity
from bgw_pipeline.core.model.errors import ArchiveError, ChecksumMismatchError

if TYPE_CHECKING:
    from bgw_pipeline.core.database.snapshot import DatabaseSnapshot

# Below this, starting a second interpreter costs more than the overlap saves.
SEPARATE_PROCESS_BYTES = 32 * 1024 * 1024
PARSED_ROWS = 20_000  # kept texts parsed and validated per chunk


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
    # Entities whose member was walked beside the database in id order (not hashed).
    compared: dict[str, ComparedEntity] = field(default_factory=dict)


def _check_archive_keys(reader: ArchiveReader, store: DiffStore, entity: Entity, rows: int) -> None:
    check_count(reader, entity, rows)
    duplicate = store.con.execute(
        f"SELECT id FROM ak_{entity.name} WHERE id IS NOT NULL "
        "GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 1"
    ).fetchall()
    if duplicate:
        raise ArchiveError(f"{entity.member}: id {duplicate[0][0]} occurs more than once")


def _load_database_keys(
    source: DatabaseSnapshot, store: DiffStore, entities: Sequence[Entity], games: bool
) -> None:
    """Every database row's id and row hash (`dbk_<entity>`), of the games too when
    `games`; on SQLite its natural-key hash too (PostgreSQL looks those up by value later,
    for the rows in question)."""
    for entity in {GAMES, *entities} if games else set(entities):
        store.load_keys(f"dbk_{entity.name}", database_key_batches(source, entity))


def verifies_while_hashing(reader: ArchiveReader) -> bool:
    """Whether the import's first pass also verifies the archive (a big archive, hashed in
    a process of its own); otherwise the caller verifies it before the import starts."""
    return reader.path is not None and reader.unpacked_bytes() >= SEPARATE_PROCESS_BYTES


def _hash_rest(
    reader: ArchiveReader,
    store: DiffStore,
    source: DatabaseSnapshot,
    rest: tuple[Entity, ...],
    days: EventDays,
    games: bool,
    verifying: bool,
) -> EventDays:
    """Keys of the entities not compared in order, by hashing both sides: a big rest by a
    second process beside this one (compare/first_pass.py), a small one here. `verifying`: the
    archive is verified on these reads, not before the import. Returns the days."""
    if verifying and sum(reader.unpacked_bytes_of(e.name) for e in rest) >= SEPARATE_PROCESS_BYTES:
        rows, hashed_days = load_keys_side_by_side(
            reader, store, rest, lambda: _load_database_keys(source, store, rest, games)
        )
        days = hashed_days if EVENTS in rest else days
    else:  # little to hash: a second interpreter would cost more than it saves
        _load_database_keys(source, store, rest, games)
        rows = {e.name: load_archive_keys(store, reader, e, days) for e in rest}
        if verifying:
            require_verified(reader)
    for entity in rest:
        _check_archive_keys(reader, store, entity, rows[entity.name])
    return days


def _load_keys(
    reader: ArchiveReader,
    store: DiffStore,
    source: DatabaseSnapshot,
    loaded: LoadedArchive,
) -> None:
    """Both sides' keys. Members that can be are compared in id order with the database,
    and their rows in question loaded at once, while the workers read the next tables
    ahead; the rest are hashed. A big archive is verified on the same reads
    (compare/first_pass.py)."""
    entities = loaded.entities
    verifying = verifies_while_hashing(reader)
    reader.collect_digests = verifying
    days = EventDays()

    def compared_one(entity: Entity, found: ComparedEntity) -> None:
        loaded.compared[entity.name] = found
        load_compared_keys(store, entity.name, found)
        _load_entity(reader, store, source, loaded, entity)

    try:
        compare_in_order(reader, source, entities, days, compared_one)
        rest = tuple(e for e in entities if e.name not in loaded.compared)
        games = GAMES.name not in loaded.compared
        loaded.days = _hash_rest(reader, store, source, rest, days, games, verifying)
    except ChecksumMismatchError:
        raise
    except ArchiveError:
        if verifying:  # a changed member says so first: its checksum, not the symptom
            require_verified(reader)
        raise


def _rows_in_question(
    reader: ArchiveReader,
    entity: Entity,
    wanted: set[str] | None,
    all_canonical: bool,
    kept: list[bytes] | None,
) -> Iterator[list[Any]]:
    """The archive rows to parse: the texts `kept` by the first pass, all rows, or those
    `wanted` and those without an id in the export's form."""
    if kept is not None:
        return (
            parse_lines(entity.member, kept[start : start + PARSED_ROWS])
            for start in range(0, len(kept), PARSED_ROWS)
        )
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
    found = loaded.compared.get(entity.name)
    kept = found.texts if found is not None else None
    rows = _rows_in_question(reader, entity, wanted, all_canonical, kept)
    for chunk in iter_validated(entity, rows):
        rejected.extend(e.message for e in chunk.errors)
        loaded.warnings.extend(chunk.warnings)
        unknown.update(chunk.unknown_columns)
        yield chunk.batch


def _open_rows(store: DiffStore, name: str, found: ComparedEntity | None) -> tuple[int, int, int]:
    """(archive rows, rows without an id in the export's form, rows in question) and the
    table `open_<entity>` of the ids in question: from the comparison in id order, or
    from the two sides' hashes."""
    if found is not None:
        store.con.register("_open", pa.table({"id": id_array(found.open_ids)}))
        store.con.execute(f"CREATE OR REPLACE TEMP TABLE open_{name} AS SELECT id FROM _open")
        store.con.unregister("_open")
        return found.rows, 0, found.open_rows
    store.con.execute(
        f"CREATE OR REPLACE TEMP TABLE open_{name} AS SELECT a.id FROM ak_{name} a "
        f"LEFT JOIN dbk_{name} d ON d.id = a.id AND d.h = a.h "
        "WHERE a.id IS NOT NULL AND (a.h IS NULL OR d.id IS NULL)"
    )
    ((total, unknown_ids, open_rows),) = store.con.execute(
        f"SELECT (SELECT count(*) FROM ak_{name}), "
        f"(SELECT count(*) FROM ak_{name} WHERE id IS NULL), "
        f"(SELECT count(*) FROM open_{name})"
    ).fetchall()
    return int(total), int(unknown_ids), int(open_rows)


def load_rows_in_question(
    reader: ArchiveReader, store: DiffStore, source: DatabaseSnapshot
) -> LoadedArchive:
    """Keys of both sides, then only the archive rows that are not unchanged, parsed.

    Fills `arc_` (valid archive rows in question) and `db_` (the database's version of
    those rows); `ak_` and `dbk_` are loaded already.
    """
    loaded = LoadedArchive(reader.entities(), list(reader.version_warnings))
    if looks_up_natural_keys(source):
        loaded.natural_key_rows = source.rows_by_natural_keys
    _load_keys(reader, store, source, loaded)
    for entity in loaded.entities:
        if entity.name not in loaded.compared:
            _load_entity(reader, store, source, loaded, entity)
    return loaded


def _load_entity(
    reader: ArchiveReader,
    store: DiffStore,
    source: DatabaseSnapshot,
    loaded: LoadedArchive,
    entity: Entity,
) -> None:
    """`arc_` and `db_` of one entity whose keys are loaded: its rows in question parsed
    and validated, and the database's version of those it has."""
    name = entity.name
    total, unknown_ids, open_rows = _open_rows(store, name, loaded.compared.get(name))
    loaded.unchanged[name] = total - unknown_ids - open_rows
    loaded.unknown_ids[name] = unknown_ids
    if not open_rows and not unknown_ids:
        # Every row unchanged: nothing to parse, the member need not be read again.
        store.load(f"arc_{name}", entity, ())
        store.load(f"db_{name}", entity, ())
        loaded.error_counts[name] = 0
        return
    wanted = None
    if loaded.unchanged[name]:
        wanted = {r[0] for r in store.con.execute(f"SELECT id FROM open_{name}").fetchall()}
    rejected: list[str] = []
    unknown: set[str] = set()
    batches = _valid_batches(reader, entity, wanted, loaded, unknown, rejected)
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
