"""Faults of what is kept: a byte flipped in a stored archive (plain or sealed), found by
the checks run on their own as the UI's "Execute checks" runs them; and the disk filling
up while an apply writes its undo archive, before it has written a row."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.demo.data import fill_demo_database
from bgw_pipeline.core.export.archive_export import export_database
from bgw_pipeline.core.files import atomic_files
from bgw_pipeline.core.files.sealing import write_key_file
from bgw_pipeline.core.importing.importer import ImportFolders, ImportOptions, run_import
from bgw_pipeline.core.storage.archive_states import archive_state
from bgw_pipeline.defs import names
from bgw_pipeline.defs.resources.archive_store import ArchiveStore
from bgw_pipeline_tests.dagster_resources import archive_path, local_resources
from bgw_pipeline_tests.factories import dump_database
from bgw_pipeline_tests.reliability.tally import record
from bgw_pipeline_tests.reliability.test_faults_io import _FullDisk


def _checks_on_their_own(defs: dg.Definitions, instance: dg.DagsterInstance) -> list:
    job = dg.define_asset_job(
        "checks_only", selection=dg.AssetSelection.checks_for_assets(names.EXPORT_ARCHIVE)
    )
    merged = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
    outcome = merged.resolve_job_def("checks_only").execute_in_process(
        instance=instance, raise_on_error=False
    )
    return outcome.get_asset_check_evaluations()


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
def test_a_flipped_byte_in_a_stored_archive_is_found_and_shown(
    tmp_path: Path, sealed: bool
) -> None:
    db_url = f"sqlite:///{tmp_path / 'bgw.db'}"
    fill_demo_database(sa.create_engine(db_url), scale=0.05)
    resources = local_resources(db_url, tmp_path)
    if sealed:
        key = write_key_file(tmp_path / "archive.key")
        resources[names.STORE_RESOURCE] = ArchiveStore(
            export_path=str(tmp_path / "exports"), archive_key_file=str(key.path)
        )
    from bgw_pipeline.definitions import build_definitions

    defs = build_definitions(resources)
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(names.BACKUP_JOB).execute_in_process(instance=instance)
    assert result.success
    stored = archive_path(result)
    storage = resources[names.STORE_RESOURCE].storage()
    assert archive_state(storage.read_status(stored.name)).code == "restorable"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))

    evaluations = {e.check_name: e for e in _checks_on_their_own(defs, instance)}
    verified = evaluations[names.ARCHIVE_VERIFIED_CHECK]
    restores = evaluations.get(names.RESTORE_CHECK)
    state = archive_state(storage.read_status(stored.name))
    shown = instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(dg.AssetKey(names.EXPORT_ARCHIVE), names.ARCHIVE_VERIFIED_CHECK)
    )
    ok = (
        not verified.passed
        and (restores is None or not restores.passed)
        and state.code in ("corrupt", "drill_failed")
        and shown is not None
        and shown.event is not None
        and not shown.event.asset_check_evaluation.passed  # what the UI's check tab shows
    )
    kind = "sealed" if sealed else "plain"
    record("fault", f"a byte flipped in a stored {kind} archive", ok, state=state.code,
           words=state.words, rows_lost=0)  # fmt: skip
    assert ok, (verified.description, state)


def test_a_full_disk_while_the_undo_archive_is_written_changes_nothing(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_demo_database(engine, scale=0.2)
    archive = export_database(engine, tmp_path / "out", include_raw_data=True).path
    with engine.begin() as conn:  # the apply will overwrite these: its undo archive keeps them
        conn.exec_driver_sql("UPDATE games SET title = title || ' (changed)'")
    before = dump_database(engine)
    folders = ImportFolders(tmp_path / "imports")
    options = ImportOptions(dry_run=False)
    real_open = open
    monkeypatch.setattr(atomic_files, "open", lambda p, m: _FullDisk(real_open(p, m), 4096),
                        raising=False)  # fmt: skip
    error = ""
    try:
        report = run_import(engine, archive, folders, options)
        error = "" if report.success else report.message
    except OSError as exc:
        error = str(exc)
    monkeypatch.undo()
    undo_left = sorted(p.name for p in folders.undo.iterdir()) if folders.undo.exists() else []
    unchanged = dump_database(engine) == before
    again = run_import(engine, archive, folders, options)
    ok = "No space left" in error and unchanged and undo_left == [] and again.success
    record("fault", f"disk full while the undo archive is written/{engine.dialect.name}", ok,
           db_unchanged=unchanged, rows_lost=0 if unchanged else 1)  # fmt: skip
    assert ok, (error, unchanged, undo_left)
