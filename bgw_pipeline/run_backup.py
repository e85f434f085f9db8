"""Running backup_job through Dagster from the command line (`make run`, `bgw backup`).

The run is recorded in the instance of DAGSTER_HOME, so it shows in the UI afterwards.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import dagster as dg

from bgw_pipeline.defs.names import BACKUP_JOB, CALLER_WAITS_TAG, EXPORT_ARCHIVE


def archive_materialization(result: dg.ExecuteInProcessResult) -> dg.AssetMaterialization:
    """The export_archive materialization of a backup_job run (its op materializes every
    backup asset)."""
    key = dg.AssetKey(EXPORT_ARCHIVE)
    return [
        m for m in result.asset_materializations_for_node(EXPORT_ARCHIVE) if m.asset_key == key
    ][-1]


def failure_reasons(result: dg.ExecuteInProcessResult) -> list[str]:
    """Why a run failed, a line per failed step or blocking check: the innermost error's
    message (what the code raised, not Dagster's wrapper around it)."""
    reasons = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            message = error.message.strip().splitlines()[0] if error.message.strip() else ""
            head, _, rest = message.partition(": ")  # "module.ErrorClass: text"
            if rest and head.rsplit(".", 1)[-1] == error.cls_name:
                message = rest
            reasons.append(f"{event.step_key}: {message or error.cls_name}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            reasons.append(f"check {evaluation.check_name} failed: {evaluation.description}")
    return reasons


def run_backup_job(
    include_raw_data: bool = False, instance: dg.DagsterInstance | None = None
) -> int:
    """Execute backup_job in this process; print where the archive is and what it holds."""
    from bgw_pipeline.definitions import build_definitions

    job = build_definitions().resolve_job_def(BACKUP_JOB)
    run_config = {"ops": {EXPORT_ARCHIVE: {"config": {"include_raw_data": include_raw_data}}}}
    owned = dg.DagsterInstance.get() if instance is None else nullcontext(instance)
    with owned as inst:
        # The caller waits at the terminal: a transient failure ends the run with its
        # reason instead of sleeping through the schedule's retries (minutes to hours).
        result = job.execute_in_process(
            run_config=run_config,
            instance=inst,
            raise_on_error=False,
            tags={"bgw/trigger": "cli", CALLER_WAITS_TAG: "true"},
        )
    if not result.success:
        print(f"backup_job failed (run {result.run_id}); the run is in the Dagster UI.")
        for reason in failure_reasons(result):
            print(f"  {reason}")
        return 1
    materialization = archive_materialization(result)
    meta = {key: value.value for key, value in materialization.metadata.items()}
    print(f"backup_job succeeded (run {result.run_id})")
    print(f"archive:  {Path(str(meta['path'])).resolve()}")
    print(f"size:     {meta['size_bytes']} bytes")
    print(f"checksum: {meta['checksum']}")
    print(f"contents: {json.dumps(meta['counts'], ensure_ascii=False)}")
    print(f"duration: {meta['duration_seconds']} s (archive step)")
    return 0
