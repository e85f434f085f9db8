"""backup_job end to end on an ephemeral Dagster instance, SQLite and PostgreSQL."""

from __future__ import annotations

import zipfile
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from bgw_pipeline.defs import names
from bgw_pipeline.run_backup import archive_materialization
from bgw_pipeline_tests.dagster_resources import archive_path, local_definitions
from bgw_pipeline_tests.factories import small_database


def _run_backup(
    db_url: str, export_path: Path, include_raw_data: bool
) -> dg.ExecuteInProcessResult:
    defs = local_definitions(db_url, export_path.parent)
    job = defs.resolve_job_def(names.BACKUP_JOB)
    run_config = {"ops": {names.EXPORT_ARCHIVE: {"config": {"include_raw_data": include_raw_data}}}}
    return job.execute_in_process(run_config=run_config, instance=dg.DagsterInstance.ephemeral())


def test_backup_job_writes_archive_snapshots_csv_and_passes_its_checks(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    counts = small_database(engine)
    result = _run_backup(db_url, tmp_path / "exports", include_raw_data=True)
    assert result.success

    materialization = archive_materialization(result)
    meta = {k: v.value for k, v in materialization.metadata.items()}
    archive = Path(meta["path"])
    assert archive.parent == tmp_path / "exports" and archive.exists()
    assert meta["size_bytes"] == archive.stat().st_size
    assert meta["checksum"].startswith("sha256:")
    assert meta["counts"] == counts
    assert meta["include_raw_data"] is True
    assert "duration_seconds" in meta
    created = materialization.metadata["created_at"]
    assert isinstance(created, dg.TimestampMetadataValue) and created.value > 1.7e9
    tables = {r.data["table"]: r.data for r in materialization.metadata["tables"].value.records}
    assert {t: row["rows"] for t, row in tables.items()} == counts
    with zipfile.ZipFile(archive) as zf:
        listed = sum(
            i.file_size for i in zf.infolist() if i.filename.startswith("raw_data/listings/")
        )
    assert tables["listings"]["bytes"] == listed > 0

    with zipfile.ZipFile(archive) as zf:
        assert "raw_data/raw_items.json" in zf.namelist()

    checks = result.get_asset_check_evaluations()
    assert checks, "the checks ran"
    assert all(c.passed for c in checks), [(c.check_name, c.description) for c in checks]
    check_names = {(c.asset_key.to_user_string(), c.check_name) for c in checks}
    assert (names.EXPORT_ARCHIVE, names.ARCHIVE_VERIFIED_CHECK) in check_names

    for table in names.EXTRACT_KEYS:
        for suffix in ("json", "csv", "parquet"):
            assert (tmp_path / "exports" / "snapshots" / f"{table}.{suffix}").exists()
    games_csv = (tmp_path / "exports" / "csv" / "games.csv").read_bytes()
    assert games_csv.startswith(b"\xef\xbb\xbfid,title,store,price,")
    assert b"'=SUM(A1)" in games_csv


def test_archive_without_raw_data_by_default_and_data_version_is_checksum(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    small_database(engine)
    result = _run_backup(db_url, tmp_path / "exports", include_raw_data=False)
    assert result.success
    materialization = archive_materialization(result)
    checksum = materialization.metadata["checksum"].value
    assert materialization.tags["dagster/data_version"] == checksum
    with zipfile.ZipFile(materialization.metadata["path"].value) as zf:
        assert not any(n.startswith("raw_data/") for n in zf.namelist())


def test_archive_check_fails_on_a_tampered_archive(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    small_database(engine)
    defs = local_definitions(db_url, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(names.BACKUP_JOB).execute_in_process(instance=instance)
    assert result.success
    archive = archive_path(result)

    # Rewrite games.json with one changed byte; the check must name the member.
    with zipfile.ZipFile(archive) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["games.json"] = members["games.json"].replace("Громкое".encode(), "Тихое".encode())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)

    check_job = dg.define_asset_job(
        "verify_only", selection=dg.AssetSelection.checks_for_assets(names.EXPORT_ARCHIVE)
    )
    check_defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[check_job]))
    outcome = check_defs.resolve_job_def("verify_only").execute_in_process(
        instance=instance, raise_on_error=False
    )
    (evaluation,) = [
        e
        for e in outcome.get_asset_check_evaluations()
        if e.check_name == names.ARCHIVE_VERIFIED_CHECK
    ]
    assert not evaluation.passed
    assert "games.json" in (evaluation.description or "")


def test_table_checks_selected_alone_check_the_last_snapshot_files(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    small_database(engine)
    defs = local_definitions(db_url, tmp_path)
    checks_only = dg.define_asset_job(
        "table_checks", selection=dg.AssetSelection.checks_for_assets("games", "price_history")
    )
    defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[checks_only]))
    instance = dg.DagsterInstance.ephemeral()

    before = defs.resolve_job_def("table_checks").execute_in_process(
        instance=instance, raise_on_error=False
    )  # no backup yet: no snapshot files to check
    missing = before.get_asset_check_evaluations()
    assert missing and not any(e.passed for e in missing)
    assert all("no snapshot file" in (e.description or "") for e in missing)
    assert not before.get_asset_materialization_events(), "checks alone write nothing"

    assert defs.resolve_job_def(names.BACKUP_JOB).execute_in_process(instance=instance).success
    after = defs.resolve_job_def("table_checks").execute_in_process(instance=instance)
    found = after.get_asset_check_evaluations()
    assert {(e.asset_key.to_user_string(), e.check_name) for e in found} == {
        ("games", names.UNIQUE_IDS_CHECK),
        ("price_history", names.UNIQUE_IDS_CHECK),
        ("price_history", names.REFERENCES_CHECK),
    }
    assert all(e.passed for e in found)
    assert not after.get_asset_materialization_events()


def test_a_partial_selection_records_only_the_selected_assets(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    small_database(engine)
    defs = local_definitions(db_url, tmp_path)
    games_only = dg.define_asset_job("games_only", selection=dg.AssetSelection.assets("games"))
    defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[games_only]))
    result = defs.resolve_job_def("games_only").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert keys == {"games"}
    assert not any(
        e.check_name == names.RESTORE_CHECK for e in result.get_asset_check_evaluations()
    ), "the drill runs only when its check is selected"


def test_a_caller_waiting_in_the_process_sees_the_rows_archived_and_restored(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    """`bgw backup` draws bars from these: every archived table, then the drill's load
    of it, up to the archive's counts; a run outside the context reports to nobody."""
    from bgw_pipeline.defs.progress import progress_to

    counts = small_database(engine)
    heard: dict[str, tuple[int, int]] = {}

    def record(label: str, done: int, total: int) -> None:
        assert done <= total, (label, done, total)
        heard[label] = (done, total)

    with progress_to(record):
        assert _run_backup(db_url, tmp_path / "exports", include_raw_data=False).success
    archived = ("games", "rules", "events", "price_history")  # raw data stays out by default
    expected = {name: (counts[name], counts[name]) for name in archived}
    expected |= {f"drill {name}": (counts[name], counts[name]) for name in archived}
    assert heard == expected
    heard.clear()
    assert _run_backup(db_url, tmp_path / "again", include_raw_data=False).success
    assert heard == {}
