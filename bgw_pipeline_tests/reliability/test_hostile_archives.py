"""Every hostile archive is refused through the core with the right message, and the
database stays byte-for-byte the same (the core door of the reliability suite)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.model.errors import ArchiveError
from bgw_pipeline_tests.factories import dump_database, small_database
from bgw_pipeline_tests.reliability.hostile_archives import HostileCase, hostile_cases
from bgw_pipeline_tests.reliability.tally import record


def refusal_of(engine: sa.Engine, case: HostileCase, path: Path, work: Path) -> tuple[bool, str]:
    """(refused as the case demands, what was said) for one apply of the case's archive."""
    path.write_bytes(case.data)
    try:
        report = run_import(engine, path, ImportFolders(work), ImportOptions(dry_run=False))
    except ArchiveError as exc:
        return (not case.row_level and case.expect in str(exc)), str(exc)
    said = " | ".join(report.errors) or report.message
    refused = case.row_level and not report.applied and case.expect in said
    return refused, said[:300]


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
        refused, said = refusal_of(engine, case, tmp_path / "hostile.zip", work)
        unchanged = dump_database(engine) == before
        record("hostile", case.name, refused and unchanged, door=f"core/{engine.dialect.name}",
               db_unchanged=unchanged)  # fmt: skip
        outcomes.append((case.name, refused and unchanged, said))
    wrong = [o for o in outcomes if not o[1]]
    assert not wrong, wrong
    assert not any(
        p.name in ("evil.json", "passwd", "x.json")
        for p in tmp_path.parent.rglob("*")
        if p.is_file() and "pytest" not in str(p.parent)
    )
