"""The first pass over a big archive, shared by a second process and this one.

A second interpreter hashes the archive's rows while this process reads the database's
keys, so the two use both cores. Members are claimed one at a time, largest first, from a
counter both processes share: when this process is done with the database it takes the
members still unclaimed instead of waiting for the other to get through them all.
Each member's SHA-256 is taken on the same read, and the archive is verified against
its metadata.json before anything is compared or written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bgw_pipeline.core.archive.reader import ArchiveLimits, ArchiveReader, open_archive
from bgw_pipeline.core.compare.archive_keys import key_batches, load_archive_keys
from bgw_pipeline.core.compare.diff_store import DiffStore
from bgw_pipeline.core.compare.event_days import EventDays
from bgw_pipeline.core.compare.row_keys import KEY_SCHEMA
from bgw_pipeline.core.files.work_folders import work_folder
from bgw_pipeline.core.model.arrow_tables import arrow_without_pandas
from bgw_pipeline.core.model.entities import ENTITIES_BY_NAME, Entity
from bgw_pipeline.core.model.errors import ArchiveError, ChecksumMismatchError

_claims: Any = None  # the shared counter, in the hashing process


def _share_claims(counter: Any) -> None:
    global _claims
    _claims = counter


def _claim(counter: Any, names: Sequence[str]) -> str | None:
    """The next member nobody took yet, or None."""
    with counter.get_lock():
        index = counter.value
        if index >= len(names):
            return None
        counter.value = index + 1
    return names[index]


def hash_claimed(
    path: str, limits: ArchiveLimits, names: list[str], out_dir: str
) -> tuple[dict[str, int], tuple[str | None, str | None], dict[str, tuple[str, int]]]:
    """In the hashing process: each claimed entity's keys as `ak_<name>.parquet`.

    Returns the rows per entity it did, the events' first and last day (when it did the
    events) and the SHA-256 and size of every member it read to the end.
    """
    arrow_without_pandas()  # a fresh interpreter: no need to pay for pandas
    import pyarrow.parquet as pq

    rows: dict[str, int] = {}
    days = EventDays()
    with open_archive(Path(path), limits) as reader:
        reader.collect_digests = True
        while (name := _claim(_claims, names)) is not None:
            target = Path(out_dir) / f"ak_{name}.parquet"
            with pq.ParquetWriter(target, KEY_SCHEMA, compression="none") as writer:
                rows[name] = 0
                for batch in key_batches(reader, ENTITIES_BY_NAME[name], days):
                    writer.write_batch(batch)
                    rows[name] += batch.num_rows
        return rows, (days.earliest, days.latest), reader.digests


def require_verified(reader: ArchiveReader) -> None:
    """Refuse the archive unless every member matches metadata.json; members a pass
    already read to the end are not read again."""
    report = reader.verify()
    if not report.ok:
        raise ChecksumMismatchError("; ".join(report.problems[:5]) + "; nothing was imported")


def load_keys_side_by_side(
    reader: ArchiveReader,
    store: DiffStore,
    entities: Sequence[Entity],
    load_database_keys: Callable[[], None],
) -> tuple[dict[str, int], EventDays]:
    """Fill `ak_<entity>` for every entity while `load_database_keys` runs here; verify
    the archive. Returns the rows per entity and the events' days."""
    # Loaded here, not with the module: an import that needs no second process (every
    # PostgreSQL one, every small archive) does not pay for them.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    assert reader.path is not None
    names = sorted((e.name for e in entities), key=lambda n: -reader.unpacked_bytes_of(n))
    context = multiprocessing.get_context("spawn")
    counter = context.Value("i", 0)
    rows: dict[str, int] = {}
    days = EventDays()
    with (
        work_folder("bgw-keys-") as folder,
        ProcessPoolExecutor(
            1, mp_context=context, initializer=_share_claims, initargs=(counter,)
        ) as pool,
    ):
        hashing = pool.submit(hash_claimed, str(reader.path), reader.limits, names, str(folder))
        try:
            load_database_keys()
            reader.collect_digests = True
            while (name := _claim(counter, names)) is not None:
                rows[name] = load_archive_keys(store, reader, ENTITIES_BY_NAME[name], days)
            theirs, their_days, digests = hashing.result()
        except ArchiveError:
            # A changed member says so first: its checksum, not the symptom it caused.
            require_verified(reader)
            raise
        except BaseException:
            with counter.get_lock():  # the other process stops after its current member
                counter.value = len(names)
            raise
        reader.add_digests(digests)
        require_verified(reader)  # reads only the members neither pass read
        for name in theirs:
            store.con.execute(
                f"CREATE OR REPLACE TEMP TABLE ak_{name} AS SELECT * FROM read_parquet(?)",
                [str(folder / f"ak_{name}.parquet")],
            )
    rows.update(theirs)
    if their_days[0] is not None:
        days = EventDays(*their_days)
    return rows, days
