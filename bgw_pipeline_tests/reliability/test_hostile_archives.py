"""Every hostile archive is refused through the core with the right message, and the
database stays byte-for-byte the same (first part of the reliability suite)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bgw_pipeline.core.errors import ArchiveError
from bgw_pipeline.core.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline_tests.factories import dump_database, small_database
from bgw_pipeline_tests.reliability.hostile_archives import hostile_cases
from bgw_pipeline_tests.reliability.tally import record


def test_there_are_at_least_40_distinct_cases(tmp_path: Path) -> None:
    cases = list(hostile_cases(tmp_path))
    assert len(cases) >= 40
    assert len({c.name for c in cases}) == len(cases)
    assert len({c.data for c in cases}) == len(cases)


def test_every_hostile_archive_is_refused_and_changes_nothing(
    engine: sa.Engine, tmp_path: Path
) -> None:
    small_database(engine)
    before = dump_database(engine)
    work = tmp_path / "work"
    outcomes = []
    for case in hostile_cases(tmp_path):
        path = tmp_path / "hostile.zip"
        path.write_bytes(case.data)
        try:
            run_import(engine, path, ImportFolders(work), ImportOptions(dry_run=False))
        except ArchiveError as exc:
            outcomes.append((case.name, case.expect in str(exc), str(exc)))
        else:
            outcomes.append((case.name, False, "accepted"))
    wrong = [o for o in outcomes if not o[1]]
    unchanged = dump_database(engine) == before
    backend = engine.dialect.name
    for name, right, _message in outcomes:
        record("hostile", name, right and unchanged, door=f"core/{backend}", db_unchanged=unchanged)
    assert not wrong, wrong
    assert unchanged
    assert not any(
        p.name in ("evil.json", "passwd", "x.json")
        for p in tmp_path.parent.rglob("*")
        if p.is_file() and "pytest" not in str(p.parent)
    )
