"""Property-based: random valid databases survive export and import exactly; random
mutations of a valid archive are refused cleanly or import validly, never crash."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgw_pipeline.core.archive.reader import verify_archive
from bgw_pipeline.core.database.schema import ensure_schema
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.errors import BgwError
from bgw_pipeline_tests.factories import (
    clear_database,
    dump_database,
    fill_database,
    small_database,
)
from bgw_pipeline_tests.reliability.strategies import databases
from bgw_pipeline_tests.reliability.tally import budget, record

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


@pytest.fixture
def second_engine(engine: sa.Engine, tmp_path: Path, request: pytest.FixtureRequest) -> sa.Engine:
    """An empty database of the same kind as `engine`."""
    from bgw_pipeline.core.database.engines import create_engine

    if engine.dialect.name == "sqlite":
        other = create_engine(f"sqlite:///{tmp_path / 'second.db'}")
    else:
        other = create_engine(request.getfixturevalue("postgres_url_second"))
    ensure_schema(other)
    return other


def test_random_databases_survive_export_and_import_exactly(
    engine: sa.Engine, second_engine: sa.Engine, tmp_path: Path
) -> None:
    runs = {"examples": 0, "failed": 0}

    @settings(max_examples=budget(15, 150), deadline=None, suppress_health_check=FIXTURES)
    @given(data=databases())
    def round_trip(data: dict[str, list[dict[str, Any]]]) -> None:
        runs["examples"] += 1
        clear_database(engine)
        clear_database(second_engine)
        fill_database(engine, data)
        exported = export_database(engine, tmp_path / "a", include_raw_data=True)
        folders = ImportFolders(tmp_path / "work")
        run_import(second_engine, exported.path, folders, ImportOptions(dry_run=False))
        try:
            assert dump_database(second_engine) == dump_database(engine)
            again = run_import(second_engine, exported.path, folders)
            assert all(c["new"] == c["updated"] == c["errors"] == 0 for c in again.summary.values())
            back = export_database(second_engine, tmp_path / "b", include_raw_data=True)
            assert back.checksum == exported.checksum
        except AssertionError:
            runs["failed"] += 1
            raise
        finally:
            exported.path.unlink()

    try:
        round_trip()
    finally:
        record("property", f"export-import round trip/{engine.dialect.name}",
               runs["failed"] == 0, examples=runs["examples"])  # fmt: skip


MUTATIONS = ("flip byte", "truncate", "edit member", "edit member, fix checksums", "drop key")


def _mutate(archive: bytes, kind: str, draw: st.DataObject) -> bytes:
    if kind == "flip byte":
        at = draw.draw(st.integers(0, len(archive) - 1))
        return (
            archive[:at] + bytes([archive[at] ^ draw.draw(st.integers(1, 255))]) + archive[at + 1 :]
        )
    if kind == "truncate":
        return archive[: draw.draw(st.integers(0, len(archive) - 1))]
    with zipfile.ZipFile(io.BytesIO(archive)) as zin:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
    name = draw.draw(st.sampled_from(sorted(n for n in members if n != "metadata.json")))
    data = members[name]
    if kind == "drop key":
        key = draw.draw(st.sampled_from([b'"price":', b'"title":', b'"id":', b'"game_id":']))
        data = data.replace(key, b'"x' + key[1:], 1)
    else:
        at = draw.draw(st.integers(0, max(0, len(data) - 1)))
        data = data[:at] + draw.draw(st.binary(max_size=8)) + data[at + 1 :]
    members[name] = data
    if kind == "edit member, fix checksums" or kind == "drop key":
        import hashlib

        from bgw_pipeline.core.archive.format import archive_checksum

        meta = json.loads(members["metadata.json"])
        digests = {
            n: hashlib.sha256(d).hexdigest() for n, d in members.items() if n != "metadata.json"
        }
        meta["files"] = {n: {"sha256": digests[n], "bytes": len(members[n])} for n in digests}
        meta["checksum"] = archive_checksum(digests)
        members["metadata.json"] = json.dumps(meta).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for member, payload in members.items():
            zout.writestr(member, payload)
    return out.getvalue()


def test_mutated_archives_are_refused_cleanly_or_import_validly(
    engine: sa.Engine, tmp_path: Path
) -> None:
    small_database(engine)
    valid = export_database(engine, tmp_path / "valid", include_raw_data=True).path.read_bytes()
    runs = {"examples": 0, "crashes": 0, "refused": 0, "imported": 0}

    @settings(max_examples=budget(40, 400), deadline=None, suppress_health_check=FIXTURES)
    @given(kind=st.sampled_from(MUTATIONS), draw=st.data())
    def mutate(kind: str, draw: st.DataObject) -> None:
        runs["examples"] += 1
        before = dump_database(engine)
        path = tmp_path / "mutant.zip"
        path.write_bytes(_mutate(valid, kind, draw))
        try:
            run_import(engine, path, ImportFolders(tmp_path / "w"),
                       ImportOptions(dry_run=False, use_saved_plan=False))  # fmt: skip
        except BgwError:
            runs["refused"] += 1
            assert dump_database(engine) == before
            return
        except Exception:
            runs["crashes"] += 1
            raise
        runs["imported"] += 1
        again = export_database(engine, tmp_path / "after", include_raw_data=True)
        assert verify_archive(again.path).ok
        again.path.unlink()

    try:
        mutate()
    finally:
        record("property", f"mutated archives/{engine.dialect.name}", runs["crashes"] == 0,
               examples=runs["examples"], refused=runs["refused"],
               imported=runs["imported"])  # fmt: skip
