"""Observations of the table assets when a job wrote to the database: the asset graph
shows that a table changed outside a backup, when, how much and why."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg


def log_table_changes(
    context: dg.OpExecutionContext,
    changed: Mapping[str, Mapping[str, int]],
    why: str,
    ref: dict[str, str],
) -> list[str]:
    """An observation on each table asset with rows written (`changed`: per table, counts
    by kind); the tables observed."""
    observed = []
    for table, counts in changed.items():
        written = {kind: int(n) for kind, n in counts.items() if kind != "skipped"}
        if not any(written.values()):
            continue
        context.log_event(
            dg.AssetObservation(
                asset_key=table,
                description=f"{why}: {sum(written.values())} rows",
                metadata={**ref, **written},
            )
        )
        observed.append(table)
    return observed
