"""Guards on a new backup: did it shrink suspiciously, and is the newest good one fresh?"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta


def shrinkage(previous: Mapping[str, int], current: Mapping[str, int], alert_pct: int) -> list[str]:
    """Tables whose row count fell more than `alert_pct` percent since the previous backup.

    A scraper that broke overnight produces a small, valid-looking backup; this is how
    it is caught before retention deletes the last good one.
    """
    problems = []
    for table, before in previous.items():
        after = current.get(table, 0)
        if before > 0 and after < before * (100 - alert_pct) / 100:
            drop = round(100 * (before - after) / before)
            problems.append(f"{table}: {before} -> {after} rows (-{drop}%)")
    return problems


def staleness(newest_good: datetime | None, now: datetime, max_age_hours: int) -> str | None:
    """Why the newest good backup is too old, or None when it is fresh."""
    if newest_good is None:
        return "there is no good backup yet"
    age = now - newest_good
    if age > timedelta(hours=max_age_hours):
        hours = age.total_seconds() / 3600
        return f"the newest good backup is {hours:.1f} h old (limit {max_age_hours} h)"
    return None
