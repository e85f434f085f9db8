"""The import report: the API document's `POST /export/full` response, plus details.

Seed shape: success, dry_run, applied (when not a dry run), summary (per entity: new,
updated, skipped, errors), warnings, errors, import_id, duration_seconds. This project
adds: archive (name, checksum, sha256), fingerprint, changes (a sample of updated
columns), undo (where the safety archive is) and message (one sentence for people).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bgw_pipeline.core.files.atomic_files import atomic_write


@dataclass
class ImportReport:
    """What an import did, or would do."""

    import_id: str
    dry_run: bool
    success: bool = False
    applied: bool = False
    summary: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    duration_seconds: float = 0.0
    archive: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None
    undo: str | None = None
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The seed's response shape first, then this project's additions."""
        body: dict[str, Any] = {"success": self.success, "dry_run": self.dry_run}
        if not self.dry_run:
            body["applied"] = self.applied
        body.update(
            summary=self.summary,
            warnings=self.warnings,
            errors=self.errors,
            import_id=self.import_id,
            duration_seconds=self.duration_seconds,
            message=self.message,
            archive=self.archive,
            fingerprint=self.fingerprint,
            changes=self.changes,
            undo=self.undo,
        )
        return body

    def save(self, reports_dir: Path) -> Path:
        """Write `<import_id>.json` into the reports folder."""
        path = reports_dir / f"{self.import_id}.json"
        with atomic_write(path, durable=False) as fh:
            fh.write(orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        return path

    def change_lines(self, limit: int = 20) -> list[str]:
        """Updated columns as people read them: `Громкое дело: price 3990 -> 2990`."""
        lines = []
        for items in self.changes.values():
            for change in items:
                lines.append(
                    f"{change['label']}: {change['column']} {change['old']} -> {change['new']}"
                )
        return lines[:limit]
