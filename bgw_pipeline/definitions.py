"""The Dagster code location: it only lists things."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from bgw_pipeline.defs.assets import backup_assets
from bgw_pipeline.defs.checks import ASSET_CHECKS
from bgw_pipeline.defs.jobs import (
    backup_freshness_job,
    backup_job,
    import_archive_job,
    price_history_csv_job,
    restore_drill_job,
    retention_job,
    undo_import_job,
)
from bgw_pipeline.defs.resources import build_resources
from bgw_pipeline.defs.schedules import build_schedules
from bgw_pipeline.defs.sensors import import_inbox_sensor


def build_definitions(resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """Everything in the code location; tests pass their own resources."""
    return dg.Definitions(
        assets=[backup_assets],
        asset_checks=ASSET_CHECKS,
        jobs=[
            backup_job,
            backup_freshness_job,
            price_history_csv_job,
            import_archive_job,
            undo_import_job,
            retention_job,
            restore_drill_job,
        ],
        schedules=build_schedules(),
        sensors=[import_inbox_sensor],
        resources=dict(resources) if resources is not None else build_resources(),
    )


defs = build_definitions()
