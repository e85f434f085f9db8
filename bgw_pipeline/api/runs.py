"""Running the export and import jobs for HTTP callers: same jobs, same instance, same UI.

Each request becomes a Dagster run on the instance in DAGSTER_HOME, so runs started from
the HTTP API show in the Dagster UI next to scheduled and sensor-started ones.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from bgw_pipeline.api import backup_progress, context
from bgw_pipeline.core.model.errors import BackupRunningError, TransientError
from bgw_pipeline.defs.names import BACKUP_JOB, CALLER_WAITS_TAG, EXPORT_ARCHIVE, IMPORT_JOB
from bgw_pipeline.defs.progress import progress_to
from bgw_pipeline.run_backup import archive_materialization


@dataclass(frozen=True)
class RunOutcome:
    """What a run produced, or why it failed."""

    run_id: str
    success: bool
    metadata: dict[str, Any]
    error: str | None = None


@cache
def _definitions() -> dg.Definitions:
    from bgw_pipeline.definitions import build_definitions

    return build_definitions()


_OPENING = threading.Lock()
_OPENED: list[dg.DagsterInstance] = []

# Runs of the API execute in the server's threads, side by side. Dagster's default compute
# log manager captures a run's stdout by swapping the process's file descriptors 1 and 2
# for the run's life, which runs in threads of one process would do over each other (the
# server's own output would end up in some run's log file). The API's runs therefore keep
# no compute logs; what they report goes to the event log, which the UI shows as usual.
NO_FD_CAPTURE = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}


def shared_instance() -> dg.DagsterInstance:
    """The instance in DAGSTER_HOME, opened once for the server's life, without fd capture.

    Opened under a lock: a fresh DAGSTER_HOME creates its storage on first use, which two
    request threads must not do at once. After that, runs go side by side: dry runs,
    summaries and CSVs are not held behind an export, applies are kept apart by the
    database's own transactions (SERIALIZABLE, BEGIN IMMEDIATE) and backups by the backup
    lock (core/backup/lock.py), which answers 409.
    """
    with _OPENING:
        if not _OPENED:
            home = os.environ.get("DAGSTER_HOME")
            if not home or not Path(home).is_dir():
                _OPENED.append(dg.DagsterInstance.get())  # raises Dagster's own clear error
            else:
                ref = InstanceRef.from_dir(home, overrides=NO_FD_CAPTURE)
                _OPENED.append(dg.DagsterInstance.from_ref(ref))
        return _OPENED[0]


_SLOTS: list[threading.Semaphore] = []


@contextmanager
def _run_slot() -> Iterator[None]:
    """One of API_CONCURRENT_RUNS places to run a job. Runs share one process (and its
    GIL) and the machine's cores: 32 dry runs at once would each take 16 times as long and
    starve an export past its 5 minutes; taking turns keeps every run near its own time.
    Waiting happens in a request's worker thread, never on the event loop."""
    with _OPENING:
        if not _SLOTS:
            _SLOTS.append(threading.BoundedSemaphore(context.settings().api_concurrent_runs))
    with _SLOTS[0]:
        yield


def close_shared_instance() -> None:
    """Close what the server opened for its life (on shutdown): the instance and the
    definitions, whose resources were read from the settings of that time."""
    with _OPENING:
        while _OPENED:
            _OPENED.pop().dispose()
        _SLOTS.clear()
        _definitions.cache_clear()


TRANSIENT = {"TransientError", "DatabaseUnavailableError"}
HTTP_TAGS = {"bgw/trigger": "http", CALLER_WAITS_TAG: "true"}


def _raise_if_transient(result: dg.ExecuteInProcessResult, step: str) -> None:
    """A run that failed for a transient reason answers 503 with Retry-After (errors.py):
    the caller tries again later; nothing sleeps inside the request. One refused because
    another backup runs answers 409."""
    data = result.failure_data_for_node(step)
    if data is None:
        return
    user = data.user_failure_data
    metadata = {k: v.value for k, v in (user.metadata if user else {}).items()}
    error = data.error
    names = set()
    while error is not None:
        names.add(error.cls_name)
        error = error.cause
    description = str((user.description if user else None) or (data.error.message or ""))
    if metadata.get("transient") or names & TRANSIENT:
        retry_after = int(metadata.get("retry_after_seconds", 60))
        raise TransientError(description.strip(), retry_after=retry_after)
    if "BackupRunningError" in names:  # 409: one backup at a time (core/backup/lock.py)
        raise BackupRunningError(description.strip())


def _failure(result: dg.ExecuteInProcessResult, step: str) -> tuple[str, dict[str, Any]]:
    _raise_if_transient(result, step)
    data = result.failure_data_for_node(step)
    if data is None:
        return "the run failed", {}
    user = data.user_failure_data
    metadata = {k: v.value for k, v in (user.metadata if user else {}).items()}
    fallback = data.error.message if data.error else ""
    description = (user.description if user else None) or fallback
    return str(description).strip(), metadata


def run_backup(include_raw_data: bool) -> RunOutcome:
    """backup_job with the API's include_raw_data; its archive's metadata on success.
    Its rows per table are kept for GET /api/v1/export/backup/progress while it runs."""
    job = _definitions().resolve_job_def(BACKUP_JOB)
    config = {"ops": {EXPORT_ARCHIVE: {"config": {"include_raw_data": include_raw_data}}}}
    run_id = str(uuid.uuid4())  # known before the run starts: the page links it at once
    success = False
    try:
        with _run_slot(), progress_to(backup_progress.listener(run_id)):
            result = job.execute_in_process(
                run_config=config,
                instance=shared_instance(),
                raise_on_error=False,
                tags=HTTP_TAGS,
                run_id=run_id,
            )
        success = result.success
    finally:
        backup_progress.finished(run_id, success)
    if not result.success:
        message, _metadata = _failure(result, EXPORT_ARCHIVE)
        return RunOutcome(result.run_id, False, {}, f"backup_job failed: {message}")
    materialization = archive_materialization(result)
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    return RunOutcome(result.run_id, True, metadata)


def run_import(archive: Path, dry_run: bool) -> RunOutcome:
    """import_archive_job for an uploaded archive."""
    job = _definitions().resolve_job_def(IMPORT_JOB)
    config = {"ops": {"import_archive": {"config": {"archive": str(archive), "dry_run": dry_run}}}}
    with _run_slot():
        result = job.execute_in_process(
            run_config=config, instance=shared_instance(), raise_on_error=False, tags=HTTP_TAGS
        )
    if result.success:
        return RunOutcome(
            result.run_id, True, {"import_id": result.output_for_node("import_archive")}
        )
    message, metadata = _failure(result, "import_archive")
    return RunOutcome(result.run_id, False, metadata, message)
