"""Running backup_job through Dagster from the command line (`make run`, `bgw backup`).

The run is recorded in the instance of DAGSTER_HOME, so it shows in the UI afterwards.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from bgw_pipeline.defs.names import BACKUP_JOB, CALLER_WAITS_TAG, EXPORT_ARCHIVE
from bgw_pipeline.defs.progress import ProgressCallback, progress_to


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


@dataclass
class BackupOutcome:
    """How a backup_job run ended: its archive (path, size, checksum, counts, duration) or
    why it failed."""

    run_id: str
    success: bool
    reasons: list[str] = field(default_factory=list)
    archive: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": self.success, "run_id": self.run_id}
        if self.success:
            body.update(self.archive)
        else:
            body["reasons"] = self.reasons
        return body

    def lines(self) -> list[str]:
        """The outcome as people read it."""
        if not self.success:
            head = f"backup_job failed (run {self.run_id}); the run is in the Dagster UI."
            return [head, *(f"  {reason}" for reason in self.reasons)]
        archive = self.archive
        return [
            f"backup_job succeeded (run {self.run_id})",
            f"archive:  {archive['archive']}",
            f"size:     {archive['size_bytes']} bytes",
            f"checksum: {archive['checksum']}",
            f"contents: {json.dumps(archive['counts'], ensure_ascii=False)}",
            f"duration: {archive['duration_seconds']} s (archive step)",
        ]


def run_backup_job(
    include_raw_data: bool = False,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "DEBUG",
    progress: ProgressCallback | None = None,
) -> BackupOutcome:
    """Execute backup_job in this process, Dagster's console lines from `log_level` up;
    `progress` hears `(table, rows done, rows in total)` as the archive is written and
    as the restore drill loads it."""
    from bgw_pipeline.definitions import build_definitions

    job = build_definitions().resolve_job_def(BACKUP_JOB)
    run_config = {
        "ops": {EXPORT_ARCHIVE: {"config": {"include_raw_data": include_raw_data}}},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    owned = dg.DagsterInstance.get() if instance is None else nullcontext(instance)
    with owned as inst, progress_to(progress):
        # The caller waits at the terminal: a transient failure ends the run with its
        # reason instead of sleeping through the schedule's retries (minutes to hours).
        result = job.execute_in_process(
            run_config=run_config,
            instance=inst,
            raise_on_error=False,
            tags={"bgw/trigger": "cli", CALLER_WAITS_TAG: "true"},
        )
    if not result.success:
        return BackupOutcome(result.run_id, False, failure_reasons(result))
    materialization = archive_materialization(result)
    meta = {key: value.value for key, value in materialization.metadata.items()}
    location = str(meta["path"])
    archive = {
        "archive": location if location.startswith("s3://") else str(Path(location).resolve()),
        "size_bytes": meta["size_bytes"],
        "checksum": meta["checksum"],
        "counts": meta["counts"],
        "duration_seconds": meta["duration_seconds"],
    }
    return BackupOutcome(result.run_id, True, archive=archive)
