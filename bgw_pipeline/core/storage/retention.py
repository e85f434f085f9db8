"""Which archives to keep and which to delete: a pure function of the list and the clock.

Rules, in order (an archive kept by any rule stays):
- the newest good archive (verified, no shrinkage alert) and the newest
  verified-restorable one are never deleted;
- an archive an import is reading is never deleted;
- archives younger than `days` are kept;
- optionally the newest archive of each of the last N days, ISO weeks and months (GFS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bgw_pipeline.core.storage.archive_storage import ArchiveStatus


@dataclass(frozen=True)
class RetentionPolicy:
    """How long and how many archives to keep."""

    days: int = 30
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0


@dataclass(frozen=True)
class ArchiveEntry:
    """One archive as retention sees it."""

    name: str
    created_at: datetime
    size_bytes: int
    status: ArchiveStatus = field(default_factory=ArchiveStatus)
    in_use: bool = False


@dataclass
class RetentionDecision:
    """Keep or delete, and every rule that keeps it."""

    entry: ArchiveEntry
    reasons: list[str] = field(default_factory=list)

    @property
    def keep(self) -> bool:
        return bool(self.reasons)


def _newest(entries: list[ArchiveEntry], test: object) -> ArchiveEntry | None:
    matching = [e for e in entries if test(e)]  # type: ignore[operator]
    return max(matching, key=lambda e: (e.created_at, e.name)) if matching else None


def _gfs(entries: list[ArchiveEntry], count: int, bucket: object) -> set[str]:
    """Names of the newest archive in each of the `count` newest buckets."""
    if count <= 0:
        return set()
    newest: dict[object, ArchiveEntry] = {}
    for entry in sorted(entries, key=lambda e: (e.created_at, e.name)):
        newest[bucket(entry.created_at)] = entry  # type: ignore[operator]
    buckets = sorted(newest, reverse=True)[:count]
    return {newest[b].name for b in buckets}


def plan_retention(
    entries: list[ArchiveEntry], policy: RetentionPolicy, now: datetime
) -> list[RetentionDecision]:
    """Decide for every archive, newest first.

    Args:
        entries: every archive in the store.
        policy: the retention settings.
        now: the current time (a parameter, so tests can use a fake clock).
    """
    good = _newest(entries, lambda e: e.status.good)
    restorable = _newest(entries, lambda e: bool(e.status.restorable))
    cutoff = now - timedelta(days=policy.days)
    daily = _gfs(entries, policy.keep_daily, lambda t: t.date())
    weekly = _gfs(entries, policy.keep_weekly, lambda t: tuple(t.isocalendar())[:2])
    monthly = _gfs(entries, policy.keep_monthly, lambda t: (t.year, t.month))
    decisions = []
    for entry in sorted(entries, key=lambda e: (e.created_at, e.name), reverse=True):
        reasons = []
        if good is not None and entry.name == good.name:
            reasons.append("newest good archive")
        if restorable is not None and entry.name == restorable.name:
            reasons.append("newest verified-restorable archive")
        if entry.in_use:
            reasons.append("an import is reading it")
        if entry.created_at >= cutoff:
            reasons.append(f"younger than {policy.days} days")
        if entry.name in daily:
            reasons.append("daily keep")
        if entry.name in weekly:
            reasons.append("weekly keep")
        if entry.name in monthly:
            reasons.append("monthly keep")
        decisions.append(RetentionDecision(entry, reasons))
    return decisions
