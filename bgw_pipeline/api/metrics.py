"""Prometheus metrics derived from durable records: Dagster runs, the export ledger, storage.

Nothing is counted in this process's memory, so the numbers include runs from every door
(schedule, sensor, UI, HTTP) and survive a restart of the API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bgw_pipeline.api.runs import shared_instance
from bgw_pipeline.core.operations.ledger import export_totals
from bgw_pipeline.core.storage.archive_storage import ArchiveStorage
from bgw_pipeline.core.storage.catalog import list_archives
from bgw_pipeline.defs.names import BACKUP_JOB, IMPORT_JOB

STATUSES = {"success": [dg.DagsterRunStatus.SUCCESS], "failed": [dg.DagsterRunStatus.FAILURE]}


def _run_counts(job: str) -> dict[str, int]:
    instance = shared_instance()
    return {
        label: instance.get_runs_count(dg.RunsFilter(job_name=job, statuses=statuses))
        for label, statuses in STATUSES.items()
    }


class BgwCollector(Collector):
    """Reads the durable records at each scrape."""

    def __init__(self, ledger_folder: Path, storage: ArchiveStorage) -> None:
        self.ledger_folder = ledger_folder
        self.storage = storage

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        exports = CounterMetricFamily(
            "export_operations", "Exports by type and outcome.", labels=["type", "status"]
        )
        ledger, total_bytes = export_totals(self.ledger_folder)
        for status, count in _run_counts(BACKUP_JOB).items():
            exports.add_metric(["full", status], count)
        for status in STATUSES:
            exports.add_metric(["csv", status], ledger.get(("csv", status), 0))
        yield exports

        imports = CounterMetricFamily(
            "import_operations", "Imports by type and outcome.", labels=["type", "status"]
        )
        # A refused upload (not a ZIP, over the limit) never became a run: a failed import.
        refused = {s: n for (kind, s), n in ledger.items() if kind == "import"}
        for status, count in _run_counts(IMPORT_JOB).items():
            extra = sum(refused.values()) if status == "failed" else 0
            imports.add_metric(["full", status], count + extra)
        yield imports
        uploads = CounterMetricFamily(
            "bgw_import_uploads_refused",
            "Import uploads refused before a run began, by reason (also failed imports).",
            labels=["reason"],
        )
        for reason in ("not_zip", "too_large"):
            uploads.add_metric([reason], refused.get(f"refused:{reason}", 0))
        yield uploads

        yield CounterMetricFamily(
            "export_data_bytes", "Bytes of archives and CSV files exported.", value=total_bytes
        )
        newest = next((e for e in list_archives(self.storage) if e.status.good), None)
        age = GaugeMetricFamily(
            "bgw_newest_good_backup_age_seconds",
            "Age of the newest good backup (-1 when there is none).",
        )
        age.add_metric([], time.time() - newest.created_at.timestamp() if newest else -1)
        yield age
