"""import_archive_job and undo_import_job on an ephemeral Dagster instance."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from bgw_pipeline.core.database.schema import TABLES
from bgw_pipeline.core.model.entities import ALL_ENTITIES
from bgw_pipeline.defs import names
from bgw_pipeline_tests.archive_builder import seed_archive
from bgw_pipeline_tests.dagster_resources import local_definitions
from bgw_pipeline_tests.factories import dump_database


def _run(db_url: str, root: Path, archive: Path, dry_run: bool) -> dg.ExecuteInProcessResult:
    job = local_definitions(db_url, root).resolve_job_def(names.IMPORT_JOB)
    config = {"ops": {"import_archive": {"config": {"archive": str(archive), "dry_run": dry_run}}}}
    return job.execute_in_process(
        run_config=config, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def test_an_inbox_dry_run_reports_and_moves_the_file_to_processed(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    archive = seed_archive(inbox / "seed.zip")
    before = dump_database(engine)
    result = _run(db_url, tmp_path, archive, dry_run=True)
    assert result.success
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata  # type: ignore[union-attr]
    assert "summary" in metadata and "report" in metadata
    assert dump_database(engine) == before
    assert not archive.exists()
    assert (inbox / "processed" / "seed.zip").exists()
    report = json.loads((inbox / "processed" / "seed.zip.report.json").read_text())
    assert report["dry_run"] is True and report["summary"]["games"]["new"] == 1


def test_an_apply_writes_and_undo_job_puts_it_back(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    archive = seed_archive(tmp_path / "seed.zip")
    before = dump_database(engine)
    result = _run(db_url, tmp_path, archive, dry_run=False)
    assert result.success
    import_id = result.output_for_node("import_archive")
    observed = _observations(result)
    assert observed["games"]["import_id"] == import_id and observed["games"]["new"] == 1
    assert set(observed) <= {e.name for e in ALL_ENTITIES}
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(TABLES["games"])).scalar() == 1
    undo = local_definitions(db_url, tmp_path).resolve_job_def(names.UNDO_IMPORT_JOB)
    undone = undo.execute_in_process(
        run_config={"ops": {"undo_import_op": {"config": {"import_id": import_id}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert undone.success
    assert dump_database(engine) == before
    assert _observations(undone)["games"]["deleted"] == 1


def _observations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    """The table assets that the run observed changing, with the observation's metadata."""
    found = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_OBSERVATION":
            observation = event.event_specific_data.asset_observation  # type: ignore[union-attr]
            found[observation.asset_key.to_user_string()] = {
                k: v.value for k, v in observation.metadata.items()
            }
    return found


def test_a_refused_archive_fails_the_run_and_moves_to_failed(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox" / "apply"
    inbox.mkdir(parents=True)
    bad = inbox / "notazip.zip"
    bad.write_text("hello")
    result = _run(db_url, tmp_path, bad, dry_run=False)
    assert not result.success
    failure = result.failure_data_for_node("import_archive")
    assert failure is not None and "not a ZIP" in str(failure.error)
    moved = tmp_path / "inbox" / "failed" / "notazip.zip"
    assert moved.exists()
    assert "not a ZIP" in (moved.parent / "notazip.zip.report.json").read_text()
