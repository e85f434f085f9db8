"""Import plans: what a dry run saw, so that an apply can refuse a preview gone stale.

A dry run stores, per archive (by the SHA-256 of its bytes), the fingerprint of the
database rows its diff read. Applying the same archive later recomputes the diff inside
the write transaction; a different fingerprint means the database changed since the
preview, and the apply stops with nothing written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bgw_pipeline.core.files.atomic_files import atomic_write


@dataclass(frozen=True)
class ImportPlan:
    """The facts of one dry run."""

    archive_sha256: str
    archive_name: str
    fingerprint: str
    import_id: str
    created_at: str
    summary: dict[str, dict[str, int]]


def _plan_path(plans_dir: Path, archive_sha256: str) -> Path:
    return plans_dir / f"{archive_sha256}.json"


def save_plan(plans_dir: Path, plan: ImportPlan) -> Path:
    """Store a plan; a newer dry run of the same archive replaces the older one."""
    path = _plan_path(plans_dir, plan.archive_sha256)
    with atomic_write(path, durable=False) as fh:
        fh.write(orjson.dumps(asdict(plan), option=orjson.OPT_INDENT_2))
    return path


def load_plan(plans_dir: Path, archive_sha256: str) -> ImportPlan | None:
    """The latest dry run of this archive, if any."""
    path = _plan_path(plans_dir, archive_sha256)
    if not path.exists():
        return None
    return ImportPlan(**orjson.loads(path.read_bytes()))


def new_plan(
    archive_sha256: str,
    archive_name: str,
    fingerprint: str,
    import_id: str,
    summary: dict[str, dict[str, int]],
) -> ImportPlan:
    return ImportPlan(
        archive_sha256=archive_sha256,
        archive_name=archive_name,
        fingerprint=fingerprint,
        import_id=import_id,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        summary=summary,
    )


def discard_plan(plans_dir: Path, archive_sha256: str) -> None:
    """Forget a plan once it has been applied: it describes a state that is gone."""
    _plan_path(plans_dir, archive_sha256).unlink(missing_ok=True)
