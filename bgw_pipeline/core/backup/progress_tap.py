"""Rows restored by the drill, as progress: a tap that counts what the bulk load parses.

A backup spends most of its time after the archive is written, in the restore drill; a
person watching `bgw backup` should see it move, table by table, like the archive.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from bgw_pipeline.core.archive.writer import ProgressCallback
from bgw_pipeline.core.backup.drill_load import TableTap
from bgw_pipeline.core.model.entities import Entity


class ProgressTap:
    """Passes every table on to `inner` (if any), and reports `(label, rows, total)` to
    `progress` as the drill's load parses them; `totals` are the archive's counts."""

    def __init__(
        self,
        inner: TableTap | None,
        progress: ProgressCallback,
        totals: Mapping[str, int],
        label: str = "drill {name}",
    ) -> None:
        self._inner = inner
        self._progress = progress
        self._totals = totals
        self._label = label
        self._rows: dict[str, int] = {}

    def _report(self, entity: Entity) -> None:
        total = self._totals.get(entity.name, 0)
        self._progress(self._label.format(name=entity.name), self._rows[entity.name], total)

    def begin(self, entity: Entity) -> None:
        self._rows[entity.name] = 0
        if self._inner is not None:
            self._inner.begin(entity)

    def add(self, entity: Entity, table: pa.Table) -> None:
        if self._inner is not None:
            self._inner.add(entity, table)
        self._rows[entity.name] += table.num_rows
        self._report(entity)

    def end(self, entity: Entity) -> None:
        if self._inner is not None:
            self._inner.end(entity)
        self._report(entity)
